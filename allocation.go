package placement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Allocation is an amount of a resource class a consumer holds on a provider.
type Allocation struct {
	ProviderUUID  string
	ResourceClass string
	Used          int64
}

// ConsumerAllocations is the complete new set of one consumer's allocations
// (a write replaces the whole set; an empty set removes the consumer's
// allocations and its record).
type ConsumerAllocations struct {
	// ConsumerUUID is any uuid-like form; it is stored canonical.
	ConsumerUUID string
	// Generation is the precondition on the consumer: ExpectNewConsumer when
	// the caller believes it has no allocations, ExpectGeneration with the
	// generation the caller read, or SkipGenerationCheck (Placement before
	// microversion 1.28).
	Generation GenerationCheck
	// ProjectID and UserID own the consumer. When empty, an existing
	// consumer keeps its own and a new one gets the Engine's incomplete
	// consumer ids (Placement before microversion 1.8).
	ProjectID string
	UserID    string
	// ConsumerType (^[A-Z0-9_]+$) classifies the consumer for usage
	// reports. When empty, an existing consumer keeps its type and a new one
	// has none (reported as "unknown").
	ConsumerType string
	// Allocations is the new set: one entry per provider and class, each
	// amount between 1 and MaxInt.
	Allocations []Allocation
}

// SetAllocations replaces one consumer's allocations atomically. See
// SetAllocationsMulti for the rules.
func (e *Engine) SetAllocations(ctx context.Context, ca ConsumerAllocations) error {
	return e.setAllocations(ctx, ActionAllocationsUpdate, []ConsumerAllocations{ca})
}

// SetAllocationsMulti replaces several consumers' allocations in one atomic
// write: either every set is replaced or nothing changes. Per provider and
// class the amounts of all consumers are summed before the capacity check
// (Placement bug 1778743). A refused write returns a *CapacityError listing
// every problem (ErrCapacityExceeded, ErrConstraintViolated, ErrNoInventory);
// a stale consumer generation a *ConflictError; an unknown provider or
// class an error matching ErrNotFound. Nothing is left behind by a failed
// write (no consumer record, unlike Placement's quirk Q1), and a new
// consumer written with an empty set is not recorded (quirk Q2).
//
// Generations, as in Placement: each consumer's generation is incremented
// (a new consumer starts at 1); every provider named in a new set is
// incremented, and for a consumer whose new set is empty every provider it
// had allocations on. Provider generations changing concurrently are
// retried internally (WithAllocationRetries).
func (e *Engine) SetAllocationsMulti(ctx context.Context, cas []ConsumerAllocations) error {
	return e.setAllocations(ctx, ActionAllocationsManage, cas)
}

func (e *Engine) setAllocations(ctx context.Context, action Action, cas []ConsumerAllocations) error {
	if err := e.Authorize(ctx, action, Target{}); err != nil {
		return err
	}
	cas, err := e.normalizeConsumerAllocations(cas)
	if err != nil {
		return err
	}
	return e.retryProviderConflicts(ctx, cas, func(tx Tx) error {
		return e.writeAllocations(tx, cas, e.timestamp())
	})
}

// retryProviderConflicts runs write in a transaction, again when it fails on
// a provider generation the Engine read itself (never one the caller passed),
// up to the configured number of attempts.
func (e *Engine) retryProviderConflicts(ctx context.Context, cas []ConsumerAllocations, write func(Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := e.store.Update(ctx, write)
		if err == nil {
			return nil
		}
		var ce *ConflictError
		var capErr *CapacityError
		switch {
		case errors.As(err, &capErr):
			e.emit(ctx, Event{Kind: EventRefused, Consumer: consumerList(cas), Provider: capErr.Problems[0].Provider, Class: capErr.Problems[0].Class, Err: err})
			return err
		case !errors.As(err, &ce):
			return err
		}
		e.emitConflict(ctx, err)
		if ce.Kind != ProviderGeneration || !ce.internal {
			return err
		}
		if attempt >= e.allocationRetries {
			e.emit(ctx, Event{Kind: EventRetriesExhausted, Provider: ce.UUID, Consumer: consumerList(cas), Attempt: attempt, Err: err})
			return err
		}
		e.emit(ctx, Event{Kind: EventRetry, Provider: ce.UUID, Consumer: consumerList(cas), Attempt: attempt})
	}
}

