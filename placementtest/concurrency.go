package placementtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goplacement/placement"
)

// The concurrency tests: many goroutines writing through one Engine on a few
// hot providers. They check what DESIGN rule 10 asks of every backend: never
// over-commit, never lose an acknowledged write, usage always equal to a
// recount, generations compare-and-swapped exactly once per acknowledged
// write, and reads that see whole transactions only.

func init() {
	register("Concurrency/HotProviders", testHotProviders)
	register("Concurrency/ReadersDuringWrites", testReadersDuringWrites)
	register("Concurrency/GenerationCAS", testGenerationCAS)
}

// concRetry is the Retry configuration of the concurrency tests: enough
// attempts that a backend which serialises its writes never runs out, and a
// short backoff.
func concRetry() []placement.RetryOption {
	return []placement.RetryOption{placement.RetryAttempts(20), placement.RetryBackoff(50*time.Microsecond, 2*time.Millisecond)}
}

// concBudget is how long the writers of a concurrency test run at most, and
// how many iterations each does at most.
func concBudget() (time.Duration, int) {
	if Stress() {
		return 30 * time.Second, 3000
	}
	return 2 * time.Second, 400
}

// concFailures reports failures from goroutines, at most a few of them.
type concFailures struct {
	t *testing.T
	n atomic.Int32
}

func (f *concFailures) Errorf(format string, args ...any) {
	f.t.Helper()
	if n := f.n.Add(1); n <= 20 {
		f.t.Errorf(format, args...)
	} else if n == 21 {
		f.t.Errorf("(more failures not shown)")
	}
}

func (f *concFailures) failed() bool { return f.n.Load() > 0 }

func concSeed(t *testing.T) uint64 {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	return seed
}

func sortAllocations(as []placement.Allocation) []placement.Allocation {
	as = slices.Clone(as)
	slices.SortFunc(as, func(a, b placement.Allocation) int {
		return cmp.Or(strings.Compare(a.ProviderUUID, b.ProviderUUID), strings.Compare(a.ResourceClass, b.ResourceClass))
	})
	return as
}

// concCreateProviders creates n providers with the inventories inv(i) and
// returns their uuids.
func concCreateProviders(ctx context.Context, t *testing.T, e *placement.Engine, prefix string, n int, inv func(i int) []placement.Inventory) []string {
	t.Helper()
	var out []string
	for i := range n {
		p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("%s-%d", prefix, i)})
		if err != nil {
			t.Fatalf("CreateProvider: %v", err)
		}
		if _, err := e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(p.Generation), inv(i)); err != nil {
			t.Fatalf("ReplaceInventories: %v", err)
		}
		out = append(out, p.UUID)
	}
	return out
}

// hotClaim is what a goroutine knows of one of its consumers after its last
// acknowledged write: the set and the generation (0 once deleted).
type hotClaim struct {
	allocs []placement.Allocation
	gen    int64
}

