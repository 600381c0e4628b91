package placementtest

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
)

// Allocation writes (REFERENCE §3), usages (§6) and the reshaper (§7).

// init registers the allocation, usage and reshape tests.
func init() {
	register("Allocations/WriteAndRead", testAllocationWriteRead)
	register("Allocations/MultiConsumerSum", testMultiConsumerSum)
	register("Allocations/EveryProblem", testAllocationEveryProblem)
	register("Allocations/NotFound", testAllocationNotFound)
	register("Allocations/OverCapacity", testAllocationOverCapacity)
	register("Allocations/Ratio", testAllocationRatio)
	register("Allocations/ConsumerAttributes", testConsumerAttributes)
	register("Allocations/Invalid", testAllocationInvalid)
	register("Usages/Provider", testProviderUsages)
	register("Usages/Project", testProjectUsages)
	register("Reshape/MoveToChild", testReshapeMove)
	register("Reshape/Failures", testReshapeFailures)
}

// testAllocationWriteRead writes single and multi-consumer sets and reads them back
// through ConsumerAllocations and ProviderAllocations; DeleteAllocations.
func testAllocationWriteRead(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	b := v.rp(2, "b")
	v.setInv(a.UUID, mkInv("VCPU", 8), mkInv("MEMORY_MB", 4096))
	v.setInv(b.UUID, mkInv("DISK_GB", 100))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)

	// Unknown consumer: no error, nothing there.
	cs, err := v.e.ConsumerAllocations(v.ctx, c1)
	checkNoErr(t, "ConsumerAllocations unknown", err)
	if cs.Exists || len(cs.Allocations) != 0 || cs.Consumer.UUID != "" {
		t.Errorf("ConsumerAllocations of an unknown consumer = %+v", cs)
	}

	// The consumer uuid may be given in any uuid-like form.
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{
		ConsumerUUID: strings.ToUpper(strings.ReplaceAll(c1, "-", "")), Generation: placement.ExpectNewConsumer(),
		ProjectID: "proj", UserID: "user", ConsumerType: "INSTANCE",
		Allocations: []placement.Allocation{mkAlloc(b.UUID, "DISK_GB", 10), mkAlloc(strings.ToUpper(a.UUID), "VCPU", 2), mkAlloc(a.UUID, "MEMORY_MB", 512)},
	})
	checkNoErr(t, "SetAllocations", err)
	cs, err = v.e.ConsumerAllocations(v.ctx, c1)
	checkNoErr(t, "ConsumerAllocations", err)
	want := placement.ConsumerAllocationSet{
		Exists:              true,
		Consumer:            placement.Consumer{UUID: c1, ProjectID: "proj", UserID: "user", ConsumerType: "INSTANCE", Generation: 1},
		Allocations:         []placement.Allocation{mkAlloc(a.UUID, "MEMORY_MB", 512), mkAlloc(a.UUID, "VCPU", 2), mkAlloc(b.UUID, "DISK_GB", 10)},
		ProviderGenerations: map[string]int64{a.UUID: 2, b.UUID: 2},
	}
	ignoreTimes := gocmp.FilterPath(func(p gocmp.Path) bool {
		n := p.Last().String()
		return n == ".CreatedAt" || n == ".UpdatedAt"
	}, gocmp.Ignore())
	if d := gocmp.Diff(want, cs, ignoreTimes); d != "" {
		t.Errorf("ConsumerAllocations (-want +got):\n%s", d)
	}
	if cs.Consumer.CreatedAt.IsZero() || cs.Consumer.UpdatedAt.IsZero() {
		t.Errorf("consumer without timestamps: %+v", cs.Consumer)
	}
	if u := v.usage(a.UUID, "VCPU"); u != 2 {
		t.Errorf("VCPU usage %d, want 2", u)
	}

	// Multi-consumer write.
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectGeneration(1), ProjectID: "proj", UserID: "user", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), ProjectID: "proj", UserID: "other", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 4), mkAlloc(b.UUID, "DISK_GB", 50)}},
	})
	checkNoErr(t, "SetAllocationsMulti", err)
	pa, err := v.e.ProviderAllocations(v.ctx, a.UUID)
	checkNoErr(t, "ProviderAllocations", err)
	wantRecs := []placement.AllocationRecord{
		{ConsumerUUID: c1, ProviderUUID: a.UUID, ResourceClass: "VCPU", Used: 3},
		{ConsumerUUID: c2, ProviderUUID: a.UUID, ResourceClass: "VCPU", Used: 4},
	}
	if d := gocmp.Diff(wantRecs, pa.Allocations); d != "" || pa.Generation != 3 {
		t.Errorf("ProviderAllocations(a): generation %d (-want +got):\n%s", pa.Generation, d)
	}
	if len(pa.Consumers) != 2 || pa.Consumers[c1].Generation != 2 || pa.Consumers[c2].Generation != 1 || pa.Consumers[c2].UserID != "other" {
		t.Errorf("ProviderAllocations(a).Consumers = %+v", pa.Consumers)
	}
	pb, err := v.e.ProviderAllocations(v.ctx, b.UUID)
	checkNoErr(t, "ProviderAllocations", err)
	if d := gocmp.Diff([]placement.AllocationRecord{{ConsumerUUID: c2, ProviderUUID: b.UUID, ResourceClass: "DISK_GB", Used: 50}}, pb.Allocations); d != "" {
		t.Errorf("ProviderAllocations(b) (-want +got):\n%s", d)
	}
	empty := v.rp(3, "empty")
	pe, err := v.e.ProviderAllocations(v.ctx, empty.UUID)
	if err != nil || len(pe.Allocations) != 0 || pe.Generation != 0 {
		t.Errorf("ProviderAllocations of a provider without allocations = %+v, %v", pe, err)
	}
	_, err = v.e.ProviderAllocations(v.ctx, fixedUUID(99))
	checkErrIs(t, "ProviderAllocations unknown", err, placement.ErrNotFound)

	// The same class on several providers is fine in the write API.
	v.setInv(empty.UUID, mkInv("VCPU", 2))
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c2, Generation: placement.ExpectGeneration(1),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1), mkAlloc(empty.UUID, "VCPU", 2)}})
	checkNoErr(t, "same class on two providers", err)
	if v.usage(a.UUID, "VCPU") != 4 || v.usage(empty.UUID, "VCPU") != 2 || v.usage(b.UUID, "DISK_GB") != 0 {
		t.Errorf("usages after rewriting c2: a %d, empty %d, b %d", v.usage(a.UUID, "VCPU"), v.usage(empty.UUID, "VCPU"), v.usage(b.UUID, "DISK_GB"))
	}

	// DeleteAllocations.
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, c2))
	if cs, _ := v.e.ConsumerAllocations(v.ctx, c2); cs.Exists {
		t.Errorf("consumer exists after DeleteAllocations: %+v", cs)
	}
	if v.usage(a.UUID, "VCPU") != 3 || v.usage(empty.UUID, "VCPU") != 0 {
		t.Errorf("usage after DeleteAllocations: a %d, empty %d", v.usage(a.UUID, "VCPU"), v.usage(empty.UUID, "VCPU"))
	}
	before := v.dump()
	err = v.e.DeleteAllocations(v.ctx, fixedUUID(0xc9))
	checkErrIs(t, "DeleteAllocations unknown", err, placement.ErrNotFound)
	v.unchanged(before, "DeleteAllocations unknown")
	v.audit()
}

