package placement_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// The Engine's hot paths use optional interfaces when the Store has them
// (placement.FastReader on transactions; ProviderResourcesReader and
// TransientTxUpdater on the Store). These tests check that an Engine over
// memstore, which has them all, behaves exactly like an Engine over a
// memstore whose optional interfaces are hidden (the fallbacks), and that
// the Store-level ones are not used through a wrapper that embeds the Store.

// hiddenStore shows only the methods of placement.Store, placement.ReadTx
// and placement.Tx of its store.
type hiddenStore struct{ s placement.Store }

type hiddenReadTx struct{ placement.ReadTx }
type hiddenTx struct{ placement.Tx }

func (h hiddenStore) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	return h.s.View(ctx, func(tx placement.ReadTx) error { return fn(hiddenReadTx{tx}) })
}

func (h hiddenStore) Update(ctx context.Context, fn func(placement.Tx) error) error {
	return h.s.Update(ctx, func(tx placement.Tx) error { return fn(hiddenTx{tx}) })
}

// hotEnv is one Engine of the differential test with the events it emitted.
type hotEnv struct {
	e      *placement.Engine
	mu     sync.Mutex
	events []string
}

func newHotEnv(t *testing.T, s placement.Store) *hotEnv {
	t.Helper()
	env := &hotEnv{}
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	e, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()),
		placement.WithClock(func() time.Time { return t0 }),
		placement.WithEventHook(func(_ context.Context, ev placement.Event) {
			env.mu.Lock()
			defer env.mu.Unlock()
			env.events = append(env.events, fmt.Sprintf("%v %s %s %s %d %d %d %v", ev.Kind, ev.Provider, ev.Consumer, ev.Class, ev.Expected, ev.Actual, ev.Attempt, ev.Err))
		}))
	if err != nil {
		t.Fatal(err)
	}
	env.e = e
	return env
}