// testHotProviders: 64 goroutines claim, rewrite, move and release on four
// small providers. Every refusal must be a capacity refusal; afterwards no
// class is over capacity, every consumer holds exactly what its goroutine
// last wrote successfully (generation included; deleted ones nothing), the
// store has no other consumer, and usage equals a recount.
func testHotProviders(t *testing.T, newStore NewStore) {
	const workers = 64
	budget, iterations := concBudget()
	ctx, cancel := context.WithTimeout(t.Context(), budget+time.Minute)
	defer cancel()
	store := newStore(t)
	e := NewEngine(t, store)

	// VCPU 16 at ratio 1, 1.5 (capacity 24), reserved 2 (14), ratio 1;
	// MEMORY_MB 4096 in steps of 256 up to 2048 per allocation, one with
	// 512 reserved.
	providers := concCreateProviders(ctx, t, e, "hot", 4, func(i int) []placement.Inventory {
		vcpu := placement.NewInventory(placement.ClassVCPU, 16)
		mem := placement.NewInventory(placement.ClassMemoryMB, 4096)
		mem.StepSize, mem.MaxUnit = 256, 2048
		switch i {
		case 1:
			vcpu.AllocationRatio = 1.5
		case 2:
			vcpu.Reserved = 2
		case 3:
			mem.Reserved = 512
		}
		return []placement.Inventory{vcpu, mem}
	})

	seed := concSeed(t)
	fail := &concFailures{t: t}
	deadline := time.Now().Add(budget)
	results := make([]map[string]hotClaim, workers)
	var acked, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			mine := map[string]hotClaim{} // every consumer this goroutine ever wrote
			var live []string             // those that hold allocations

			newSet := func() []placement.Allocation {
				var out []placement.Allocation
				for _, pi := range rng.Perm(len(providers))[:1+rng.IntN(2)] {
					vcpu, mem := rng.IntN(3) > 0, rng.IntN(3) > 0
					if !vcpu && !mem {
						vcpu = true
					}
					if vcpu {
						out = append(out, placement.Allocation{ProviderUUID: providers[pi], ResourceClass: placement.ClassVCPU, Used: int64(1 + rng.IntN(4))})
					}
					if mem {
						out = append(out, placement.Allocation{ProviderUUID: providers[pi], ResourceClass: placement.ClassMemoryMB, Used: int64(256 * (1 + rng.IntN(8)))})
					}
				}
				return out
			}
			// readOwn reads one of this goroutine's consumers and checks
			// it still holds what was last acknowledged.
			readOwn := func(ctx context.Context, id string) (int64, error) {
				got, err := e.ConsumerAllocations(ctx, id)
				if err != nil {
					return 0, err
				}
				want := mine[id]
				if !got.Exists || got.Consumer.Generation != want.gen || !slices.Equal(got.Allocations, sortAllocations(want.allocs)) {
					fail.Errorf("consumer %s: read %+v, last acknowledged write %+v", id, got, want)
				}
				return got.Consumer.Generation, nil
			}
			// outcome checks an error: nil is recorded by the caller,
			// capacity refusals are allowed only where mayRefuse.
			outcome := func(op string, err error, mayRefuse bool) bool {
				switch {
				case err == nil:
					acked.Add(1)
					return true
				case mayRefuse && errors.Is(err, placement.ErrCapacityExceeded) && !errors.Is(err, placement.ErrConstraintViolated) && !errors.Is(err, placement.ErrNoInventory):
					refused.Add(1)
				default:
					fail.Errorf("%s: unexpected error %v", op, err)
				}
				return false
			}
			removeLive := func(id string) {
				live = slices.DeleteFunc(live, func(x string) bool { return x == id })
			}

			for i := 0; i < iterations && time.Now().Before(deadline) && !fail.failed(); i++ {
				op := rng.IntN(10)
				if len(live) >= 2 && op < 5 {
					op = 5 + rng.IntN(5)
				}
				if len(live) == 0 && op >= 5 {
					op = rng.IntN(5)
				}
				switch {
				case op < 4: // claim for a fresh consumer
					id, set := placement.NewUUID(), newSet()
					err := placement.Retry(ctx, func(ctx context.Context) error {
						return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: id, Generation: placement.ExpectNewConsumer(), Allocations: set})
					}, concRetry()...)
					if outcome("claim", err, true) {
						mine[id] = hotClaim{set, 1}
						live = append(live, id)
					}
				case op == 4: // two fresh consumers in one write
					a, b := placement.NewUUID(), placement.NewUUID()
					sa, sb := newSet(), newSet()
					err := placement.Retry(ctx, func(ctx context.Context) error {
						return e.SetAllocationsMulti(ctx, []placement.ConsumerAllocations{
							{ConsumerUUID: a, Generation: placement.ExpectNewConsumer(), Allocations: sa},
							{ConsumerUUID: b, Generation: placement.ExpectNewConsumer(), Allocations: sb},
						})
					}, concRetry()...)
					if outcome("multi claim", err, true) {
						mine[a], mine[b] = hotClaim{sa, 1}, hotClaim{sb, 1}
						live = append(live, a, b)
					}
				case op <= 6: // rewrite an own consumer with the generation read just before
					id, set := live[rng.IntN(len(live))], newSet()
					err := placement.Retry(ctx, func(ctx context.Context) error {
						gen, err := readOwn(ctx, id)
						if err != nil {
							return err
						}
						return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: id, Generation: placement.ExpectGeneration(gen), Allocations: set})
					}, concRetry()...)
					if outcome("rewrite", err, true) {
						mine[id] = hotClaim{set, mine[id].gen + 1}
					}
				case op == 7: // release with an empty set and the generation read just before
					id := live[rng.IntN(len(live))]
					err := placement.Retry(ctx, func(ctx context.Context) error {
						gen, err := readOwn(ctx, id)
						if err != nil {
							return err
						}
						return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: id, Generation: placement.ExpectGeneration(gen)})
					}, concRetry()...)
					if outcome("release", err, false) {
						mine[id] = hotClaim{}
						removeLive(id)
					}
				case op == 8: // move an own consumer's set to a fresh consumer (never refused)
					from, to := live[rng.IntN(len(live))], placement.NewUUID()
					set := mine[from].allocs
					err := placement.Retry(ctx, func(ctx context.Context) error {
						gen, err := readOwn(ctx, from)
						if err != nil {
							return err
						}
						return e.SetAllocationsMulti(ctx, []placement.ConsumerAllocations{
							{ConsumerUUID: from, Generation: placement.ExpectGeneration(gen)},
							{ConsumerUUID: to, Generation: placement.ExpectNewConsumer(), Allocations: set},
						})
					}, concRetry()...)
					if outcome("move", err, false) {
						mine[from], mine[to] = hotClaim{}, hotClaim{set, 1}
						removeLive(from)
						live = append(live, to)
					}
				default: // release without a generation
					id := live[rng.IntN(len(live))]
					if outcome("DeleteAllocations", e.DeleteAllocations(ctx, id), false) {
						mine[id] = hotClaim{}
						removeLive(id)
					}
				}
			}
			results[w] = mine
		}()
	}
	wg.Wait()
	if fail.failed() {
		return
	}
	t.Logf("%d writes acknowledged, %d refused for capacity", acked.Load(), refused.Load())

	expected := map[string]hotClaim{}
	for _, r := range results {
		for id, c := range r {
			expected[id] = c
		}
	}
	concCheckFinal(ctx, t, e, store, providers, expected)
}

