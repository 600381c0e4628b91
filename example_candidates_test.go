package placement_test

import (
	"context"
	"fmt"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// Ask where an instance fits: a compute node whose VCPU live in a NUMA
// child, and disk from a storage pool shared through an aggregate. Then
// claim the first candidate as it is.
func ExampleEngine_AllocationCandidates() {
	ctx := context.Background()
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		panic(err)
	}
	names := map[string]string{}
	provider := func(uuid, name, parent string, invs ...placement.Inventory) {
		if _, err := engine.CreateProvider(ctx, placement.ProviderSpec{UUID: uuid, Name: name, ParentUUID: parent}); err != nil {
			panic(err)
		}
		if _, err := engine.ReplaceInventories(ctx, uuid, placement.ExpectGeneration(0), invs); err != nil {
			panic(err)
		}
		names[uuid] = name
	}
	const (
		cn   = "00000000-0000-4000-8000-000000000001"
		numa = "00000000-0000-4000-8000-000000000002"
		pool = "00000000-0000-4000-8000-000000000003"
		agg  = "a0000000-0000-4000-8000-000000000001"
	)
	provider(cn, "compute-1", "", placement.NewInventory(placement.ClassMemoryMB, 16384))
	provider(numa, "compute-1-numa0", cn, placement.NewInventory(placement.ClassVCPU, 8))
	provider(pool, "ceph", "", placement.NewInventory(placement.ClassDiskGB, 1000))
	for _, p := range []string{cn, pool} {
		if _, err := engine.SetProviderAggregates(ctx, p, placement.SkipGenerationCheck(), []string{agg}); err != nil {
			panic(err)
		}
	}
	if _, err := engine.SetProviderTraits(ctx, pool, placement.SkipGenerationCheck(), []string{placement.TraitMiscSharesViaAggregate}); err != nil {
		panic(err)
	}

	cands, err := engine.AllocationCandidates(ctx, placement.CandidateRequest{
		Groups: []placement.RequestGroup{{Resources: []placement.ResourceAmount{
			{Class: placement.ClassVCPU, Amount: 2},
			{Class: placement.ClassMemoryMB, Amount: 2048},
			{Class: placement.ClassDiskGB, Amount: 20},
		}}},
	})
	if err != nil {
		panic(err)
	}
	for _, ar := range cands.AllocationRequests {
		for _, a := range ar.Allocations {
			fmt.Printf("%s %s %d\n", names[a.ProviderUUID], a.ResourceClass, a.Used)
		}
	}
	for _, s := range cands.ProviderSummaries {
		fmt.Printf("summary %s: %+v\n", names[s.UUID], s.Resources)
	}

	err = engine.SetAllocations(ctx, placement.ConsumerAllocations{
		ConsumerUUID: "c0000000-0000-4000-8000-000000000001",
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    "project", UserID: "user",
		Allocations: cands.AllocationRequests[0].Allocations,
	})
	fmt.Println("claimed:", err == nil)
	// Output:
	// compute-1 MEMORY_MB 2048
	// compute-1-numa0 VCPU 2
	// ceph DISK_GB 20
	// summary compute-1: [{Class:MEMORY_MB Capacity:16384 Used:0}]
	// summary compute-1-numa0: [{Class:VCPU Capacity:8 Used:0}]
	// summary ceph: [{Class:DISK_GB Capacity:1000 Used:0}]
	// claimed: true
}

// A scheduler's loop asks again and again: building every answer in one
// CandidateBuffer spares the garbage collector the memory of the answers
// before. An answer is used (here, claimed) before the next is asked for.
func ExampleEngine_AllocationCandidatesInto() {
	ctx := context.Background()
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		panic(err)
	}
	for i, name := range []string{"compute-1", "compute-2"} {
		uuid := fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i+1)
		if _, err := engine.CreateProvider(ctx, placement.ProviderSpec{UUID: uuid, Name: name}); err != nil {
			panic(err)
		}
		if _, err := engine.ReplaceInventories(ctx, uuid, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 4)}); err != nil {
			panic(err)
		}
	}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: []placement.ResourceAmount{{Class: placement.ClassVCPU, Amount: 3}}}}}
	var buf placement.CandidateBuffer
	for i := range 3 {
		cands, err := engine.AllocationCandidatesInto(ctx, req, &buf)
		if err != nil {
			panic(err)
		}
		if len(cands.AllocationRequests) == 0 {
			fmt.Printf("instance %d: no room\n", i)
			continue
		}
		alloc := cands.AllocationRequests[0].Allocations
		err = engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: fmt.Sprintf("c0000000-0000-4000-8000-00000000000%d", i),
			Generation:   placement.ExpectNewConsumer(),
			ProjectID:    "project", UserID: "user",
			Allocations: alloc,
		})
		if err != nil {
			panic(err)
		}
		fmt.Printf("instance %d: %d candidates, placed on %s\n", i, len(cands.AllocationRequests), alloc[0].ProviderUUID)
	}
	// Output:
	// instance 0: 2 candidates, placed on 00000000-0000-4000-8000-000000000001
	// instance 1: 1 candidates, placed on 00000000-0000-4000-8000-000000000002
	// instance 2: no room
}
