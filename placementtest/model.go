package placementtest

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"

	"github.com/goplacement/placement"
)

// The state-machine test: rapid drives random operations through the Engine
// on a fresh store and compares every outcome (the error class, and after
// every step the whole state read through the SPI) with a reference model.
// The model decides what fits using only the pure capacity core
// (placement.CheckUnits, (*Inventory).CheckWrite, Capacity, AtMost,
// CapacityInt) and the documented generation rules (REFERENCE §3.7, §3.8).

func init() {
	register("Model/StateMachine", testModelStateMachine)
}

// The fixed universe of the model. UUIDs are canonical (lowercase, dashed)
// and the providers sort in this order.
var (
	modelProviders = []string{
		"11111111-1111-4111-8111-111111111111",
		"22222222-2222-4222-8222-222222222222",
		"33333333-3333-4333-8333-333333333333",
	}
	// modelParents: the third provider is a child of the first.
	modelParents = map[string]string{modelProviders[2]: modelProviders[0]}
	// modelUnknownProvider never exists.
	modelUnknownProvider = "99999999-9999-4999-8999-999999999999"

	modelCustomClass  = "CUSTOM_MODEL_GPU"
	modelClasses      = []string{placement.ClassMemoryMB, placement.ClassVCPU, modelCustomClass} // sorted
	modelUnknownClass = "CUSTOM_MODEL_MISSING"                                                   // never created

	modelConsumers = []string{
		"c0000000-0000-4000-8000-000000000001",
		"c0000000-0000-4000-8000-000000000002",
		"c0000000-0000-4000-8000-000000000003",
		"c0000000-0000-4000-8000-000000000004",
	}

	modelCustomTrait  = "CUSTOM_MODEL_FAST"
	modelTraits       = []string{"COMPUTE_VOLUME_MULTI_ATTACH", "HW_CPU_X86_AVX2", modelCustomTrait}
	modelUnknownTrait = "CUSTOM_MODEL_NO_SUCH_TRAIT" // never created

	modelAggregates = []string{
		"a0000000-0000-4000-8000-00000000000a",
		"a0000000-0000-4000-8000-00000000000b",
		"a0000000-0000-4000-8000-00000000000c",
	}

	modelRatios = []float64{1, 1, 1, 1.5, 0.5, 0.7, 2, 0}
)

// modelErrors are the error classes the model predicts, matched with errors.Is.
var modelErrors = []struct {
	err  error
	name string
}{
	{placement.ErrInvalid, "ErrInvalid"},
	{placement.ErrNotFound, "ErrNotFound"},
	{placement.ErrConcurrentUpdate, "ErrConcurrentUpdate"},
	{placement.ErrCapacityExceeded, "ErrCapacityExceeded"},
	{placement.ErrConstraintViolated, "ErrConstraintViolated"},
	{placement.ErrNoInventory, "ErrNoInventory"},
	{placement.ErrInventoryInUse, "ErrInventoryInUse"},
}

// modelErrClass is a set of error classes (bit i: modelErrors[i]); the top
// bit marks an error matching none of them.
type modelErrClass uint16

const modelErrOther modelErrClass = 1 << 15

func modelClassOf(err error) modelErrClass {
	if err == nil {
		return 0
	}
	var c modelErrClass
	for i, e := range modelErrors {
		if errors.Is(err, e.err) {
			c |= 1 << i
		}
	}
	if c == 0 {
		c = modelErrOther
	}
	return c
}

func (c modelErrClass) String() string {
	if c == 0 {
		return "nil"
	}
	var names []string
	for i, e := range modelErrors {
		if c&(1<<i) != 0 {
			names = append(names, e.name)
		}
	}
	if c&modelErrOther != 0 {
		names = append(names, "other error")
	}
	return strings.Join(names, "+")
}

// refConsumer is the model of a consumer record with its allocations.
type refConsumer struct {
	project, user, ctype string
	gen                  int64
	allocs               []placement.Allocation // sorted by provider, class
}

type modelKey struct{ provider, class string }

// refModel is the reference model of the whole store.
type refModel struct {
	gen    map[string]int64
	inv    map[string]map[string]placement.Inventory // provider → class → inventory (no timestamps)
	traits map[string][]string
	aggs   map[string][]string
	cons   map[string]*refConsumer
	// ceiling: (provider, class) pairs an inventory write left over
	// capacity, with the usage at that time; allocation writes may not
	// raise usage above it while the pair stays over capacity.
	ceiling map[modelKey]int64
}

func newRefModel() *refModel {
	m := &refModel{
		gen:     map[string]int64{},
		inv:     map[string]map[string]placement.Inventory{},
		traits:  map[string][]string{},
		aggs:    map[string][]string{},
		cons:    map[string]*refConsumer{},
		ceiling: map[modelKey]int64{},
	}
	for _, p := range modelProviders {
		m.inv[p] = map[string]placement.Inventory{}
	}
	return m
}

func (m *refModel) used(provider, class string) int64 {
	var n int64
	for _, c := range m.cons {
		for _, a := range c.allocs {
			if a.ProviderUUID == provider && a.ResourceClass == class {
				n += a.Used
			}
		}
	}
	return n
}

