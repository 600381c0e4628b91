package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// everyWrite calls every write of the Tx once, successfully, touching the
// seeded world.
func everyWrite(tx placement.Tx) error {
	later := t0.Add(time.Hour)
	steps := []func() error{
		func() error { return tx.CreateProvider(rp("n1", "new-1", "c2", "r1")) },
		func() error { return tx.UpdateProvider(rp("c2", "renamed-2", "", "c2")) },
		func() error { return tx.UpdateProvider(rp("n1", "new-1", "c2", "c2")) },
		func() error { return tx.BumpProviderGeneration("r1", 0) },
		func() error { return tx.BumpProviderGeneration("r1", 1) },
		func() error { return tx.PutInventory("r1", inv("VCPU", 64)) },
		func() error { return tx.PutInventory("n1", inv("CUSTOM_FPGA", 2)) },
		func() error { return tx.DeleteInventory("r1", "MEMORY_MB") },
		func() error {
			return tx.CreateResourceClass(placement.ResourceClass{Name: "CUSTOM_NEW", CreatedAt: later})
		},
		func() error { return tx.RenameResourceClass("CUSTOM_GPU", placement.ResourceClass{Name: "CUSTOM_AAA"}) },
		func() error { return tx.DeleteResourceClass("CUSTOM_FPGA") },
		func() error { return tx.CreateTrait(placement.Trait{Name: "CUSTOM_NEW"}) },
		func() error { return tx.DeleteTrait("CUSTOM_UNUSED") },
		func() error { return tx.SetProviderTraits("r1", []string{"CUSTOM_B", "CUSTOM_NEW"}) },
		func() error { return tx.SetProviderTraits("g1", nil) },
		func() error { return tx.SetProviderAggregates("r2", []string{"agg9", "agg1"}) },
		func() error { return tx.SetProviderAggregates("c1", nil) },
		func() error { return tx.CreateConsumer(consumer("k3", "proj2", "u3")) },
		func() error {
			c := consumer("k1", "proj3", "u1")
			c.Generation = 2
			return tx.UpdateConsumer(c, 1)
		},
		func() error {
			return tx.ReplaceAllocations("k3", []placement.AllocationRecord{alloc("k3", "n1", "CUSTOM_FPGA", 1), alloc("k3", "r2", "VCPU", 1)})
		},
		func() error {
			return tx.ReplaceAllocations("k1", []placement.AllocationRecord{alloc("k1", "c1", "CUSTOM_AAA", 2)})
		},
		func() error { return tx.ReplaceAllocations("k2", nil) },
		func() error { return tx.DeleteConsumer("k2") },
		func() error { return tx.DeleteProvider("g1") },
		func() error { return tx.DeleteProvider("r2") }, // k3 holds VCPU on it: refused
		func() error {
			return tx.ReplaceAllocations("k3", []placement.AllocationRecord{alloc("k3", "n1", "CUSTOM_FPGA", 2)})
		},
		func() error { return tx.DeleteProvider("r2") },
		func() error { return tx.CreateProvider(rp("r2", "root-2-again", "", "r2")) },
	}
	for i, step := range steps {
		err := step()
		if i == 24 {
			if !errors.Is(err, placement.ErrProviderInUse) {
				return fmt.Errorf("step %d: %v, want ErrProviderInUse", i, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}

func TestEveryWriteCommits(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	mustUpdate(t, s, everyWrite)
	checkInternal(t, s)
}

func TestRollbackOnError(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	before := memstore.DumpInternal(s)
	sentinel := errors.New("abort")
	err := s.Update(bg, func(tx placement.Tx) error {
		if err := everyWrite(tx); err != nil {
			t.Fatal(err)
		}
		checkVisibleInside(t, tx)
		return sentinel
	})
	if err != sentinel {
		t.Fatalf("Update = %v", err)
	}
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("rolled back Update left writes (-before +after):\n%s", diff)
	}
	checkInternal(t, s)
}

// checkVisibleInside checks a few of everyWrite's effects from inside the
// transaction.
func checkVisibleInside(t *testing.T, tx placement.ReadTx) {
	t.Helper()
	if _, err := tx.Provider("g1"); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("deleted g1 visible in its tx: %v", err)
	}
	if p, err := tx.Provider("r2"); err != nil || p.Name != "root-2-again" {
		t.Errorf("re-created r2 = %v, %v", p, err)
	}
	if used, _ := tx.ResourceClassInUse("CUSTOM_AAA"); !used {
		t.Error("renamed class not in use in its tx")
	}
}

func TestRollbackOnPanic(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	before := memstore.DumpInternal(s)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic re-raised", r)
			}
		}()
		_ = s.Update(bg, func(tx placement.Tx) error {
			if err := everyWrite(tx); err != nil {
				t.Fatal(err)
			}
			panic("boom")
		})
	}()
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("panicking Update left writes (-before +after):\n%s", diff)
	}
	checkInternal(t, s)
	// The lock was released.
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.BumpProviderGeneration("r1", 0) })
}

