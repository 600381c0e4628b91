package placement_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// loadProviders creates n compute nodes with VCPU, MEMORY_MB and DISK_GB.
func loadProviders(b *testing.B, engine *placement.Engine, n int) []string {
	b.Helper()
	ctx := context.Background()
	uuids := make([]string, n)
	for i := range uuids {
		p, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("cn-%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		vcpu := placement.NewInventory(placement.ClassVCPU, 64)
		vcpu.AllocationRatio = 4
		mem := placement.NewInventory(placement.ClassMemoryMB, 262144)
		mem.Reserved = 2048
		disk := placement.NewInventory(placement.ClassDiskGB, 4000)
		if _, err := engine.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{vcpu, mem, disk}); err != nil {
			b.Fatal(err)
		}
		uuids[i] = p.UUID
	}
	return uuids
}

func claimOf(consumer, provider string, buf *[3]placement.Allocation) placement.ConsumerAllocations {
	*buf = [3]placement.Allocation{
		{ProviderUUID: provider, ResourceClass: placement.ClassDiskGB, Used: 10},
		{ProviderUUID: provider, ResourceClass: placement.ClassMemoryMB, Used: 256},
		{ProviderUUID: provider, ResourceClass: placement.ClassVCPU, Used: 1},
	}
	return placement.ConsumerAllocations{
		ConsumerUUID: consumer,
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    "project",
		UserID:       "user",
		Allocations:  buf[:],
	}
}

// BenchmarkClaim: each op claims 3 classes for a new consumer on one of
// 10,000 providers and releases the consumer claimed 1,000 ops earlier, so
// capacity never runs out (steady state). Providers are taken in the order
// they were created; memstore lays them out in uuid order, so consecutive
// claims land on providers scattered in memory.
func BenchmarkClaim(b *testing.B) {
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	runClaims(b, engine, loadProviders(b, engine, 10000))
}

// BenchmarkClaimRandomOrder is BenchmarkClaim taking the providers in a
// random order, like a scheduler choosing among candidates would.
func BenchmarkClaimRandomOrder(b *testing.B) {
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	providers := loadProviders(b, engine, 10000)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(providers), func(i, j int) { providers[i], providers[j] = providers[j], providers[i] })
	runClaims(b, engine, providers)
}

// runClaims times the claim workload of BenchmarkClaim on providers, in
// their order.
func runClaims(b *testing.B, engine *placement.Engine, providers []string) {
	ctx := context.Background()
	const window = 1000
	consumers := make([]string, window)
	for i := range consumers {
		consumers[i] = placement.NewUUID()
	}
	live := make([]bool, window)
	var req [3]placement.Allocation
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		slot := i % window
		if live[slot] {
			if err := engine.DeleteAllocations(ctx, consumers[slot]); err != nil {
				b.Fatal(err)
			}
		}
		if err := engine.SetAllocations(ctx, claimOf(consumers[slot], providers[i%len(providers)], &req)); err != nil {
			b.Fatal(err)
		}
		live[slot] = true
	}
}

// BenchmarkClaimParallel runs the claim workload on 2 goroutines (each on
// its own providers).
func BenchmarkClaimParallel(b *testing.B) {
	ctx := context.Background()
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	providers := loadProviders(b, engine, 10000)
	var worker atomic.Int64
	b.SetParallelism(1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(worker.Add(1))
		const window = 1000
		consumers := make([]string, window)
		live := make([]bool, window)
		var req [3]placement.Allocation
		for i := range consumers {
			consumers[i] = placement.NewUUID()
		}
		for i := 0; pb.Next(); i++ {
			slot := i % window
			if live[slot] {
				if err := engine.DeleteAllocations(ctx, consumers[slot]); err != nil {
					b.Error(err)
					return
				}
			}
			p := providers[(i*8+w)%len(providers)]
			if err := engine.SetAllocations(ctx, claimOf(consumers[slot], p, &req)); err != nil {
				b.Error(err)
				return
			}
			live[slot] = true
		}
	})
}

// BenchmarkProviderResources reads a provider with its inventories and usages.
func BenchmarkProviderResources(b *testing.B) {
	ctx := context.Background()
	engine, err := placement.New(memstore.New(), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	providers := loadProviders(b, engine, 10000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := engine.ProviderResources(ctx, providers[i%len(providers)]); err != nil {
			b.Fatal(err)
		}
	}
}
