package memstore_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

const benchProviders = 1000

var benchClasses = []string{"DISK_GB", "MEMORY_MB", "VCPU"}

func benchUUID(kind string, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%s%08d", i, kind, i)[:36]
}

// benchStore returns a store with benchProviders compute nodes, each with
// VCPU, MEMORY_MB and DISK_GB inventory, a trait and an aggregate.
func benchStore(b *testing.B) (*memstore.Store, []string) {
	b.Helper()
	s := memstore.New()
	provs := make([]string, benchProviders)
	mustUpdate(b, s, func(tx placement.Tx) error {
		for i := range provs {
			u := benchUUID("pppp", i)
			provs[i] = u
			if err := tx.CreateProvider(rp(u, "node-"+u[:8], "", u)); err != nil {
				return err
			}
			for _, c := range benchClasses {
				if err := tx.PutInventory(u, inv(c, 1<<30)); err != nil {
					return err
				}
			}
			if err := tx.SetProviderTraits(u, []string{"HW_CPU_X86_AVX2"}); err != nil {
				return err
			}
			if err := tx.SetProviderAggregates(u, []string{benchUUID("aaaa", i%10)}); err != nil {
				return err
			}
		}
		return nil
	})
	return s, provs
}

// claim is the store side of one allocation write for a new consumer, as
// the Engine does it: consumer lookup, provider and usage reads, consumer
// record, allocation rows, generation compare-and-swap.
func claim(tx placement.Tx, consumerUUID string, provs []string, recs []placement.AllocationRecord) error {
	if _, err := tx.Consumer(consumerUUID); !errors.Is(err, placement.ErrNotFound) {
		return fmt.Errorf("consumer lookup: %v", err)
	}
	if _, err := tx.ConsumerAllocations(consumerUUID); err != nil {
		return err
	}
	var gens [3]int64
	for i, p := range provs {
		rec, err := tx.Provider(p)
		if err != nil {
			return err
		}
		if _, err := tx.Resources(p); err != nil {
			return err
		}
		gens[i] = rec.Generation
	}
	c := placement.Consumer{UUID: consumerUUID, ProjectID: "project", UserID: "user", Generation: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := tx.CreateConsumer(c); err != nil {
		return err
	}
	if err := tx.ReplaceAllocations(consumerUUID, recs); err != nil {
		return err
	}
	for i, p := range provs {
		if err := tx.BumpProviderGeneration(p, gens[i]); err != nil {
			return err
		}
	}
	return nil
}

func benchClaim(b *testing.B, perClaim int) {
	s, provs := benchStore(b)
	// A round of claims by distinct consumers, released (untimed) before
	// the next round, so the store's size stays that of a busy cloud.
	const round = 2000
	consumers := make([]string, round)
	recs := make([][]placement.AllocationRecord, round)
	targets := make([][]string, round)
	for i := range consumers {
		consumers[i] = benchUUID("cccc", i)
		for j := range perClaim {
			p := provs[(i*perClaim+j)%len(provs)]
			targets[i] = append(targets[i], p)
			recs[i] = append(recs[i], alloc(consumers[i], p, "VCPU", 1), alloc(consumers[i], p, "MEMORY_MB", 512))
		}
	}
	release := func(n int) {
		mustUpdate(b, s, func(tx placement.Tx) error {
			for _, c := range consumers[:n] {
				if err := tx.ReplaceAllocations(c, nil); err != nil {
					return err
				}
				if err := tx.DeleteConsumer(c); err != nil {
					return err
				}
			}
			return nil
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		i := n % round
		if i == 0 && n > 0 {
			b.StopTimer()
			release(round)
			b.StartTimer()
		}
		err := s.Update(bg, func(tx placement.Tx) error { return claim(tx, consumers[i], targets[i], recs[i]) })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClaim measures a whole Update running a claim on one provider
// (VCPU and MEMORY_MB) and on three.
func BenchmarkClaim(b *testing.B) {
	b.Run("providers=1", func(b *testing.B) { benchClaim(b, 1) })
	b.Run("providers=3", func(b *testing.B) { benchClaim(b, 3) })
}

// BenchmarkResize measures an allocation write for an existing consumer:
// lookups, UpdateConsumer, ReplaceAllocations and the generation bump.
func BenchmarkResize(b *testing.B) {
	s, provs := benchStore(b)
	const consumers = 1000
	ids := make([]string, consumers)
	mustUpdate(b, s, func(tx placement.Tx) error {
		for i := range ids {
			ids[i] = benchUUID("cccc", i)
			p := provs[i%len(provs)]
			if err := claim(tx, ids[i], []string{p}, []placement.AllocationRecord{alloc(ids[i], p, "VCPU", 1)}); err != nil {
				return err
			}
		}
		return nil
	})
	sizes := [2][consumers][]placement.AllocationRecord{}
	for i, id := range ids {
		p := provs[i%len(provs)]
		sizes[0][i] = []placement.AllocationRecord{alloc(id, p, "VCPU", 1)}
		sizes[1][i] = []placement.AllocationRecord{alloc(id, p, "VCPU", 2), alloc(id, p, "MEMORY_MB", 256)}
	}
	gens := make([]int64, consumers)
	for i := range gens {
		gens[i] = 1
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		i := n % consumers
		id, p := ids[i], provs[i%len(provs)]
		err := s.Update(bg, func(tx placement.Tx) error {
			c, err := tx.Consumer(id)
			if err != nil {
				return err
			}
			if _, err := tx.ConsumerAllocations(id); err != nil {
				return err
			}
			rec, err := tx.Provider(p)
			if err != nil {
				return err
			}
			if _, err := tx.Resources(p); err != nil {
				return err
			}
			c.Generation++
			if err := tx.UpdateConsumer(c, gens[i]); err != nil {
				return err
			}
			if err := tx.ReplaceAllocations(id, sizes[(n/consumers+1)%2][i]); err != nil {
				return err
			}
			return tx.BumpProviderGeneration(p, rec.Generation)
		})
		if err != nil {
			b.Fatal(err)
		}
		gens[i]++
	}
}

// BenchmarkProviderResources measures reading one provider with its
// resources: in its own View, and inside an open View (the store's share).
func BenchmarkProviderResources(b *testing.B) {
	s, provs := benchStore(b)
	b.Run("view", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p := provs[i%len(provs)]
			err := s.View(bg, func(tx placement.ReadTx) error {
				if _, err := tx.Provider(p); err != nil {
					return err
				}
				_, err := tx.Resources(p)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("in-tx", func(b *testing.B) {
		b.ReportAllocs()
		_ = s.View(bg, func(tx placement.ReadTx) error {
			for i := 0; i < b.N; i++ {
				p := provs[i%len(provs)]
				if _, err := tx.Provider(p); err != nil {
					b.Fatal(err)
				}
				if _, err := tx.Resources(p); err != nil {
					b.Fatal(err)
				}
			}
			return nil
		})
	})
	b.Run("parallel-view", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				p := provs[i%len(provs)]
				i++
				err := s.View(bg, func(tx placement.ReadTx) error {
					if _, err := tx.Provider(p); err != nil {
						return err
					}
					_, err := tx.Resources(p)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkProvidersQuery measures a trait-and-aggregate query over the
// benchmark world (100 of 1000 providers match).
func BenchmarkProvidersQuery(b *testing.B) {
	s, _ := benchStore(b)
	q := placement.ProviderQuery{MemberOf: [][]string{{benchUUID("aaaa", 3)}}, Required: [][]string{{"HW_CPU_X86_AVX2"}}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		err := s.View(bg, func(tx placement.ReadTx) error {
			ps, err := tx.Providers(q)
			if len(ps) != benchProviders/10 {
				b.Fatalf("%d providers", len(ps))
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