// testMultiConsumerSum checks that a multi-consumer write sums amounts per
// provider and class (Placement bug 1778743).
func testMultiConsumerSum(t *testing.T, newStore NewStore) {
	// Placement bug 1778743: two consumers that each fit alone but not
	// together are refused.
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv("VCPU", 4))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	cas := []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}},
	}
	before := v.dump()
	err := v.e.SetAllocationsMulti(v.ctx, cas)
	checkErrIs(t, "two consumers over capacity together", err, placement.ErrCapacityExceeded)
	if err != nil {
		ce := errAs[*placement.CapacityError](t, "multi", err)
		want := []placement.Problem{{Reason: placement.ReasonCapacity, Provider: a.UUID, Class: "VCPU", Requested: 6, Used: 0, Capacity: 4}}
		if d := gocmp.Diff(want, ce.Problems); d != "" {
			t.Errorf("Problems (-want +got):\n%s", d)
		}
	}
	v.unchanged(before, "refused multi-consumer write")
	for _, c := range []string{c1, c2} {
		if _, ok := v.consumerGen(c); ok {
			t.Errorf("refused write left consumer %s behind", c)
		}
	}
	// Each alone fits; then the other no longer does.
	checkNoErr(t, "first alone", v.e.SetAllocations(v.ctx, cas[0]))
	err = v.e.SetAllocations(v.ctx, cas[1])
	checkErrIs(t, "second after the first", err, placement.ErrCapacityExceeded)
	if err != nil {
		ce := errAs[*placement.CapacityError](t, "second", err)
		want := []placement.Problem{{Reason: placement.ReasonCapacity, Provider: a.UUID, Class: "VCPU", Requested: 3, Used: 3, Capacity: 4}}
		if d := gocmp.Diff(want, ce.Problems); d != "" {
			t.Errorf("Problems (-want +got):\n%s", d)
		}
	}
	// Rewriting one consumer counts its old amount out: 3 -> 4 fits.
	checkNoErr(t, "grow within capacity", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectGeneration(1), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 4)}}))
	// Moving usage between consumers in one write: c1 gives up 3, c2 takes 3.
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectGeneration(2), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}},
	})
	checkNoErr(t, "swap within capacity", err)
	// Emptying one and giving the other everything.
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectGeneration(3)},
		{ConsumerUUID: c2, Generation: placement.ExpectGeneration(1), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 4)}},
	})
	checkNoErr(t, "empty one, fill the other", err)
	if u := v.usage(a.UUID, "VCPU"); u != 4 {
		t.Errorf("usage %d, want 4", u)
	}
	v.audit()
}

// sortProblems sorts problems by provider, class and reason.
func sortProblems(ps []placement.Problem) []placement.Problem {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b placement.Problem) int {
		return cmp.Or(strings.Compare(a.Provider, b.Provider), strings.Compare(a.Class, b.Class), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Requested, b.Requested))
	})
	return out
}

