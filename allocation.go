package placement

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
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
	if err := e.Authorize(ctx, ActionAllocationsUpdate, Target{}); err != nil {
		return err
	}
	op := e.newAllocOp()
	defer op.release()
	op.in[0] = ca
	return op.set(ctx, op.in[:])
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
	if err := e.Authorize(ctx, ActionAllocationsManage, Target{}); err != nil {
		return err
	}
	op := e.newAllocOp()
	defer op.release()
	return op.set(ctx, cas)
}

// allocOp is the working memory of one allocation write or deletion,
// pooled so that the Engine's own part of a typical write allocates
// nothing: the normalized input (inline room for one consumer and a few
// allocations), the writer's state, and the transaction functions, bound
// once when the op is made. Nothing the Store or the caller keeps points
// into an op: the Store copies what it is given, errors copy what they
// report.
type allocOp struct {
	e        *Engine
	cas      []ConsumerAllocations // normalized input
	consumer string                // DeleteAllocations' consumer
	w        allocWriter

	write func(Tx) error // op.writeTx
	del   func(Tx) error // op.deleteTx

	in       [1]ConsumerAllocations // SetAllocations' input
	casBuf   [1]ConsumerAllocations
	allocBuf [8]Allocation
}

var allocOps = sync.Pool{New: func() any {
	op := new(allocOp)
	op.write, op.del = op.writeTx, op.deleteTx
	return op
}}

func (e *Engine) newAllocOp() *allocOp {
	op := allocOps.Get().(*allocOp)
	op.e = e
	return op
}

// release returns the op to the pool, dropping the Engine, the transaction
// and the caller's input (whose slices the op must not keep).
func (op *allocOp) release() {
	op.e, op.cas, op.consumer = nil, nil, ""
	op.in[0].Allocations = nil
	op.w.release()
	allocOps.Put(op)
}

// set validates cas and writes it (the caller has authorized it).
func (op *allocOp) set(ctx context.Context, cas []ConsumerAllocations) error {
	var err error
	if op.cas, err = normalizeConsumerAllocationsInto(cas, op.casBuf[:0], op.allocBuf[:0]); err != nil {
		return err
	}
	return op.e.retryProviderConflicts(ctx, op.cas, op.write)
}

// writeTx is one attempt of the allocation write, in tx.
func (op *allocOp) writeTx(tx Tx) error {
	return op.e.writeAllocationsWith(&op.w, tx, op.cas, op.e.timestamp())
}