// concCheckFinal checks the state after the writers are done: usage within
// capacity and equal to the acknowledged sets, each consumer exactly as last
// acknowledged, no other consumer, and a clean audit.
func concCheckFinal(ctx context.Context, t *testing.T, e *placement.Engine, store placement.Store, providers []string, expected map[string]hotClaim) {
	t.Helper()
	want := map[[2]string]int64{}
	for _, c := range expected {
		for _, a := range c.allocs {
			want[[2]string{a.ProviderUUID, a.ResourceClass}] += a.Used
		}
	}
	for _, p := range providers {
		usages, err := e.ProviderUsages(ctx, p)
		if err != nil {
			t.Fatalf("ProviderUsages: %v", err)
		}
		invs, err := e.Inventories(ctx, p)
		if err != nil {
			t.Fatalf("Inventories: %v", err)
		}
		for _, inv := range invs.Inventories {
			used := usages.Usages[inv.ResourceClass]
			if !placement.AtMost(used, inv.Capacity()) {
				t.Errorf("provider %s %s over-committed: used %d, capacity %v", p, inv.ResourceClass, used, inv.Capacity())
			}
			if w := want[[2]string{p, inv.ResourceClass}]; used != w {
				t.Errorf("provider %s %s: used %d, acknowledged writes add up to %d", p, inv.ResourceClass, used, w)
			}
		}
	}
	for id, c := range expected {
		got, err := e.ConsumerAllocations(ctx, id)
		if err != nil {
			t.Fatalf("ConsumerAllocations: %v", err)
		}
		if c.gen == 0 {
			if got.Exists {
				t.Errorf("consumer %s was deleted but holds %+v", id, got)
			}
			continue
		}
		if !got.Exists || got.Consumer.Generation != c.gen || !slices.Equal(got.Allocations, sortAllocations(c.allocs)) {
			t.Errorf("consumer %s: have %+v, last acknowledged write %+v", id, got, c)
		}
	}
	st, err := ReadState(ctx, store)
	if err != nil {
		t.Fatalf("ReadState: %v", err)
	}
	for _, c := range st.Consumers {
		if expected[c.UUID].gen == 0 {
			t.Errorf("consumer %s is stored but no acknowledged write left it allocations", c.UUID)
		}
	}
	rep, err := e.Audit(ctx)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if !rep.OK() {
		t.Errorf("Audit: %+v", rep)
	}
}