// testAllocationEveryProblem checks that a refused write reports every
// problem with its numbers, and changes nothing.
func testAllocationEveryProblem(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	b := v.rp(2, "b")
	mem := mkInv("MEMORY_MB", 1024)
	mem.StepSize, mem.MaxUnit = 256, 512
	v.setInv(a.UUID, mkInv("VCPU", 4), mem)
	bv := mkInv("VCPU", 8)
	bv.MinUnit = 2
	v.setInv(b.UUID, bv)
	other := fixedUUID(0xc0)
	v.put(other, mkAlloc(a.UUID, "VCPU", 1))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)

	before := v.dump()
	err := v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{
			mkAlloc(a.UUID, "VCPU", 4),        // 1 + 4 > 4
			mkAlloc(a.UUID, "MEMORY_MB", 300), // not a multiple of 256
			mkAlloc(b.UUID, "DISK_GB", 10),    // no inventory
			mkAlloc(b.UUID, "VCPU", 1),        // below min_unit 2
		}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{
			mkAlloc(a.UUID, "MEMORY_MB", 768), // above max_unit 512; with c1's 300 above capacity
		}},
	})
	checkErrIs(t, "write with every kind of problem", err, placement.ErrCapacityExceeded, placement.ErrConstraintViolated, placement.ErrNoInventory)
	if err != nil {
		ce := errAs[*placement.CapacityError](t, "every problem", err)
		want := []placement.Problem{
			{Reason: placement.ReasonMaxUnit, Provider: a.UUID, Class: "MEMORY_MB", Requested: 768, Used: 0, Capacity: 1024, Limit: 512},
			{Reason: placement.ReasonStepSize, Provider: a.UUID, Class: "MEMORY_MB", Requested: 300, Used: 0, Capacity: 1024, Limit: 256},
			{Reason: placement.ReasonCapacity, Provider: a.UUID, Class: "MEMORY_MB", Requested: 1068, Used: 0, Capacity: 1024},
			{Reason: placement.ReasonCapacity, Provider: a.UUID, Class: "VCPU", Requested: 4, Used: 1, Capacity: 4},
			{Reason: placement.ReasonNoInventory, Provider: b.UUID, Class: "DISK_GB", Requested: 10},
			{Reason: placement.ReasonMinUnit, Provider: b.UUID, Class: "VCPU", Requested: 1, Used: 0, Capacity: 8, Limit: 2},
		}
		if d := gocmp.Diff(sortProblems(want), sortProblems(ce.Problems)); d != "" {
			t.Errorf("Problems (-want +got):\n%s", d)
		}
		// Sorted by provider then class.
		if !slices.IsSortedFunc(ce.Problems, func(x, y placement.Problem) int {
			return cmp.Or(strings.Compare(x.Provider, y.Provider), strings.Compare(x.Class, y.Class))
		}) {
			t.Errorf("Problems not sorted by provider and class: %v", ce.Problems)
		}
		if msg := err.Error(); !strings.Contains(msg, "DISK_GB") || !strings.Contains(msg, "MEMORY_MB") {
			t.Errorf("error message does not name every class: %s", msg)
		}
	}
	v.unchanged(before, "refused write")

	// Each sentinel alone.
	single := []struct {
		name  string
		alloc placement.Allocation
		is    error
		isNot []error
	}{
		{"capacity", mkAlloc(a.UUID, "VCPU", 4), placement.ErrCapacityExceeded, []error{placement.ErrConstraintViolated, placement.ErrNoInventory}},
		{"min_unit", mkAlloc(b.UUID, "VCPU", 1), placement.ErrConstraintViolated, []error{placement.ErrCapacityExceeded, placement.ErrNoInventory}},
		{"max_unit", mkAlloc(a.UUID, "MEMORY_MB", 768), placement.ErrConstraintViolated, []error{placement.ErrCapacityExceeded, placement.ErrNoInventory}},
		{"step_size", mkAlloc(a.UUID, "MEMORY_MB", 100), placement.ErrConstraintViolated, []error{placement.ErrCapacityExceeded, placement.ErrNoInventory}},
		{"no inventory", mkAlloc(a.UUID, "DISK_GB", 1), placement.ErrNoInventory, []error{placement.ErrCapacityExceeded, placement.ErrConstraintViolated}},
	}
	for _, tc := range single {
		err := v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{tc.alloc}})
		checkErrIs(t, tc.name, err, tc.is)
		for _, not := range tc.isNot {
			if errors.Is(err, not) {
				t.Errorf("%s: error %v also matches %v", tc.name, err, not)
			}
		}
		if err != nil {
			if ce := errAs[*placement.CapacityError](t, tc.name, err); len(ce.Problems) != 1 {
				t.Errorf("%s: %d problems, want 1: %v", tc.name, len(ce.Problems), ce.Problems)
			}
		}
	}
	v.unchanged(before, "refused writes")
	// A refused write leaves no consumer record: the retry as a new consumer
	// succeeds (bug 1778591).
	checkNoErr(t, "retry as new consumer", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3), mkAlloc(a.UUID, "MEMORY_MB", 512), mkAlloc(b.UUID, "VCPU", 2)}}))
	v.audit()
}

// testAllocationNotFound checks unknown providers and classes, and that a
// refused write leaves no consumer record behind.
func testAllocationNotFound(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv("VCPU", 4))
	_, err := v.e.CreateResourceClass(v.ctx, "CUSTOM_NOWHERE")
	checkNoErr(t, "CreateResourceClass", err)
	c1 := fixedUUID(0xc1)
	v.put(fixedUUID(0xc0), mkAlloc(a.UUID, "VCPU", 1))
	before := v.dump()
	cases := []struct {
		name   string
		allocs []placement.Allocation
		is     error
	}{
		{"unknown provider", []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1), mkAlloc(fixedUUID(99), "VCPU", 1)}, placement.ErrNotFound},
		{"unknown class", []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1), mkAlloc(a.UUID, "CUSTOM_NOPE", 1)}, placement.ErrNotFound},
		{"existing class without inventory", []placement.Allocation{mkAlloc(a.UUID, "CUSTOM_NOWHERE", 1)}, placement.ErrNoInventory},
	}
	for _, tc := range cases {
		for _, check := range []placement.GenerationCheck{placement.ExpectNewConsumer(), placement.SkipGenerationCheck()} {
			err := v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: check, ProjectID: "p", UserID: "u", Allocations: tc.allocs})
			checkErrIs(t, tc.name, err, tc.is)
			err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
				{ConsumerUUID: fixedUUID(0xc2), Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
				{ConsumerUUID: c1, Generation: check, Allocations: tc.allocs},
			})
			checkErrIs(t, tc.name+" (multi)", err, tc.is)
		}
	}
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(fixedUUID(99), "VCPU", 1)}})
	if err != nil {
		if nf := errAs[*placement.NotFoundError](t, "unknown provider", err); nf.Resource != "resource provider" || nf.ID != fixedUUID(99) {
			t.Errorf("NotFoundError = %+v, want resource provider %s", nf, fixedUUID(99))
		}
	}
	// Nothing left behind (unlike Placement's quirk Q1): no consumer record.
	v.unchanged(before, "refused writes")
	if cs, err := v.e.ConsumerAllocations(v.ctx, c1); err != nil || cs.Exists {
		t.Errorf("consumer after refused writes = %+v, %v", cs, err)
	}
	checkNoErr(t, "retry as new consumer", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}))
}