func consumerList(cas []ConsumerAllocations) string {
	ids := make([]string, len(cas))
	for i, ca := range cas {
		ids[i] = ca.ConsumerUUID
	}
	return strings.Join(ids, ",")
}

// normalizeConsumerAllocations validates the input and returns copies with
// canonical uuids and allocations sorted by provider and class.
func (e *Engine) normalizeConsumerAllocations(cas []ConsumerAllocations) ([]ConsumerAllocations, error) {
	if len(cas) == 0 {
		return nil, invalid("allocations", "", "at least one consumer is required")
	}
	out := make([]ConsumerAllocations, len(cas))
	for i, ca := range cas {
		var err error
		if ca.ConsumerUUID, err = canonicalUUIDField("consumer_uuid", ca.ConsumerUUID); err != nil {
			return nil, err
		}
		for j := range i {
			if out[j].ConsumerUUID == ca.ConsumerUUID {
				return nil, invalid("consumer_uuid", ca.ConsumerUUID, "consumer listed twice")
			}
		}
		if err := ca.Generation.validate("consumer_generation"); err != nil {
			return nil, err
		}
		if ca.ProjectID != "" || ca.UserID != "" {
			if err := validateExternalID("project_id", ca.ProjectID); err != nil {
				return nil, err
			}
			if err := validateExternalID("user_id", ca.UserID); err != nil {
				return nil, err
			}
		}
		if ca.ConsumerType != "" {
			if err := ValidateConsumerType(ca.ConsumerType); err != nil {
				return nil, err
			}
		}
		allocs := make([]Allocation, len(ca.Allocations))
		for j, a := range ca.Allocations {
			if a.ProviderUUID, err = canonicalUUIDField("resource_provider", a.ProviderUUID); err != nil {
				return nil, err
			}
			if err := validateClassName("resource_class", a.ResourceClass); err != nil {
				return nil, err
			}
			if a.Used < 1 || a.Used > MaxInt {
				return nil, invalid("allocations["+a.ProviderUUID+"]."+a.ResourceClass, fmt.Sprint(a.Used), fmt.Sprintf("must be between 1 and %d", MaxInt))
			}
			allocs[j] = a
		}
		slices.SortFunc(allocs, compareAllocation)
		for j := 1; j < len(allocs); j++ {
			if compareAllocation(allocs[j-1], allocs[j]) == 0 {
				return nil, invalid("allocations["+allocs[j].ProviderUUID+"]", allocs[j].ResourceClass, "resource class listed twice for the provider")
			}
		}
		ca.Allocations = allocs
		out[i] = ca
	}
	return out, nil
}

func compareAllocation(a, b Allocation) int {
	return cmp.Or(strings.Compare(a.ProviderUUID, b.ProviderUUID), strings.Compare(a.ResourceClass, b.ResourceClass))
}

// demand is what a write asks of one provider and class.
type demand struct {
	provider, class string
	requested       int64 // sum of the new amounts
	old             int64 // the rewritten consumers' current amounts
	res             *ProviderResource
}

// touched is a provider whose generation the write bumps.
type touched struct {
	uuid       string
	generation int64
	resources  []ProviderResource
}

// allocWriter holds one allocation write's working state. Its inline
// buffers hold a typical write (a few consumers, providers and classes), so
// the write costs one allocation for all of it.
type allocWriter struct {
	tx        Tx
	cur       []consumerState
	demands   []demand
	providers []touched
	recs      []AllocationRecord

	curBuf  [2]consumerState
	demBuf  [4]demand
	provBuf [4]touched
	recBuf  [4]AllocationRecord
}

