package memstore_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// TestCandidateRootsIndex grows and shrinks the sorted root list past its
// chunk size with creates, deletes and re-parenting, committed and rolled
// back, checking it against a rebuild and the plain listing each round.
func TestCandidateRootsIndex(t *testing.T) {
	s := memstore.New()
	rng := rand.New(rand.NewPCG(1, 2))
	id := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i)*2654435761, i) }
	live := map[int]bool{}
	abort := errors.New("abort")
	for round := 0; round < 24; round++ {
		before := memstore.DumpInternal(s)
		doAbort := round%4 == 3
		err := s.Update(bg, func(tx placement.Tx) error {
			for k := 0; k < 200; k++ {
				i := rng.IntN(3000)
				switch {
				case !live[i]:
					u := id(i)
					if err := tx.CreateProvider(rp(u, u, "", u)); err != nil {
						return err
					}
					if err := tx.PutInventory(u, inv(placement.ClassVCPU, int64(1+i%4))); err != nil {
						return err
					}
					if i%5 == 0 {
						if err := tx.SetProviderTraits(u, []string{"CUSTOM_RARE"}); err != nil {
							return err
						}
					}
					live[i] = true
				case rng.IntN(3) == 0:
					if err := tx.DeleteProvider(id(i)); err != nil {
						return err
					}
					delete(live, i)
				default:
					// Re-parent under another root and back: leaves and
					// re-enters the root list.
					other := id((i + 1) % 3000)
					if !live[(i+1)%3000] {
						continue
					}
					u := id(i)
					if err := tx.UpdateProvider(rp(u, u, other, other)); err != nil {
						return err
					}
					if err := tx.UpdateProvider(rp(u, u, "", u)); err != nil {
						return err
					}
				}
			}
			if doAbort {
				return abort
			}
			return nil
		})
		if doAbort {
			if err != abort {
				t.Fatalf("round %d: %v", round, err)
			}
			if d := diffInternal(before, memstore.DumpInternal(s)); d != "" {
				t.Fatalf("round %d: rollback left changes:\n%s", round, d)
			}
			// The live set of the test was changed by the aborted round:
			// recompute it from the store.
			clear(live)
			for k := range 3000 {
				if _, ok := before.Providers[id(k)]; ok {
					live[k] = true
				}
			}
		} else if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkInternal(t, s)
		checkRoots(t, s)
	}
}

func checkRoots(t *testing.T, s *memstore.Store) {
	t.Helper()
	mustView(t, s, func(tx placement.ReadTx) error {
		cr := tx.(placement.CandidateReader)
		all, err := tx.Providers(placement.ProviderQuery{})
		if err != nil {
			return err
		}
		var want, rare []string
		for _, p := range all {
			if p.ParentUUID == "" {
				want = append(want, p.UUID)
				if tr, _ := tx.ProviderTraits(p.UUID); slices.Contains(tr, "CUSTOM_RARE") {
					rare = append(rare, p.UUID)
				}
			}
		}
		got, err := cr.CandidateRoots(placement.RootQuery{})
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			t.Fatalf("CandidateRoots: %d roots, want %d", len(got), len(want))
		}
		// Paging, exact filters (the rare trait takes the trait index).
		for _, q := range []placement.RootQuery{{Limit: 97}, {Limit: 7, Required: []string{"CUSTOM_RARE"}}} {
			var paged []string
			for {
				page, err := cr.CandidateRoots(q)
				if err != nil {
					return err
				}
				paged = append(paged, page...)
				if len(page) < q.Limit {
					break
				}
				q.After = page[len(page)-1]
			}
			w := want
			if len(q.Required) > 0 {
				w = rare
			}
			if !slices.Equal(paged, w) {
				t.Fatalf("CandidateRoots paged by %d with %v: %d roots, want %d", q.Limit, q.Required, len(paged), len(w))
			}
		}
		// Capacity: VCPU 4 fits only on providers i%4 == 3.
		fit, err := cr.CandidateRoots(placement.RootQuery{Resources: []placement.ResourceAmount{{Class: placement.ClassVCPU, Amount: 4}}})
		if err != nil {
			return err
		}
		rows, err := cr.ProvidersWithCapacity(placement.CapacityQuery{Resources: []placement.ResourceAmount{{Class: placement.ClassVCPU, Amount: 4}}})
		if err != nil {
			return err
		}
		if len(rows) != len(fit) {
			t.Fatalf("ProvidersWithCapacity: %d rows, CandidateRoots: %d", len(rows), len(fit))
		}
		for i := range rows {
			if rows[i].UUID != fit[i] || rows[i].Resources[0].Total != 4 {
				t.Fatalf("row %d: %+v, root %s", i, rows[i], fit[i])
			}
		}
		return nil
	})
}