// TestRandomized runs random transactions of random writes (most of them
// valid, some not), aborting a third of them, and checks after each that an
// aborted one left no trace and that every index and usage matches a
// rebuild from the primary records.
func TestRandomized(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	rng := rand.New(rand.NewPCG(1, 2))
	s := memstore.New()
	seed(t, s)
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	provs := []string{"r1", "c1", "g1", "c2", "r2", "x1", "x2", "x3"}
	classes := []string{"VCPU", "MEMORY_MB", "DISK_GB", "CUSTOM_GPU", "CUSTOM_FPGA", "CUSTOM_R1", "CUSTOM_R2"}
	traits := []string{"CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2", "CUSTOM_T"}
	aggs := []string{"agg1", "agg2", "agg3", "agg4"}
	consumers := []string{"k1", "k2", "k3", "k4", "k5"}
	projects := []string{"proj1", "proj2"}
	subset := func(xs []string) []string {
		var out []string
		for _, x := range xs {
			if rng.IntN(2) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	op := func(tx placement.Tx) error {
		switch rng.IntN(14) {
		case 0:
			u := pick(provs...)
			parent, root := "", u
			if rng.IntN(2) == 0 {
				if pr, err := tx.Provider(pick(provs...)); err == nil && pr.UUID != u {
					parent, root = pr.UUID, pr.RootUUID
				}
			}
			return tx.CreateProvider(rp(u, "name-"+u+pick("", "'", "ü"), parent, root))
		case 1:
			p, err := tx.Provider(pick(provs...))
			if err != nil {
				return err
			}
			p.Name = pick("a", "b", p.Name+"!")
			return tx.UpdateProvider(p)
		case 2:
			return tx.DeleteProvider(pick(provs...))
		case 3:
			p, err := tx.Provider(pick(provs...))
			if err != nil {
				return err
			}
			return tx.BumpProviderGeneration(p.UUID, p.Generation-int64(rng.IntN(2)))
		case 4:
			return tx.PutInventory(pick(provs...), inv(pick(classes...), int64(1+rng.IntN(100))))
		case 5:
			return tx.DeleteInventory(pick(provs...), pick(classes...))
		case 6:
			return tx.SetProviderTraits(pick(provs...), subset(traits))
		case 7:
			return tx.SetProviderAggregates(pick(provs...), subset(aggs))
		case 8:
			return tx.CreateConsumer(consumer(pick(consumers...), pick(projects...), pick("u1", "u2")))
		case 9:
			c, err := tx.Consumer(pick(consumers...))
			if err != nil {
				return err
			}
			exp := c.Generation
			c.Generation++
			c.ProjectID = pick(projects...)
			return tx.UpdateConsumer(c, exp-int64(rng.IntN(2)))
		case 10:
			return tx.DeleteConsumer(pick(consumers...))
		case 11, 12:
			c := pick(consumers...)
			var recs []placement.AllocationRecord
			for range rng.IntN(4) {
				recs = append(recs, alloc(c, pick(provs...), pick(classes...), int64(1+rng.IntN(5))))
			}
			return tx.ReplaceAllocations(c, recs)
		default:
			switch rng.IntN(4) {
			case 0:
				return tx.CreateResourceClass(placement.ResourceClass{Name: pick("CUSTOM_GPU", "CUSTOM_R1", "CUSTOM_R2")})
			case 1:
				return tx.RenameResourceClass(pick("CUSTOM_GPU", "CUSTOM_R1", "CUSTOM_R2"), placement.ResourceClass{Name: pick("CUSTOM_GPU", "CUSTOM_R1", "CUSTOM_R2")})
			case 2:
				return tx.CreateTrait(placement.Trait{Name: pick(traits...)})
			default:
				return tx.DeleteTrait(pick(traits...))
			}
		}
	}
	abort := errors.New("abort")
	committed, aborted := 0, 0
	for round := range rounds {
		before := memstore.DumpInternal(s)
		doAbort := rng.IntN(3) == 0
		n := 1 + rng.IntN(12)
		update := s.Update
		if round%2 == 1 {
			update = s.UpdateTransient
		}
		err := update(bg, func(tx placement.Tx) error {
			for range n {
				_ = op(tx) // failed ops must change nothing
				// The fast reads (through the transaction's lookup cache)
				// agree with the plain ones after every write.
				checkFastReads(t, tx, provs, consumers)
			}
			if doAbort {
				return abort
			}
			return nil
		})
		if doAbort {
			aborted++
			if err != abort {
				t.Fatalf("round %d: %v", round, err)
			}
			if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
				t.Fatalf("round %d: aborted transaction left writes:\n%s", round, diff)
			}
		} else {
			committed++
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if err := memstore.CheckInternal(s); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		mustView(t, s, func(tx placement.ReadTx) error {
			checkFastReads(t, tx, provs, consumers)
			for _, p := range provs {
				want, wantErr := tx.Provider(p)
				wantRes, _ := tx.Resources(p)
				got, gotRes, gotErr := s.ProviderResources(bg, p)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || diffAny(want, got) != "" || diffAny(wantRes, gotRes) != "" {
					t.Fatalf("round %d: ProviderResources(%s) = %v %v %v, View reads %v %v %v", round, p, got, gotRes, gotErr, want, wantRes, wantErr)
				}
			}
			return nil
		})
	}
	t.Logf("%d committed, %d aborted", committed, aborted)
}

// checkFastReads compares the placement.FastReader methods of tx with the
// plain ReadTx methods they stand for.
func checkFastReads(t *testing.T, tx placement.ReadTx, provs, consumers []string) {
	t.Helper()
	fast := tx.(placement.FastReader)
	for _, c := range consumers {
		want, wantErr := tx.Consumer(c)
		got, ok, err := fast.LookupConsumer(c)
		if err != nil || ok != (wantErr == nil) || diffAny(want, got) != "" {
			t.Fatalf("LookupConsumer(%s) = %v %v %v; Consumer: %v %v", c, got, ok, err, want, wantErr)
		}
		allocs, _ := tx.ConsumerAllocations(c)
		has, err := fast.HasConsumerAllocations(c)
		if err != nil || has != (len(allocs) > 0) {
			t.Fatalf("HasConsumerAllocations(%s) = %v %v; ConsumerAllocations: %v", c, has, err, allocs)
		}
		buf := []placement.AllocationRecord{alloc("x", "y", "z", 1)}
		got2, err := fast.AppendConsumerAllocations(buf, c)
		if err != nil || diffAny(append(buf[:1:1], allocs...), got2) != "" {
			t.Fatalf("AppendConsumerAllocations(%s) = %v %v; ConsumerAllocations: %v", c, got2, err, allocs)
		}
	}
	for _, p := range provs {
		rec, recErr := tx.Provider(p)
		res, _ := tx.Resources(p)
		gen, view, ok, err := fast.ProviderResourcesView(p)
		if err != nil || ok != (recErr == nil) || (ok && gen != rec.Generation) || diffAny(res, view) != "" {
			t.Fatalf("ProviderResourcesView(%s) = %v %v %v %v; Provider, Resources: %v %v %v", p, gen, view, ok, err, rec, recErr, res)
		}
	}
}

func diffAny(a, b any) string { return cmp.Diff(a, b, cmpopts.EquateEmpty()) }

// TestConcurrentClaims runs claims of one unit each from many goroutines on
// a few providers (each claim reads usage and generation, checks capacity,
// writes allocations and bumps the generation, like the Engine), with
// concurrent readers: no claim may be lost or over-commit.
func TestConcurrentClaims(t *testing.T) {
	s := memstore.New()
	const providers, capacity, workers, perWorker = 3, 50, 8, 40
	mustUpdate(t, s, func(tx placement.Tx) error {
		for i := range providers {
			u := fmt.Sprintf("p%d", i)
			if err := tx.CreateProvider(rp(u, u, "", u)); err != nil {
				return err
			}
			if err := tx.PutInventory(u, inv("VCPU", capacity)); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	won := map[string]int{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(2)
		go func() { // writer
			defer wg.Done()
			for i := range perWorker {
				c := fmt.Sprintf("w%d-%d", w, i)
				p := fmt.Sprintf("p%d", (w+i)%providers)
				err := s.Update(bg, func(tx placement.Tx) error {
					rec, err := tx.Provider(p)
					if err != nil {
						return err
					}
					res, err := tx.Resources(p)
					if err != nil {
						return err
					}
					if res[0].Used+1 > res[0].Total {
						return placement.ErrCapacityExceeded
					}
					if err := tx.CreateConsumer(consumer(c, "proj", "u")); err != nil {
						return err
					}
					if err := tx.ReplaceAllocations(c, []placement.AllocationRecord{alloc(c, p, "VCPU", 1)}); err != nil {
						return err
					}
					return tx.BumpProviderGeneration(p, rec.Generation)
				})
				if err == nil {
					mu.Lock()
					won[p]++
					mu.Unlock()
				} else if !errors.Is(err, placement.ErrCapacityExceeded) {
					t.Error(err)
				}
			}
		}()
		go func() { // reader
			defer wg.Done()
			for range perWorker {
				err := s.View(bg, func(tx placement.ReadTx) error {
					for i := range providers {
						p := fmt.Sprintf("p%d", i)
						rec, _ := tx.Provider(p)
						res, _ := tx.Resources(p)
						if rec.Generation != res[0].Used {
							t.Errorf("%s: generation %d but usage %d in one snapshot", p, rec.Generation, res[0].Used)
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	mustView(t, s, func(tx placement.ReadTx) error {
		for i := range providers {
			p := fmt.Sprintf("p%d", i)
			res, _ := tx.Resources(p)
			allocs, _ := tx.ProviderAllocations(p)
			if res[0].Used != int64(won[p]) || len(allocs) != won[p] || res[0].Used > capacity {
				t.Errorf("%s: used %d, %d allocations, %d acknowledged claims", p, res[0].Used, len(allocs), won[p])
			}
		}
		return nil
	})
	checkInternal(t, s)
	if total := won["p0"] + won["p1"] + won["p2"]; total != min(workers*perWorker, providers*capacity) {
		t.Errorf("%d claims won", total)
	}
}