// consumerState is a consumer's stored record (if any) and current allocations.
type consumerState struct {
	rec    Consumer
	exists bool
	allocs []AllocationRecord
}

// provider returns the provider's generation and resources, read once per
// write (in the same snapshot as its usage).
func (w *allocWriter) provider(uuid string) (*touched, error) {
	for i := range w.providers {
		if w.providers[i].uuid == uuid {
			return &w.providers[i], nil
		}
	}
	p, err := w.tx.Provider(uuid)
	if err != nil {
		return nil, err
	}
	res, err := w.tx.Resources(uuid)
	if err != nil {
		return nil, err
	}
	w.providers = append(w.providers, touched{uuid: uuid, generation: p.Generation, resources: res})
	return &w.providers[len(w.providers)-1], nil
}

// demand returns what the write asks of one provider and class.
func (w *allocWriter) demand(p, class string) *demand {
	for i := range w.demands {
		if w.demands[i].provider == p && w.demands[i].class == class {
			return &w.demands[i]
		}
	}
	w.demands = append(w.demands, demand{provider: p, class: class})
	return &w.demands[len(w.demands)-1]
}

// writeAllocations is the core allocation write (Placement's
// _set_allocations), run inside a transaction.
func (e *Engine) writeAllocations(tx Tx, cas []ConsumerAllocations, now time.Time) error {
	w := &allocWriter{tx: tx}
	w.cur = w.curBuf[:0]
	w.demands = w.demBuf[:0]
	w.providers = w.provBuf[:0]
	w.recs = w.recBuf[:0]
	for range cas {
		w.cur = append(w.cur, consumerState{})
	}
	cur := w.cur

	// Consumers: check generations, note their current allocations.
	for i, ca := range cas {
		c, err := tx.Consumer(ca.ConsumerUUID)
		switch {
		case err == nil:
			cur[i].exists = true
		case errors.Is(err, ErrNotFound):
			c = Consumer{UUID: ca.ConsumerUUID}
		default:
			return err
		}
		if err := ca.Generation.checkConsumer(ca.ConsumerUUID, c.Generation, cur[i].exists); err != nil {
			return err
		}
		cur[i].rec = c
		if !cur[i].exists {
			continue // a consumer record exists while it holds allocations
		}
		if cur[i].allocs, err = tx.ConsumerAllocations(ca.ConsumerUUID); err != nil {
			return err
		}
	}

	// Providers named in the new sets (their generations are read in the
	// same snapshot as their usage) and what is asked of each class.
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			if _, err := w.provider(a.ProviderUUID); err != nil {
				if errors.Is(err, ErrNotFound) {
					return &NotFoundError{Resource: "resource provider", ID: a.ProviderUUID}
				}
				return err
			}
			d := w.demand(a.ProviderUUID, a.ResourceClass)
			d.requested = satAdd(d.requested, a.Used)
		}
	}
	// Emptied consumers bump the providers they had allocations on.
	for i, ca := range cas {
		if len(ca.Allocations) > 0 {
			continue
		}
		for _, a := range cur[i].allocs {
			if _, err := w.provider(a.ProviderUUID); err != nil {
				return err
			}
		}
	}
	demands, providers := w.demands, w.providers
	for _, c := range cur {
		for _, a := range c.allocs {
			for i := range demands {
				if demands[i].provider == a.ProviderUUID && demands[i].class == a.ResourceClass {
					demands[i].old = satAdd(demands[i].old, a.Used)
				}
			}
		}
	}

	if err := e.checkDemands(tx, cas, demands, providers); err != nil {
		return err
	}

	// Write: consumer records, allocation rows, generations.
	for i, ca := range cas {
		if len(ca.Allocations) == 0 {
			if err := tx.ReplaceAllocations(ca.ConsumerUUID, nil); err != nil {
				return err
			}
			if cur[i].exists {
				if err := tx.DeleteConsumer(ca.ConsumerUUID); err != nil {
					return err
				}
			}
			continue
		}
		c := cur[i].rec
		if ca.ProjectID != "" {
			c.ProjectID, c.UserID = ca.ProjectID, ca.UserID
		} else if !cur[i].exists {
			c.ProjectID, c.UserID = e.incompleteProject, e.incompleteUser
		}
		if ca.ConsumerType != "" {
			c.ConsumerType = ca.ConsumerType
		}
		c.UpdatedAt = now
		if cur[i].exists {
			c.Generation++
			if err := tx.UpdateConsumer(c, cur[i].rec.Generation); err != nil {
				return err
			}
		} else {
			c.Generation, c.CreatedAt = 1, now
			if err := tx.CreateConsumer(c); err != nil {
				if errors.Is(err, ErrAlreadyExists) {
					return &ConflictError{Kind: ConsumerGeneration, UUID: c.UUID, Expected: ca.Generation, Exists: true}
				}
				return err
			}
		}
		recs := w.recs[:0]
		for _, a := range ca.Allocations {
			recs = append(recs, AllocationRecord{ConsumerUUID: ca.ConsumerUUID, ProviderUUID: a.ProviderUUID, ResourceClass: a.ResourceClass, Used: a.Used})
		}
		if err := tx.ReplaceAllocations(ca.ConsumerUUID, recs); err != nil {
			return err
		}
	}
	for i := range providers {
		if err := e.bump(tx, providers[i].uuid, &providers[i].generation); err != nil {
			return err
		}
	}
	return nil
}