// testAllocationOverCapacity checks the over-capacity escape (Placement bug
// 2104040): keeping or reducing usage is allowed, increasing it is not.
func testAllocationOverCapacity(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv("VCPU", 8), mkInv("MEMORY_MB", 100))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	v.put(c1, mkAlloc(a.UUID, "VCPU", 6), mkAlloc(a.UUID, "MEMORY_MB", 10))
	// Shrink VCPU below usage: allowed, reported.
	ch, err := v.e.UpdateInventory(v.ctx, a.UUID, placement.ExpectGeneration(v.gen(a.UUID)), mkInv("VCPU", 4))
	checkNoErr(t, "shrink below usage", err)
	if d := gocmp.Diff([]placement.Excess{{ResourceClass: "VCPU", Used: 6, Capacity: 4}}, ch.OverCapacity); d != "" {
		t.Errorf("OverCapacity (-want +got):\n%s", d)
	}
	set := func(consumer string, vcpu int64) error {
		return v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: consumer, Generation: placement.SkipGenerationCheck(),
			Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", vcpu), mkAlloc(a.UUID, "MEMORY_MB", 10)}})
	}
	checkNoErr(t, "rewrite the same amount while over capacity", set(c1, 6))
	checkNoErr(t, "shrink the amount while over capacity", set(c1, 5))
	before := v.dump()
	err = set(c1, 6)
	checkErrIs(t, "grow again while over capacity", err, placement.ErrCapacityExceeded)
	if err != nil {
		ce := errAs[*placement.CapacityError](t, "grow", err)
		want := []placement.Problem{{Reason: placement.ReasonCapacity, Provider: a.UUID, Class: "VCPU", Requested: 6, Used: 0, Capacity: 4}}
		if d := gocmp.Diff(want, ce.Problems); d != "" {
			t.Errorf("Problems (-want +got):\n%s", d)
		}
	}
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}})
	checkErrIs(t, "new consumer on an over-capacity class", err, placement.ErrCapacityExceeded)
	// Moving usage between consumers without increasing the total is fine;
	// increasing it is not.
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3), mkAlloc(a.UUID, "MEMORY_MB", 10)}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}},
	})
	checkErrIs(t, "multi write increasing the over-capacity total", err, placement.ErrCapacityExceeded)
	v.unchanged(before, "refused over-capacity writes")
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3), mkAlloc(a.UUID, "MEMORY_MB", 10)}},
		{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 2)}},
	})
	checkNoErr(t, "multi write keeping the over-capacity total", err)
	// Other classes of the same provider are unaffected; growing them is fine.
	checkNoErr(t, "grow another class", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3), mkAlloc(a.UUID, "MEMORY_MB", 90)}}))
	// Back within capacity, the normal rule applies again.
	checkNoErr(t, "shrink c1", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}))
	checkNoErr(t, "grow within capacity", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 2)}}))
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.SkipGenerationCheck(),
		Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 3)}})
	checkErrIs(t, "grow above capacity", err, placement.ErrCapacityExceeded)
	if u := v.usage(a.UUID, "VCPU"); u != 4 {
		t.Errorf("usage %d, want 4", u)
	}
	v.audit()
}

// testAllocationRatio checks the capacity arithmetic at its boundaries.
func testAllocationRatio(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	type tc struct {
		name            string
		total, reserved int64
		ratio           float64
		fits, tooMuch   int64
	}
	cases := []tc{
		{name: "ratio 0.7 holds 7 of 10", total: 10, ratio: 0.7, fits: 7, tooMuch: 8},
		{name: "ratio 1.5 with reserved", total: 10, reserved: 2, ratio: 1.5, fits: 12, tooMuch: 13},
		{name: "ratio 16", total: 8, ratio: 16, fits: 128, tooMuch: 129},
		{name: "ratio 0.9 of 3", total: 3, ratio: 0.9, fits: 2, tooMuch: 3},
		{name: "reserved == total", total: 5, reserved: 5, ratio: 1, fits: 0, tooMuch: 1},
		{name: "ratio 0", total: 5, ratio: 0, fits: 0, tooMuch: 1},
		{name: "max int", total: placement.MaxInt, ratio: 1, fits: placement.MaxInt, tooMuch: 0},
		{name: "huge ratio", total: placement.MaxInt, ratio: placement.MaxAllocationRatio, fits: placement.MaxInt, tooMuch: 0},
	}
	for i, c := range cases {
		p := v.rp(i+1, c.name)
		in := mkInv("VCPU", c.total)
		in.Reserved, in.AllocationRatio = c.reserved, c.ratio
		v.setInv(p.UUID, in)
		consumer := fixedUUID(0xc00 + i)
		if c.fits > 0 {
			err := v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: consumer, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(p.UUID, "VCPU", c.fits)}})
			if err != nil {
				t.Errorf("%s: %d does not fit: %v", c.name, c.fits, err)
			}
		}
		if c.tooMuch > 0 {
			err := v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
				{ConsumerUUID: consumer, Generation: placement.SkipGenerationCheck(), Allocations: []placement.Allocation{mkAlloc(p.UUID, "VCPU", c.tooMuch)}},
			})
			checkErrIs(t, c.name+": too much", err, placement.ErrCapacityExceeded)
			if err != nil {
				ce := errAs[*placement.CapacityError](t, c.name, err)
				want := []placement.Problem{{Reason: placement.ReasonCapacity, Provider: p.UUID, Class: "VCPU", Requested: c.tooMuch, Used: 0, Capacity: placement.Capacity(c.total, c.reserved, c.ratio)}}
				if d := gocmp.Diff(want, ce.Problems); d != "" {
					t.Errorf("%s: Problems (-want +got):\n%s", c.name, d)
				}
			}
		}
	}
	if got := placement.Capacity(10, 0, 0.7); got < 7 {
		t.Errorf("Capacity(10, 0, 0.7) = %v, want at least 7", got)
	}
	v.audit()
}