func (m *refModel) providerKnown(p string) bool { _, ok := m.gen[p]; return ok }

func modelClassKnown(c string) bool { return slices.Contains(modelClasses, c) }

func modelTraitKnown(t string) bool { return slices.Contains(modelTraits, t) }

// modelInventoryValid is the documented validation rule for the fields the
// generator varies: total at least 1, reserved not negative, capacity not
// negative.
func modelInventoryValid(inv placement.Inventory) bool {
	return inv.Total >= 1 && inv.Reserved >= 0 && placement.Capacity(inv.Total, inv.Reserved, inv.AllocationRatio) >= 0
}

// noteOverCapacity records the classes of p an inventory write left over capacity.
func (m *refModel) noteOverCapacity(p string) {
	for class, inv := range m.inv[p] {
		k := modelKey{p, class}
		if u := m.used(p, class); !placement.AtMost(u, inv.Capacity()) {
			m.ceiling[k] = u
		} else {
			delete(m.ceiling, k)
		}
	}
}

// settleCeilings forgets pairs that are back within capacity.
func (m *refModel) settleCeilings() {
	for k := range m.ceiling {
		inv, ok := m.inv[k.provider][k.class]
		if !ok || placement.AtMost(m.used(k.provider, k.class), inv.Capacity()) {
			delete(m.ceiling, k)
		}
	}
}

// expectedExcess is what an inventory write reports in OverCapacity.
func (m *refModel) expectedExcess(p string) []placement.Excess {
	var out []placement.Excess
	for _, class := range slices.Sorted(maps.Keys(m.inv[p])) {
		inv := m.inv[p][class]
		if u, c := m.used(p, class), inv.CapacityInt(); u > c {
			out = append(out, placement.Excess{ResourceClass: class, Used: u, Capacity: c})
		}
	}
	return out
}

func (m *refModel) inventories(p string) []placement.Inventory {
	var out []placement.Inventory
	for _, class := range slices.Sorted(maps.Keys(m.inv[p])) {
		out = append(out, m.inv[p][class])
	}
	return out
}

// replaceInventories predicts ReplaceInventories and applies it on success.
func (m *refModel) replaceInventories(p string, check placement.GenerationCheck, invs []placement.Inventory) error {
	for _, inv := range invs {
		if !modelInventoryValid(inv) {
			return placement.ErrInvalid
		}
	}
	if err := m.checkProvider(p, check); err != nil {
		return err
	}
	for class := range m.inv[p] {
		if !slices.ContainsFunc(invs, func(x placement.Inventory) bool { return x.ResourceClass == class }) && m.used(p, class) > 0 {
			return placement.ErrInventoryInUse
		}
	}
	for _, inv := range invs {
		if !modelClassKnown(inv.ResourceClass) {
			return placement.ErrNotFound
		}
	}
	m.inv[p] = map[string]placement.Inventory{}
	for _, inv := range invs {
		m.inv[p][inv.ResourceClass] = inv
	}
	m.gen[p]++
	m.noteOverCapacity(p)
	return nil
}

// deleteInventory predicts DeleteInventory and applies it on success.
func (m *refModel) deleteInventory(p string, check placement.GenerationCheck, class string) error {
	if err := m.checkProvider(p, check); err != nil {
		return err
	}
	if _, ok := m.inv[p][class]; !ok {
		return placement.ErrNotFound
	}
	if m.used(p, class) > 0 {
		return placement.ErrInventoryInUse
	}
	delete(m.inv[p], class)
	m.gen[p]++
	return nil
}

// checkProvider applies a provider generation check (§4.2).
func (m *refModel) checkProvider(p string, check placement.GenerationCheck) error {
	if check.IsSkip() {
		return nil
	}
	if g, ok := check.Generation(); ok && g == m.gen[p] {
		return nil
	}
	return placement.ErrConcurrentUpdate
}

