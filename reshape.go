package placement

import (
	"context"
	"slices"
	"time"
)

// ProviderInventoryUpdate is one provider's new whole inventory in a Reshape.
type ProviderInventoryUpdate struct {
	ProviderUUID string
	// Generation is checked against the provider's (required).
	Generation  GenerationCheck
	Inventories []Inventory
}

// ReshapeRequest moves inventories and the allocations that consume them
// between providers in one atomic operation (Placement's POST /reshaper).
type ReshapeRequest struct {
	// Inventories lists every provider whose inventory changes, with its
	// complete new inventory (empty removes all of it).
	Inventories []ProviderInventoryUpdate
	// Allocations lists the consumers whose allocations change, each with its
	// complete new set (empty removes them).
	Allocations []ConsumerAllocations
}

// Reshape applies r atomically, as Placement does: each provider's
// inventory first becomes the union of its current and new inventory, the
// allocations are written (with every check of SetAllocationsMulti), then
// each provider's inventory becomes exactly the new one (refused with
// ErrInventoryInUse if a removed class still has allocations). Either all of
// it happens or nothing does. A provider with a non-empty new inventory has
// its generation bumped twice, one with an empty new inventory once, plus
// once more for each provider named in the new allocations.
//
// Unlike Placement, the new inventories are validated like any other
// inventory write (Placement's reshaper skips the reserved/total check).
func (e *Engine) Reshape(ctx context.Context, r ReshapeRequest) error {
	if err := e.Authorize(ctx, ActionReshape, Target{}); err != nil {
		return err
	}
	if len(r.Inventories) == 0 {
		return invalid("inventories", "", "at least one provider is required")
	}
	invs := make([]ProviderInventoryUpdate, len(r.Inventories))
	for i, u := range r.Inventories {
		if err := u.Generation.validate("inventories[" + u.ProviderUUID + "].resource_provider_generation"); err != nil {
			return err
		}
		if err := validateInventories(u.Inventories); err != nil {
			return err
		}
		for j := range i {
			if invs[j].ProviderUUID == u.ProviderUUID {
				return invalid("inventories", u.ProviderUUID, "provider listed twice")
			}
		}
		u.Inventories = slices.Clone(u.Inventories)
		invs[i] = u
	}
	var cas []ConsumerAllocations
	if len(r.Allocations) > 0 {
		var err error
		if cas, err = e.normalizeConsumerAllocations(r.Allocations); err != nil {
			return err
		}
	}
	return e.retryProviderConflicts(ctx, cas, func(tx Tx) error {
		now := e.timestamp()
		gens := make([]int64, len(invs))
		for i, u := range invs {
			p, err := tx.Provider(u.ProviderUUID)
			if err != nil {
				return err
			}
			if err := u.Generation.checkProvider(u.ProviderUUID, p.Generation); err != nil {
				return err
			}
			gens[i] = p.Generation
		}
		// Interim inventories: current ∪ new.
		for i, u := range invs {
			if len(u.Inventories) == 0 {
				continue
			}
			if err := reshapeInterim(tx, u, now); err != nil {
				return err
			}
			if err := e.bump(tx, u.ProviderUUID, &gens[i]); err != nil {
				return err
			}
		}
		if len(cas) > 0 {
			if err := e.writeAllocations(tx, cas, now); err != nil {
				return err
			}
			// writeAllocations bumped some of these providers: re-read.
			for i, u := range invs {
				p, err := tx.Provider(u.ProviderUUID)
				if err != nil {
					return err
				}
				gens[i] = p.Generation
			}
		}
		// Final inventories: exactly the new ones.
		for i, u := range invs {
			current, err := tx.Resources(u.ProviderUUID)
			if err != nil {
				return err
			}
			if err := replaceInventory(tx, u.ProviderUUID, current, u.Inventories, now); err != nil {
				return err
			}
			if err := e.bump(tx, u.ProviderUUID, &gens[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// reshapeInterim adds or updates u's classes, keeping the others.
func reshapeInterim(tx Tx, u ProviderInventoryUpdate, now time.Time) error {
	current, err := tx.Resources(u.ProviderUUID)
	if err != nil {
		return err
	}
	for _, inv := range u.Inventories {
		if _, err := lookupClass(tx, inv.ResourceClass); err != nil {
			return err
		}
		inv.CreatedAt, inv.UpdatedAt = now, now
		if i := findResource(current, inv.ResourceClass); i >= 0 {
			inv.CreatedAt = current[i].CreatedAt
		}
		if err := tx.PutInventory(u.ProviderUUID, inv); err != nil {
			return err
		}
	}
	return nil
}

// bump increments a provider generation the Engine read itself.
func (e *Engine) bump(tx Tx, provider string, gen *int64) error {
	if err := tx.BumpProviderGeneration(provider, *gen); err != nil {
		markInternal(err)
		return err
	}
	*gen++
	return nil
}