// testConsumerAttributes checks consumer project, user and type on create
// and rewrite, and the incomplete consumer ids.
func testConsumerAttributes(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv("VCPU", 100))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	consumer := func(uuid string) placement.Consumer {
		t.Helper()
		cs, err := v.e.ConsumerAllocations(v.ctx, uuid)
		checkNoErr(t, "ConsumerAllocations", err)
		if !cs.Exists {
			t.Fatalf("consumer %s has no record", uuid)
		}
		return cs.Consumer
	}
	write := func(what string, ca placement.ConsumerAllocations) {
		t.Helper()
		ca.Generation = placement.SkipGenerationCheck()
		if len(ca.Allocations) == 0 {
			ca.Allocations = []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}
		}
		checkNoErr(t, what, v.e.SetAllocations(v.ctx, ca))
	}
	want := func(what string, c placement.Consumer, project, user, ctype string) {
		t.Helper()
		if c.ProjectID != project || c.UserID != user || c.ConsumerType != ctype {
			t.Errorf("%s: consumer project %q user %q type %q, want %q %q %q", what, c.ProjectID, c.UserID, c.ConsumerType, project, user, ctype)
		}
	}
	// No project/user: the incomplete consumer ids.
	write("no project", placement.ConsumerAllocations{ConsumerUUID: c1})
	want("no project", consumer(c1), placement.DefaultIncompleteConsumerID, placement.DefaultIncompleteConsumerID, "")
	// Given on rewrite: changed.
	write("set project", placement.ConsumerAllocations{ConsumerUUID: c1, ProjectID: "p1", UserID: "u1", ConsumerType: "INSTANCE"})
	want("set project", consumer(c1), "p1", "u1", "INSTANCE")
	// Not given on rewrite: kept.
	write("keep project", placement.ConsumerAllocations{ConsumerUUID: c1, Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 2)}})
	want("keep project", consumer(c1), "p1", "u1", "INSTANCE")
	// Changed again, type too.
	write("change", placement.ConsumerAllocations{ConsumerUUID: c1, ProjectID: "p2", UserID: "u2", ConsumerType: "MIGRATION"})
	want("change", consumer(c1), "p2", "u2", "MIGRATION")
	// Project change without type: type kept.
	write("change project only", placement.ConsumerAllocations{ConsumerUUID: c1, ProjectID: "p3", UserID: "u3"})
	want("change project only", consumer(c1), "p3", "u3", "MIGRATION")
	if g := consumer(c1).Generation; g != 5 {
		t.Errorf("consumer generation after 5 writes = %d", g)
	}

	// A configured incomplete consumer.
	e2 := NewEngine(t, v.store, placement.WithIncompleteConsumer("proj-x", "user-x"))
	checkNoErr(t, "SetAllocations", e2.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}))
	want("configured incomplete ids", consumer(c2), "proj-x", "user-x", "")
	// Emptied, then re-created: a new record, generation 1, new attributes.
	checkNoErr(t, "empty", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c2, Generation: placement.ExpectGeneration(1)}))
	if _, ok := v.consumerGen(c2); ok {
		t.Errorf("emptied consumer still has a record")
	}
	checkNoErr(t, "re-create", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c2, Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}))
	c := consumer(c2)
	want("re-created", c, placement.DefaultIncompleteConsumerID, placement.DefaultIncompleteConsumerID, "")
	if c.Generation != 1 {
		t.Errorf("re-created consumer generation %d, want 1", c.Generation)
	}
	// Written through a multi-consumer write: the same rules.
	err := v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: c1, Generation: placement.ExpectGeneration(5), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
		{ConsumerUUID: c2, Generation: placement.ExpectGeneration(1), ProjectID: "p4", UserID: "u4", ConsumerType: "INSTANCE", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
	})
	checkNoErr(t, "multi", err)
	want("multi, kept", consumer(c1), "p3", "u3", "MIGRATION")
	want("multi, changed", consumer(c2), "p4", "u4", "INSTANCE")
}

// testAllocationInvalid checks the validation of allocation writes.
func testAllocationInvalid(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	big := mkInv("VCPU", placement.MaxInt)
	v.setInv(a.UUID, big)
	c1 := fixedUUID(0xc1)
	before := v.dump()
	ca := func(allocs ...placement.Allocation) placement.ConsumerAllocations {
		return placement.ConsumerAllocations{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), Allocations: allocs}
	}
	cases := []struct {
		name string
		cas  []placement.ConsumerAllocations
	}{
		{"amount 0", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", 0))}},
		{"amount negative", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", -1))}},
		{"amount above MaxInt", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", placement.MaxInt+1))}},
		{"duplicate provider and class", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", 1), mkAlloc(a.UUID, "VCPU", 2))}},
		{"duplicate provider and class, other uuid form", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", 1), mkAlloc(strings.ToUpper(a.UUID), "VCPU", 1))}},
		{"malformed provider", []placement.ConsumerAllocations{ca(mkAlloc("not-a-uuid", "VCPU", 1))}},
		{"malformed class", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "vcpu", 1))}},
		{"malformed consumer", []placement.ConsumerAllocations{{ConsumerUUID: "xyz", Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}}},
		{"project without user", []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), ProjectID: "p", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}}},
		{"user without project", []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), UserID: "u", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}}},
		{"project too long", []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), ProjectID: strings.Repeat("p", 256), UserID: "u", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}}},
		{"bad consumer type", []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectNewConsumer(), ConsumerType: "instance", Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}}},
		{"no consumers", nil},
		{"consumer twice", []placement.ConsumerAllocations{ca(mkAlloc(a.UUID, "VCPU", 1)), {ConsumerUUID: strings.ToUpper(c1), Generation: placement.ExpectNewConsumer()}}},
	}
	for _, tc := range cases {
		var err error
		if len(tc.cas) == 1 {
			err = v.e.SetAllocations(v.ctx, tc.cas[0])
			checkErrIs(t, tc.name, err, placement.ErrInvalid)
		}
		err = v.e.SetAllocationsMulti(v.ctx, tc.cas)
		checkErrIs(t, tc.name+" (multi)", err, placement.ErrInvalid)
	}
	v.unchanged(before, "invalid allocation writes")
	// The largest amount is accepted.
	checkNoErr(t, "amount MaxInt", v.e.SetAllocations(v.ctx, ca(mkAlloc(a.UUID, "VCPU", placement.MaxInt))))
	if u := v.usage(a.UUID, "VCPU"); u != placement.MaxInt {
		t.Errorf("usage %d, want %d", u, placement.MaxInt)
	}
}

