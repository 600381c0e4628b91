package sqlstore_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// benchEngine returns an Engine over store with n providers of 1,000,000
// VCPU and MEMORY_MB each.
func benchEngine(b *testing.B, store placement.Store, n int) (*placement.Engine, []string) {
	b.Helper()
	e, err := placement.New(store, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	uuids := make([]string, n)
	for i := range uuids {
		p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("bench-%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		uuids[i] = p.UUID
		_, err = e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(p.Generation), []placement.Inventory{
			placement.NewInventory(placement.ClassVCPU, 1_000_000),
			placement.NewInventory(placement.ClassMemoryMB, 1_000_000),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return e, uuids
}

// claim writes one new consumer's allocation of 1 VCPU and 1 MEMORY_MB.
func claim(ctx context.Context, e *placement.Engine, provider string) error {
	return e.SetAllocations(ctx, placement.ConsumerAllocations{
		ConsumerUUID: placement.NewUUID(),
		Generation:   placement.ExpectNewConsumer(),
		ProjectID:    "project",
		UserID:       "user",
		Allocations: []placement.Allocation{
			{ProviderUUID: provider, ResourceClass: placement.ClassVCPU, Used: 1},
			{ProviderUUID: provider, ResourceClass: placement.ClassMemoryMB, Used: 1},
		},
	})
}

func benchClaims(b *testing.B, store placement.Store, providers, parallelism int) {
	e, uuids := benchEngine(b, store, providers)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism <= 1 {
		for i := 0; b.Loop(); i++ {
			if err := claim(ctx, e, uuids[i%len(uuids)]); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		var next atomic.Int64
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				if err := claim(ctx, e, uuids[int(i)%len(uuids)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "claims/s")
}

// BenchmarkClaimSQLite: claims through the Engine on SQLite (WAL,
// synchronous=NORMAL), one writer.
func BenchmarkClaimSQLite(b *testing.B) {
	benchClaims(b, newSQLite(b), 16, 1)
}

// BenchmarkClaimPostgres1: claims on PostgreSQL over one connection,
// distinct providers.
func BenchmarkClaimPostgres1(b *testing.B) {
	benchClaims(b, newPostgres(b, sqlstore.WithMaxConns(1)), 64, 1)
}

// BenchmarkClaimPostgres8: claims on PostgreSQL from 8 goroutines over 8
// connections, distinct providers.
func BenchmarkClaimPostgres8(b *testing.B) {
	b.SetParallelism(1)
	benchClaims(b, newPostgres(b, sqlstore.WithMaxConns(8)), 64, 8/max(1, runtimeProcs()))
}

// BenchmarkReadProviderSQLite: reading a provider with its inventories and
// usages (Engine.ProviderUsages) on SQLite.
func BenchmarkReadProviderSQLite(b *testing.B) {
	e, uuids := benchEngine(b, newSQLite(b), 16)
	ctx := context.Background()
	for _, u := range uuids {
		if err := claim(ctx, e, u); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		u, err := e.ProviderUsages(ctx, uuids[i%len(uuids)])
		if err != nil || len(u.Usages) != 2 {
			b.Fatal(u, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