// testReadersDuringWrites: writers claim and release pairs (the same amounts
// on two providers, MEMORY_MB = 256 × VCPU) while another rewrites the
// inventories unchanged (bumping generations), and readers check every read
// is one consistent snapshot: usage within capacity, MEMORY_MB = 256 × VCPU
// per provider and per consumer, consumers whole or absent, generations never
// going backwards for one reader, inventories unchanged, audits clean.
func testReadersDuringWrites(t *testing.T, newStore NewStore) {
	const writers, readers = 8, 8
	budget, iterations := concBudget()
	budget /= 2
	ctx, cancel := context.WithTimeout(t.Context(), budget+time.Minute)
	defer cancel()
	store := newStore(t)
	e := NewEngine(t, store)

	inventory := func(int) []placement.Inventory {
		mem := placement.NewInventory(placement.ClassMemoryMB, 2048)
		mem.StepSize = 256
		return []placement.Inventory{mem, placement.NewInventory(placement.ClassVCPU, 8)}
	}
	providers := concCreateProviders(ctx, t, e, "read", 3, inventory)
	capacity := map[string]float64{}
	for _, inv := range inventory(0) {
		capacity[inv.ResourceClass] = inv.Capacity()
	}

	seed := concSeed(t)
	fail := &concFailures{t: t}
	deadline := time.Now().Add(budget)
	var writesDone atomic.Bool
	var reads, writes atomic.Int64
	var writerWG, readerWG sync.WaitGroup

	for w := range writers {
		writerWG.Add(1)
		go func() {
			defer writerWG.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var held []string
			for i := 0; i < iterations*4 && time.Now().Before(deadline) && !fail.failed(); i++ {
				if len(held) > 0 && (len(held) >= 2 || rng.IntN(2) == 0) {
					id := held[0]
					held = held[1:]
					var err error
					if rng.IntN(2) == 0 {
						err = e.DeleteAllocations(ctx, id)
					} else {
						err = placement.Retry(ctx, func(ctx context.Context) error {
							got, err := e.ConsumerAllocations(ctx, id)
							if err != nil {
								return err
							}
							return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: id, Generation: placement.ExpectGeneration(got.Consumer.Generation)})
						}, concRetry()...)
					}
					if err != nil {
						fail.Errorf("release %s: %v", id, err)
					}
					writes.Add(1)
					continue
				}
				id, k := placement.NewUUID(), int64(1+rng.IntN(3))
				var set []placement.Allocation
				for _, pi := range rng.Perm(len(providers))[:2] {
					set = append(set,
						placement.Allocation{ProviderUUID: providers[pi], ResourceClass: placement.ClassVCPU, Used: k},
						placement.Allocation{ProviderUUID: providers[pi], ResourceClass: placement.ClassMemoryMB, Used: 256 * k})
				}
				err := placement.Retry(ctx, func(ctx context.Context) error {
					return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: id, Generation: placement.ExpectNewConsumer(), Allocations: set})
				}, concRetry()...)
				switch {
				case err == nil:
					held = append(held, id)
				case !errors.Is(err, placement.ErrCapacityExceeded):
					fail.Errorf("claim: %v", err)
				}
				writes.Add(1)
			}
		}()
	}
	// One goroutine rewrites the (unchanged) inventories, which bumps the
	// provider generations under the allocation writers and the readers.
	writerWG.Add(1)
	go func() {
		defer writerWG.Done()
		for i := 0; time.Now().Before(deadline) && !fail.failed(); i++ {
			p := providers[i%len(providers)]
			err := placement.Retry(ctx, func(ctx context.Context) error {
				cur, err := e.Inventories(ctx, p)
				if err != nil {
					return err
				}
				_, err = e.ReplaceInventories(ctx, p, placement.ExpectGeneration(cur.Generation), inventory(0))
				return err
			}, placement.RetryAttempts(100), placement.RetryBackoff(50*time.Microsecond, 2*time.Millisecond))
			if err != nil {
				fail.Errorf("ReplaceInventories: %v", err)
			}
			writes.Add(1)
			time.Sleep(time.Millisecond)
		}
	}()

	for r := range readers {
		readerWG.Add(1)
		go func() {
			defer readerWG.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(1000+r)))
			lastGen := map[string]int64{}
			seenGen := func(what, p string, gen int64) {
				if gen < lastGen[p] {
					fail.Errorf("%s: provider %s generation went back from %d to %d", what, p, lastGen[p], gen)
				}
				lastGen[p] = gen
			}
			checkUsage := func(what, p string, usages map[string]int64) {
				vcpu, mem := usages[placement.ClassVCPU], usages[placement.ClassMemoryMB]
				if len(usages) != 2 || mem != 256*vcpu || !placement.AtMost(vcpu, capacity[placement.ClassVCPU]) || !placement.AtMost(mem, capacity[placement.ClassMemoryMB]) {
					fail.Errorf("%s: provider %s: inconsistent usages %v", what, p, usages)
				}
			}
			for i := 0; !writesDone.Load() && !fail.failed(); i++ {
				p := providers[rng.IntN(len(providers))]
				switch i % 4 {
				case 0:
					u, err := e.ProviderUsages(ctx, p)
					if err != nil {
						fail.Errorf("ProviderUsages: %v", err)
						return
					}
					seenGen("ProviderUsages", p, u.Generation)
					checkUsage("ProviderUsages", p, u.Usages)
				case 1:
					invs, err := e.Inventories(ctx, p)
					if err != nil {
						fail.Errorf("Inventories: %v", err)
						return
					}
					seenGen("Inventories", p, invs.Generation)
					want := inventory(0)
					if len(invs.Inventories) != len(want) {
						fail.Errorf("Inventories(%s) = %+v", p, invs)
						break
					}
					for j, inv := range invs.Inventories {
						inv.CreatedAt, inv.UpdatedAt = time.Time{}, time.Time{}
						if inv != want[j] {
							fail.Errorf("Inventories(%s): %+v, want %+v", p, inv, want[j])
						}
					}
				case 2:
					pa, err := e.ProviderAllocations(ctx, p)
					if err != nil {
						fail.Errorf("ProviderAllocations: %v", err)
						return
					}
					seenGen("ProviderAllocations", p, pa.Generation)
					sums := map[string]int64{}
					perConsumer := map[string]map[string]int64{}
					for _, a := range pa.Allocations {
						sums[a.ResourceClass] += a.Used
						if perConsumer[a.ConsumerUUID] == nil {
							perConsumer[a.ConsumerUUID] = map[string]int64{}
						}
						perConsumer[a.ConsumerUUID][a.ResourceClass] += a.Used
					}
					if sums[placement.ClassMemoryMB] != 256*sums[placement.ClassVCPU] ||
						!placement.AtMost(sums[placement.ClassVCPU], capacity[placement.ClassVCPU]) ||
						!placement.AtMost(sums[placement.ClassMemoryMB], capacity[placement.ClassMemoryMB]) {
						fail.Errorf("ProviderAllocations(%s): inconsistent sums %v", p, sums)
					}
					var ids []string
					for id, c := range perConsumer {
						if len(c) != 2 || c[placement.ClassMemoryMB] != 256*c[placement.ClassVCPU] {
							fail.Errorf("ProviderAllocations(%s): consumer %s holds %v", p, id, c)
						}
						if _, ok := pa.Consumers[id]; !ok {
							fail.Errorf("ProviderAllocations(%s): no record for consumer %s", p, id)
						}
						ids = append(ids, id)
					}
					if len(ids) == 0 {
						break
					}
					slices.Sort(ids)
					id := ids[rng.IntN(len(ids))]
					ca, err := e.ConsumerAllocations(ctx, id)
					if err != nil {
						fail.Errorf("ConsumerAllocations: %v", err)
						return
					}
					if !ca.Exists {
						break // released since
					}
					// A claim is whole: two providers, both classes, the same k.
					ok := len(ca.Allocations) == 4 && len(ca.ProviderGenerations) == 2
					for j := 0; ok && j < 4; j += 2 {
						mem, vcpu := ca.Allocations[j], ca.Allocations[j+1]
						ok = mem.ProviderUUID == vcpu.ProviderUUID && mem.ResourceClass == placement.ClassMemoryMB &&
							vcpu.ResourceClass == placement.ClassVCPU && mem.Used == 256*vcpu.Used && vcpu.Used == ca.Allocations[1].Used
					}
					if !ok {
						fail.Errorf("ConsumerAllocations(%s): partial or torn claim %+v", id, ca)
					}
					for pg, gen := range ca.ProviderGenerations {
						seenGen("ConsumerAllocations", pg, gen)
					}
				default:
					if i%16 != 3 {
						u, err := e.ProviderUsages(ctx, p)
						if err != nil {
							fail.Errorf("ProviderUsages: %v", err)
							return
						}
						seenGen("ProviderUsages", p, u.Generation)
						checkUsage("ProviderUsages", p, u.Usages)
						break
					}
					rep, err := e.Audit(ctx)
					if err != nil {
						fail.Errorf("Audit: %v", err)
						return
					}
					if !rep.OK() {
						fail.Errorf("Audit during writes: %+v", rep)
					}
				}
				reads.Add(1)
				runtime.Gosched() // let the writers in between reads
			}
		}()
	}
	writerWG.Wait()
	writesDone.Store(true)
	readerWG.Wait()
	t.Logf("%d writes, %d reads", writes.Load(), reads.Load())
	if fail.failed() {
		return
	}
	rep, err := e.Audit(ctx)
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if !rep.OK() {
		t.Errorf("Audit: %+v", rep)
	}
}