// testProviderUsages checks ProviderUsages: every inventory class, 0 when unused.
func testProviderUsages(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	b := v.rp(2, "b")
	u, err := v.e.ProviderUsages(v.ctx, a.UUID)
	if err != nil || len(u.Usages) != 0 || u.Generation != 0 {
		t.Errorf("ProviderUsages without inventory = %+v, %v", u, err)
	}
	v.setInv(a.UUID, mkInv("VCPU", 8), mkInv("MEMORY_MB", 1024), mkInv("DISK_GB", 100))
	v.setInv(b.UUID, mkInv("VCPU", 8))
	v.put(fixedUUID(0xc1), mkAlloc(a.UUID, "VCPU", 2), mkAlloc(b.UUID, "VCPU", 1))
	v.put(fixedUUID(0xc2), mkAlloc(a.UUID, "VCPU", 3), mkAlloc(a.UUID, "MEMORY_MB", 100))
	u, err = v.e.ProviderUsages(v.ctx, a.UUID)
	checkNoErr(t, "ProviderUsages", err)
	want := placement.ProviderUsages{Generation: 3, Usages: map[string]int64{"VCPU": 5, "MEMORY_MB": 100, "DISK_GB": 0}}
	if d := gocmp.Diff(want, u); d != "" {
		t.Errorf("ProviderUsages (-want +got):\n%s", d)
	}
	_, err = v.e.ProviderUsages(v.ctx, fixedUUID(99))
	checkErrIs(t, "ProviderUsages unknown", err, placement.ErrNotFound)
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, fixedUUID(0xc2)))
	u, _ = v.e.ProviderUsages(v.ctx, a.UUID)
	if d := gocmp.Diff(map[string]int64{"VCPU": 2, "MEMORY_MB": 0, "DISK_GB": 0}, u.Usages); d != "" {
		t.Errorf("ProviderUsages after delete (-want +got):\n%s", d)
	}
}

// testProjectUsages checks Usages by project, user and consumer type.
func testProjectUsages(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	b := v.rp(2, "b")
	v.setInv(a.UUID, mkInv("VCPU", 100), mkInv("MEMORY_MB", 10000))
	v.setInv(b.UUID, mkInv("VCPU", 100), mkInv("DISK_GB", 1000))
	write := func(consumer int, project, user, ctype string, allocs ...placement.Allocation) {
		t.Helper()
		checkNoErr(t, "SetAllocations", v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: fixedUUID(consumer),
			Generation: placement.ExpectNewConsumer(), ProjectID: project, UserID: user, ConsumerType: ctype, Allocations: allocs}))
	}
	// p1/u1: an instance on two providers (counts once), a migration, one
	// without type. p1/u2: an instance. p2: an instance.
	write(1, "p1", "u1", "INSTANCE", mkAlloc(a.UUID, "VCPU", 2), mkAlloc(a.UUID, "MEMORY_MB", 512), mkAlloc(b.UUID, "VCPU", 1), mkAlloc(b.UUID, "DISK_GB", 10))
	write(2, "p1", "u1", "MIGRATION", mkAlloc(a.UUID, "VCPU", 4))
	write(3, "p1", "u1", "", mkAlloc(b.UUID, "DISK_GB", 20))
	write(4, "p1", "u2", "INSTANCE", mkAlloc(b.UUID, "VCPU", 8), mkAlloc(a.UUID, "MEMORY_MB", 1024))
	write(5, "p2", "u1", "INSTANCE", mkAlloc(a.UUID, "VCPU", 16))

	tests := []struct {
		name string
		q    placement.UsageQuery
		want map[string]placement.UsageGroup
	}{
		{"project by type", placement.UsageQuery{ProjectID: "p1"}, map[string]placement.UsageGroup{
			"INSTANCE":  {Usages: map[string]int64{"VCPU": 11, "MEMORY_MB": 1536, "DISK_GB": 10}, ConsumerCount: 2},
			"MIGRATION": {Usages: map[string]int64{"VCPU": 4}, ConsumerCount: 1},
			"unknown":   {Usages: map[string]int64{"DISK_GB": 20}, ConsumerCount: 1},
		}},
		{"project all", placement.UsageQuery{ProjectID: "p1", ConsumerType: placement.AllConsumerTypes}, map[string]placement.UsageGroup{
			"all": {Usages: map[string]int64{"VCPU": 15, "MEMORY_MB": 1536, "DISK_GB": 30}, ConsumerCount: 4},
		}},
		{"project unknown", placement.UsageQuery{ProjectID: "p1", ConsumerType: placement.UnknownConsumerType}, map[string]placement.UsageGroup{
			"unknown": {Usages: map[string]int64{"DISK_GB": 20}, ConsumerCount: 1},
		}},
		{"project one type", placement.UsageQuery{ProjectID: "p1", ConsumerType: "INSTANCE"}, map[string]placement.UsageGroup{
			"INSTANCE": {Usages: map[string]int64{"VCPU": 11, "MEMORY_MB": 1536, "DISK_GB": 10}, ConsumerCount: 2},
		}},
		{"project absent type", placement.UsageQuery{ProjectID: "p1", ConsumerType: "NOPE"}, map[string]placement.UsageGroup{}},
		{"project and user", placement.UsageQuery{ProjectID: "p1", UserID: "u1"}, map[string]placement.UsageGroup{
			"INSTANCE":  {Usages: map[string]int64{"VCPU": 3, "MEMORY_MB": 512, "DISK_GB": 10}, ConsumerCount: 1},
			"MIGRATION": {Usages: map[string]int64{"VCPU": 4}, ConsumerCount: 1},
			"unknown":   {Usages: map[string]int64{"DISK_GB": 20}, ConsumerCount: 1},
		}},
		{"project and user all", placement.UsageQuery{ProjectID: "p1", UserID: "u2", ConsumerType: placement.AllConsumerTypes}, map[string]placement.UsageGroup{
			"all": {Usages: map[string]int64{"VCPU": 8, "MEMORY_MB": 1024}, ConsumerCount: 1},
		}},
		{"other project", placement.UsageQuery{ProjectID: "p2", ConsumerType: placement.AllConsumerTypes}, map[string]placement.UsageGroup{
			"all": {Usages: map[string]int64{"VCPU": 16}, ConsumerCount: 1},
		}},
		{"user of another project", placement.UsageQuery{ProjectID: "p2", UserID: "u2"}, map[string]placement.UsageGroup{}},
		{"unknown project", placement.UsageQuery{ProjectID: "p9"}, map[string]placement.UsageGroup{}},
	}
	for _, tc := range tests {
		got, err := v.e.Usages(v.ctx, tc.q)
		if err != nil {
			t.Errorf("Usages(%s): %v", tc.name, err)
			continue
		}
		if d := gocmp.Diff(tc.want, got, equateEmpty); d != "" {
			t.Errorf("Usages(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	_, err := v.e.Usages(v.ctx, placement.UsageQuery{})
	checkErrIs(t, "Usages without project", err, placement.ErrInvalid)
	_, err = v.e.Usages(v.ctx, placement.UsageQuery{ProjectID: strings.Repeat("p", 256)})
	checkErrIs(t, "Usages with a long project", err, placement.ErrInvalid)

	// Usages follow rewrites and deletes.
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, fixedUUID(2)))
	got, err := v.e.Usages(v.ctx, placement.UsageQuery{ProjectID: "p1", ConsumerType: placement.AllConsumerTypes})
	checkNoErr(t, "Usages", err)
	if d := gocmp.Diff(map[string]placement.UsageGroup{"all": {Usages: map[string]int64{"VCPU": 11, "MEMORY_MB": 1536, "DISK_GB": 30}, ConsumerCount: 3}}, got); d != "" {
		t.Errorf("Usages after delete (-want +got):\n%s", d)
	}
}