// TestHotPathsMatchFallbacks runs the same random allocation writes,
// deletions and inventory changes on both Engines and compares every
// result, error, event and, after each step, the state read back.
func TestHotPathsMatchFallbacks(t *testing.T) {
	ctx := context.Background()
	fast := newHotEnv(t, memstore.New())
	slow := newHotEnv(t, hiddenStore{memstore.New()})
	envs := []*hotEnv{fast, slow}

	uuid := func(kind byte, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%c%011d", i, kind, i) }
	provs := []string{uuid('a', 1), uuid('a', 2), uuid('a', 3), uuid('a', 4), uuid('a', 9)} // the last one is never created
	consumers := []string{uuid('c', 1), uuid('c', 2), uuid('c', 3), uuid('c', 4), uuid('c', 5), uuid('c', 6)}
	classes := []string{placement.ClassVCPU, placement.ClassMemoryMB, placement.ClassDiskGB, "CUSTOM_HOT", "CUSTOM_NONE"}
	both := func(what string, fn func(e *placement.Engine) (any, error)) {
		t.Helper()
		a, errA := fn(fast.e)
		b, errB := fn(slow.e)
		if fmt.Sprint(errA) != fmt.Sprint(errB) {
			t.Fatalf("%s: errors differ:\nfast: %v\nslow: %v", what, errA, errB)
		}
		if errA != nil && errB != nil {
			for _, sentinel := range []error{placement.ErrNotFound, placement.ErrConcurrentUpdate, placement.ErrCapacityExceeded, placement.ErrInvalid, placement.ErrConstraintViolated, placement.ErrNoInventory} {
				if errors.Is(errA, sentinel) != errors.Is(errB, sentinel) {
					t.Fatalf("%s: errors.Is(%v) differs: %v, %v", what, sentinel, errA, errB)
				}
			}
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("%s: results differ (-fast +slow):\n%s", what, diff)
		}
	}
	inventory := func(rng *rand.Rand, class string) placement.Inventory {
		inv := placement.NewInventory(class, int64(4+rng.IntN(60)))
		inv.Reserved = int64(rng.IntN(3))
		inv.MaxUnit = int64(8 + rng.IntN(40))
		inv.StepSize = int64(1 + rng.IntN(2))
		inv.AllocationRatio = []float64{1, 1.5, 0.7}[rng.IntN(3)]
		return inv
	}
	both("custom class", func(e *placement.Engine) (any, error) { return e.CreateResourceClass(ctx, "CUSTOM_HOT") })
	rng := rand.New(rand.NewPCG(7, 11))
	for i, p := range provs[:4] {
		both("create provider", func(e *placement.Engine) (any, error) {
			return e.CreateProvider(ctx, placement.ProviderSpec{UUID: p, Name: fmt.Sprintf("hot-%d", i)})
		})
	}
	replaceInventories := func(rng *rand.Rand) {
		p := provs[rng.IntN(4)]
		var invs []placement.Inventory
		for _, c := range classes[:4] {
			if rng.IntN(4) > 0 {
				invs = append(invs, inventory(rng, c))
			}
		}
		both("replace inventories", func(e *placement.Engine) (any, error) {
			return e.ReplaceInventories(ctx, p, placement.SkipGenerationCheck(), invs)
		})
	}
	for range 6 {
		replaceInventories(rng)
	}
	randomSet := func(rng *rand.Rand, c string) placement.ConsumerAllocations {
		ca := placement.ConsumerAllocations{ConsumerUUID: c}
		switch rng.IntN(4) {
		case 0:
			ca.Generation = placement.ExpectNewConsumer()
		case 1:
			ca.Generation = placement.SkipGenerationCheck()
		default:
			// The generation both Engines report (or a stale one).
			got, err := slow.e.ConsumerAllocations(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			ca.Generation = placement.ExpectGeneration(got.Consumer.Generation - int64(rng.IntN(4)/3))
		}
		if rng.IntN(3) > 0 {
			ca.ProjectID, ca.UserID = []string{"p1", "p2"}[rng.IntN(2)], "u1"
		}
		if rng.IntN(3) == 0 {
			ca.ConsumerType = "INSTANCE"
		}
		for range rng.IntN(5) {
			a := placement.Allocation{ProviderUUID: provs[rng.IntN(len(provs))], ResourceClass: classes[rng.IntN(len(classes))], Used: int64(1 + rng.IntN(12))}
			if rng.IntN(20) == 0 {
				a.Used = 0
			}
			dup := false
			for _, b := range ca.Allocations {
				dup = dup || (b.ProviderUUID == a.ProviderUUID && b.ResourceClass == a.ResourceClass)
			}
			if !dup || rng.IntN(10) == 0 {
				ca.Allocations = append(ca.Allocations, a)
			}
		}
		rng.Shuffle(len(ca.Allocations), func(i, j int) { ca.Allocations[i], ca.Allocations[j] = ca.Allocations[j], ca.Allocations[i] })
		return ca
	}
	for step := range 3000 {
		what := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(20); {
		case op < 10:
			ca := randomSet(rng, consumers[rng.IntN(len(consumers))])
			both(what+" SetAllocations", func(e *placement.Engine) (any, error) { return nil, e.SetAllocations(ctx, ca) })
		case op < 13:
			var cas []placement.ConsumerAllocations
			for _, j := range rng.Perm(len(consumers))[:1+rng.IntN(3)] {
				cas = append(cas, randomSet(rng, consumers[j]))
			}
			both(what+" SetAllocationsMulti", func(e *placement.Engine) (any, error) { return nil, e.SetAllocationsMulti(ctx, cas) })
		case op < 17:
			c := consumers[rng.IntN(len(consumers))]
			both(what+" DeleteAllocations", func(e *placement.Engine) (any, error) { return nil, e.DeleteAllocations(ctx, c) })
		case op < 18:
			replaceInventories(rng)
		default:
			p := provs[rng.IntN(4)]
			both(what+" DeleteInventories", func(e *placement.Engine) (any, error) {
				return e.DeleteInventories(ctx, p, placement.SkipGenerationCheck())
			})
		}
		for _, p := range provs {
			both(what+" ProviderResources", func(e *placement.Engine) (any, error) {
				rp, res, err := e.ProviderResources(ctx, p)
				return []any{rp, res}, err
			})
		}
		for _, c := range consumers {
			both(what+" ConsumerAllocations", func(e *placement.Engine) (any, error) { return e.ConsumerAllocations(ctx, c) })
		}
		both(what+" Usages", func(e *placement.Engine) (any, error) {
			return e.Usages(ctx, placement.UsageQuery{ProjectID: "p1"})
		})
		if !slices.Equal(fast.events, slow.events) {
			t.Fatalf("%s: events differ:\nfast: %q\nslow: %q", what, fast.events, slow.events)
		}
	}
	for _, env := range envs {
		report, err := env.e.Audit(ctx)
		if err != nil || !report.OK() {
			t.Fatalf("audit: %v %+v", err, report)
		}
	}
	if len(fast.events) == 0 {
		t.Error("no event at all: the test exercises too little")
	}
}

// viewCounter embeds the store and counts Views and Updates: the Engine must
// not bypass them with the store's own optional methods.
type viewCounter struct {
	*memstore.Store
	views, updates int
}

func (v *viewCounter) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	v.views++
	return v.Store.View(ctx, fn)
}

func (v *viewCounter) Update(ctx context.Context, fn func(placement.Tx) error) error {
	v.updates++
	return v.Store.Update(ctx, fn)
}

func TestOptionalStoreMethodsNotThroughEmbedding(t *testing.T) {
	ctx := context.Background()
	s := &viewCounter{Store: memstore.New()}
	e, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 8)}); err != nil {
		t.Fatal(err)
	}
	if err := e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: placement.NewUUID(), Generation: placement.ExpectNewConsumer(),
		Allocations: []placement.Allocation{{ProviderUUID: p.UUID, ResourceClass: placement.ClassVCPU, Used: 2}}}); err != nil {
		t.Fatal(err)
	}
	views := s.views
	_, res, err := e.ProviderResources(ctx, p.UUID)
	if err != nil || len(res) != 1 || res[0].Used != 2 {
		t.Fatalf("ProviderResources: %v %v", res, err)
	}
	if s.views != views+1 || s.updates != 3 {
		t.Errorf("views %d (want %d), updates %d (want 3): the wrapper was bypassed", s.views, views+1, s.updates)
	}
}
