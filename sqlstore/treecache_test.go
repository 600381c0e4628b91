package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// TestTreeCacheAgrees checks that the tree cache and the cached list of
// roots never change what Trees and CandidateRoots return. Two stores with
// caches (a and w, as two processes would be) and one without (plain) share
// one SQLite file; random writes go through the Engine of a or w, or
// straight through a Store's Tx (no generation bump), including the writes
// that change usage without a generation bump (moving allocations, DELETE
// /allocations, a consumer's allocations replaced without being read
// first), re-parenting, deleting and re-creating a provider under the same
// uuid, renaming a class. After every write, the trees and roots read
// through a and w must equal those read through plain.
func TestTreeCacheAgrees(t *testing.T) {
	requireSQLite(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placement.db")
	open := func(opts ...sqlstore.Option) *sqlstore.Store {
		s, err := sqlstore.OpenSQLite(ctx, path, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, w, plain := open(), open(), open(sqlstore.WithTreeCache(0))
	engine := func(s placement.Store) *placement.Engine {
		e, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	stores := []*sqlstore.Store{a, w}
	engines := []*placement.Engine{engine(a), engine(w)}
	if _, err := engines[0].CreateResourceClass(ctx, "CUSTOM_X"); err != nil {
		t.Fatal(err)
	}
	// trees reads the trees of the providers of mine (of this round; the
	// stores keep those of earlier rounds).
	trees := func(s placement.Store, mine map[string]bool) []*placement.TreeProvider {
		var out []*placement.TreeProvider
		err := s.View(ctx, func(tx placement.ReadTx) error {
			cr := tx.(placement.CandidateReader)
			roots, err := cr.CandidateRoots(placement.RootQuery{})
			if err != nil {
				return err
			}
			// (a copy: the roots may be the store's own memory)
			roots = slices.DeleteFunc(slices.Clone(roots), func(r string) bool { return !mine[r] })
			out, err = cr.Trees(roots)
			return err
		})
		// nil for empty, so that go-cmp needs no option (EquateEmpty's
		// reflection made this test ten times slower)
		for i, tp := range out {
			c := *tp
			if len(c.Resources) == 0 {
				c.Resources = nil
			}
			if len(c.Traits) == 0 {
				c.Traits = nil
			}
			if len(c.Aggregates) == 0 {
				c.Aggregates = nil
			}
			out[i] = &c
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	// roots lists every root, a page of them after one of the round's
	// uuids, a first page large enough to fill a stale cache, and every
	// root again page by page from the first (pages of size walk), in the
	// order given (a permutation of 0..3): each may meet a stale cache, or
	// one that holds only the first roots.
	roots := func(s placement.Store, after string, order []int, walk int) [4][]string {
		var out [4][]string
		queries := [3]placement.RootQuery{{}, {After: after, Limit: 3}, {Limit: 2000}}
		err := s.View(ctx, func(tx placement.ReadTx) error {
			cr := tx.(placement.CandidateReader)
			for _, k := range order {
				if k == 3 {
					q := placement.RootQuery{Limit: walk}
					for {
						page, err := cr.CandidateRoots(q)
						if err != nil {
							return err
						}
						out[3] = append(out[3], page...)
						if len(page) < walk {
							break
						}
						q.After = page[len(page)-1]
					}
					continue
				}
				var err error
				if out[k], err = cr.CandidateRoots(queries[k]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	round := 0
	okOps := map[int]int{} // writes that succeeded, by kind
	defer func() { t.Log("writes done by kind:", okOps) }()
	rapid.Check(t, func(rt *rapid.T) {
		round++
		uuid := func(kind string, i int) string {
			k := map[string]int{"p": 1, "c": 2}[kind]
			return fmt.Sprintf("%08x-0000-4000-8000-%012x", k, round*100+i)
		}
		pick := func(label string, n int) int { return rapid.IntRange(0, n-1).Draw(rt, label) }
		classes := []string{placement.ClassVCPU, placement.ClassMemoryMB, "CUSTOM_X", "CUSTOM_Y"}
		// Five providers (some children) with inventories of every class
		// (one of the custom ones exists at a time).
		mine := map[string]bool{}
		for i := range 5 {
			mine[uuid("p", i)] = true
			spec := placement.ProviderSpec{UUID: uuid("p", i), Name: "tc-" + uuid("p", i)}
			if i > 0 && rapid.Bool().Draw(rt, "child") {
				spec.ParentUUID = uuid("p", pick("parent", i))
			}
			if _, err := engines[0].CreateProvider(ctx, spec); err != nil {
				rt.Fatal(err)
			}
			for _, cl := range classes {
				_, _ = engines[0].CreateInventory(ctx, spec.UUID, placement.NewInventory(cl, 100))
			}
		}
		for step := range rapid.IntRange(1, 25).Draw(rt, "steps") {
			who := pick("who", 2)
			e, s := engines[who], stores[who]
			p, q := uuid("p", pick("p", 5)), uuid("p", pick("q", 5))
			c := uuid("c", pick("c", 3))
			var err error
			op := pick("op", 11)
			switch op {
			case 0:
				spec := placement.ProviderSpec{UUID: p, Name: "tc-" + p}
				if rapid.Bool().Draw(rt, "child") && p != q {
					spec.ParentUUID = q
				}
				_, err = e.CreateProvider(ctx, spec)
			case 1:
				var invs []placement.Inventory
				for _, cl := range classes {
					if rapid.Bool().Draw(rt, "has "+cl) {
						invs = append(invs, placement.NewInventory(cl, int64(rapid.IntRange(1, 100).Draw(rt, "total"))))
					}
				}
				_, err = e.ReplaceInventories(ctx, p, placement.SkipGenerationCheck(), invs)
			case 2:
				var traits []string
				for _, tr := range []string{"HW_CPU_X86_AVX2", "HW_NUMA_ROOT"} {
					if rapid.Bool().Draw(rt, tr) {
						traits = append(traits, tr)
					}
				}
				_, err = e.SetProviderTraits(ctx, p, placement.SkipGenerationCheck(), traits)
			case 3:
				aggs := []string{uuid("a", pick("agg", 3))}
				_, err = e.SetProviderAggregates(ctx, p, placement.SkipGenerationCheck(), aggs)
			case 4: // claim, move or resize (a moved-off provider keeps its generation)
				allocs := []placement.Allocation{{ProviderUUID: p, ResourceClass: classes[pick("class", len(classes))], Used: int64(rapid.IntRange(1, 3).Draw(rt, "used"))}}
				err = e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: placement.SkipGenerationCheck(),
					ProjectID: "p", UserID: "u", Allocations: allocs})
			case 5: // no generation changes
				err = e.DeleteAllocations(ctx, c)
			case 6:
				u := placement.ProviderUpdate{Name: "tc-" + p, SetParent: true}
				if rapid.Bool().Draw(rt, "unparent") {
					u.ParentUUID = q
				}
				_, err = e.UpdateProvider(ctx, p, u)
			case 7: // the next create may reuse the row id and the uuid
				err = e.DeleteProvider(ctx, p)
			case 8:
				from, to := "CUSTOM_X", "CUSTOM_Y"
				if rapid.Bool().Draw(rt, "back") {
					from, to = to, from
				}
				_, err = e.RenameResourceClass(ctx, from, to)
			case 9: // through the Store: no generation bump
				inv := placement.NewInventory(placement.ClassDiskGB, int64(rapid.IntRange(1, 100).Draw(rt, "disk")))
				err = s.Update(ctx, func(tx placement.Tx) error { return tx.PutInventory(p, inv) })
			case 10: // through the Store, without reading the consumer's allocations first
				var recs []placement.AllocationRecord
				if rapid.Bool().Draw(rt, "move") {
					recs = append(recs, placement.AllocationRecord{ConsumerUUID: c, ProviderUUID: p, ResourceClass: placement.ClassVCPU, Used: 1})
				}
				err = s.Update(ctx, func(tx placement.Tx) error { return tx.ReplaceAllocations(c, recs) })
			}
			if err == nil {
				okOps[op]++
			}
			order := rapid.Permutation([]int{0, 1, 2, 3}).Draw(rt, "rootQueries")
			walk := rapid.IntRange(1, 4).Draw(rt, "walkPage")
			want, wantRoots := trees(plain, mine), roots(plain, p, order, walk)
			for i, s := range stores {
				// Roots first: trees lists every root, which fills the cache.
				if d := cmp.Diff(wantRoots, roots(s, p, order, walk)); d != "" {
					rt.Fatalf("step %d (last error %v): store %d's roots differ from the uncached ones (-want +got):\n%s", step, err, i, d)
				}
				if d := cmp.Diff(want, trees(s, mine)); d != "" {
					rt.Fatalf("step %d (last error %v): store %d's trees differ from the uncached ones (-want +got):\n%s", step, err, i, d)
				}
			}
		}
	})
}

// TestTreesStaleRootRange: Trees reads a run of roots that are consecutive
// in the cached list of roots with one range of the root_uuid index; a
// root created since (by another process: the cache does not know it) lies
// in that range, and must not be read.
func TestTreesStaleRootRange(t *testing.T) {
	requireSQLite(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "placement.db")
	a, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	uuid := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }
	create := func(s *sqlstore.Store, ids ...int) {
		t.Helper()
		err := s.Update(ctx, func(tx placement.Tx) error {
			for _, i := range ids {
				u := uuid(i)
				if err := tx.CreateProvider(placement.ResourceProvider{UUID: u, Name: u, RootUUID: u}); err != nil {
					return err
				}
				if err := tx.CreateProvider(placement.ResourceProvider{UUID: uuid(100 + i), Name: uuid(100 + i), ParentUUID: u, RootUUID: u}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(fn func(cr placement.CandidateReader) error) {
		t.Helper()
		if err := a.View(ctx, func(tx placement.ReadTx) error { return fn(tx.(placement.CandidateReader)) }); err != nil {
			t.Fatal(err)
		}
	}
	create(a, 1, 3)
	read(func(cr placement.CandidateReader) error { // caches [1, 3]
		_, err := cr.CandidateRoots(placement.RootQuery{})
		return err
	})
	create(w, 2)
	var got []string
	read(func(cr placement.CandidateReader) error {
		tps, err := cr.Trees([]string{uuid(1), uuid(3)})
		for _, tp := range tps {
			got = append(got, tp.UUID)
		}
		return err
	})
	if want := []string{uuid(1), uuid(101), uuid(3), uuid(103)}; !slices.Equal(got, want) {
		t.Errorf("Trees(1, 3) = %v, want %v", got, want)
	}
}
