// Package placementtest is the conformance suite every placement.Store must
// pass, plus helpers for tests that embed the Engine.
//
// A backend's test calls RunStoreTests with a function that returns a new,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return memstore.New() })
//	}
//
// The suite drives the store through the Engine (so it checks the Engine's
// rules on that backend too) and through the SPI directly: CRUD and
// not-found, every generation rule, rollback, snapshot isolation, aliasing,
// authorization, concurrency (many goroutines claiming on a few hot
// providers: no over-commit, no lost acknowledged claim, usage equal to a
// recount) and a rapid state-machine test against a reference model built on
// the capacity core. Heavier settings: -rapid.checks=N for the state machine,
// and PLACEMENT_TEST_STRESS=1 for longer concurrency runs.
package placementtest

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/goplacement/placement"
)

// NewStore returns a new, empty store for one test. It should register any
// cleanup with t.Cleanup.
type NewStore func(t testing.TB) placement.Store

type suiteTest struct {
	name string
	run  func(t *testing.T, newStore NewStore)
}

var (
	suiteMu sync.Mutex
	suite   []suiteTest
)

// register adds a test to the suite (called from init functions, one per
// file of the suite).
func register(name string, run func(t *testing.T, newStore NewStore)) {
	suiteMu.Lock()
	defer suiteMu.Unlock()
	suite = append(suite, suiteTest{name, run})
}

// RunStoreTests runs the whole conformance suite against stores made by newStore.
func RunStoreTests(t *testing.T, newStore NewStore) {
	suiteMu.Lock()
	tests := slices.Clone(suite)
	suiteMu.Unlock()
	slices.SortFunc(tests, func(a, b suiteTest) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	for _, st := range tests {
		t.Run(st.name, func(t *testing.T) { st.run(t, newStore) })
	}
}

// Stress reports whether the heavier stress settings are asked for
// (PLACEMENT_TEST_STRESS=1).
func Stress() bool { return os.Getenv("PLACEMENT_TEST_STRESS") == "1" }

// NewEngine returns an Engine over store that allows every operation (for
// tests that are not about authorization), failing t on error.
func NewEngine(t testing.TB, store placement.Store, opts ...placement.Option) *placement.Engine {
	t.Helper()
	e, err := placement.New(store, append([]placement.Option{placement.WithAuthorizer(placement.AllowAll())}, opts...)...)
	if err != nil {
		t.Fatalf("placement.New: %v", err)
	}
	return e
}

// State is everything a store holds, read through the SPI in one snapshot,
// for comparing whole states with go-cmp.
type State struct {
	Providers       []placement.ResourceProvider
	Resources       map[string][]placement.ProviderResource // by provider
	Traits          map[string][]string                     // by provider
	Aggregates      map[string][]string                     // by provider
	Allocations     []placement.AllocationRecord
	Consumers       []placement.Consumer
	ResourceClasses []placement.ResourceClass // custom
	CustomTraits    []placement.Trait
}

// Dump reads the whole state of s.
func Dump(t testing.TB, s placement.Store) State {
	t.Helper()
	st, err := ReadState(context.Background(), s)
	if err != nil {
		t.Fatalf("dump: %v", err)
	}
	return st
}

// ReadState reads the whole state of s in one snapshot.
func ReadState(ctx context.Context, s placement.Store) (State, error) {
	var st State
	err := s.View(ctx, func(tx placement.ReadTx) error {
		st = State{Resources: map[string][]placement.ProviderResource{}, Traits: map[string][]string{}, Aggregates: map[string][]string{}}
		var err error
		if st.Providers, err = tx.Providers(placement.ProviderQuery{}); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, p := range st.Providers {
			if st.Resources[p.UUID], err = tx.Resources(p.UUID); err != nil {
				return err
			}
			if st.Traits[p.UUID], err = tx.ProviderTraits(p.UUID); err != nil {
				return err
			}
			if st.Aggregates[p.UUID], err = tx.ProviderAggregates(p.UUID); err != nil {
				return err
			}
			allocs, err := tx.ProviderAllocations(p.UUID)
			if err != nil {
				return err
			}
			st.Allocations = append(st.Allocations, allocs...)
			for _, a := range allocs {
				if seen[a.ConsumerUUID] {
					continue
				}
				seen[a.ConsumerUUID] = true
				c, err := tx.Consumer(a.ConsumerUUID)
				if err != nil {
					return err
				}
				st.Consumers = append(st.Consumers, c)
			}
		}
		slices.SortFunc(st.Allocations, func(a, b placement.AllocationRecord) int {
			return cmpStrings(a.ConsumerUUID, b.ConsumerUUID, a.ProviderUUID, b.ProviderUUID, a.ResourceClass, b.ResourceClass)
		})
		slices.SortFunc(st.Consumers, func(a, b placement.Consumer) int { return cmpStrings(a.UUID, b.UUID) })
		if st.ResourceClasses, err = tx.ResourceClasses(); err != nil {
			return err
		}
		st.CustomTraits, err = tx.Traits()
		return err
	})
	return st, err
}

// cmpStrings compares pairs (a1, b1), (a2, b2), ... in order.
func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] < pairs[i+1] {
			return -1
		}
		if pairs[i] > pairs[i+1] {
			return 1
		}
	}
	return 0
}
