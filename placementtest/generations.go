package placementtest

import (
	"testing"

	"github.com/goplacement/placement"
)

// The generation rules of Placement (REFERENCE §3.7, §3.8, §4): which writes
// bump which provider and consumer generations, and how stale generations
// are refused without changing anything.

// init registers the generation tests.
func init() {
	register("Generations/Provider", testProviderGenerations)
	register("Generations/ProviderConflicts", testProviderConflicts)
	register("Generations/Allocations", testAllocationGenerations)
	register("Generations/Consumer", testConsumerGenerations)
	register("Generations/ZeroCheck", testZeroGenerationCheck)
}

// wantGen checks a provider's stored generation.
func (v *tenv) wantGen(what, uuid string, want int64) {
	v.t.Helper()
	if got := v.gen(uuid); got != want {
		v.t.Errorf("%s: provider generation %d, want %d", what, got, want)
	}
}

// testProviderGenerations checks which provider writes bump the generation.
func testProviderGenerations(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	p := v.rp(1, "p")
	parent := v.rp(2, "parent")
	if p.Generation != 0 {
		t.Errorf("new provider generation %d, want 0", p.Generation)
	}
	v.wantGen("create", p.UUID, 0)

	// Rename and re-parent: unchanged.
	_, err := v.e.UpdateProvider(v.ctx, p.UUID, placement.ProviderUpdate{Name: "p2"})
	checkNoErr(t, "rename", err)
	v.wantGen("rename", p.UUID, 0)
	_, err = v.e.UpdateProvider(v.ctx, p.UUID, placement.ProviderUpdate{Name: "p2", SetParent: true, ParentUUID: parent.UUID})
	checkNoErr(t, "re-parent", err)
	v.wantGen("re-parent", p.UUID, 0)
	v.wantGen("re-parent (new parent)", parent.UUID, 0)
	_, err = v.e.UpdateProvider(v.ctx, p.UUID, placement.ProviderUpdate{Name: "p2", SetParent: true})
	checkNoErr(t, "un-parent", err)
	v.wantGen("un-parent", p.UUID, 0)

	// Inventory writes: +1 every call, even when nothing changes.
	g := int64(0)
	step := func(what string, ch placement.InventoryChange, err error) {
		t.Helper()
		checkNoErr(t, what, err)
		g++
		if ch.Generation != g {
			t.Errorf("%s: returned generation %d, want %d", what, ch.Generation, g)
		}
		v.wantGen(what, p.UUID, g)
	}
	ch, err := v.e.DeleteInventories(v.ctx, p.UUID, placement.SkipGenerationCheck())
	step("DeleteInventories of an empty inventory", ch, err)
	ch, err = v.e.CreateInventory(v.ctx, p.UUID, mkInv(placement.ClassVCPU, 8))
	step("CreateInventory", ch, err)
	ch, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(g), mkInv(placement.ClassVCPU, 16))
	step("UpdateInventory", ch, err)
	ch, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(g), mkInv(placement.ClassVCPU, 16))
	step("UpdateInventory identical", ch, err)
	invs := []placement.Inventory{mkInv(placement.ClassVCPU, 16), mkInv(placement.ClassDiskGB, 100)}
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(g), invs)
	step("ReplaceInventories", ch, err)
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(g), invs)
	step("ReplaceInventories identical", ch, err)
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.SkipGenerationCheck(), invs)
	step("ReplaceInventories unchecked", ch, err)
	ch, err = v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), placement.ClassDiskGB)
	step("DeleteInventory", ch, err)
	ch, err = v.e.DeleteInventory(v.ctx, p.UUID, placement.ExpectGeneration(g), placement.ClassVCPU)
	step("DeleteInventory checked", ch, err)
	ch, err = v.e.DeleteInventories(v.ctx, p.UUID, placement.ExpectGeneration(g))
	step("DeleteInventories checked, empty", ch, err)
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(g), nil)
	step("ReplaceInventories empty to empty", ch, err)
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(g), invs)
	step("ReplaceInventories again", ch, err)
	ch, err = v.e.DeleteInventories(v.ctx, p.UUID, placement.SkipGenerationCheck())
	step("DeleteInventories", ch, err)

	// Traits: +1 only when the set changes.
	_, err = v.e.EnsureTrait(v.ctx, "CUSTOM_T")
	checkNoErr(t, "EnsureTrait", err)
	v.wantGen("EnsureTrait", p.UUID, g)
	traitStep := func(what string, traits []string, changed bool) {
		t.Helper()
		got, err := v.e.SetProviderTraits(v.ctx, p.UUID, placement.ExpectGeneration(g), traits)
		checkNoErr(t, what, err)
		if changed {
			g++
		}
		if got != g {
			t.Errorf("%s: returned generation %d, want %d", what, got, g)
		}
		v.wantGen(what, p.UUID, g)
	}
	traitStep("SetProviderTraits empty to empty", nil, false)
	traitStep("SetProviderTraits new", []string{"CUSTOM_T"}, true)
	traitStep("SetProviderTraits same", []string{"CUSTOM_T"}, false)
	traitStep("SetProviderTraits same, reordered and duplicated", []string{"CUSTOM_T", "CUSTOM_T"}, false)
	traitStep("SetProviderTraits added", []string{"HW_CPU_X86_AVX2", "CUSTOM_T"}, true)
	traitStep("SetProviderTraits same, other order", []string{"CUSTOM_T", "HW_CPU_X86_AVX2"}, false)
	traitStep("SetProviderTraits replaced", []string{"HW_CPU_X86_SSE"}, true)
	checkNoErr(t, "DeleteProviderTraits", v.e.DeleteProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck()))
	g++
	v.wantGen("DeleteProviderTraits with traits", p.UUID, g)
	checkNoErr(t, "DeleteProviderTraits", v.e.DeleteProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck()))
	v.wantGen("DeleteProviderTraits without traits", p.UUID, g)
	traitStep("SetProviderTraits to delete", []string{"CUSTOM_T"}, true)
	checkNoErr(t, "DeleteProviderTraits checked", v.e.DeleteProviderTraits(v.ctx, p.UUID, placement.ExpectGeneration(g)))
	g++
	v.wantGen("DeleteProviderTraits checked", p.UUID, g)
	traitStep("SetProviderTraits cleared to empty", nil, false)

	// Aggregates: checked writes +1 always; unchecked writes never.
	a1, a2 := fixedUUID(0xa1), fixedUUID(0xa2)
	aggStep := func(what string, check placement.GenerationCheck, aggs []string, bump bool) {
		t.Helper()
		got, err := v.e.SetProviderAggregates(v.ctx, p.UUID, check, aggs)
		checkNoErr(t, what, err)
		if bump {
			g++
		}
		if got != g {
			t.Errorf("%s: returned generation %d, want %d", what, got, g)
		}
		v.wantGen(what, p.UUID, g)
	}
	aggStep("SetProviderAggregates checked", placement.ExpectGeneration(g), []string{a1}, true)
	aggStep("SetProviderAggregates checked, unchanged", placement.ExpectGeneration(g), []string{a1}, true)
	aggStep("SetProviderAggregates checked, cleared", placement.ExpectGeneration(g), nil, true)
	aggStep("SetProviderAggregates checked, empty to empty", placement.ExpectGeneration(g), nil, true)
	aggStep("SetProviderAggregates unchecked, changed", placement.SkipGenerationCheck(), []string{a1, a2}, false)
	aggStep("SetProviderAggregates unchecked, unchanged", placement.SkipGenerationCheck(), []string{a2, a1}, false)
	got, _, err := v.e.ProviderAggregates(v.ctx, p.UUID)
	if err != nil || len(got) != 2 {
		t.Errorf("aggregates after unchecked writes = %v, %v", got, err)
	}
	// Reads do not bump.
	_, _ = v.e.Inventories(v.ctx, p.UUID)
	_, _, _ = v.e.ProviderTraits(v.ctx, p.UUID)
	_, _ = v.e.ProviderUsages(v.ctx, p.UUID)
	v.wantGen("reads", p.UUID, g)
}