// setAllocations predicts an allocation write (single or multi-consumer)
// and applies it on success. It returns every expected sentinel joined.
func (m *refModel) setAllocations(cas []placement.ConsumerAllocations) error {
	// 1. Input validation.
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			if a.Used < 1 || a.Used > placement.MaxInt {
				return placement.ErrInvalid
			}
		}
	}
	// 2. Consumer generations, in order (§3.2 step 5, §3.7).
	for _, ca := range cas {
		c, exists := m.cons[ca.ConsumerUUID]
		g, isEqual := ca.Generation.Generation()
		switch {
		case ca.Generation.IsSkip():
		case ca.Generation.IsNew() && !exists:
		case isEqual && exists && g == c.gen:
		default:
			return placement.ErrConcurrentUpdate
		}
	}
	// 3. Providers named must exist (§3.2 step 6).
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			if !m.providerKnown(a.ProviderUUID) {
				return placement.ErrNotFound
			}
		}
	}
	// 4. Capacity: per provider and class, sum what the write asks and
	// what the rewritten consumers hold now (§3.3).
	type dem struct {
		requested, old int64
	}
	demands := map[modelKey]*dem{}
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			k := modelKey{a.ProviderUUID, a.ResourceClass}
			if demands[k] == nil {
				demands[k] = &dem{}
			}
			demands[k].requested += a.Used
		}
	}
	for _, ca := range cas {
		if c := m.cons[ca.ConsumerUUID]; c != nil {
			for _, a := range c.allocs {
				if d := demands[modelKey{a.ProviderUUID, a.ResourceClass}]; d != nil {
					d.old += a.Used
				}
			}
		}
	}
	for k := range demands {
		if !modelClassKnown(k.class) {
			return placement.ErrNotFound
		}
	}
	var problems []error
	for k, d := range demands {
		inv, ok := m.inv[k.provider][k.class]
		if !ok {
			problems = append(problems, placement.ErrNoInventory)
			continue
		}
		before := m.used(k.provider, k.class)
		if inv.CheckWrite(before, before-d.old, d.requested) != placement.ReasonNone {
			problems = append(problems, placement.ErrCapacityExceeded)
		}
	}
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			inv, ok := m.inv[a.ProviderUUID][a.ResourceClass]
			if ok && placement.CheckUnits(a.Used, inv.MinUnit, inv.MaxUnit, inv.StepSize) != placement.ReasonNone {
				problems = append(problems, placement.ErrConstraintViolated)
			}
		}
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	// 5. Apply: consumer records and generations, provider generations (§3.8).
	bump := map[string]bool{}
	for _, ca := range cas {
		for _, a := range ca.Allocations {
			bump[a.ProviderUUID] = true
		}
		if len(ca.Allocations) == 0 {
			if c := m.cons[ca.ConsumerUUID]; c != nil {
				for _, a := range c.allocs {
					bump[a.ProviderUUID] = true
				}
			}
		}
	}
	for _, ca := range cas {
		if len(ca.Allocations) == 0 {
			delete(m.cons, ca.ConsumerUUID)
			continue
		}
		c := m.cons[ca.ConsumerUUID]
		if c == nil {
			c = &refConsumer{project: placement.DefaultIncompleteConsumerID, user: placement.DefaultIncompleteConsumerID}
			m.cons[ca.ConsumerUUID] = c
		}
		c.gen++
		if ca.ProjectID != "" {
			c.project, c.user = ca.ProjectID, ca.UserID
		}
		if ca.ConsumerType != "" {
			c.ctype = ca.ConsumerType
		}
		c.allocs = slices.Clone(ca.Allocations)
		slices.SortFunc(c.allocs, func(a, b placement.Allocation) int {
			return cmp.Or(strings.Compare(a.ProviderUUID, b.ProviderUUID), strings.Compare(a.ResourceClass, b.ResourceClass))
		})
	}
	for p := range bump {
		m.gen[p]++
	}
	m.settleCeilings()
	return nil
}

// deleteAllocations predicts DeleteAllocations (no generation checked or changed).
func (m *refModel) deleteAllocations(consumer string) error {
	if m.cons[consumer] == nil {
		return placement.ErrNotFound
	}
	delete(m.cons, consumer)
	m.settleCeilings()
	return nil
}

// setTraits predicts SetProviderTraits; it returns the generation after.
func (m *refModel) setTraits(p string, check placement.GenerationCheck, traits []string) (int64, error) {
	if err := m.checkProvider(p, check); err != nil {
		return 0, err
	}
	for _, t := range traits {
		if !modelTraitKnown(t) {
			return 0, placement.ErrNotFound
		}
	}
	want := slices.Sorted(slices.Values(traits))
	want = slices.Compact(want)
	if !slices.Equal(want, m.traits[p]) {
		m.traits[p] = want
		m.gen[p]++
	}
	return m.gen[p], nil
}

// deleteTraits predicts DeleteProviderTraits.
func (m *refModel) deleteTraits(p string, check placement.GenerationCheck) error {
	if err := m.checkProvider(p, check); err != nil {
		return err
	}
	if len(m.traits[p]) > 0 {
		m.traits[p] = nil
		m.gen[p]++
	}
	return nil
}

// setAggregates predicts SetProviderAggregates; it returns the generation after.
func (m *refModel) setAggregates(p string, check placement.GenerationCheck, aggs []string) (int64, error) {
	if err := m.checkProvider(p, check); err != nil {
		return 0, err
	}
	m.aggs[p] = slices.Sorted(slices.Values(aggs))
	if !check.IsSkip() {
		m.gen[p]++
	}
	return m.gen[p], nil
}