// checkDemands applies the capacity core to every demanded class and
// returns a *CapacityError listing every problem, or a NotFoundError for a
// class that does not exist at all.
func (e *Engine) checkDemands(tx ReadTx, cas []ConsumerAllocations, demands []demand, providers []touched) error {
	var problems []Problem
	for i := range demands {
		d := &demands[i]
		for j := range providers {
			if providers[j].uuid == d.provider {
				if k := findResource(providers[j].resources, d.class); k >= 0 {
					d.res = &providers[j].resources[k]
				}
				break
			}
		}
		if d.res == nil {
			if _, err := lookupClass(tx, d.class); err != nil {
				return err
			}
			problems = append(problems, Problem{Reason: ReasonNoInventory, Provider: d.provider, Class: d.class, Requested: d.requested})
			continue
		}
		inv := &d.res.Inventory
		other := d.res.Used - d.old
		if r := inv.CheckWrite(d.res.Used, other, d.requested); r != ReasonNone {
			problems = append(problems, Problem{Reason: r, Provider: d.provider, Class: d.class, Requested: d.requested, Used: other, Capacity: inv.Capacity()})
		}
	}
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			for _, d := range demands {
				if d.provider != a.ProviderUUID || d.class != a.ResourceClass || d.res == nil {
					continue
				}
				inv := &d.res.Inventory
				if r := CheckUnits(a.Used, inv.MinUnit, inv.MaxUnit, inv.StepSize); r != ReasonNone {
					problems = append(problems, Problem{Reason: r, Provider: d.provider, Class: d.class, Requested: a.Used, Used: d.res.Used - d.old, Capacity: inv.Capacity(), Limit: unitLimit(r, inv)})
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b Problem) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Class, b.Class), cmp.Compare(a.Reason, b.Reason))
	})
	return &CapacityError{Problems: slices.Compact(problems)}
}

func unitLimit(r Reason, inv *Inventory) int64 {
	switch r {
	case ReasonMinUnit:
		return inv.MinUnit
	case ReasonMaxUnit:
		return inv.MaxUnit
	}
	return inv.StepSize
}