// testProviderConflicts checks that stale provider generations are refused
// with a ConflictError and change nothing.
func testProviderConflicts(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	p := v.rp(1, "p")
	v.setInv(p.UUID, mkInv(placement.ClassVCPU, 8), mkInv(placement.ClassDiskGB, 10))
	_, err := v.e.SetProviderTraits(v.ctx, p.UUID, placement.ExpectGeneration(1), []string{"HW_CPU_X86_AVX2"})
	checkNoErr(t, "SetProviderTraits", err)
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.ExpectGeneration(2), []string{fixedUUID(0xa1)})
	checkNoErr(t, "SetProviderAggregates", err)
	const gen = 3
	v.wantGen("setup", p.UUID, gen)

	before := v.dump()
	for _, stale := range []int64{gen - 1, gen + 1, 0} {
		check := placement.ExpectGeneration(stale)
		conflict := func(what string, err error) {
			t.Helper()
			checkConflict(t, what, err, placement.ProviderGeneration, p.UUID, check, gen, true)
		}
		_, err := v.e.ReplaceInventories(v.ctx, p.UUID, check, []placement.Inventory{mkInv(placement.ClassVCPU, 4)})
		conflict("ReplaceInventories", err)
		_, err = v.e.UpdateInventory(v.ctx, p.UUID, check, mkInv(placement.ClassVCPU, 4))
		conflict("UpdateInventory", err)
		_, err = v.e.DeleteInventory(v.ctx, p.UUID, check, placement.ClassDiskGB)
		conflict("DeleteInventory", err)
		_, err = v.e.DeleteInventories(v.ctx, p.UUID, check)
		conflict("DeleteInventories", err)
		_, err = v.e.SetProviderTraits(v.ctx, p.UUID, check, []string{"HW_CPU_X86_SSE"})
		conflict("SetProviderTraits", err)
		_, err = v.e.SetProviderTraits(v.ctx, p.UUID, check, []string{"HW_CPU_X86_AVX2"})
		conflict("SetProviderTraits unchanged", err)
		err = v.e.DeleteProviderTraits(v.ctx, p.UUID, check)
		conflict("DeleteProviderTraits", err)
		_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, check, []string{fixedUUID(0xa2)})
		conflict("SetProviderAggregates", err)
		err = v.e.Reshape(v.ctx, placement.ReshapeRequest{Inventories: []placement.ProviderInventoryUpdate{
			{ProviderUUID: p.UUID, Generation: check, Inventories: []placement.Inventory{mkInv(placement.ClassVCPU, 4)}},
		}})
		conflict("Reshape", err)
	}
	// ExpectNewConsumer is not a provider generation check.
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectNewConsumer(), nil)
	if err == nil {
		t.Errorf("ReplaceInventories with ExpectNewConsumer succeeded")
	}
	v.unchanged(before, "stale provider generations")

	// Unchecked writes go through whatever the generation.
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{fixedUUID(0xa2)})
	checkNoErr(t, "SetProviderAggregates unchecked", err)
	v.wantGen("SetProviderAggregates unchecked", p.UUID, gen)
	_, err = v.e.SetProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{"HW_CPU_X86_SSE"})
	checkNoErr(t, "SetProviderTraits unchecked", err)
	v.wantGen("SetProviderTraits unchecked", p.UUID, gen+1)
	got, _, err := v.e.ProviderAggregates(v.ctx, p.UUID)
	if err != nil || len(got) != 1 || got[0] != fixedUUID(0xa2) {
		t.Errorf("aggregates after an unchecked write = %v, %v", got, err)
	}
}