// testReshapeMove moves VGPU inventory and its allocations from a root to
// new children in one Reshape and checks the generation effects.
func testReshapeMove(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	root := v.rp(1, "compute")
	v.setInv(root.UUID, mkInv("VCPU", 8), mkInv("VGPU", 4)) // gen 1
	spare := v.rp(9, "spare")
	v.setInv(spare.UUID, mkInv("VGPU", 2)) // gen 1
	c1, c2, c3 := fixedUUID(0xc1), fixedUUID(0xc2), fixedUUID(0xc3)
	v.put(c1, mkAlloc(root.UUID, "VCPU", 2), mkAlloc(root.UUID, "VGPU", 1)) // root gen 2
	v.put(c2, mkAlloc(root.UUID, "VGPU", 2))                                // root gen 3
	v.put(c3, mkAlloc(root.UUID, "VCPU", 1))                                // root gen 4
	gpu1 := v.child(2, "gpu1", root.UUID)
	gpu2 := v.child(3, "gpu2", root.UUID)
	v.wantGen("setup", root.UUID, 4)

	err := v.e.Reshape(v.ctx, placement.ReshapeRequest{
		Inventories: []placement.ProviderInventoryUpdate{
			{ProviderUUID: root.UUID, Generation: placement.ExpectGeneration(4), Inventories: []placement.Inventory{mkInv("VCPU", 8)}},
			{ProviderUUID: gpu1.UUID, Generation: placement.ExpectGeneration(0), Inventories: []placement.Inventory{mkInv("VGPU", 2)}},
			{ProviderUUID: gpu2.UUID, Generation: placement.ExpectGeneration(0), Inventories: []placement.Inventory{mkInv("VGPU", 2)}},
			{ProviderUUID: spare.UUID, Generation: placement.ExpectGeneration(1)},
		},
		Allocations: []placement.ConsumerAllocations{
			{ConsumerUUID: c1, Generation: placement.ExpectGeneration(1), ProjectID: "p1", UserID: "u1", Allocations: []placement.Allocation{mkAlloc(root.UUID, "VCPU", 2), mkAlloc(gpu1.UUID, "VGPU", 1)}},
			{ConsumerUUID: c2, Generation: placement.ExpectGeneration(1), ProjectID: "p1", UserID: "u1", Allocations: []placement.Allocation{mkAlloc(gpu2.UUID, "VGPU", 2)}},
		},
	})
	checkNoErr(t, "Reshape", err)
	invs := func(p string) map[string]int64 {
		pi, err := v.e.Inventories(v.ctx, p)
		checkNoErr(t, "Inventories", err)
		out := map[string]int64{}
		for _, i := range pi.Inventories {
			out[i.ResourceClass] = i.Total
		}
		return out
	}
	if d := gocmp.Diff(map[string]int64{"VCPU": 8}, invs(root.UUID)); d != "" {
		t.Errorf("root inventory (-want +got):\n%s", d)
	}
	if d := gocmp.Diff(map[string]int64{"VGPU": 2}, invs(gpu1.UUID)); d != "" {
		t.Errorf("gpu1 inventory (-want +got):\n%s", d)
	}
	if d := gocmp.Diff(map[string]int64{}, invs(spare.UUID), equateEmpty); d != "" {
		t.Errorf("spare inventory (-want +got):\n%s", d)
	}
	cs, _ := v.e.ConsumerAllocations(v.ctx, c1)
	if d := gocmp.Diff([]placement.Allocation{mkAlloc(root.UUID, "VCPU", 2), mkAlloc(gpu1.UUID, "VGPU", 1)}, cs.Allocations); d != "" || cs.Consumer.Generation != 2 {
		t.Errorf("c1 after reshape: generation %d (-want +got):\n%s", cs.Consumer.Generation, d)
	}
	cs, _ = v.e.ConsumerAllocations(v.ctx, c2)
	if d := gocmp.Diff([]placement.Allocation{mkAlloc(gpu2.UUID, "VGPU", 2)}, cs.Allocations); d != "" || cs.Consumer.Generation != 2 {
		t.Errorf("c2 after reshape: generation %d (-want +got):\n%s", cs.Consumer.Generation, d)
	}
	if g, _ := v.consumerGen(c3); g != 1 {
		t.Errorf("c3 (not in the reshape) generation %d, want 1", g)
	}
	// Generations: non-empty new inventory +2, empty +1, named in the new
	// allocations +1 more.
	v.wantGen("root (non-empty, named)", root.UUID, 4+2+1)
	v.wantGen("gpu1 (non-empty, named)", gpu1.UUID, 0+2+1)
	v.wantGen("gpu2 (non-empty, named)", gpu2.UUID, 0+2+1)
	v.wantGen("spare (empty)", spare.UUID, 1+1)
	if v.usage(root.UUID, "VCPU") != 3 || v.usage(gpu1.UUID, "VGPU") != 1 || v.usage(gpu2.UUID, "VGPU") != 2 {
		t.Errorf("usages after reshape: root VCPU %d gpu1 %d gpu2 %d", v.usage(root.UUID, "VCPU"), v.usage(gpu1.UUID, "VGPU"), v.usage(gpu2.UUID, "VGPU"))
	}

	// Inventory only, no allocations: +2 for non-empty.
	checkNoErr(t, "Reshape inventories only", v.e.Reshape(v.ctx, placement.ReshapeRequest{Inventories: []placement.ProviderInventoryUpdate{
		{ProviderUUID: gpu1.UUID, Generation: placement.ExpectGeneration(3), Inventories: []placement.Inventory{mkInv("VGPU", 3)}},
	}}))
	v.wantGen("gpu1 inventory-only reshape", gpu1.UUID, 5)
	v.audit()
}