// retryProviderConflicts runs write in a transaction, again when it fails on
// a provider generation the Engine read itself (never one the caller passed),
// up to the configured number of attempts.
func (e *Engine) retryProviderConflicts(ctx context.Context, cas []ConsumerAllocations, write func(Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := e.runUpdate(ctx, write)
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
	return normalizeConsumerAllocationsInto(cas, nil, nil)
}

// normalizeConsumerAllocationsInto is normalizeConsumerAllocations storing
// the copies in the room of buf and allocBuf (appended to from their
// length) while it lasts.
func normalizeConsumerAllocationsInto(cas []ConsumerAllocations, buf []ConsumerAllocations, allocBuf []Allocation) ([]ConsumerAllocations, error) {
	if len(cas) == 0 {
		return nil, invalid("allocations", "", "at least one consumer is required")
	}
	var out []ConsumerAllocations
	if n := len(buf) + len(cas); n <= cap(buf) {
		out = buf[len(buf):n:n]
	} else {
		out = make([]ConsumerAllocations, len(cas))
	}
	for i := range cas {
		ca := &out[i]
		*ca = cas[i]
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
		var allocs []Allocation
		if n := len(allocBuf) + len(ca.Allocations); n <= cap(allocBuf) {
			allocs, allocBuf = allocBuf[len(allocBuf):n:n], allocBuf[:n]
		} else {
			allocs = make([]Allocation, len(ca.Allocations))
		}
		in := ca.Allocations
		for j := range in {
			a := &allocs[j]
			*a = in[j]
			if j > 0 && a.ProviderUUID == in[j-1].ProviderUUID {
				a.ProviderUUID = allocs[j-1].ProviderUUID // checked just before
			} else if a.ProviderUUID, err = canonicalUUIDField("resource_provider", a.ProviderUUID); err != nil {
				return nil, err
			}
			if err := validateClassName("resource_class", a.ResourceClass); err != nil {
				return nil, err
			}
			if a.Used < 1 || a.Used > MaxInt {
				return nil, invalid("allocations["+a.ProviderUUID+"]."+a.ResourceClass, fmt.Sprint(a.Used), fmt.Sprintf("must be between 1 and %d", MaxInt))
			}
		}
		// Sorted by provider and class, each pair once; usually already
		// sorted, which one pass tells.
		sorted, dup := true, 0
		for j := 1; j < len(allocs) && sorted; j++ {
			switch c := compareAllocationAt(allocs, j); {
			case c > 0:
				sorted = false
			case c == 0 && dup == 0:
				dup = j
			}
		}
		if !sorted {
			slices.SortFunc(allocs, compareAllocation)
			dup = 0
			for j := 1; j < len(allocs) && dup == 0; j++ {
				if compareAllocationAt(allocs, j) == 0 {
					dup = j
				}
			}
		}
		if dup > 0 {
			return nil, invalid("allocations["+allocs[dup].ProviderUUID+"]", allocs[dup].ResourceClass, "resource class listed twice for the provider")
		}
		ca.Allocations = allocs
	}
	return out, nil
}

// compareAllocationAt compares allocs[j-1] with allocs[j].
func compareAllocationAt(allocs []Allocation, j int) int {
	a, b := &allocs[j-1], &allocs[j]
	if a.ProviderUUID != b.ProviderUUID { // == is quick on the same string
		return strings.Compare(a.ProviderUUID, b.ProviderUUID)
	}
	return strings.Compare(a.ResourceClass, b.ResourceClass)
}

func compareAllocation(a, b Allocation) int {
	if a.ProviderUUID != b.ProviderUUID { // == is quick on the same string
		return strings.Compare(a.ProviderUUID, b.ProviderUUID)
	}
	return strings.Compare(a.ResourceClass, b.ResourceClass)
}

// demand is what a write asks of one provider and class.
type demand struct {
	provider, class string
	prov            int   // the provider's index in allocWriter.providers
	requested       int64 // sum of the new amounts
	old             int64 // the rewritten consumers' current amounts
	res             *ProviderResource
}

// touched is a provider whose generation the write bumps.
type touched struct {
	uuid       string
	generation int64
	// resources may be the store's own (FastReader.ProviderResourcesView):
	// read only, and only before the write's first write.
	resources []ProviderResource
}

// allocWriter holds one allocation write's working state. Its inline
// buffers hold a typical write (a few consumers, providers and classes); it
// lives in a pooled allocOp (or, for Reshape, costs one allocation).
type allocWriter struct {
	tx        Tx
	fast      FastReader // tx's, if it has one
	cur       []consumerState
	demands   []demand
	providers []touched
	recs      []AllocationRecord
	old       []AllocationRecord // the consumers' allocations (fast reads)
	dix       []int              // each new allocation's demand (in cas order)

	curBuf  [2]consumerState
	demBuf  [4]demand
	provBuf [4]touched
	recBuf  [4]AllocationRecord
	oldBuf  [6]AllocationRecord
	dixBuf  [8]int
}

// reset prepares w for a write in tx.
func (w *allocWriter) reset(tx Tx) {
	w.tx = tx
	w.fast, _ = tx.(FastReader)
	w.cur, w.demands, w.providers, w.recs = w.curBuf[:0], w.demBuf[:0], w.provBuf[:0], w.recBuf[:0]
	w.old, w.dix = w.oldBuf[:0], w.dixBuf[:0]
}

// release drops the transaction w refers to. (Its buffers keep what they
// hold until overwritten: strings and records of past writes, which the
// pool drops with the op at a garbage collection.)
func (w *allocWriter) release() {
	w.tx, w.fast = nil, nil
}

// consumer returns a consumer's record, exists false when it has none.
func (w *allocWriter) consumer(uuid string) (c Consumer, exists bool, err error) {
	if w.fast != nil {
		return w.fast.LookupConsumer(uuid)
	}
	c, err = w.tx.Consumer(uuid)
	switch {
	case err == nil:
		return c, true, nil
	case errors.Is(err, ErrNotFound):
		return Consumer{}, false, nil
	}
	return Consumer{}, false, err
}

// consumerAllocations returns a consumer's current allocations.
func (w *allocWriter) consumerAllocations(uuid string) ([]AllocationRecord, error) {
	if w.fast == nil {
		return w.tx.ConsumerAllocations(uuid)
	}
	start := len(w.old)
	all, err := w.fast.AppendConsumerAllocations(w.old, uuid)
	if err != nil {
		return nil, err
	}
	w.old = all
	return all[start:len(all):len(all)], nil
}

// consumerState is a consumer's stored record (if any) and current allocations.
type consumerState struct {
	rec    Consumer
	exists bool
	allocs []AllocationRecord
}

// provider reads the provider's generation and resources once per write
// (in the same snapshot as its usage) and returns its index in w.providers.
func (w *allocWriter) provider(uuid string) (int, error) {
	for i := range w.providers {
		if w.providers[i].uuid == uuid {
			return i, nil
		}
	}
	var gen int64
	var res []ProviderResource
	if w.fast != nil {
		// The store's own slice, read only before the write's first write.
		var ok bool
		var err error
		if gen, res, ok, err = w.fast.ProviderResourcesView(uuid); err != nil {
			return 0, err
		}
		if !ok {
			return 0, &NotFoundError{Resource: "resource provider", ID: uuid}
		}
	} else {
		p, err := w.tx.Provider(uuid)
		if err != nil {
			return 0, err
		}
		if res, err = w.tx.Resources(uuid); err != nil {
			return 0, err
		}
		gen = p.Generation
	}
	w.providers = append(w.providers, touched{uuid: uuid, generation: gen, resources: res})
	return len(w.providers) - 1, nil
}

// demand returns the index of what the write asks of one provider (whose
// index is prov) and class. A new demand is appended without a search when
// the caller knows it is new (the first consumer's allocations, which name
// each provider and class once).
func (w *allocWriter) demand(p string, prov int, class string, isNew bool) int {
	if !isNew {
		for i := range w.demands {
			if w.demands[i].provider == p && w.demands[i].class == class {
				return i
			}
		}
	}
	w.demands = append(w.demands, demand{provider: p, prov: prov, class: class})
	return len(w.demands) - 1
}

// writeAllocations is the core allocation write (Placement's
// _set_allocations), run inside a transaction.
func (e *Engine) writeAllocations(tx Tx, cas []ConsumerAllocations, now time.Time) error {
	return e.writeAllocationsWith(new(allocWriter), tx, cas, now)
}

// writeAllocationsWith is writeAllocations working in w.
func (e *Engine) writeAllocationsWith(w *allocWriter, tx Tx, cas []ConsumerAllocations, now time.Time) error {
	w.reset(tx)
	for range cas {
		w.cur = append(w.cur, consumerState{})
	}
	cur := w.cur

	// Consumers: check generations, note their current allocations.
	for i := range cas {
		ca := &cas[i]
		c, exists, err := w.consumer(ca.ConsumerUUID)
		if err != nil {
			return err
		}
		if !exists {
			c = Consumer{UUID: ca.ConsumerUUID}
		}
		cur[i].exists = exists
		if err := ca.Generation.checkConsumer(ca.ConsumerUUID, c.Generation, exists); err != nil {
			return err
		}
		cur[i].rec = c
		if !exists {
			continue // a consumer record exists while it holds allocations
		}
		if cur[i].allocs, err = w.consumerAllocations(ca.ConsumerUUID); err != nil {
			return err
		}
	}

	// Providers named in the new sets (their generations are read in the
	// same snapshot as their usage) and what is asked of each class.
	for i := range cas {
		allocs := cas[i].Allocations
		for j := range allocs {
			a := &allocs[j]
			prov, err := w.provider(a.ProviderUUID)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					return &NotFoundError{Resource: "resource provider", ID: a.ProviderUUID}
				}
				return err
			}
			k := w.demand(a.ProviderUUID, prov, a.ResourceClass, i == 0)
			w.demands[k].requested = satAdd(w.demands[k].requested, a.Used)
			w.dix = append(w.dix, k)
		}
	}
	// Emptied consumers bump the providers they had allocations on.
	for i := range cas {
		if len(cas[i].Allocations) > 0 {
			continue
		}
		for j := range cur[i].allocs {
			if _, err := w.provider(cur[i].allocs[j].ProviderUUID); err != nil {
				return err
			}
		}
	}
	demands, providers := w.demands, w.providers
	for i := range cur {
		allocs := cur[i].allocs
		for j := range allocs {
			a := &allocs[j]
			for k := range demands {
				if demands[k].provider == a.ProviderUUID && demands[k].class == a.ResourceClass {
					demands[k].old = satAdd(demands[k].old, a.Used)
				}
			}
		}
	}

	if err := e.checkDemands(tx, cas, demands, providers, w.dix); err != nil {
		return err
	}

	// Write: consumer records, allocation rows, generations.
	for i := range cas {
		ca := &cas[i]
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
		for j := range ca.Allocations {
			a := &ca.Allocations[j]
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
// class that does not exist at all. dix has the demand of each allocation
// of cas, in order.
func (e *Engine) checkDemands(tx ReadTx, cas []ConsumerAllocations, demands []demand, providers []touched, dix []int) error {
	var problems []Problem
	for i := range demands {
		d := &demands[i]
		res := providers[d.prov].resources
		for k := range res {
			if res[k].ResourceClass == d.class {
				d.res = &res[k]
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
	n := 0
	for i := range cas {
		allocs := cas[i].Allocations
		for j := range allocs {
			a, d := &allocs[j], &demands[dix[n]]
			n++
			if d.res == nil {
				continue
			}
			inv := &d.res.Inventory
			if r := CheckUnits(a.Used, inv.MinUnit, inv.MaxUnit, inv.StepSize); r != ReasonNone {
				problems = append(problems, Problem{Reason: r, Provider: d.provider, Class: d.class, Requested: a.Used, Used: d.res.Used - d.old, Capacity: inv.Capacity(), Limit: unitLimit(r, inv)})
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
	if err := e.Authorize(ctx, ActionAllocationsDelete, Target{}); err != nil {
		return err
	}
	op := e.newAllocOp()
	defer op.release()
	op.consumer = consumer
	return e.write(ctx, op.del)
}

// deleteTx is DeleteAllocations' transaction.
func (op *allocOp) deleteTx(tx Tx) error {
	consumer := op.consumer
	var has bool
	if fast, ok := tx.(FastReader); ok {
		var err error
		if has, err = fast.HasConsumerAllocations(consumer); err != nil {
			return err
		}
	} else {
		old, err := tx.ConsumerAllocations(consumer)
		if err != nil {
			return err
		}
		has = len(old) > 0
	}
	if !has {
		return &NotFoundError{Resource: "allocations", ID: consumer}
	}
	if err := tx.ReplaceAllocations(consumer, nil); err != nil {
		return err
	}
	return tx.DeleteConsumer(consumer)
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