// TestCandidateReaderInUpdate checks that an Update's transaction answers
// with copies that its later writes do not change.
func TestCandidateReaderInUpdate(t *testing.T) {
	s := memstore.New()
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.CreateProvider(rp("r", "r", "", "r")); err != nil {
			return err
		}
		return tx.PutInventory("r", inv(placement.ClassVCPU, 4))
	})
	mustUpdate(t, s, func(tx placement.Tx) error {
		cr := tx.(placement.CandidateReader)
		tps, err := cr.Trees([]string{"r"})
		if err != nil {
			return err
		}
		rows, err := cr.ProvidersWithCapacity(placement.CapacityQuery{Resources: []placement.ResourceAmount{{Class: placement.ClassVCPU, Amount: 1}}})
		if err != nil {
			return err
		}
		if err := tx.PutInventory("r", inv(placement.ClassVCPU, 8)); err != nil {
			return err
		}
		if len(tps) != 1 || tps[0].Resources[0].Total != 4 || len(rows) != 1 || rows[0].Resources[0].Total != 4 {
			t.Fatalf("answers changed by a later write: %+v %+v", tps, rows)
		}
		return nil
	})
	// In a View, Trees points at the store's own TreeProvider.
	mustView(t, s, func(tx placement.ReadTx) error {
		cr := tx.(placement.CandidateReader)
		a, _ := cr.Trees([]string{"r", "unknown"})
		b, _ := cr.Trees([]string{"r"})
		if len(a) != 1 || a[0] != b[0] || a[0].Resources[0].Total != 8 {
			t.Fatalf("Trees: %+v %+v", a, b)
		}
		return nil
	})
}