// testAllocationGenerations checks the provider and consumer generations of
// allocation writes (REFERENCE §3.8).
func testAllocationGenerations(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	b := v.rp(2, "b")
	c := v.rp(3, "c")
	for _, p := range []string{a.UUID, b.UUID, c.UUID} {
		v.setInv(p, mkInv(placement.ClassVCPU, 8), mkInv(placement.ClassMemoryMB, 1024))
	}
	gens := map[string]int64{a.UUID: 1, b.UUID: 1, c.UUID: 1}
	expect := func(what string, bumped ...string) {
		t.Helper()
		for _, p := range bumped {
			gens[p]++
		}
		for _, p := range []string{a.UUID, b.UUID, c.UUID} {
			v.wantGen(what+" (provider "+p[len(p)-1:]+")", p, gens[p])
		}
	}
	wantConsumer := func(what, consumer string, gen int64, exists bool) {
		t.Helper()
		g, ok := v.consumerGen(consumer)
		if ok != exists || (exists && g != gen) {
			t.Errorf("%s: consumer %s generation %d exists %v, want %d %v", what, consumer, g, ok, gen, exists)
		}
	}
	c1, c2, c3 := fixedUUID(0xc1), fixedUUID(0xc2), fixedUUID(0xc3)
	write := func(what string, cas ...placement.ConsumerAllocations) {
		t.Helper()
		var err error
		if len(cas) == 1 {
			err = v.e.SetAllocations(v.ctx, cas[0])
		} else {
			err = v.e.SetAllocationsMulti(v.ctx, cas)
		}
		checkNoErr(t, what, err)
	}
	ca := func(consumer string, check placement.GenerationCheck, allocs ...placement.Allocation) placement.ConsumerAllocations {
		return placement.ConsumerAllocations{ConsumerUUID: consumer, Generation: check, ProjectID: "p", UserID: "u", Allocations: allocs}
	}

	write("first write", ca(c1, placement.ExpectNewConsumer(), mkAlloc(a.UUID, "VCPU", 1), mkAlloc(b.UUID, "VCPU", 1), mkAlloc(b.UUID, "MEMORY_MB", 64)))
	expect("first write", a.UUID, b.UUID) // b once, although named twice
	wantConsumer("first write", c1, 1, true)

	write("same set again", ca(c1, placement.ExpectGeneration(1), mkAlloc(a.UUID, "VCPU", 1), mkAlloc(b.UUID, "VCPU", 1), mkAlloc(b.UUID, "MEMORY_MB", 64)))
	expect("same set again", a.UUID, b.UUID)
	wantConsumer("same set again", c1, 2, true)

	// Moving from {A, B} to {A}: B, which it left, is not bumped.
	write("drop b", ca(c1, placement.ExpectGeneration(2), mkAlloc(a.UUID, "VCPU", 2)))
	expect("drop b", a.UUID)
	wantConsumer("drop b", c1, 3, true)

	// Moving from A to C: C bumped, A not.
	write("move a to c", ca(c1, placement.ExpectGeneration(3), mkAlloc(c.UUID, "VCPU", 2)))
	expect("move a to c", c.UUID)
	wantConsumer("move a to c", c1, 4, true)

	// Unchecked write still increments the consumer generation.
	write("unchecked", ca(c1, placement.SkipGenerationCheck(), mkAlloc(c.UUID, "VCPU", 3)))
	expect("unchecked", c.UUID)
	wantConsumer("unchecked", c1, 5, true)

	// Multi-consumer: every provider named once, every consumer +1; an
	// emptied consumer bumps the providers it had allocations on.
	write("second consumer", ca(c2, placement.ExpectNewConsumer(), mkAlloc(b.UUID, "VCPU", 1)))
	expect("second consumer", b.UUID)
	write("multi", ca(c1, placement.ExpectGeneration(5), mkAlloc(a.UUID, "VCPU", 1), mkAlloc(c.UUID, "VCPU", 1)),
		ca(c2, placement.ExpectGeneration(1), mkAlloc(a.UUID, "VCPU", 1), mkAlloc(a.UUID, "MEMORY_MB", 1)),
		ca(c3, placement.ExpectNewConsumer(), mkAlloc(a.UUID, "VCPU", 1)))
	expect("multi", a.UUID, c.UUID) // B (c2's old provider) not bumped
	wantConsumer("multi", c1, 6, true)
	wantConsumer("multi", c2, 2, true)
	wantConsumer("multi", c3, 1, true)

	write("empty c1 and move c2", ca(c1, placement.ExpectGeneration(6)), ca(c2, placement.ExpectGeneration(2), mkAlloc(b.UUID, "VCPU", 1)))
	expect("empty c1 and move c2", a.UUID, c.UUID, b.UUID) // c1 had A and C; c2 names B
	wantConsumer("emptied", c1, 0, false)
	wantConsumer("moved", c2, 3, true)

	// After being emptied, a consumer is new again.
	before := v.dump()
	err := v.e.SetAllocations(v.ctx, ca(c1, placement.ExpectGeneration(6), mkAlloc(a.UUID, "VCPU", 1)))
	checkConflict(t, "write an emptied consumer with its old generation", err, placement.ConsumerGeneration, c1, placement.ExpectGeneration(6), 0, false)
	v.unchanged(before, "conflicting write")
	write("re-create", ca(c1, placement.ExpectNewConsumer(), mkAlloc(a.UUID, "VCPU", 1)))
	expect("re-create", a.UUID)
	wantConsumer("re-create", c1, 1, true)

	// Emptying a consumer with SetAllocations (the safe delete).
	write("safe delete", ca(c3, placement.ExpectGeneration(1)))
	expect("safe delete", a.UUID)
	wantConsumer("safe delete", c3, 0, false)

	// An empty set for a consumer that does not exist: no record, no bumps.
	write("empty new consumer", ca(fixedUUID(0xc9), placement.ExpectNewConsumer()))
	expect("empty new consumer")
	wantConsumer("empty new consumer", fixedUUID(0xc9), 0, false)

	// DeleteAllocations: no generation changes, consumer record gone.
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, c2))
	expect("DeleteAllocations")
	wantConsumer("DeleteAllocations", c2, 0, false)
	if u := v.usage(b.UUID, "VCPU"); u != 0 {
		t.Errorf("usage after DeleteAllocations = %d", u)
	}
	err = v.e.SetAllocations(v.ctx, ca(c2, placement.ExpectGeneration(3), mkAlloc(b.UUID, "VCPU", 1)))
	checkConflict(t, "write a deleted consumer with its old generation", err, placement.ConsumerGeneration, c2, placement.ExpectGeneration(3), 0, false)
	write("re-create deleted", ca(c2, placement.ExpectNewConsumer(), mkAlloc(b.UUID, "VCPU", 1)))
	expect("re-create deleted", b.UUID)
	wantConsumer("re-create deleted", c2, 1, true)

	// Failed allocation writes bump nothing.
	before = v.dump()
	err = v.e.SetAllocations(v.ctx, ca(c2, placement.ExpectGeneration(1), mkAlloc(b.UUID, "VCPU", 100)))
	checkErrIs(t, "over capacity", err, placement.ErrCapacityExceeded)
	v.unchanged(before, "refused allocation write")
	v.audit()
}

