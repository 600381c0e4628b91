package memstore_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

func TestProvidersQuery(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	for _, c := range []struct {
		name string
		q    placement.ProviderQuery
		want []string
	}{
		{"all", placement.ProviderQuery{}, []string{"c1", "c2", "g1", "r1", "r2"}},
		{"uuid", placement.ProviderQuery{UUID: "g1"}, []string{"g1"}},
		{"unknown uuid", placement.ProviderQuery{UUID: "zz"}, []string{}},
		{"uuid and other name", placement.ProviderQuery{UUID: "g1", Name: "root-1"}, []string{}},
		{"name", placement.ProviderQuery{Name: "child-2"}, []string{"c2"}},
		{"root", placement.ProviderQuery{Root: "r1"}, []string{"c1", "c2", "g1", "r1"}},
		{"root of a non-root", placement.ProviderQuery{Root: "c1"}, []string{}},
		{"parent", placement.ProviderQuery{Parent: "r1"}, []string{"c1", "c2"}},
		{"parent and root", placement.ProviderQuery{Parent: "c1", Root: "r1"}, []string{"g1"}},
		{"member of one", placement.ProviderQuery{MemberOf: [][]string{{"agg1"}}}, []string{"c1", "r1"}},
		{"member of any", placement.ProviderQuery{MemberOf: [][]string{{"agg1", "agg2"}}}, []string{"c1", "r1", "r2"}},
		{"member of all", placement.ProviderQuery{MemberOf: [][]string{{"agg1"}, {"agg2"}}}, []string{"c1"}},
		{"member of unknown", placement.ProviderQuery{MemberOf: [][]string{{"aggX"}}}, []string{}},
		{"member of empty group", placement.ProviderQuery{MemberOf: [][]string{{}}}, []string{}},
		{"not member", placement.ProviderQuery{NotMemberOf: []string{"agg2", "agg3"}}, []string{"c2", "r1"}},
		{"member and not", placement.ProviderQuery{MemberOf: [][]string{{"agg1", "agg3"}}, NotMemberOf: []string{"agg2"}}, []string{"g1", "r1"}},
		{"required", placement.ProviderQuery{Required: [][]string{{"CUSTOM_A"}}}, []string{"g1", "r1", "r2"}},
		{"required all", placement.ProviderQuery{Required: [][]string{{"CUSTOM_A"}, {"CUSTOM_B"}}}, []string{"g1"}},
		{"required any", placement.ProviderQuery{Required: [][]string{{"CUSTOM_B", "HW_CPU_X86_AVX2"}}}, []string{"c1", "g1", "r1"}},
		{"required any and all", placement.ProviderQuery{Required: [][]string{{"CUSTOM_B", "HW_CPU_X86_AVX2"}, {"CUSTOM_A"}}}, []string{"g1", "r1"}},
		{"forbidden", placement.ProviderQuery{Forbidden: []string{"CUSTOM_B"}}, []string{"c2", "r1", "r2"}},
		{"required and forbidden", placement.ProviderQuery{Required: [][]string{{"CUSTOM_A"}}, Forbidden: []string{"HW_CPU_X86_AVX2"}}, []string{"g1", "r2"}},
		{"everything", placement.ProviderQuery{Root: "r1", Parent: "r1", MemberOf: [][]string{{"agg1"}}, NotMemberOf: []string{"agg3"}, Required: [][]string{{"CUSTOM_B"}}, Forbidden: []string{"CUSTOM_A"}}, []string{"c1"}},
		{"everything, no match", placement.ProviderQuery{Name: "child-1", Root: "r1", Parent: "r1", Forbidden: []string{"CUSTOM_B"}}, []string{}},
	} {
		mustView(t, s, func(tx placement.ReadTx) error {
			ps, err := tx.Providers(c.q)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(c.want, uuids(ps)); diff != "" {
				t.Errorf("%s: Providers(%+v) (-want +got):\n%s", c.name, c.q, diff)
			}
			return nil
		})
	}
}

// TestProvidersQueryRandom compares random queries on a random world with a
// brute-force filter.
func TestProvidersQueryRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := memstore.New()
	type prov struct {
		rec          placement.ResourceProvider
		traits, aggs []string
	}
	var world []prov
	names := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	traitNames, aggNames := names("T", 8), names("A", 6)
	subset := func(xs []string, p int) []string {
		var out []string
		for _, x := range xs {
			if rng.IntN(p) == 0 {
				out = append(out, x)
			}
		}
		return out
	}
	mustUpdate(t, s, func(tx placement.Tx) error {
		for i := range 200 {
			u := fmt.Sprintf("p%03d", i)
			rec := rp(u, "n"+u, "", u)
			if i > 0 && rng.IntN(3) > 0 {
				parent := world[rng.IntN(len(world))].rec
				rec.ParentUUID, rec.RootUUID = parent.UUID, parent.RootUUID
			}
			p := prov{rec: rec, traits: subset(traitNames, 3), aggs: subset(aggNames, 4)}
			world = append(world, p)
			if err := tx.CreateProvider(rec); err != nil {
				return err
			}
			if err := tx.SetProviderTraits(u, p.traits); err != nil {
				return err
			}
			if err := tx.SetProviderAggregates(u, p.aggs); err != nil {
				return err
			}
		}
		return nil
	})
	anyOf := func(have, want []string) bool {
		for _, w := range want {
			if slices.Contains(have, w) {
				return true
			}
		}
		return false
	}
	for range 2000 {
		var q placement.ProviderQuery
		ref := world[rng.IntN(len(world))].rec
		if rng.IntN(10) == 0 {
			q.UUID = ref.UUID
		}
		if rng.IntN(10) == 0 {
			q.Name = world[rng.IntN(len(world))].rec.Name
		}
		if rng.IntN(5) == 0 {
			q.Root = ref.RootUUID
		}
		if rng.IntN(5) == 0 {
			q.Parent = ref.UUID
		}
		for range rng.IntN(3) {
			q.Required = append(q.Required, subset(traitNames, 3))
		}
		for range rng.IntN(3) {
			q.MemberOf = append(q.MemberOf, subset(aggNames, 3))
		}
		if rng.IntN(3) == 0 {
			q.Forbidden = subset(traitNames, 4)
		}
		if rng.IntN(3) == 0 {
			q.NotMemberOf = subset(aggNames, 4)
		}
		want := []string{}
		for _, p := range world {
			ok := (q.UUID == "" || p.rec.UUID == q.UUID) && (q.Name == "" || p.rec.Name == q.Name) &&
				(q.Root == "" || p.rec.RootUUID == q.Root) && (q.Parent == "" || p.rec.ParentUUID == q.Parent) &&
				!anyOf(p.traits, q.Forbidden) && !anyOf(p.aggs, q.NotMemberOf)
			for _, g := range q.Required {
				ok = ok && anyOf(p.traits, g)
			}
			for _, g := range q.MemberOf {
				ok = ok && anyOf(p.aggs, g)
			}
			if ok {
				want = append(want, p.rec.UUID)
			}
		}
		mustView(t, s, func(tx placement.ReadTx) error {
			ps, err := tx.Providers(q)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(want, uuids(ps)); diff != "" {
				t.Fatalf("Providers(%+v) (-want +got):\n%s", q, diff)
			}
			return nil
		})
	}
}