// testReshapeFailures checks that a failing Reshape changes nothing.
func testReshapeFailures(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	root := v.rp(1, "compute")
	v.setInv(root.UUID, mkInv("VCPU", 8), mkInv("VGPU", 4))
	c1 := fixedUUID(0xc1)
	v.put(c1, mkAlloc(root.UUID, "VCPU", 2), mkAlloc(root.UUID, "VGPU", 1)) // root gen 2, c1 gen 1
	gpu := v.child(2, "gpu", root.UUID)
	before := v.dump()
	move := func(rootGen, gpuGen, consumerGen int64, rootInv []placement.Inventory, c1Allocs []placement.Allocation) placement.ReshapeRequest {
		return placement.ReshapeRequest{
			Inventories: []placement.ProviderInventoryUpdate{
				{ProviderUUID: root.UUID, Generation: placement.ExpectGeneration(rootGen), Inventories: rootInv},
				{ProviderUUID: gpu.UUID, Generation: placement.ExpectGeneration(gpuGen), Inventories: []placement.Inventory{mkInv("VGPU", 4)}},
			},
			Allocations: []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectGeneration(consumerGen), Allocations: c1Allocs}},
		}
	}
	good := []placement.Allocation{mkAlloc(root.UUID, "VCPU", 2), mkAlloc(gpu.UUID, "VGPU", 1)}
	vcpuOnly := []placement.Inventory{mkInv("VCPU", 8)}

	// A removed class still allocated.
	err := v.e.Reshape(v.ctx, move(2, 0, 1, vcpuOnly, []placement.Allocation{mkAlloc(root.UUID, "VCPU", 2), mkAlloc(root.UUID, "VGPU", 1)}))
	checkErrIs(t, "removing a class still allocated", err, placement.ErrInventoryInUse)
	// Removing everything from a provider with allocations.
	err = v.e.Reshape(v.ctx, move(2, 0, 1, nil, good))
	checkErrIs(t, "removing a provider's whole inventory in use", err, placement.ErrInventoryInUse)
	// Stale provider generations.
	err = v.e.Reshape(v.ctx, move(1, 0, 1, vcpuOnly, good))
	checkConflict(t, "stale root generation", err, placement.ProviderGeneration, root.UUID, placement.ExpectGeneration(1), 2, true)
	err = v.e.Reshape(v.ctx, move(2, 5, 1, vcpuOnly, good))
	checkConflict(t, "stale child generation", err, placement.ProviderGeneration, gpu.UUID, placement.ExpectGeneration(5), 0, true)
	// Stale consumer generation.
	err = v.e.Reshape(v.ctx, move(2, 0, 7, vcpuOnly, good))
	checkConflict(t, "stale consumer generation", err, placement.ConsumerGeneration, c1, placement.ExpectGeneration(7), 1, true)
	// Capacity in the new layout.
	err = v.e.Reshape(v.ctx, move(2, 0, 1, vcpuOnly, []placement.Allocation{mkAlloc(root.UUID, "VCPU", 2), mkAlloc(gpu.UUID, "VGPU", 5)}))
	checkErrIs(t, "allocation above the new capacity", err, placement.ErrCapacityExceeded)
	// Unknown provider, unknown class, invalid inventory.
	req := move(2, 0, 1, vcpuOnly, good)
	req.Inventories = append(req.Inventories, placement.ProviderInventoryUpdate{ProviderUUID: fixedUUID(99), Generation: placement.ExpectGeneration(0), Inventories: vcpuOnly})
	err = v.e.Reshape(v.ctx, req)
	checkErrIs(t, "unknown provider", err, placement.ErrNotFound)
	err = v.e.Reshape(v.ctx, move(2, 0, 1, []placement.Inventory{mkInv("VCPU", 8), mkInv("CUSTOM_NOPE", 1)}, good))
	checkErrIs(t, "unknown class", err, placement.ErrNotFound)
	err = v.e.Reshape(v.ctx, move(2, 0, 1, []placement.Inventory{mkInv("VCPU", 0)}, good))
	checkErrIs(t, "invalid inventory", err, placement.ErrInvalid)
	err = v.e.Reshape(v.ctx, placement.ReshapeRequest{})
	checkErrIs(t, "no inventories", err, placement.ErrInvalid)
	req = move(2, 0, 1, vcpuOnly, good)
	req.Inventories = append(req.Inventories, req.Inventories[0])
	err = v.e.Reshape(v.ctx, req)
	checkErrIs(t, "provider twice", err, placement.ErrInvalid)
	v.unchanged(before, "failed reshapes")

	// And the right one works.
	checkNoErr(t, "Reshape", v.e.Reshape(v.ctx, move(2, 0, 1, vcpuOnly, good)))
	v.wantGen("root", root.UUID, 2+2+1)
	v.wantGen("gpu", gpu.UUID, 0+2+1)
	v.audit()
}