// testConsumerGenerations checks consumer generation conflicts.
func testConsumerGenerations(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv(placement.ClassVCPU, 8))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	for i := 1; i <= 3; i++ {
		check := placement.ExpectNewConsumer()
		if i > 1 {
			check = placement.ExpectGeneration(int64(i - 1))
		}
		err := v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: c1, Generation: check, Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", int64(i))}})
		checkNoErr(t, "write", err)
		if g, ok := v.consumerGen(c1); !ok || g != int64(i) {
			t.Errorf("after write %d: consumer generation %d exists %v, want %d", i, g, ok, i)
		}
	}
	before := v.dump()
	genA := v.gen(a.UUID)
	cases := []struct {
		name     string
		consumer string
		check    placement.GenerationCheck
		actual   int64
		exists   bool
	}{
		{"ExpectNewConsumer on an existing consumer", c1, placement.ExpectNewConsumer(), 3, true},
		{"stale generation", c1, placement.ExpectGeneration(2), 3, true},
		{"future generation", c1, placement.ExpectGeneration(4), 3, true},
		{"generation 0", c1, placement.ExpectGeneration(0), 3, true},
		{"generation for an unknown consumer", c2, placement.ExpectGeneration(1), 0, false},
		{"generation 0 for an unknown consumer", c2, placement.ExpectGeneration(0), 0, false},
	}
	for _, tc := range cases {
		ca := placement.ConsumerAllocations{ConsumerUUID: tc.consumer, Generation: tc.check, ProjectID: "p9", UserID: "u9", ConsumerType: "MIGRATION",
			Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}
		err := v.e.SetAllocations(v.ctx, ca)
		checkConflict(t, tc.name, err, placement.ConsumerGeneration, tc.consumer, tc.check, tc.actual, tc.exists)
		// The same in a multi-consumer write with a valid second consumer.
		ok := placement.ConsumerAllocations{ConsumerUUID: fixedUUID(0xc3), Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}
		err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{ok, ca})
		checkConflict(t, tc.name+" (multi)", err, placement.ConsumerGeneration, tc.consumer, tc.check, tc.actual, tc.exists)
		// And emptying.
		ca.Allocations = nil
		err = v.e.SetAllocations(v.ctx, ca)
		checkConflict(t, tc.name+" (empty set)", err, placement.ConsumerGeneration, tc.consumer, tc.check, tc.actual, tc.exists)
	}
	// Consumer conflicts also stop a reshape.
	err := v.e.Reshape(v.ctx, placement.ReshapeRequest{
		Inventories: []placement.ProviderInventoryUpdate{{ProviderUUID: a.UUID, Generation: placement.ExpectGeneration(genA), Inventories: []placement.Inventory{mkInv(placement.ClassVCPU, 8)}}},
		Allocations: []placement.ConsumerAllocations{{ConsumerUUID: c1, Generation: placement.ExpectGeneration(2), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}}},
	})
	checkConflict(t, "Reshape with a stale consumer generation", err, placement.ConsumerGeneration, c1, placement.ExpectGeneration(2), 3, true)
	v.unchanged(before, "consumer generation conflicts")
	v.wantGen("after conflicts", a.UUID, genA)

	// DeleteAllocations ignores generations: the record goes.
	checkNoErr(t, "DeleteAllocations", v.e.DeleteAllocations(v.ctx, c1))
	if _, ok := v.consumerGen(c1); ok {
		t.Errorf("consumer record kept after DeleteAllocations")
	}
	err = v.e.DeleteAllocations(v.ctx, c1)
	checkErrIs(t, "DeleteAllocations twice", err, placement.ErrNotFound)
	v.wantGen("DeleteAllocations", a.UUID, genA)
}