// TestCandidateTrees adds, deletes, moves and changes tree members,
// committed and rolled back, reading Trees before and after the writes (so that the
// sorted member lists kept for it are built, then must be dropped), and
// checks every answer against the plain listing. The roots span chunks of
// the root list of unequal sizes and are asked for shuffled or not, with
// unknown uuids among them.
func TestCandidateTrees(t *testing.T) {
	s := memstore.New()
	rng := rand.New(rand.NewPCG(3, 4))
	id := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i)*2654435761, i) }
	const nroots = 1500
	// Roots 0..nroots-1; children from nroots on, each under a root or
	// under another child (parent[c] is its parent).
	parent := map[int]int{}
	rootOf := func(c int) int {
		for c >= nroots {
			c = parent[c]
		}
		return c
	}
	next := nroots
	// Roots sorting first, deleted once the others are in: the chunks of
	// the root list end up of unequal sizes.
	gone := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }
	mustUpdate(t, s, func(tx placement.Tx) error {
		for i := range nroots + 400 {
			u := id(i)
			if i >= nroots {
				u = gone(i)
			}
			if err := tx.CreateProvider(rp(u, u, "", u)); err != nil {
				return err
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx placement.Tx) error {
		for i := nroots; i < nroots+400; i++ {
			if err := tx.DeleteProvider(gone(i)); err != nil {
				return err
			}
		}
		return nil
	})
	abort := errors.New("abort")
	for round := 0; round < 24; round++ {
		doAbort := round%4 == 3
		err := s.Update(bg, func(tx placement.Tx) error {
			checkTrees(t, tx, rng, nroots, id)
			for k := 0; k < 30; k++ {
				switch op := rng.IntN(5); {
				case op == 3 && len(parent) > 0:
					// New traits, an inventory, or usage of it (held by a
					// consumer of the provider's uuid), on a child.
					for c := range parent {
						res, err := tx.Resources(id(c))
						switch {
						case err != nil:
						case rng.IntN(2) == 0:
							err = tx.SetProviderTraits(id(c), []string{fmt.Sprintf("CUSTOM_T%d", rng.IntN(3))})
						case len(res) == 0:
							err = tx.PutInventory(id(c), inv(placement.ClassVCPU, 8))
						default:
							err = tx.ReplaceAllocations(id(c), []placement.AllocationRecord{alloc(id(c), id(c), placement.ClassVCPU, int64(1+rng.IntN(8)))})
						}
						if err != nil {
							return err
						}
						break
					}
				case op == 0 || len(parent) == 0:
					// A child under a root or under a child.
					p := rng.IntN(nroots)
					if len(parent) > 0 && rng.IntN(2) == 0 {
						for c := range parent {
							p = c
							break
						}
					}
					c := next
					next++
					if err := tx.CreateProvider(rp(id(c), id(c), id(p), id(rootOf(p)))); err != nil {
						return err
					}
					parent[c] = p
				default:
					// A leaf: deleted, or moved under another root.
					inner := map[int]bool{}
					for _, p := range parent {
						inner[p] = true
					}
					leaf := -1
					for c := range parent {
						if !inner[c] {
							leaf = c
							break
						}
					}
					if leaf < 0 {
						continue
					}
					if op == 1 {
						// (Its usage first: see above.)
						if err := tx.ReplaceAllocations(id(leaf), nil); err != nil {
							return err
						}
						if err := tx.DeleteProvider(id(leaf)); err != nil {
							return err
						}
						delete(parent, leaf)
						continue
					}
					p := rng.IntN(nroots)
					if err := tx.UpdateProvider(rp(id(leaf), id(leaf), id(p), id(p))); err != nil {
						return err
					}
					parent[leaf] = p
				}
				if k%10 == 9 {
					checkTrees(t, tx, rng, nroots, id)
				}
			}
			if doAbort {
				return abort
			}
			return nil
		})
		if doAbort {
			if err != abort {
				t.Fatalf("round %d: %v", round, err)
			}
			// Recompute the test's tree from the store.
			clear(parent)
			mustView(t, s, func(tx placement.ReadTx) error {
				ps, err := tx.Providers(placement.ProviderQuery{})
				byUUID := map[string]int{}
				for i := range next {
					byUUID[id(i)] = i
				}
				for _, p := range ps {
					if p.ParentUUID != "" {
						parent[byUUID[p.UUID]] = byUUID[p.ParentUUID]
					}
				}
				return err
			})
		} else if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkInternal(t, s)
		mustView(t, s, func(tx placement.ReadTx) error {
			checkTrees(t, tx, rng, nroots, id)
			return nil
		})
	}
}

// checkTrees compares Trees, asked for a random half of the roots in random
// order with unknown uuids among them, with the plain listing.
func checkTrees(t *testing.T, tx placement.ReadTx, rng *rand.Rand, nroots int, id func(int) string) {
	t.Helper()
	var ask []string
	asked := map[string]bool{}
	for i := range nroots {
		if rng.IntN(2) == 0 {
			ask = append(ask, id(i))
			asked[id(i)] = true
		}
		if rng.IntN(50) == 0 {
			ask = append(ask, id(nroots*100+i)) // unknown
		}
	}
	if rng.IntN(2) == 0 {
		rng.Shuffle(len(ask), func(i, j int) { ask[i], ask[j] = ask[j], ask[i] })
	}
	all, err := tx.Providers(placement.ProviderQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// Each provider as its uuids, and a child's traits and inventories.
	var want []string
	for _, p := range all {
		if asked[p.RootUUID] {
			k := p.RootUUID + " " + p.UUID + " " + p.ParentUUID
			if p.ParentUUID != "" {
				traits, err := tx.ProviderTraits(p.UUID)
				if err != nil {
					t.Fatal(err)
				}
				res, err := tx.Resources(p.UUID)
				if err != nil {
					t.Fatal(err)
				}
				k += fmt.Sprint(traits, res)
			}
			want = append(want, k)
		}
	}
	slices.Sort(want)
	tps, err := tx.(placement.CandidateReader).Trees(ask)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tp := range tps {
		k := tp.RootUUID + " " + tp.UUID + " " + tp.ParentUUID
		if tp.ParentUUID != "" {
			k += fmt.Sprint(tp.Traits, tp.Resources)
		}
		got = append(got, k)
	}
	for i := range max(len(got), len(want)) {
		if i == len(got) || i == len(want) || got[i] != want[i] {
			t.Fatalf("Trees: %d providers, want %d, differing at %d:\n%v\nwant\n%v", len(got), len(want), i, got[i:min(i+3, len(got))], want[i:min(i+3, len(want))])
		}
	}
}
