package placement_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// conflictingStore fails the first `conflicts` provider generation bumps
// with a conflict, as a concurrent writer on PostgreSQL would cause.
type conflictingStore struct {
	*memstore.Store
	mu        sync.Mutex
	conflicts int
}

func (s *conflictingStore) Update(ctx context.Context, fn func(placement.Tx) error) error {
	return s.Store.Update(ctx, func(tx placement.Tx) error { return fn(conflictingTx{tx, s}) })
}

type conflictingTx struct {
	placement.Tx
	s *conflictingStore
}

func (tx conflictingTx) BumpProviderGeneration(uuid string, expected int64) error {
	tx.s.mu.Lock()
	defer tx.s.mu.Unlock()
	if tx.s.conflicts > 0 {
		tx.s.conflicts--
		return &placement.ConflictError{Kind: placement.ProviderGeneration, UUID: uuid,
			Expected: placement.ExpectGeneration(expected), Actual: expected + 1, Exists: true}
	}
	return tx.Tx.BumpProviderGeneration(uuid, expected)
}

type recorder struct {
	mu     sync.Mutex
	events []placement.Event
}

func (r *recorder) hook(_ context.Context, ev placement.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder) kinds() []placement.EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []placement.EventKind
	for _, ev := range r.events {
		out = append(out, ev.Kind)
	}
	return out
}

func countKind(ks []placement.EventKind, k placement.EventKind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

// TestEventsAndLogs checks that conflicts, internal retries and their
// exhaustion, over-capacity inventories and refused writes reach both the
// event hook and the logger, with the provider and consumer involved.
func TestEventsAndLogs(t *testing.T) {
	ctx := context.Background()
	store := &conflictingStore{Store: memstore.New()}
	var logs bytes.Buffer
	rec := &recorder{}
	engine, err := placement.New(store, placement.WithAuthorizer(placement.AllowAll()),
		placement.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		placement.WithEventHook(rec.hook), placement.WithAllocationRetries(3))
	if err != nil {
		t.Fatal(err)
	}
	rp, err := engine.CreateProvider(ctx, placement.ProviderSpec{Name: "cn"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.ReplaceInventories(ctx, rp.UUID, placement.ExpectGeneration(0),
		[]placement.Inventory{placement.NewInventory(placement.ClassVCPU, 4)}); err != nil {
		t.Fatal(err)
	}
	claim := func(consumer string, n int64) error {
		return engine.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: consumer, Generation: placement.ExpectNewConsumer(),
			Allocations: []placement.Allocation{{ProviderUUID: rp.UUID, ResourceClass: placement.ClassVCPU, Used: n}},
		})
	}

	// Two provider conflicts, then success: two retries.
	store.conflicts = 2
	c1 := placement.NewUUID()
	if err := claim(c1, 2); err != nil {
		t.Fatalf("claim after 2 conflicts with 3 attempts: %v", err)
	}
	ks := rec.kinds()
	if countKind(ks, placement.EventConflict) != 2 || countKind(ks, placement.EventRetry) != 2 {
		t.Fatalf("events after retried claim: %v", ks)
	}

	// Three conflicts with three attempts: exhausted, nothing written.
	store.conflicts = 3
	c2 := placement.NewUUID()
	err = claim(c2, 1)
	var ce *placement.ConflictError
	if !errors.As(err, &ce) || ce.Kind != placement.ProviderGeneration {
		t.Fatalf("claim with retries exhausted: %v", err)
	}
	if got, _ := engine.ConsumerAllocations(ctx, c2); got.Exists {
		t.Fatal("an exhausted claim left a consumer behind")
	}
	if n := countKind(rec.kinds(), placement.EventRetriesExhausted); n != 1 {
		t.Fatalf("exhaustion events: %d", n)
	}

	// A refused claim.
	if err := claim(placement.NewUUID(), 3); !errors.Is(err, placement.ErrCapacityExceeded) {
		t.Fatalf("oversized claim: %v", err)
	}
	// A stale caller generation is a conflict event too.
	if err := claim(c1, 1); !errors.Is(err, placement.ErrConcurrentUpdate) {
		t.Fatalf("stale consumer generation: %v", err)
	}
	// Shrinking below usage is reported as over capacity.
	inv, _ := engine.Inventories(ctx, rp.UUID)
	if _, err := engine.ReplaceInventories(ctx, rp.UUID, placement.ExpectGeneration(inv.Generation),
		[]placement.Inventory{placement.NewInventory(placement.ClassVCPU, 1)}); err != nil {
		t.Fatal(err)
	}

	ks = rec.kinds()
	for _, k := range []placement.EventKind{placement.EventRefused, placement.EventOverCapacity} {
		if countKind(ks, k) != 1 {
			t.Errorf("want one %v event, got %v", k, ks)
		}
	}
	var consumerConflict bool
	for _, ev := range rec.events {
		if ev.Kind == placement.EventConflict && ev.Consumer == c1 {
			consumerConflict = true
		}
		if ev.Kind == placement.EventOverCapacity && (ev.Provider != rp.UUID || ev.Class != placement.ClassVCPU || ev.Actual != 2 || ev.Expected != 1) {
			t.Errorf("over-capacity event: %+v", ev)
		}
	}
	if !consumerConflict {
		t.Errorf("no conflict event for the stale consumer write: %v", rec.events)
	}
	out := logs.String()
	for _, want := range []string{"placement retry", "placement retries exhausted", "placement refused", "placement over capacity", "placement conflict", "provider=" + rp.UUID, "consumer=" + c1} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
