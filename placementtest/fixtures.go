package placementtest

// Helpers shared by the deterministic parts of the suite (crud.go,
// generations.go, allocations.go, transactions.go, authz.go). They are
// methods on tenv, or have distinctive names, so that other files of the
// package can define their own helpers freely.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
)

// tenv is one test's store and an allow-all Engine over it.
type tenv struct {
	t     testing.TB
	store placement.Store
	e     *placement.Engine
	ctx   context.Context
}

// newTEnv returns a fresh store with an allow-all Engine.
func newTEnv(t testing.TB, newStore NewStore, opts ...placement.Option) *tenv {
	t.Helper()
	s := newStore(t)
	return &tenv{t: t, store: s, e: NewEngine(t, s, opts...), ctx: context.Background()}
}

// fixedUUID returns a deterministic canonical uuid; uuids sort by n.
func fixedUUID(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n) }

// rp creates a root provider with a fixed uuid.
func (v *tenv) rp(n int, name string) placement.ResourceProvider {
	v.t.Helper()
	return v.child(n, name, "")
}

// child creates a provider with a fixed uuid under parent ("" for a root).
func (v *tenv) child(n int, name, parent string) placement.ResourceProvider {
	v.t.Helper()
	p, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: fixedUUID(n), Name: name, ParentUUID: parent})
	if err != nil {
		v.t.Fatalf("CreateProvider(%s): %v", name, err)
	}
	return p
}

// gen returns a provider's current generation.
func (v *tenv) gen(uuid string) int64 {
	v.t.Helper()
	p, err := v.e.Provider(v.ctx, uuid)
	if err != nil {
		v.t.Fatalf("Provider(%s): %v", uuid, err)
	}
	return p.Generation
}

// mkInv builds an inventory with defaults and total.
func mkInv(class string, total int64) placement.Inventory {
	return placement.NewInventory(class, total)
}

// setInv replaces a provider's inventory (checking its current generation)
// and returns the new generation.
func (v *tenv) setInv(uuid string, invs ...placement.Inventory) int64 {
	v.t.Helper()
	ch, err := v.e.ReplaceInventories(v.ctx, uuid, placement.ExpectGeneration(v.gen(uuid)), invs)
	if err != nil {
		v.t.Fatalf("ReplaceInventories(%s): %v", uuid, err)
	}
	return ch.Generation
}

// mkAlloc is a shorthand for an Allocation.
func mkAlloc(provider, class string, used int64) placement.Allocation {
	return placement.Allocation{ProviderUUID: provider, ResourceClass: class, Used: used}
}

// put writes a consumer's allocations without a generation check (project
// p1, user u1) and fails the test on error.
func (v *tenv) put(consumer string, allocs ...placement.Allocation) {
	v.t.Helper()
	err := v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{
		ConsumerUUID: consumer, Generation: placement.SkipGenerationCheck(),
		ProjectID: "p1", UserID: "u1", Allocations: allocs,
	})
	if err != nil {
		v.t.Fatalf("SetAllocations(%s): %v", consumer, err)
	}
}

// consumerGen returns a consumer's generation and whether it has a record.
func (v *tenv) consumerGen(consumer string) (int64, bool) {
	v.t.Helper()
	cs, err := v.e.ConsumerAllocations(v.ctx, consumer)
	if err != nil {
		v.t.Fatalf("ConsumerAllocations(%s): %v", consumer, err)
	}
	return cs.Consumer.Generation, cs.Exists
}

// usage returns a provider's usage of a class.
func (v *tenv) usage(uuid, class string) int64 {
	v.t.Helper()
	u, err := v.e.ProviderUsages(v.ctx, uuid)
	if err != nil {
		v.t.Fatalf("ProviderUsages(%s): %v", uuid, err)
	}
	return u.Usages[class]
}

// dump reads the whole store state, deep-copied so that it cannot change
// even if the store wrongly hands out its own slices.
func (v *tenv) dump() State {
	v.t.Helper()
	return cloneState(Dump(v.t, v.store))
}

// cloneState returns a deep copy of st.
func cloneState(st State) State {
	out := State{
		Providers:       slices.Clone(st.Providers),
		Resources:       map[string][]placement.ProviderResource{},
		Traits:          map[string][]string{},
		Aggregates:      map[string][]string{},
		Allocations:     slices.Clone(st.Allocations),
		Consumers:       slices.Clone(st.Consumers),
		ResourceClasses: slices.Clone(st.ResourceClasses),
		CustomTraits:    slices.Clone(st.CustomTraits),
	}
	for k, v := range st.Resources {
		out.Resources[k] = slices.Clone(v)
	}
	for k, v := range st.Traits {
		out.Traits[k] = slices.Clone(v)
	}
	for k, v := range st.Aggregates {
		out.Aggregates[k] = slices.Clone(v)
	}
	return out
}

// unchanged fails the test if the store state differs from before.
func (v *tenv) unchanged(before State, what string) {
	v.t.Helper()
	if d := cmp.Diff(before, v.dump(), equateEmpty); d != "" {
		v.t.Errorf("%s changed the state (-before +after):\n%s", what, d)
	}
}

// audit fails the test if the Engine's audit finds an inconsistency.
func (v *tenv) audit() {
	v.t.Helper()
	rep, err := v.e.Audit(v.ctx)
	if err != nil {
		v.t.Fatalf("Audit: %v", err)
	}
	if !rep.OK() {
		v.t.Errorf("Audit found inconsistencies: %+v", rep)
	}
}

// checkErrIs fails the test unless err matches every target.
func checkErrIs(t testing.TB, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %v", what, targets)
		return
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("%s: error %q (%T) does not match %v", what, err, err, target)
		}
	}
}

// checkNoErr fails the test now if err is not nil.
func checkNoErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// errAs returns err as an E (a pointer to an error type), failing the test
// if it is not one.
func errAs[E error](t testing.TB, what string, err error) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("%s: error %v (%T) is not a %T", what, err, err, target)
	}
	return target
}

// checkConflict checks that err is a *ConflictError with the given fields.
func checkConflict(t testing.TB, what string, err error, kind placement.ConflictKind, uuid string, expected placement.GenerationCheck, actual int64, exists bool) {
	t.Helper()
	checkErrIs(t, what, err, placement.ErrConcurrentUpdate)
	if err == nil {
		return
	}
	ce := errAs[*placement.ConflictError](t, what, err)
	if ce.Kind != kind || ce.UUID != uuid || ce.Expected != expected || ce.Exists != exists || (exists && ce.Actual != actual) {
		t.Errorf("%s: conflict = {Kind %v UUID %s Expected %v Actual %d Exists %v}, want {Kind %v UUID %s Expected %v Actual %d Exists %v}",
			what, ce.Kind, ce.UUID, ce.Expected, ce.Actual, ce.Exists, kind, uuid, expected, actual, exists)
	}
}

// providerUUIDs returns the uuids of ps, in order.
func providerUUIDs(ps []placement.ResourceProvider) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.UUID
	}
	return out
}

// sortedCopy returns a sorted copy of s (nil for an empty s, so that cmp
// treats nil and empty alike).
func sortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// equateEmpty makes cmp treat nil and empty slices and maps alike.
var equateEmpty = cmpopts.EquateEmpty()
