package placement

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Inventory field limits (Placement's: MySQL's 32-bit INT and FLOAT).
const (
	// MaxInt is the largest total, reserved, min_unit, max_unit and
	// step_size (and the largest single allocation amount).
	MaxInt = math.MaxInt32
	// MaxAllocationRatio is the largest allocation ratio (single-precision FLOAT max).
	MaxAllocationRatio = 3.40282e38
)

// NewInventory returns an inventory of total units of class with Placement's
// API defaults: reserved 0, min_unit 1, max_unit 2147483647, step_size 1,
// allocation_ratio 1.0.
func NewInventory(class string, total int64) Inventory {
	return Inventory{ResourceClass: class, Total: total, MinUnit: 1, MaxUnit: MaxInt, StepSize: 1, AllocationRatio: 1}
}

// Validate checks an inventory's fields: the class name's shape, total
// 1..2147483647, reserved 0..2147483647, min_unit, max_unit and step_size
// 1..2147483647, allocation_ratio finite in 0..3.40282e38, and a capacity
// that is not negative (reserved above total). The capacity checked is the
// double product itself: Placement truncates it first, so it accepts, say,
// total 10, reserved 11, ratio 0.5 (int(-0.5) is 0); this library does not.
// As in Placement, min_unit <=
// max_unit and max_unit <= total are not required (such an inventory simply
// refuses the allocations it cannot take).
func (inv *Inventory) Validate() error {
	field := func(name string) string { return "inventories[" + inv.ResourceClass + "]." + name }
	if err := validateClassName("resource_class", inv.ResourceClass); err != nil {
		return err
	}
	ints := []struct {
		name string
		v    int64
		min  int64
	}{{"total", inv.Total, 1}, {"reserved", inv.Reserved, 0}, {"min_unit", inv.MinUnit, 1}, {"max_unit", inv.MaxUnit, 1}, {"step_size", inv.StepSize, 1}}
	for _, f := range ints {
		if f.v < f.min || f.v > MaxInt {
			return invalid(field(f.name), fmt.Sprint(f.v), fmt.Sprintf("must be between %d and %d", f.min, MaxInt))
		}
	}
	r := inv.AllocationRatio
	if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 || r > MaxAllocationRatio {
		return invalid(field("allocation_ratio"), fmt.Sprint(r), "must be a finite number between 0 and 3.40282e+38")
	}
	if inv.Capacity() < 0 {
		return invalid(field("reserved"), fmt.Sprint(inv.Reserved), "the reserved value is greater than total")
	}
	return nil
}

// ProviderInventories is a provider's whole inventory and generation.
type ProviderInventories struct {
	Generation  int64
	Inventories []Inventory // sorted by class
}

// Excess reports a class whose usage is above its capacity after an
// inventory write (allowed: Placement only warns).
type Excess struct {
	ResourceClass string
	Used          int64
	Capacity      int64 // the integer capacity
}

// InventoryChange is the result of an inventory write: the provider's new
// generation and whole inventory, and the classes now over capacity.
type InventoryChange struct {
	ProviderInventories
	OverCapacity []Excess
}

// Inventories returns a provider's inventories and generation.
func (e *Engine) Inventories(ctx context.Context, provider string) (ProviderInventories, error) {
	var out ProviderInventories
	err := e.view(ctx, ActionInventoriesList, Target{}, func(tx ReadTx) error {
		var err error
		out, _, err = readInventories(tx, provider)
		return err
	})
	return out, err
}

// Inventory returns a provider's inventory of one class and the provider
// generation; a class the provider has no inventory of is ErrNotFound.
func (e *Engine) Inventory(ctx context.Context, provider, class string) (Inventory, int64, error) {
	var inv Inventory
	var gen int64
	err := e.view(ctx, ActionInventoriesShow, Target{}, func(tx ReadTx) error {
		all, _, err := readInventories(tx, provider)
		if err != nil {
			return err
		}
		gen = all.Generation
		i := slices.IndexFunc(all.Inventories, func(x Inventory) bool { return x.ResourceClass == class })
		if i < 0 {
			return &NotFoundError{Resource: "inventory", ID: class, Provider: provider}
		}
		inv = all.Inventories[i]
		return nil
	})
	return inv, gen, err
}

