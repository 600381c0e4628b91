package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// sqlstore's placement.CandidateReader, beyond the conformance suite's
// contract test (which runs on small random states): answers compared with
// the plain ReadTx methods on a state large enough for several pages of
// roots, names that are hard to carry (quotes, unicode, NUL), and an
// Update's transaction, which must see its own writes.

func candidateStores(t *testing.T) map[string]func(t *testing.T) *sqlstore.Store {
	return map[string]func(t *testing.T) *sqlstore.Store{
		"SQLite":     func(t *testing.T) *sqlstore.Store { return newSQLite(t) },
		"PostgreSQL": func(t *testing.T) *sqlstore.Store { return newPostgres(t) },
	}
}

// candWeird are names that must round-trip unchanged (DESIGN rule 7).
var candWeird = []string{"CUSTOM_A'B", `CUSTOM_"Q";--`, "CUSTOM_ÜNİCODE_✓", "CUSTOM_NUL\x00X", "CUSTOM_ONE\x01Y", "CUSTOM_Z"}

// buildCandidateState writes n trees: every third one nested (a root with
// two children and a grandchild), with inventories, some usage, traits
// and aggregates (some with weird names).
func buildCandidateState(t *testing.T, s *sqlstore.Store, n int) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx placement.Tx) error {
		for _, w := range candWeird {
			if err := tx.CreateResourceClass(placement.ResourceClass{Name: w}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uuid := func(i, k int) string {
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", uint32(i*4+k)*2654435761, i*4+k)
	}
	// One tree per transaction (small commits).
	for i := 0; i < n; i++ {
		err := s.Update(ctx, func(tx placement.Tx) error {
			{ // tree i
				root := uuid(i, 0)
				mk := func(k int, parent string, invs ...placement.Inventory) error {
					u := uuid(i, k)
					if err := tx.CreateProvider(placement.ResourceProvider{UUID: u, Name: fmt.Sprintf("p-%d-%d", i, k), ParentUUID: parent, RootUUID: root}); err != nil {
						return err
					}
					for _, inv := range invs {
						if err := tx.PutInventory(u, inv); err != nil {
							return err
						}
					}
					var traits, aggs []string
					if (i+k)%2 == 0 {
						traits = append(traits, "HW_CPU_X86_AVX2", candWeird[(i+k)%len(candWeird)])
					}
					if (i+k)%3 == 0 {
						aggs = append(aggs, fmt.Sprintf("agg-%d", i%5), candWeird[(i*7+k)%len(candWeird)])
					}
					if err := tx.SetProviderTraits(u, traits); err != nil {
						return err
					}
					return tx.SetProviderAggregates(u, aggs)
				}
				vcpu := placement.NewInventory("VCPU", int64(4+i%5))
				vcpu.AllocationRatio = 1.5
				mem := placement.NewInventory("MEMORY_MB", 4096)
				mem.Reserved, mem.MinUnit, mem.StepSize = 512, 256, 256
				custom := placement.NewInventory(candWeird[i%len(candWeird)], 3)
				if i%3 != 0 {
					if err := mk(0, "", vcpu, mem, custom); err != nil {
						return err
					}
				} else {
					if err := mk(0, "", placement.NewInventory("DISK_GB", 100)); err != nil {
						return err
					}
					if err := mk(1, root, vcpu, custom); err != nil {
						return err
					}
					if err := mk(2, root); err != nil {
						return err
					}
					if err := mk(3, uuid(i, 1), mem); err != nil {
						return err
					}
				}
				// Some usage: a consumer per tree with 1-3 VCPU.
				c := fmt.Sprintf("c0000000-0000-4000-8000-%012x", i)
				target := root
				if i%3 == 0 {
					target = uuid(i, 1)
				}
				if err := tx.CreateConsumer(placement.Consumer{UUID: c, ProjectID: "p", UserID: "u"}); err != nil {
					return err
				}
				if err := tx.ReplaceAllocations(c, []placement.AllocationRecord{{ConsumerUUID: c, ProviderUUID: target, ResourceClass: "VCPU", Used: int64(1 + i%3)}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// plainTrees answers Trees with the plain ReadTx methods.
func plainTrees(t *testing.T, tx placement.ReadTx, roots []string) []placement.TreeProvider {
	t.Helper()
	var out []placement.TreeProvider
	for _, r := range acSorted(roots) {
		members, err := tx.Providers(placement.ProviderQuery{Root: r})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := tx.Provider(r); err != nil || p.ParentUUID != "" {
			continue
		}
		for _, m := range members {
			tp := placement.TreeProvider{UUID: m.UUID, ParentUUID: m.ParentUUID, RootUUID: m.RootUUID}
			if tp.Resources, err = tx.Resources(m.UUID); err != nil {
				t.Fatal(err)
			}
			if tp.Traits, err = tx.ProviderTraits(m.UUID); err != nil {
				t.Fatal(err)
			}
			if tp.Aggregates, err = tx.ProviderAggregates(m.UUID); err != nil {
				t.Fatal(err)
			}
			out = append(out, tp)
		}
	}
	return out
}

func acSorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

func derefTrees(tps []*placement.TreeProvider) []placement.TreeProvider {
	var out []placement.TreeProvider
	for _, tp := range tps {
		out = append(out, *tp)
	}
	return out
}

// equateEmpty makes cmp treat nil and empty slices alike.
var equateEmpty = cmpopts.EquateEmpty()

func TestCandidateReaderLarge(t *testing.T) {
	for name, open := range candidateStores(t) {
		t.Run(name, func(t *testing.T) {
			if name == "SQLite" {
				requireSQLite(t)
			}
			s := open(t)
			const n = 300
			buildCandidateState(t, s, n)
			err := s.View(context.Background(), func(tx placement.ReadTx) error {
				cr := tx.(placement.CandidateReader)
				// Every root, in pages and at once.
				all, err := cr.CandidateRoots(placement.RootQuery{})
				if err != nil {
					return err
				}
				if len(all) != n || !slices.IsSorted(all) {
					t.Fatalf("CandidateRoots: %d roots (sorted %v), want %d", len(all), slices.IsSorted(all), n)
				}
				var paged []string
				q := placement.RootQuery{Limit: 37, Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}}}
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
				if d := cmp.Diff(all, paged); d != "" {
					t.Fatalf("paged roots differ from all roots (-all +paged):\n%s", d)
				}
				// Exact filters: VCPU 6 fits only where total*1.5 - used >= 6,
				// a weird class only on the trees that have it.
				for _, dem := range [][]placement.ResourceAmount{
					{{Class: "VCPU", Amount: 6}},
					{{Class: "VCPU", Amount: 2}, {Class: "MEMORY_MB", Amount: 512}, {Class: "DISK_GB", Amount: 1}},
					{{Class: candWeird[3], Amount: 3}},
					{{Class: "MEMORY_MB", Amount: 300}}, // step_size
					{{Class: "CUSTOM_NONE", Amount: 1}},
				} {
					got, err := cr.CandidateRoots(placement.RootQuery{Resources: dem})
					if err != nil {
						return err
					}
					var want []string
					for _, r := range all {
						tree := plainTrees(t, tx, []string{r})
						ok := true
						for _, ra := range dem {
							found := false
							for _, tp := range tree {
								for _, res := range tp.Resources {
									if res.ResourceClass == ra.Class && res.Check(res.Used, ra.Amount) == placement.ReasonNone {
										found = true
									}
								}
							}
							ok = ok && found
						}
						if ok {
							want = append(want, r)
						}
					}
					for _, r := range want {
						if !slices.Contains(got, r) {
							t.Fatalf("CandidateRoots(%v) omitted %s", dem, r)
						}
					}
					if name == "SQLite" && !slices.Equal(got, want) {
						t.Fatalf("CandidateRoots(%v) = %d roots, want exactly %d", dem, len(got), len(want))
					}
				}
				// Trait filters on the root.
				got, err := cr.CandidateRoots(placement.RootQuery{Required: []string{candWeird[3]}, Forbidden: []string{candWeird[0]}})
				if err != nil {
					return err
				}
				for _, r := range all {
					traits, _ := tx.ProviderTraits(r)
					want := slices.Contains(traits, candWeird[3]) && !slices.Contains(traits, candWeird[0])
					if want && !slices.Contains(got, r) {
						t.Fatalf("CandidateRoots with traits omitted %s (traits %q)", r, traits)
					}
				}
				// Trees: every root, an unsorted subset with a non-root and
				// an unknown uuid.
				some := []string{all[7], all[3], "unknown", all[200], all[0]}
				members, _ := tx.Providers(placement.ProviderQuery{Root: all[0]})
				for _, m := range members {
					if m.UUID != all[0] {
						some = append(some, m.UUID) // a non-root
						break
					}
				}
				for _, ask := range [][]string{all, some} {
					tps, err := cr.Trees(ask)
					if err != nil {
						return err
					}
					if d := cmp.Diff(plainTrees(t, tx, ask), derefTrees(tps), equateEmpty); d != "" {
						t.Fatalf("Trees (-plain +got):\n%s", d)
					}
				}
				// ProvidersWithCapacity against Providers + Resources.
				for _, cq := range []placement.CapacityQuery{
					{Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 3}}},
					{ProviderQuery: placement.ProviderQuery{Required: [][]string{{candWeird[3], candWeird[1]}}}, Resources: []placement.ResourceAmount{{Class: "MEMORY_MB", Amount: 256}}},
					{ProviderQuery: placement.ProviderQuery{MemberOf: [][]string{{"agg-1"}}, Root: all[5]}},
					{ProviderQuery: placement.ProviderQuery{Forbidden: []string{"HW_CPU_X86_AVX2"}}},
				} {
					rows, err := cr.ProvidersWithCapacity(cq)
					if err != nil {
						return err
					}
					plain, err := tx.Providers(cq.ProviderQuery)
					if err != nil {
						return err
					}
					var want []placement.ProviderCapacity
					for _, p := range plain {
						res, err := tx.Resources(p.UUID)
						if err != nil {
							return err
						}
						fits := true
						for _, ra := range cq.Resources {
							i := slices.IndexFunc(res, func(r placement.ProviderResource) bool { return r.ResourceClass == ra.Class })
							fits = fits && i >= 0 && res[i].Check(res[i].Used, ra.Amount) == placement.ReasonNone
						}
						if fits {
							want = append(want, placement.ProviderCapacity{ResourceProvider: p, Resources: res})
						}
					}
					if name == "SQLite" {
						if d := cmp.Diff(want, rows, equateEmpty); d != "" {
							t.Fatalf("ProvidersWithCapacity(%+v) (-want +got):\n%s", cq, d)
						}
					}
					for _, w := range want {
						if !slices.ContainsFunc(rows, func(r placement.ProviderCapacity) bool { return r.UUID == w.UUID }) {
							t.Fatalf("ProvidersWithCapacity(%+v) omitted %s", cq, w.UUID)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An Update's transaction answers from its own writes.
func TestCandidateReaderInUpdate(t *testing.T) {
	for name, open := range candidateStores(t) {
		t.Run(name, func(t *testing.T) {
			if name == "SQLite" {
				requireSQLite(t)
			}
			s := open(t)
			buildCandidateState(t, s, 6)
			root := "ffffffff-0000-4000-8000-000000000001"
			err := s.Update(context.Background(), func(tx placement.Tx) error {
				cr := tx.(placement.CandidateReader)
				if err := tx.CreateProvider(placement.ResourceProvider{UUID: root, Name: "new", RootUUID: root}); err != nil {
					return err
				}
				if err := tx.PutInventory(root, placement.NewInventory("VGPU", 2)); err != nil {
					return err
				}
				if err := tx.SetProviderTraits(root, []string{candWeird[4]}); err != nil {
					return err
				}
				roots, err := cr.CandidateRoots(placement.RootQuery{Resources: []placement.ResourceAmount{{Class: "VGPU", Amount: 2}}})
				if err != nil {
					return err
				}
				if !slices.Equal(roots, []string{root}) {
					t.Errorf("CandidateRoots in the Update = %v, want [%s]", roots, root)
				}
				tps, err := cr.Trees([]string{root})
				if err != nil {
					return err
				}
				if d := cmp.Diff(plainTrees(t, tx, []string{root}), derefTrees(tps), equateEmpty); d != "" {
					t.Errorf("Trees in the Update (-plain +got):\n%s", d)
				}
				c := "c0000000-0000-4000-8000-ffffffffffff"
				if err := tx.CreateConsumer(placement.Consumer{UUID: c, ProjectID: "p", UserID: "u"}); err != nil {
					return err
				}
				if err := tx.ReplaceAllocations(c, []placement.AllocationRecord{{ConsumerUUID: c, ProviderUUID: root, ResourceClass: "VGPU", Used: 1}}); err != nil {
					return err
				}
				if roots, err = cr.CandidateRoots(placement.RootQuery{Resources: []placement.ResourceAmount{{Class: "VGPU", Amount: 2}}}); err != nil {
					return err
				}
				if len(roots) != 0 && name == "SQLite" {
					t.Errorf("CandidateRoots after the allocation = %v, want none", roots)
				}
				rows, err := cr.ProvidersWithCapacity(placement.CapacityQuery{Resources: []placement.ResourceAmount{{Class: "VGPU", Amount: 1}}})
				if err != nil {
					return err
				}
				if len(rows) != 1 || rows[0].UUID != root || len(rows[0].Resources) != 1 || rows[0].Resources[0].Used != 1 {
					t.Errorf("ProvidersWithCapacity after the allocation = %+v", rows)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