// testZeroGenerationCheck checks that the zero GenerationCheck is refused.
func testZeroGenerationCheck(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	a := v.rp(1, "a")
	v.setInv(a.UUID, mkInv(placement.ClassVCPU, 8))
	v.put(fixedUUID(0xc1), mkAlloc(a.UUID, "VCPU", 1))
	before := v.dump()
	var zero placement.GenerationCheck
	_, err := v.e.ReplaceInventories(v.ctx, a.UUID, zero, []placement.Inventory{mkInv(placement.ClassVCPU, 4)})
	checkErrIs(t, "ReplaceInventories", err, placement.ErrInvalid)
	_, err = v.e.UpdateInventory(v.ctx, a.UUID, zero, mkInv(placement.ClassVCPU, 4))
	checkErrIs(t, "UpdateInventory", err, placement.ErrInvalid)
	_, err = v.e.DeleteInventory(v.ctx, a.UUID, zero, placement.ClassVCPU)
	checkErrIs(t, "DeleteInventory", err, placement.ErrInvalid)
	_, err = v.e.DeleteInventories(v.ctx, a.UUID, zero)
	checkErrIs(t, "DeleteInventories", err, placement.ErrInvalid)
	_, err = v.e.SetProviderTraits(v.ctx, a.UUID, zero, []string{"HW_CPU_X86_SSE"})
	checkErrIs(t, "SetProviderTraits", err, placement.ErrInvalid)
	err = v.e.DeleteProviderTraits(v.ctx, a.UUID, zero)
	checkErrIs(t, "DeleteProviderTraits", err, placement.ErrInvalid)
	_, err = v.e.SetProviderAggregates(v.ctx, a.UUID, zero, []string{fixedUUID(0xa1)})
	checkErrIs(t, "SetProviderAggregates", err, placement.ErrInvalid)
	err = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{ConsumerUUID: fixedUUID(0xc2), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}})
	checkErrIs(t, "SetAllocations", err, placement.ErrInvalid)
	err = v.e.SetAllocationsMulti(v.ctx, []placement.ConsumerAllocations{
		{ConsumerUUID: fixedUUID(0xc3), Generation: placement.ExpectNewConsumer(), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
		{ConsumerUUID: fixedUUID(0xc2), Allocations: []placement.Allocation{mkAlloc(a.UUID, "VCPU", 1)}},
	})
	checkErrIs(t, "SetAllocationsMulti", err, placement.ErrInvalid)
	err = v.e.Reshape(v.ctx, placement.ReshapeRequest{Inventories: []placement.ProviderInventoryUpdate{{ProviderUUID: a.UUID, Inventories: []placement.Inventory{mkInv(placement.ClassVCPU, 8)}}}})
	checkErrIs(t, "Reshape", err, placement.ErrInvalid)
	_, err = v.e.ReplaceInventories(v.ctx, a.UUID, placement.ExpectGeneration(-1), nil)
	checkErrIs(t, "ReplaceInventories negative generation", err, placement.ErrInvalid)
	v.unchanged(before, "writes with a zero generation check")
}