// DeleteAllocations removes all of a consumer's allocations and its record
// (ErrNotFound when it has none). As in Placement, no generation is checked
// or changed; to delete safely against concurrent writers use SetAllocations
// with an empty set and the consumer's generation.
func (e *Engine) DeleteAllocations(ctx context.Context, consumer string) error {
	return e.update(ctx, ActionAllocationsDelete, func(tx Tx) error {
		old, err := tx.ConsumerAllocations(consumer)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return &NotFoundError{Resource: "allocations", ID: consumer}
		}
		if err := tx.ReplaceAllocations(consumer, nil); err != nil {
			return err
		}
		return tx.DeleteConsumer(consumer)
	})
}

// ConsumerAllocationSet is a consumer's allocations as read.
type ConsumerAllocationSet struct {
	// Exists is false for a consumer with no record (no allocations); the
	// other fields are then zero.
	Exists   bool
	Consumer Consumer
	// Allocations sorted by provider and class.
	Allocations []Allocation
	// ProviderGenerations has the generation of every provider in Allocations.
	ProviderGenerations map[string]int64
}

// ConsumerAllocations returns a consumer's allocations; an unknown consumer
// is not an error (Exists is false), as in Placement.
func (e *Engine) ConsumerAllocations(ctx context.Context, consumer string) (ConsumerAllocationSet, error) {
	var out ConsumerAllocationSet
	err := e.view(ctx, ActionAllocationsList, Target{}, func(tx ReadTx) error {
		c, err := tx.Consumer(consumer)
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		recs, err := tx.ConsumerAllocations(consumer)
		if err != nil {
			return err
		}
		out = ConsumerAllocationSet{Exists: true, Consumer: c, ProviderGenerations: map[string]int64{}}
		for _, r := range recs {
			out.Allocations = append(out.Allocations, Allocation{ProviderUUID: r.ProviderUUID, ResourceClass: r.ResourceClass, Used: r.Used})
			if _, ok := out.ProviderGenerations[r.ProviderUUID]; !ok {
				p, err := tx.Provider(r.ProviderUUID)
				if err != nil {
					return err
				}
				out.ProviderGenerations[r.ProviderUUID] = p.Generation
			}
		}
		return nil
	})
	return out, err
}

// ProviderAllocationSet is the allocations held against a provider.
type ProviderAllocationSet struct {
	Generation int64
	// Allocations sorted by consumer and class.
	Allocations []AllocationRecord
	// Consumers has the record of every consumer in Allocations.
	Consumers map[string]Consumer
}

// ProviderAllocations returns the allocations held against a provider.
func (e *Engine) ProviderAllocations(ctx context.Context, provider string) (ProviderAllocationSet, error) {
	var out ProviderAllocationSet
	err := e.view(ctx, ActionProviderAllocations, Target{}, func(tx ReadTx) error {
		p, err := tx.Provider(provider)
		if err != nil {
			return err
		}
		recs, err := tx.ProviderAllocations(provider)
		if err != nil {
			return err
		}
		out = ProviderAllocationSet{Generation: p.Generation, Allocations: recs, Consumers: map[string]Consumer{}}
		for _, r := range recs {
			if _, ok := out.Consumers[r.ConsumerUUID]; ok {
				continue
			}
			c, err := tx.Consumer(r.ConsumerUUID)
			if err != nil {
				return err
			}
			out.Consumers[r.ConsumerUUID] = c
		}
		return nil
	})
	return out, err
}

// markInternal flags a provider conflict met on a generation the Engine read
// itself, which the allocation write may retry.
func markInternal(err error) {
	var ce *ConflictError
	if errors.As(err, &ce) && ce.Kind == ProviderGeneration {
		ce.internal = true
	}
}

// satAdd adds two non-negative amounts, saturating at the largest int64 (a
// saturated sum never fits any capacity).
func satAdd(a, b int64) int64 {
	if s, ok := addInt64(a, b); ok {
		return s
	}
	return math.MaxInt64
}