// readInventories reads a provider and its inventories with usage.
func readInventories(tx ReadTx, provider string) (ProviderInventories, []ProviderResource, error) {
	p, err := tx.Provider(provider)
	if err != nil {
		return ProviderInventories{}, nil, err
	}
	res, err := tx.Resources(provider)
	if err != nil {
		return ProviderInventories{}, nil, err
	}
	out := ProviderInventories{Generation: p.Generation, Inventories: make([]Inventory, len(res))}
	for i, r := range res {
		out.Inventories[i] = r.Inventory
	}
	return out, res, nil
}

// ReplaceInventories sets a provider's whole inventory: classes not in invs
// are removed (refused with ErrInventoryInUse, naming every such class, if
// they have allocations), others added or updated. The provider generation
// is checked and always bumped, even when nothing changed (as in Placement).
// Shrinking below usage is allowed and reported in OverCapacity.
func (e *Engine) ReplaceInventories(ctx context.Context, provider string, check GenerationCheck, invs []Inventory) (InventoryChange, error) {
	if err := e.Authorize(ctx, ActionInventoriesUpdate, Target{}); err != nil {
		return InventoryChange{}, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return InventoryChange{}, err
	}
	if err := validateInventories(invs); err != nil {
		return InventoryChange{}, err
	}
	return e.writeInventory(ctx, provider, check, func(tx Tx, current []ProviderResource, now time.Time) error {
		return replaceInventory(tx, provider, current, invs, now)
	})
}

// CreateInventory adds an inventory of a class the provider does not have
// yet (ErrAlreadyExists otherwise). Placement takes no generation here; the
// provider generation is bumped.
func (e *Engine) CreateInventory(ctx context.Context, provider string, inv Inventory) (InventoryChange, error) {
	if err := e.Authorize(ctx, ActionInventoriesCreate, Target{}); err != nil {
		return InventoryChange{}, err
	}
	if err := validateInventories([]Inventory{inv}); err != nil {
		return InventoryChange{}, err
	}
	return e.writeInventory(ctx, provider, SkipGenerationCheck(), func(tx Tx, current []ProviderResource, now time.Time) error {
		if _, err := lookupClass(tx, inv.ResourceClass); err != nil {
			return err
		}
		if findResource(current, inv.ResourceClass) >= 0 {
			return &ExistsError{Resource: "inventory", Field: "resource_class", Value: inv.ResourceClass}
		}
		inv.CreatedAt, inv.UpdatedAt = now, now
		return tx.PutInventory(provider, inv)
	})
}

// UpdateInventory changes the inventory of a class the provider already has
// (ErrNotFound otherwise), checking and bumping the provider generation.
func (e *Engine) UpdateInventory(ctx context.Context, provider string, check GenerationCheck, inv Inventory) (InventoryChange, error) {
	if err := e.Authorize(ctx, ActionInventoriesUpdate, Target{}); err != nil {
		return InventoryChange{}, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return InventoryChange{}, err
	}
	if err := validateInventories([]Inventory{inv}); err != nil {
		return InventoryChange{}, err
	}
	return e.writeInventory(ctx, provider, check, func(tx Tx, current []ProviderResource, now time.Time) error {
		if _, err := lookupClass(tx, inv.ResourceClass); err != nil {
			return err
		}
		i := findResource(current, inv.ResourceClass)
		if i < 0 {
			return &NotFoundError{Resource: "inventory", ID: inv.ResourceClass, Provider: provider}
		}
		inv.CreatedAt, inv.UpdatedAt = current[i].CreatedAt, now
		return tx.PutInventory(provider, inv)
	})
}

// DeleteInventory removes the inventory of one class, refused with
// ErrInventoryInUse while it has allocations. Placement takes no generation
// here (pass SkipGenerationCheck); the provider generation is bumped.
func (e *Engine) DeleteInventory(ctx context.Context, provider string, check GenerationCheck, class string) (InventoryChange, error) {
	if err := e.Authorize(ctx, ActionInventoriesDelete, Target{}); err != nil {
		return InventoryChange{}, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return InventoryChange{}, err
	}
	return e.writeInventory(ctx, provider, check, func(tx Tx, current []ProviderResource, now time.Time) error {
		i := findResource(current, class)
		if i < 0 {
			return &NotFoundError{Resource: "inventory", ID: class, Provider: provider}
		}
		if current[i].Used > 0 {
			return &InUseError{Err: ErrInventoryInUse, Resource: "inventory", ID: provider, Classes: []string{class}}
		}
		return tx.DeleteInventory(provider, class)
	})
}

