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