// state is the State the store must hold.
func (m *refModel) state() State {
	st := State{Resources: map[string][]placement.ProviderResource{}, Traits: map[string][]string{}, Aggregates: map[string][]string{}}
	for _, p := range modelProviders {
		root := p
		if parent := modelParents[p]; parent != "" {
			root = parent
		}
		st.Providers = append(st.Providers, placement.ResourceProvider{
			UUID: p, Name: modelProviderName(p), Generation: m.gen[p], ParentUUID: modelParents[p], RootUUID: root,
		})
		var res []placement.ProviderResource
		for _, inv := range m.inventories(p) {
			res = append(res, placement.ProviderResource{Inventory: inv, Used: m.used(p, inv.ResourceClass)})
		}
		st.Resources[p] = res
		st.Traits[p] = m.traits[p]
		st.Aggregates[p] = m.aggs[p]
	}
	for _, id := range slices.Sorted(maps.Keys(m.cons)) {
		c := m.cons[id]
		st.Consumers = append(st.Consumers, placement.Consumer{UUID: id, ProjectID: c.project, UserID: c.user, ConsumerType: c.ctype, Generation: c.gen})
		for _, a := range c.allocs {
			st.Allocations = append(st.Allocations, placement.AllocationRecord{ConsumerUUID: id, ProviderUUID: a.ProviderUUID, ResourceClass: a.ResourceClass, Used: a.Used})
		}
	}
	st.ResourceClasses = []placement.ResourceClass{{Name: modelCustomClass}}
	st.CustomTraits = []placement.Trait{{Name: modelCustomTrait}}
	return st
}

func modelProviderName(uuid string) string { return "model-" + uuid[:8] }

