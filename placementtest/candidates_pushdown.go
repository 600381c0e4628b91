package placementtest

import (
	"context"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/goplacement/placement"
)

// The contract of placement.CandidateReader, checked directly on random
// states: for the backend's own implementation when its read transactions
// have one (skipped otherwise), and always for WithCandidateIndex (the
// reference). Answers are compared with what the plain SPI says.

func init() {
	register("Candidates/PushdownContract", testCandidatePushdownContract)
}

func testCandidatePushdownContract(t *testing.T, newStore NewStore) {
	for _, which := range []string{"backend", "reference"} {
		t.Run(which, func(t *testing.T) {
			if which == "backend" {
				native := false
				s := newStore(t)
				_ = s.View(context.Background(), func(tx placement.ReadTx) error {
					_, native = tx.(placement.CandidateReader)
					return nil
				})
				if !native {
					t.Skip("the backend's ReadTx does not implement placement.CandidateReader")
				}
			}
			rapid.Check(t, func(rt *rapid.T) {
				in := drawACState(rt, t, newStore)
				store := in.store
				if which == "reference" {
					store = WithCandidateIndex(in.store)
				}
				st, err := ReadState(in.ctx, in.store)
				if err != nil {
					rt.Fatalf("ReadState: %v", err)
				}
				checkPushdownContract(rt, store, newACWorld(st))
			})
		})
	}
}

func checkPushdownContract(rt *rapid.T, store placement.Store, w *acWorld) {
	err := store.View(context.Background(), func(tx placement.ReadTx) error {
		cr, ok := tx.(placement.CandidateReader)
		if !ok {
			rt.Fatalf("no CandidateReader")
		}
		// CandidateRoots: sorted, after After, at most Limit (fewer only at
		// the end), a superset of the exact answer, only roots.
		var q placement.RootQuery
		for _, c := range acClasses {
			if acPct(rt, "demand-"+c, 30) {
				q.Resources = append(q.Resources, placement.ResourceAmount{Class: c, Amount: int64(rapid.IntRange(1, 3).Draw(rt, "amount"))})
			}
		}
		if acPct(rt, "rootTrait", 25) {
			q.Required = []string{rapid.SampledFrom(acTraits).Draw(rt, "required")}
		}
		if acPct(rt, "rootForbidden", 20) {
			q.Forbidden = []string{rapid.SampledFrom(acTraits).Draw(rt, "forbidden")}
		}
		q.Limit = rapid.IntRange(0, 3).Draw(rt, "limit")
		var exact []string
		for _, r := range w.roots {
			if w.rootPasses(r, q) {
				exact = append(exact, r)
			}
		}
		var got []string
		for page := 0; ; page++ {
			roots, err := cr.CandidateRoots(q)
			if err != nil {
				return err
			}
			if !slices.IsSorted(roots) || (len(roots) > 0 && q.After != "" && roots[0] <= q.After) {
				rt.Fatalf("CandidateRoots(%+v) = %v: not sorted after %q", q, roots, q.After)
			}
			if q.Limit > 0 && len(roots) > q.Limit {
				rt.Fatalf("CandidateRoots(%+v) = %v: more than the limit", q, roots)
			}
			got = append(got, roots...)
			if q.Limit == 0 || len(roots) < q.Limit || page > 100 {
				break
			}
			q.After = roots[len(roots)-1]
		}
		for _, r := range got {
			if !slices.Contains(w.roots, r) {
				rt.Fatalf("CandidateRoots returned %s, not a root", r)
			}
		}
		for _, r := range exact {
			if !slices.Contains(got, r) {
				rt.Fatalf("CandidateRoots(%+v) omitted %s (got %v, want at least %v)", q, r, got, exact)
			}
		}

		// Trees: exactly the providers of the given trees with their data.
		var ask []string
		for _, r := range w.roots {
			if acLikely(rt, "askTree", 60) {
				ask = append(ask, r)
			}
		}
		if acPct(rt, "askNonRoot", 30) && len(w.st.Providers) > 0 {
			ask = append(ask, rapid.SampledFrom(w.st.Providers).Draw(rt, "nonRoot").UUID)
		}
		ask = acSortedCopy(ask)
		ask = slices.Compact(ask)
		tps, err := cr.Trees(ask)
		if err != nil {
			return err
		}
		var want, have []placement.TreeProvider
		for _, p := range w.st.Providers {
			if slices.Contains(ask, p.RootUUID) && slices.Contains(w.roots, p.RootUUID) {
				want = append(want, placement.TreeProvider{UUID: p.UUID, ParentUUID: p.ParentUUID, RootUUID: p.RootUUID,
					Resources: w.st.Resources[p.UUID], Traits: w.st.Traits[p.UUID], Aggregates: w.st.Aggregates[p.UUID]})
			}
		}
		slices.SortFunc(want, func(a, b placement.TreeProvider) int { return cmpStrings(a.RootUUID, b.RootUUID, a.UUID, b.UUID) })
		for _, tp := range tps {
			have = append(have, *tp)
		}
		if d := gocmp.Diff(want, have, equateEmpty); d != "" {
			rt.Fatalf("Trees(%v) (-want +got):\n%s", ask, d)
		}

		// ProvidersWithCapacity: the ProviderQuery exactly, capacity as a
		// superset, resources of the requested classes included.
		cq := placement.CapacityQuery{Resources: q.Resources}
		if acPct(rt, "capTrait", 30) {
			cq.Required = [][]string{{rapid.SampledFrom(acTraits).Draw(rt, "capRequired")}}
		}
		rows, err := cr.ProvidersWithCapacity(cq)
		if err != nil {
			return err
		}
		plain, err := tx.Providers(cq.ProviderQuery)
		if err != nil {
			return err
		}
		for _, row := range rows {
			if !slices.ContainsFunc(plain, func(p placement.ResourceProvider) bool { return p.UUID == row.UUID }) {
				rt.Fatalf("ProvidersWithCapacity returned %s, which does not match the query", row.UUID)
			}
		}
		for _, p := range plain {
			fits := true
			for _, ra := range cq.Resources {
				inv, ok := w.inventory(p.UUID, ra.Class)
				fits = fits && ok && inv.Check(inv.Used, ra.Amount) == placement.ReasonNone
			}
			if fits && !slices.ContainsFunc(rows, func(r placement.ProviderCapacity) bool { return r.UUID == p.UUID }) {
				rt.Fatalf("ProvidersWithCapacity(%+v) omitted %s", cq, p.UUID)
			}
		}
		return nil
	})
	if err != nil {
		rt.Fatalf("View: %v", err)
	}
}

// rootPasses is the exact answer of CandidateRoots' filters for root r.
func (w *acWorld) rootPasses(r string, q placement.RootQuery) bool {
	if q.After != "" && r <= q.After {
		return false
	}
	for _, t := range q.Required {
		if !slices.Contains(w.traitsOf(r), t) {
			return false
		}
	}
	for _, t := range q.Forbidden {
		if slices.Contains(w.traitsOf(r), t) {
			return false
		}
	}
	for _, ra := range q.Resources {
		if !slices.ContainsFunc(w.tree[r], func(p string) bool {
			inv, ok := w.inventory(p, ra.Class)
			return ok && inv.Check(inv.Used, ra.Amount) == placement.ReasonNone
		}) {
			return false
		}
	}
	return true
}