// DeleteInventories removes all of a provider's inventories, refused with
// ErrInventoryInUse (naming the classes) if any has allocations. The provider
// generation is bumped even when there was no inventory.
func (e *Engine) DeleteInventories(ctx context.Context, provider string, check GenerationCheck) (InventoryChange, error) {
	if err := e.Authorize(ctx, ActionInventoriesDelete, Target{}); err != nil {
		return InventoryChange{}, err
	}
	if err := check.validate("resource_provider_generation"); err != nil {
		return InventoryChange{}, err
	}
	return e.writeInventory(ctx, provider, check, func(tx Tx, current []ProviderResource, now time.Time) error {
		return replaceInventory(tx, provider, current, nil, now)
	})
}

// writeInventory runs one (authorized) inventory write: read and check the
// provider, apply change, bump the generation, report over-capacity classes.
func (e *Engine) writeInventory(ctx context.Context, provider string, check GenerationCheck,
	change func(tx Tx, current []ProviderResource, now time.Time) error) (InventoryChange, error) {
	var out InventoryChange
	now := e.timestamp()
	err := e.write(ctx, func(tx Tx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		if err := check.checkProvider(provider, p.Generation); err != nil {
			return err
		}
		current, err := tx.Resources(provider)
		if err != nil {
			return err
		}
		if err := change(tx, current, now); err != nil {
			return err
		}
		if err := tx.BumpProviderGeneration(provider, p.Generation); err != nil {
			return err
		}
		var res []ProviderResource
		out.ProviderInventories, res, err = readInventories(tx, provider)
		out.OverCapacity = overCapacity(res)
		return err
	})
	if err != nil {
		return InventoryChange{}, err
	}
	for _, x := range out.OverCapacity {
		e.emit(ctx, Event{Kind: EventOverCapacity, Provider: provider, Class: x.ResourceClass, Expected: x.Capacity, Actual: x.Used})
	}
	return out, nil
}

// replaceInventory makes the provider's inventory exactly invs.
func replaceInventory(tx Tx, provider string, current []ProviderResource, invs []Inventory, now time.Time) error {
	var inUse []string
	for _, r := range current {
		if slices.ContainsFunc(invs, func(x Inventory) bool { return x.ResourceClass == r.ResourceClass }) {
			continue
		}
		if r.Used > 0 {
			inUse = append(inUse, r.ResourceClass)
		}
	}
	if len(inUse) > 0 {
		return &InUseError{Err: ErrInventoryInUse, Resource: "inventory", ID: provider, Classes: inUse}
	}
	for _, inv := range invs {
		if _, err := lookupClass(tx, inv.ResourceClass); err != nil {
			return err
		}
	}
	for _, r := range current {
		if !slices.ContainsFunc(invs, func(x Inventory) bool { return x.ResourceClass == r.ResourceClass }) {
			if err := tx.DeleteInventory(provider, r.ResourceClass); err != nil {
				return err
			}
		}
	}
	for _, inv := range invs {
		inv.CreatedAt, inv.UpdatedAt = now, now
		if i := findResource(current, inv.ResourceClass); i >= 0 {
			inv.CreatedAt = current[i].CreatedAt
		}
		if err := tx.PutInventory(provider, inv); err != nil {
			return err
		}
	}
	return nil
}

func validateInventories(invs []Inventory) error {
	seen := make(map[string]bool, len(invs))
	for i := range invs {
		if err := invs[i].Validate(); err != nil {
			return err
		}
		if seen[invs[i].ResourceClass] {
			return invalid("inventories", invs[i].ResourceClass, "resource class listed twice")
		}
		seen[invs[i].ResourceClass] = true
	}
	return nil
}

func findResource(rs []ProviderResource, class string) int {
	return slices.IndexFunc(rs, func(r ProviderResource) bool { return r.ResourceClass == class })
}

func overCapacity(res []ProviderResource) []Excess {
	var out []Excess
	for _, r := range res {
		if c := r.CapacityInt(); r.Used > c {
			out = append(out, Excess{ResourceClass: r.ResourceClass, Used: r.Used, Capacity: c})
		}
	}
	return out
}