// testGenerationCAS: goroutines replace one provider's inventory (and now
// and then its aggregates, which also bump the generation) with the
// generation read just before, inside Retry. Every failed attempt must be a
// *ConflictError naming the provider, the generation passed and a newer
// actual one; the acknowledged writes must have returned the generations
// initial+1 .. initial+n, each exactly once; the final generation is
// initial+n and the final inventory the one written by the last of them.
func testGenerationCAS(t *testing.T, newStore NewStore) {
	workers, perWorker := 16, 25
	if Stress() {
		workers, perWorker = 64, 100
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	store := newStore(t)
	e := NewEngine(t, store)
	p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "cas"})
	if err != nil {
		t.Fatalf("CreateProvider: %v", err)
	}
	initial := p.Generation
	aggregate := placement.NewUUID()

	fail := &concFailures{t: t}
	var conflicts, exhausted atomic.Int64
	var mu sync.Mutex
	written := map[int64]int64{} // acknowledged generation → total written (0 for aggregate writes)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if fail.failed() {
					return
				}
				total := int64(w*perWorker + i + 1)
				aggregates := i%4 == 3
				var newGen int64
				err := placement.Retry(ctx, func(ctx context.Context) error {
					cur, err := e.Inventories(ctx, p.UUID)
					if err != nil {
						return err
					}
					runtime.Gosched() // widen the window between the read and the write
					if aggregates {
						newGen, err = e.SetProviderAggregates(ctx, p.UUID, placement.ExpectGeneration(cur.Generation), []string{aggregate})
					} else {
						var ch placement.InventoryChange
						ch, err = e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(cur.Generation), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, total)})
						newGen = ch.Generation
					}
					if err == nil {
						if newGen != cur.Generation+1 {
							fail.Errorf("write with generation %d returned generation %d", cur.Generation, newGen)
						}
						return nil
					}
					var ce *placement.ConflictError
					if !errors.As(err, &ce) || !errors.Is(err, placement.ErrConcurrentUpdate) {
						fail.Errorf("write with generation %d: not a *ConflictError: %v", cur.Generation, err)
						return err
					}
					exp, ok := ce.Expected.Generation()
					if ce.Kind != placement.ProviderGeneration || ce.UUID != p.UUID || !ok || exp != cur.Generation || !ce.Exists || ce.Actual <= cur.Generation {
						fail.Errorf("write with generation %d: conflict %+v", cur.Generation, ce)
					}
					conflicts.Add(1)
					return err
				}, placement.RetryAttempts(50), placement.RetryBackoff(20*time.Microsecond, time.Millisecond))
				switch {
				case err == nil:
					if aggregates {
						total = 0
					}
					mu.Lock()
					if _, dup := written[newGen]; dup {
						fail.Errorf("generation %d acknowledged twice", newGen)
					}
					written[newGen] = total
					mu.Unlock()
				case errors.Is(err, placement.ErrConcurrentUpdate):
					exhausted.Add(1) // retries ran out: not acknowledged
				default:
					fail.Errorf("write: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	acks := int64(len(written))
	t.Logf("%d writes acknowledged, %d conflicting attempts, %d gave up", acks, conflicts.Load(), exhausted.Load())
	if fail.failed() {
		return
	}
	var lastTotal int64
	for g := initial + 1; g <= initial+acks; g++ {
		total, ok := written[g]
		if !ok {
			t.Fatalf("no acknowledged write returned generation %d (of %d..%d)", g, initial+1, initial+acks)
		}
		if total != 0 {
			lastTotal = total
		}
	}
	invs, err := e.Inventories(ctx, p.UUID)
	if err != nil {
		t.Fatalf("Inventories: %v", err)
	}
	if invs.Generation != initial+acks {
		t.Errorf("final generation %d, want initial %d + %d acknowledged writes", invs.Generation, initial, acks)
	}
	if lastTotal != 0 && (len(invs.Inventories) != 1 || invs.Inventories[0].Total != lastTotal) {
		t.Errorf("final inventory %+v, want the last acknowledged write's total %d", invs.Inventories, lastTotal)
	}
}