// stateOptions compare States ignoring timestamps and nil-versus-empty.
var stateOptions = gocmp.Options{
	cmpopts.IgnoreFields(placement.ResourceProvider{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(placement.Inventory{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(placement.Consumer{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(placement.ResourceClass{}, "CreatedAt", "UpdatedAt"),
	cmpopts.IgnoreFields(placement.Trait{}, "CreatedAt", "UpdatedAt"),
	cmpopts.EquateEmpty(),
}

// normalizeState returns a copy of st without timestamps and with empty
// slices nil, for reflect.DeepEqual (what stateOptions make go-cmp ignore).
func normalizeState(st State) State {
	out := State{
		Providers:       nilIfEmpty(slices.Clone(st.Providers)),
		Resources:       map[string][]placement.ProviderResource{},
		Traits:          map[string][]string{},
		Aggregates:      map[string][]string{},
		Allocations:     nilIfEmpty(st.Allocations),
		Consumers:       nilIfEmpty(slices.Clone(st.Consumers)),
		ResourceClasses: nilIfEmpty(slices.Clone(st.ResourceClasses)),
		CustomTraits:    nilIfEmpty(slices.Clone(st.CustomTraits)),
	}
	for i := range out.Providers {
		out.Providers[i].CreatedAt, out.Providers[i].UpdatedAt = time.Time{}, time.Time{}
	}
	for p, res := range st.Resources {
		res = nilIfEmpty(slices.Clone(res))
		for i := range res {
			res[i].CreatedAt, res[i].UpdatedAt = time.Time{}, time.Time{}
		}
		out.Resources[p] = res
	}
	for p, ts := range st.Traits {
		out.Traits[p] = nilIfEmpty(ts)
	}
	for p, as := range st.Aggregates {
		out.Aggregates[p] = nilIfEmpty(as)
	}
	for i := range out.Consumers {
		out.Consumers[i].CreatedAt, out.Consumers[i].UpdatedAt = time.Time{}, time.Time{}
	}
	for i := range out.ResourceClasses {
		out.ResourceClasses[i].CreatedAt, out.ResourceClasses[i].UpdatedAt = time.Time{}, time.Time{}
	}
	for i := range out.CustomTraits {
		out.CustomTraits[i].CreatedAt, out.CustomTraits[i].UpdatedAt = time.Time{}, time.Time{}
	}
	return out
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// rapidTB lets a store factory (which takes a testing.TB) run inside one
// rapid check: failures, skips, cleanups, temporary directories and the
// context belong to the check; the rest (and testing.TB's unexported
// method) comes from the enclosing test.
type rapidTB struct {
	testing.TB
	rt *rapid.T
}

// The methods of testing.TB that belong to the rapid check.

func (r rapidTB) Cleanup(f func())                  { r.rt.Cleanup(f) }
func (r rapidTB) Error(args ...any)                 { r.rt.Error(args...) }
func (r rapidTB) Errorf(format string, args ...any) { r.rt.Errorf(format, args...) }
func (r rapidTB) Fail()                             { r.rt.Fail() }
func (r rapidTB) FailNow()                          { r.rt.FailNow() }
func (r rapidTB) Failed() bool                      { return r.rt.Failed() }
func (r rapidTB) Fatal(args ...any)                 { r.rt.Fatal(args...) }
func (r rapidTB) Fatalf(format string, args ...any) { r.rt.Fatalf(format, args...) }
func (r rapidTB) Log(args ...any)                   { r.rt.Log(args...) }
func (r rapidTB) Logf(format string, args ...any)   { r.rt.Logf(format, args...) }
func (r rapidTB) Skip(args ...any)                  { r.rt.Skip(args...) }
func (r rapidTB) SkipNow()                          { r.rt.SkipNow() }
func (r rapidTB) Skipf(format string, args ...any)  { r.rt.Skipf(format, args...) }
func (r rapidTB) Helper()                           { r.rt.Helper() }
func (r rapidTB) Context() context.Context          { return r.rt.Context() }

func (r rapidTB) TempDir() string {
	dir, err := os.MkdirTemp("", "placementtest-model-")
	if err != nil {
		r.rt.Fatalf("TempDir: %v", err)
	}
	r.rt.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// modelMachine is one rapid check: a fresh store and Engine, and the model.
type modelMachine struct {
	ctx   context.Context
	store placement.Store
	e     *placement.Engine
	m     *refModel
}

func testModelStateMachine(t *testing.T, newStore NewStore) {
	rapid.Check(t, func(rt *rapid.T) {
		tb := rapidTB{TB: t, rt: rt}
		mm := &modelMachine{ctx: rt.Context(), store: newStore(tb), m: newRefModel()}
		mm.e = NewEngine(tb, mm.store)
		mm.setup(rt)
		// rapid picks actions uniformly: allocation writes get several
		// entries so that most steps exercise the capacity rules.
		rt.Repeat(map[string]func(*rapid.T){
			"":                    mm.check,
			"ReplaceInventories":  mm.replaceInventories,
			"ReplaceInventories2": mm.replaceInventories,
			"DeleteInventory":     mm.deleteInventory,
			"SetAllocations":      mm.setAllocations,
			"SetAllocations2":     mm.setAllocations,
			"SetAllocations3":     mm.setAllocations,
			"SetAllocations4":     mm.setAllocations,
			"SetAllocationsMulti": mm.setAllocationsMulti,
			"SetAllocationsMult2": mm.setAllocationsMulti,
			"ShrinkAllocations":   mm.shrinkAllocations,
			"ShrinkAllocations2":  mm.shrinkAllocations,
			"ClearAllocations":    mm.clearAllocations,
			"DeleteAllocations":   mm.deleteAllocations,
			"SetTraits":           mm.setTraits,
			"DeleteTraits":        mm.deleteTraits,
			"SetAggregates":       mm.setAggregates,
		})
	})
}

// setup creates the universe: providers (the third a child of the first),
// the custom class and trait, and a starting inventory on every provider.
func (mm *modelMachine) setup(rt *rapid.T) {
	for _, p := range modelProviders {
		if _, err := mm.e.CreateProvider(mm.ctx, placement.ProviderSpec{UUID: p, Name: modelProviderName(p), ParentUUID: modelParents[p]}); err != nil {
			rt.Fatalf("CreateProvider: %v", err)
		}
		mm.m.gen[p] = 0
	}
	if _, err := mm.e.CreateResourceClass(mm.ctx, modelCustomClass); err != nil {
		rt.Fatalf("CreateResourceClass: %v", err)
	}
	if _, err := mm.e.EnsureTrait(mm.ctx, modelCustomTrait); err != nil {
		rt.Fatalf("EnsureTrait: %v", err)
	}
	for _, p := range modelProviders {
		invs := []placement.Inventory{placement.NewInventory(placement.ClassMemoryMB, 64), placement.NewInventory(placement.ClassVCPU, 16), placement.NewInventory(modelCustomClass, 4)}
		if _, err := mm.e.ReplaceInventories(mm.ctx, p, placement.ExpectGeneration(0), invs); err != nil {
			rt.Fatalf("ReplaceInventories: %v", err)
		}
		if err := mm.m.replaceInventories(p, placement.ExpectGeneration(0), invs); err != nil {
			rt.Fatalf("model ReplaceInventories: %v", err)
		}
	}
}

// compare fails the check when the error class differs from the model's.
func (mm *modelMachine) compare(rt *rapid.T, op string, got, want error) {
	rt.Helper()
	if g, w := modelClassOf(got), modelClassOf(want); g != w {
		rt.Fatalf("%s: error %v (%v), model expects %v", op, g, got, w)
	}
}

// check compares the whole state with the model and checks the invariants.
func (mm *modelMachine) check(rt *rapid.T) {
	rt.Helper()
	got, err := ReadState(mm.ctx, mm.store)
	if err != nil {
		rt.Fatalf("ReadState: %v", err)
	}
	want := mm.m.state()
	// Fast path (go-cmp is slow under the race detector): compare the
	// normalised states, and diff only when they differ.
	if !reflect.DeepEqual(normalizeState(want), normalizeState(got)) {
		rt.Fatalf("state differs from the model (-model +store):\n%s", gocmp.Diff(want, got, stateOptions))
	}
	// No usage above capacity unless an inventory shrink caused it, and
	// never above the usage the shrink left.
	for p, res := range got.Resources {
		for _, r := range res {
			if placement.AtMost(r.Used, r.Capacity()) {
				continue
			}
			ceiling, ok := mm.m.ceiling[modelKey{p, r.ResourceClass}]
			if !ok {
				rt.Fatalf("%s %s: used %d above capacity %v, not caused by an inventory write", p, r.ResourceClass, r.Used, r.Capacity())
			}
			if r.Used > ceiling {
				rt.Fatalf("%s %s: used %d above capacity %v grew beyond %d, the usage an inventory write left", p, r.ResourceClass, r.Used, r.Capacity(), ceiling)
			}
		}
	}
	rep, err := mm.e.Audit(mm.ctx)
	if err != nil {
		rt.Fatalf("Audit: %v", err)
	}
	if !rep.OK() {
		rt.Fatalf("Audit: %+v", rep)
	}
	// The Engine's own usage read agrees too.
	for _, p := range modelProviders {
		u, err := mm.e.ProviderUsages(mm.ctx, p)
		if err != nil {
			rt.Fatalf("ProviderUsages: %v", err)
		}
		want := map[string]int64{}
		for class := range mm.m.inv[p] {
			want[class] = mm.m.used(p, class)
		}
		if u.Generation != mm.m.gen[p] || !maps.Equal(u.Usages, want) {
			rt.Fatalf("ProviderUsages(%s) = gen %d %v, model gen %d %v", p, u.Generation, u.Usages, mm.m.gen[p], want)
		}
	}
}

// Generators.

// modelPercent draws a number in [0, 100) about uniformly, shrinking towards
// 0 (rapid's integer generators favour small values, which would make the
// rare cases below common).
var modelPercent = rapid.Custom(func(t *rapid.T) int {
	n := 0
	for range 10 {
		n <<= 1
		if rapid.Bool().Draw(t, "bit") {
			n |= 1
		}
	}
	return n * 100 >> 10
})

// rare reports true about pct percent of the time (false when shrunk).
func rare(rt *rapid.T, label string, pct int) bool {
	return modelPercent.Draw(rt, label) >= 100-pct
}

func drawProvider(rt *rapid.T, label string) string {
	return rapid.SampledFrom(modelProviders).Draw(rt, label)
}

// drawProviderCheck draws a provider generation check: mostly the current
// generation, sometimes a stale one, sometimes no check.
func (mm *modelMachine) drawProviderCheck(rt *rapid.T, p string, allowSkip bool) placement.GenerationCheck {
	g := mm.m.gen[p]
	switch k := modelPercent.Draw(rt, "providerCheck"); {
	case k < 75:
		return placement.ExpectGeneration(g)
	case k < 92 || !allowSkip:
		if g > 0 && rapid.Bool().Draw(rt, "staleBelow") {
			return placement.ExpectGeneration(g - 1)
		}
		return placement.ExpectGeneration(g + 1 + int64(rapid.IntRange(0, 2).Draw(rt, "staleBy")))
	default:
		return placement.SkipGenerationCheck()
	}
}

// drawConsumerCheck draws a consumer generation check: mostly right, sometimes
// stale or of the wrong kind, sometimes no check.
func (mm *modelMachine) drawConsumerCheck(rt *rapid.T, consumer string) placement.GenerationCheck {
	c := mm.m.cons[consumer]
	switch k := modelPercent.Draw(rt, "consumerCheck"); {
	case k < 85:
		if c == nil {
			return placement.ExpectNewConsumer()
		}
		return placement.ExpectGeneration(c.gen)
	case k < 93:
		if c == nil {
			return placement.ExpectGeneration(int64(rapid.IntRange(0, 3).Draw(rt, "staleGen")))
		}
		if rapid.Bool().Draw(rt, "staleNew") {
			return placement.ExpectNewConsumer()
		}
		return placement.ExpectGeneration(c.gen + 1 + int64(rapid.IntRange(0, 1).Draw(rt, "staleBy")))
	default:
		return placement.SkipGenerationCheck()
	}
}

func drawInventory(rt *rapid.T, class string) placement.Inventory {
	inv := placement.NewInventory(class, int64(rapid.IntRange(1, 24).Draw(rt, "total")))
	switch k := modelPercent.Draw(rt, "reservedKind"); {
	case k < 70:
	case k < 95:
		inv.Reserved = int64(rapid.IntRange(0, int(inv.Total)).Draw(rt, "reserved"))
	case k < 98:
		inv.Reserved = inv.Total + int64(rapid.IntRange(1, 3).Draw(rt, "overReserved")) // invalid unless ratio 0
	default:
		inv.Total = 0 // invalid
	}
	inv.AllocationRatio = rapid.SampledFrom(modelRatios).Draw(rt, "ratio")
	if rare(rt, "minKind", 15) {
		inv.MinUnit = int64(rapid.IntRange(2, 4).Draw(rt, "minUnit"))
	}
	if rare(rt, "maxKind", 20) {
		inv.MaxUnit = int64(rapid.IntRange(1, 12).Draw(rt, "maxUnit"))
	}
	if rare(rt, "stepKind", 15) {
		inv.StepSize = int64(rapid.IntRange(2, 3).Draw(rt, "stepSize"))
	}
	return inv
}

// drawAllocations draws a consumer's new set: 1 to 3 entries on distinct
// (provider, class) pairs, now and then on an unknown provider or class, with
// amounts that sometimes break units or capacity or are invalid.
func drawAllocations(rt *rapid.T) []placement.Allocation {
	n := rapid.IntRange(1, 3).Draw(rt, "allocations")
	var out []placement.Allocation
	for range n {
		p := drawProvider(rt, "provider")
		if rare(rt, "unknownProvider", 2) {
			p = modelUnknownProvider
		}
		class := rapid.SampledFrom(modelClasses).Draw(rt, "class")
		if rare(rt, "unknownClass", 2) {
			class = modelUnknownClass
		}
		var amount int64
		switch k := modelPercent.Draw(rt, "amountKind"); {
		case k < 93:
			amount = int64(rapid.IntRange(1, 8).Draw(rt, "amount"))
		case k < 98:
			amount = int64(rapid.IntRange(20, 100).Draw(rt, "bigAmount"))
		case k < 99:
			amount = 0 // invalid
		default:
			amount = placement.MaxInt + 1 // invalid
		}
		if slices.ContainsFunc(out, func(a placement.Allocation) bool { return a.ProviderUUID == p && a.ResourceClass == class }) {
			continue
		}
		out = append(out, placement.Allocation{ProviderUUID: p, ResourceClass: class, Used: amount})
	}
	return out
}

func (mm *modelMachine) drawConsumerAllocations(rt *rapid.T, consumer string, empty bool) placement.ConsumerAllocations {
	ca := placement.ConsumerAllocations{ConsumerUUID: consumer, Generation: mm.drawConsumerCheck(rt, consumer)}
	if !empty {
		ca.Allocations = drawAllocations(rt)
	}
	switch rapid.IntRange(0, 2).Draw(rt, "owner") {
	case 1:
		ca.ProjectID, ca.UserID = "project-a", "user-a"
	case 2:
		ca.ProjectID, ca.UserID = "project-b", "user-b"
	}
	ca.ConsumerType = rapid.SampledFrom([]string{"", "INSTANCE", "MIGRATION"}).Draw(rt, "consumerType")
	return ca
}

// Actions.

func (mm *modelMachine) replaceInventories(rt *rapid.T) {
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	var invs []placement.Inventory
	for _, class := range modelClasses {
		if !rare(rt, "drop"+class, 20) {
			invs = append(invs, drawInventory(rt, class))
		}
	}
	if rare(rt, "unknownClassInventory", 4) {
		invs = append(invs, placement.NewInventory(modelUnknownClass, 4))
	}
	rt.Logf("ReplaceInventories(%s, %v, %+v)", p, check, invs)
	got, err := mm.e.ReplaceInventories(mm.ctx, p, check, invs)
	mm.compare(rt, "ReplaceInventories", err, mm.m.replaceInventories(p, check, invs))
	if err == nil {
		want := placement.InventoryChange{
			ProviderInventories: placement.ProviderInventories{Generation: mm.m.gen[p], Inventories: mm.m.inventories(p)},
			OverCapacity:        mm.m.expectedExcess(p),
		}
		if diff := gocmp.Diff(want, got, stateOptions); diff != "" {
			rt.Fatalf("ReplaceInventories result (-model +engine):\n%s", diff)
		}
	}
}

// deleteInventory deletes one class, or now and then all of them.
func (mm *modelMachine) deleteInventory(rt *rapid.T) {
	if rare(rt, "deleteAll", 25) {
		mm.deleteInventories(rt)
		return
	}
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	class := rapid.SampledFrom(append(slices.Clone(modelClasses), modelUnknownClass)).Draw(rt, "class")
	rt.Logf("DeleteInventory(%s, %v, %s)", p, check, class)
	got, err := mm.e.DeleteInventory(mm.ctx, p, check, class)
	mm.compare(rt, "DeleteInventory", err, mm.m.deleteInventory(p, check, class))
	if err == nil && got.Generation != mm.m.gen[p] {
		rt.Fatalf("DeleteInventory: generation %d, model %d", got.Generation, mm.m.gen[p])
	}
}

func (mm *modelMachine) deleteInventories(rt *rapid.T) {
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	rt.Logf("DeleteInventories(%s, %v)", p, check)
	got, err := mm.e.DeleteInventories(mm.ctx, p, check)
	mm.compare(rt, "DeleteInventories", err, mm.m.replaceInventories(p, check, nil))
	if err == nil && (got.Generation != mm.m.gen[p] || len(got.Inventories) != 0) {
		rt.Fatalf("DeleteInventories: %+v, model generation %d", got, mm.m.gen[p])
	}
}

func (mm *modelMachine) setAllocations(rt *rapid.T) {
	consumer := rapid.SampledFrom(modelConsumers).Draw(rt, "consumer")
	ca := mm.drawConsumerAllocations(rt, consumer, false)
	rt.Logf("SetAllocations(%+v)", ca)
	err := mm.e.SetAllocations(mm.ctx, ca)
	mm.compare(rt, "SetAllocations", err, mm.m.setAllocations([]placement.ConsumerAllocations{ca}))
}

func (mm *modelMachine) setAllocationsMulti(rt *rapid.T) {
	ids := rapid.Permutation(modelConsumers).Draw(rt, "consumers")
	n := rapid.IntRange(2, 3).Draw(rt, "consumerCount")
	var cas []placement.ConsumerAllocations
	for _, id := range ids[:n] {
		empty := rare(rt, "emptySet", 20)
		cas = append(cas, mm.drawConsumerAllocations(rt, id, empty))
	}
	rt.Logf("SetAllocationsMulti(%+v)", cas)
	err := mm.e.SetAllocationsMulti(mm.ctx, cas)
	mm.compare(rt, "SetAllocationsMulti", err, mm.m.setAllocations(cas))
}

// shrinkAllocations rewrites an existing consumer's set with the same or
// smaller amounts, or moves it to another consumer in one multi-consumer
// write: accepted even on a provider left over capacity by an inventory
// shrink (the over-capacity escape), unless units forbid it.
func (mm *modelMachine) shrinkAllocations(rt *rapid.T) {
	var ids []string
	for _, id := range modelConsumers {
		if mm.m.cons[id] != nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		rt.Skip("no consumer holds allocations")
	}
	from := rapid.SampledFrom(ids).Draw(rt, "consumer")
	c := mm.m.cons[from]
	var set []placement.Allocation
	for _, a := range c.allocs {
		if len(c.allocs) > 1 && rare(rt, "dropAllocation", 20) {
			continue
		}
		a.Used = int64(rapid.IntRange(1, int(a.Used)).Draw(rt, "smaller"))
		set = append(set, a)
	}
	cas := []placement.ConsumerAllocations{{ConsumerUUID: from, Generation: placement.ExpectGeneration(c.gen), Allocations: set}}
	if rare(rt, "move", 30) {
		to := rapid.SampledFrom(modelConsumers).Draw(rt, "to")
		if to != from {
			cas = []placement.ConsumerAllocations{
				{ConsumerUUID: from, Generation: placement.ExpectGeneration(c.gen)},
				{ConsumerUUID: to, Generation: mm.drawConsumerCheck(rt, to), Allocations: set},
			}
		}
	}
	rt.Logf("SetAllocationsMulti(%+v) (shrink)", cas)
	err := mm.e.SetAllocationsMulti(mm.ctx, cas)
	mm.compare(rt, "SetAllocationsMulti (shrink)", err, mm.m.setAllocations(cas))
}

// clearAllocations removes a consumer's allocations with an empty set (the
// safe delete, generation checked).
func (mm *modelMachine) clearAllocations(rt *rapid.T) {
	consumer := rapid.SampledFrom(modelConsumers).Draw(rt, "consumer")
	ca := mm.drawConsumerAllocations(rt, consumer, true)
	rt.Logf("SetAllocations(%+v) (empty)", ca)
	err := mm.e.SetAllocations(mm.ctx, ca)
	mm.compare(rt, "SetAllocations (empty)", err, mm.m.setAllocations([]placement.ConsumerAllocations{ca}))
}

func (mm *modelMachine) deleteAllocations(rt *rapid.T) {
	consumer := rapid.SampledFrom(modelConsumers).Draw(rt, "consumer")
	rt.Logf("DeleteAllocations(%s)", consumer)
	err := mm.e.DeleteAllocations(mm.ctx, consumer)
	mm.compare(rt, "DeleteAllocations", err, mm.m.deleteAllocations(consumer))
}

func drawTraits(rt *rapid.T) []string {
	var out []string
	for _, t := range modelTraits {
		if rapid.Bool().Draw(rt, "has"+t) {
			out = append(out, t)
		}
	}
	if rare(rt, "unknownTrait", 5) {
		out = append(out, modelUnknownTrait)
	}
	return out
}

func (mm *modelMachine) setTraits(rt *rapid.T) {
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	traits := drawTraits(rt)
	rt.Logf("SetProviderTraits(%s, %v, %v)", p, check, traits)
	gen, err := mm.e.SetProviderTraits(mm.ctx, p, check, traits)
	wantGen, wantErr := mm.m.setTraits(p, check, traits)
	mm.compare(rt, "SetProviderTraits", err, wantErr)
	if err == nil && gen != wantGen {
		rt.Fatalf("SetProviderTraits: generation %d, model %d", gen, wantGen)
	}
}

func (mm *modelMachine) deleteTraits(rt *rapid.T) {
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	rt.Logf("DeleteProviderTraits(%s, %v)", p, check)
	err := mm.e.DeleteProviderTraits(mm.ctx, p, check)
	mm.compare(rt, "DeleteProviderTraits", err, mm.m.deleteTraits(p, check))
}

func (mm *modelMachine) setAggregates(rt *rapid.T) {
	p := drawProvider(rt, "provider")
	check := mm.drawProviderCheck(rt, p, true)
	var aggs []string
	for _, a := range modelAggregates {
		if rapid.Bool().Draw(rt, "in"+a) {
			aggs = append(aggs, a)
		}
	}
	rt.Logf("SetProviderAggregates(%s, %v, %v)", p, check, aggs)
	gen, err := mm.e.SetProviderAggregates(mm.ctx, p, check, aggs)
	wantGen, wantErr := mm.m.setAggregates(p, check, aggs)
	mm.compare(rt, "SetProviderAggregates", err, wantErr)
	if err == nil && gen != wantGen {
		rt.Fatalf("SetProviderAggregates: generation %d, model %d", gen, wantGen)
	}
}
