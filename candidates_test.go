package placement_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
	"github.com/goplacement/placement/placementtest"
)

// Engine-level tests of AllocationCandidates that do not depend on the
// backend: validation, authorization, the cap, ordering, randomisation,
// old-microversion flags and output aliasing. Semantics are tested on every
// backend by placementtest (Candidates/...).

type candEnv struct {
	t     *testing.T
	ctx   context.Context
	e     *placement.Engine
	n     int
	names map[string]string
}

func newCandEnv(t *testing.T, opts ...placement.Option) *candEnv {
	t.Helper()
	e, err := placement.New(memstore.New(), append([]placement.Option{placement.WithAuthorizer(placement.AllowAll())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &candEnv{t: t, ctx: context.Background(), e: e, names: map[string]string{}}
}

// provider creates a provider named name (uuids sort in creation order).
func (v *candEnv) provider(name, parent string, invs ...placement.Inventory) string {
	v.t.Helper()
	v.n++
	u := fmt.Sprintf("00000000-0000-4000-8000-%012d", v.n)
	if _, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: u, Name: name, ParentUUID: parent}); err != nil {
		v.t.Fatal(err)
	}
	if len(invs) > 0 {
		if _, err := v.e.ReplaceInventories(v.ctx, u, placement.ExpectGeneration(0), invs); err != nil {
			v.t.Fatal(err)
		}
	}
	v.names[u] = name
	return u
}

func (v *candEnv) candidates(req placement.CandidateRequest) placement.Candidates {
	v.t.Helper()
	got, err := v.e.AllocationCandidates(v.ctx, req)
	if err != nil {
		v.t.Fatalf("AllocationCandidates: %v", err)
	}
	return got
}

// list renders candidates as "provider:CLASS=n ..." in order.
func (v *candEnv) list(c placement.Candidates) []string {
	var out []string
	for _, ar := range c.AllocationRequests {
		var parts []string
		for _, a := range ar.Allocations {
			parts = append(parts, fmt.Sprintf("%s:%s=%d", v.names[a.ProviderUUID], a.ResourceClass, a.Used))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func group(suffix string, class string, amount int64) placement.RequestGroup {
	return placement.RequestGroup{Suffix: suffix, Resources: []placement.ResourceAmount{{Class: class, Amount: amount}}}
}

func TestCandidatesValidation(t *testing.T) {
	v := newCandEnv(t)
	v.provider("cn", "", placement.NewInventory("VCPU", 4))
	vcpu := group("", "VCPU", 1)
	cases := []struct {
		name  string
		req   placement.CandidateRequest
		field string // "" for ErrNotFound
	}{
		{"no groups", placement.CandidateRequest{}, "resources"},
		{"zero amount", placement.CandidateRequest{Groups: []placement.RequestGroup{group("", "VCPU", 0)}}, "resources"},
		{"class twice", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}, {Class: "VCPU", Amount: 2}}}}}, "resources"},
		{"bad class name", placement.CandidateRequest{Groups: []placement.RequestGroup{group("", "vcpu", 1)}}, "resources"},
		{"bad suffix", placement.CandidateRequest{Groups: []placement.RequestGroup{group("a b", "VCPU", 1)}}, "suffix"},
		{"suffix twice", placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1), group("1", "VCPU", 1)}}, "suffix"},
		{"resourceless unsuffixed", placement.CandidateRequest{Groups: []placement.RequestGroup{{Required: [][]string{{"HW_CPU_X86_AVX"}}}, group("1", "VCPU", 1)}}, "resources"},
		{"only resourceless", placement.CandidateRequest{Groups: []placement.RequestGroup{{Suffix: "1", Required: [][]string{{"HW_CPU_X86_AVX"}}}}, SameSubtree: [][]string{{"1"}}}, "resources"},
		{"resourceless not in same_subtree", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu, {Suffix: "1", Required: [][]string{{"HW_CPU_X86_AVX"}}}}}, "same_subtree"},
		{"same_subtree unknown suffix", placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1)}, SameSubtree: [][]string{{"1", "2"}}}, "same_subtree"},
		{"same_subtree unsuffixed", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu, group("1", "VCPU", 1)}, SameSubtree: [][]string{{"", "1"}}}, "same_subtree"},
		{"same_subtree empty", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, SameSubtree: [][]string{{}}}, "same_subtree"},
		{"conflicting traits", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, Required: [][]string{{"HW_CPU_X86_AVX"}}, Forbidden: []string{"HW_CPU_X86_AVX"}}}}, "required"},
		{"conflicting any-of", placement.CandidateRequest{Groups: []placement.RequestGroup{{Suffix: "_X", Resources: vcpu.Resources, Required: [][]string{{"HW_CPU_X86_AVX", "HW_CPU_X86_SSE"}}, Forbidden: []string{"HW_CPU_X86_AVX", "HW_CPU_X86_SSE"}}}}, "required_X"},
		{"empty any-of", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, Required: [][]string{{}}}}}, "required"},
		{"empty trait", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, Forbidden: []string{""}}}}, "required"},
		{"bad aggregate", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, MemberOf: [][]string{{"nope"}}}}}, "member_of"},
		{"bad forbidden aggregate", placement.CandidateRequest{Groups: []placement.RequestGroup{{Suffix: "1", Resources: vcpu.Resources, NotMemberOf: []string{"nope"}}}}, "member_of1"},
		{"empty member_of set", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, MemberOf: [][]string{{}}}}}, "member_of"},
		{"bad in_tree", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, InTree: "nope"}}}, "in_tree"},
		{"root_required conflict", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, RootRequired: []string{"HW_CPU_X86_AVX"}, RootForbidden: []string{"HW_CPU_X86_AVX"}}, "root_required"},
		{"negative limit", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, Limit: -1}, "limit"},
		{"negative cap", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, MaxCandidates: -1}, "max candidates"},
		{"bad policy", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, GroupPolicy: 7}, "group_policy"},
		{"bad order", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, Order: 7}, "order"},
		{"unknown class", placement.CandidateRequest{Groups: []placement.RequestGroup{group("", "CUSTOM_NOPE", 1)}}, ""},
		{"unknown trait", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, Required: [][]string{{"CUSTOM_NOPE"}}}}}, ""},
		{"unknown forbidden trait", placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, Forbidden: []string{"CUSTOM_NOPE"}}}}, ""},
		{"unknown root trait", placement.CandidateRequest{Groups: []placement.RequestGroup{vcpu}, RootRequired: []string{"CUSTOM_NOPE"}}, ""},
	}
	for _, c := range cases {
		_, err := v.e.AllocationCandidates(v.ctx, c.req)
		if c.field == "" {
			var nf *placement.NotFoundError
			if !errors.Is(err, placement.ErrNotFound) || !errors.As(err, &nf) {
				t.Errorf("%s: error %v, want a *NotFoundError", c.name, err)
			}
			continue
		}
		var ve *placement.ValidationError
		if !errors.Is(err, placement.ErrInvalid) || !errors.As(err, &ve) {
			t.Errorf("%s: error %v, want a *ValidationError", c.name, err)
			continue
		}
		if ve.Field != c.field {
			t.Errorf("%s: field %q, want %q (%v)", c.name, ve.Field, c.field, err)
		}
	}
	// An unknown in_tree provider is an empty answer, not an error.
	got := v.candidates(placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: vcpu.Resources, InTree: "99999999-9999-4999-8999-999999999999"}}})
	if len(got.AllocationRequests) != 0 || len(got.ProviderSummaries) != 0 {
		t.Errorf("unknown in_tree: %+v", got)
	}
}

func TestCandidatesAuthorization(t *testing.T) {
	e, err := placement.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", "VCPU", 1)}}
	if _, err := e.AllocationCandidates(context.Background(), req); !errors.Is(err, placement.ErrForbidden) {
		t.Errorf("no identity: %v, want ErrForbidden", err)
	}
	reader := placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", Roles: []string{"reader"}, SystemScope: "all"})
	if _, err := e.AllocationCandidates(reader, req); err != nil {
		t.Errorf("system reader: %v", err)
	}
	member := placement.WithIdentity(context.Background(), placement.Identity{UserID: "u", ProjectID: "p", Roles: []string{"member"}})
	if _, err := e.AllocationCandidates(member, req); !errors.Is(err, placement.ErrForbidden) {
		t.Errorf("project member: %v, want ErrForbidden", err)
	}
}

// threeTrees: roots r1 < r2 < r3, each with children a and b of 1 VCPU.
func threeTrees(t *testing.T, opts ...placement.Option) *candEnv {
	v := newCandEnv(t, opts...)
	for i := 1; i <= 3; i++ {
		r := v.provider(fmt.Sprintf("r%d", i), "")
		v.provider(fmt.Sprintf("r%d.a", i), r, placement.NewInventory("VCPU", 1))
		v.provider(fmt.Sprintf("r%d.b", i), r, placement.NewInventory("VCPU", 1))
	}
	return v
}

func TestCandidatesOrder(t *testing.T) {
	v := threeTrees(t)
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1)}}
	depth := v.list(v.candidates(req))
	want := []string{"r1.a:VCPU=1", "r1.b:VCPU=1", "r2.a:VCPU=1", "r2.b:VCPU=1", "r3.a:VCPU=1", "r3.b:VCPU=1"}
	if !slices.Equal(depth, want) {
		t.Errorf("depth-first: %v, want %v", depth, want)
	}
	req.Order = placement.BreadthFirst
	breadth := v.list(v.candidates(req))
	want = []string{"r1.a:VCPU=1", "r2.a:VCPU=1", "r3.a:VCPU=1", "r1.b:VCPU=1", "r2.b:VCPU=1", "r3.b:VCPU=1"}
	if !slices.Equal(breadth, want) {
		t.Errorf("breadth-first: %v, want %v", breadth, want)
	}
	req.Limit = 4
	if got := v.list(v.candidates(req)); !slices.Equal(got, want[:4]) {
		t.Errorf("breadth-first limit 4: %v, want %v", got, want[:4])
	}
	// Two groups: lexicographic within an anchor (group 1 first).
	req = placement.CandidateRequest{Groups: []placement.RequestGroup{group("2", "VCPU", 1), group("1", "VCPU", 1)}, GroupPolicy: placement.GroupPolicyIsolate, Limit: 2}
	got := v.candidates(req)
	if m := got.AllocationRequests[0]; v.names[m.Mapping("1")[0]] != "r1.a" || v.names[m.Mapping("2")[0]] != "r1.b" {
		t.Errorf("first two-group candidate: %+v", m.Mappings)
	}
	if m := got.AllocationRequests[1]; v.names[m.Mapping("1")[0]] != "r1.b" || v.names[m.Mapping("2")[0]] != "r1.a" {
		t.Errorf("second two-group candidate: %+v", m.Mappings)
	}
}

func TestCandidatesRandomize(t *testing.T) {
	v := newCandEnv(t)
	for i := range 40 {
		v.provider(fmt.Sprintf("cn%02d", i), "", placement.NewInventory("VCPU", 4))
	}
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", "VCPU", 1)}, Randomize: true, Seed: 1}
	a, b := v.list(v.candidates(req)), v.list(v.candidates(req))
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different answers:\n%v\n%v", a, b)
	}
	req.Seed = 2
	c := v.list(v.candidates(req))
	if slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 give the same order")
	}
	plain := v.list(v.candidates(placement.CandidateRequest{Groups: req.Groups}))
	if slices.Equal(a, plain) {
		t.Errorf("randomized order equals the default order")
	}
	slices.Sort(a)
	if !slices.Equal(a, plain) {
		t.Errorf("randomized set differs from the default set")
	}
	req.Limit = 5
	if got := v.list(v.candidates(req)); !slices.Equal(got, c[:5]) {
		t.Errorf("limit 5 with seed 2: %v, want the first 5 of %v", got, c)
	}
}

func TestCandidatesCap(t *testing.T) {
	v := threeTrees(t, placement.WithMaxCandidates(4))
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1)}}
	got := v.candidates(req)
	if len(got.AllocationRequests) != 4 || !got.Capped {
		t.Errorf("engine cap 4: %d candidates, capped %v", len(got.AllocationRequests), got.Capped)
	}
	// Summaries only for the trees used (r1, r2).
	if len(got.ProviderSummaries) != 6 {
		t.Errorf("summaries: %d, want 6", len(got.ProviderSummaries))
	}
	req.MaxCandidates = 10
	if got := v.candidates(req); len(got.AllocationRequests) != 6 || got.Capped {
		t.Errorf("request cap 10: %d candidates, capped %v", len(got.AllocationRequests), got.Capped)
	}
	req.MaxCandidates, req.Limit = 0, 2
	if got := v.candidates(req); len(got.AllocationRequests) != 2 || got.Capped {
		t.Errorf("limit 2: %d candidates, capped %v", len(got.AllocationRequests), got.Capped)
	}
	if _, err := placement.New(memstore.New(), placement.WithMaxCandidates(0)); !errors.Is(err, placement.ErrInvalid) {
		t.Errorf("WithMaxCandidates(0): %v", err)
	}
}

func TestCandidatesOldMicroversions(t *testing.T) {
	v := newCandEnv(t)
	cn := v.provider("cn", "", placement.NewInventory("MEMORY_MB", 1024), placement.NewInventory("DISK_GB", 10))
	v.provider("numa", cn, placement.NewInventory("VCPU", 4))
	v.provider("flat", "", placement.NewInventory("VCPU", 4), placement.NewInventory("MEMORY_MB", 1024))
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{{Resources: []placement.ResourceAmount{{Class: "VCPU", Amount: 1}, {Class: "MEMORY_MB", Amount: 1}}}}}
	if got := v.list(v.candidates(req)); len(got) != 2 {
		t.Fatalf("nested-aware: %v", got)
	}
	req.ExcludeNested, req.RequestedClassesOnly = true, true
	got := v.candidates(req)
	if l := v.list(got); !slices.Equal(l, []string{"flat:MEMORY_MB=1 flat:VCPU=1"}) {
		t.Errorf("ExcludeNested: %v", l)
	}
	if len(got.ProviderSummaries) != 1 || v.names[got.ProviderSummaries[0].UUID] != "flat" {
		t.Fatalf("ExcludeNested summaries: %+v", got.ProviderSummaries)
	}
	req.ExcludeNested = false
	got = v.candidates(req)
	s, ok := got.Summary(cn)
	if !ok || len(s.Resources) != 1 || s.Resources[0].Class != "MEMORY_MB" {
		t.Errorf("RequestedClassesOnly: summary of cn %+v", s)
	}
}

func TestCandidatesNoAliasing(t *testing.T) {
	v := threeTrees(t)
	got := v.candidates(placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1)}})
	before := v.list(got)
	first := &got.AllocationRequests[0]
	first.Allocations = append(first.Allocations, placement.Allocation{ProviderUUID: "x", ResourceClass: "X", Used: 9})
	first.Mappings[0].Providers = append(first.Mappings[0].Providers, "x")
	got.ProviderSummaries[0].Traits = append(got.ProviderSummaries[0].Traits, "X")
	got.ProviderSummaries[0].Resources = append(got.ProviderSummaries[0].Resources, placement.SummaryResource{Class: "X"})
	after := v.list(got)
	if !slices.Equal(before[1:], after[1:]) {
		t.Errorf("appending to one candidate changed others:\n%v\n%v", before, after)
	}
	if len(got.AllocationRequests[1].Mappings[0].Providers) != 1 {
		t.Errorf("appending to a mapping changed another")
	}
	if len(got.ProviderSummaries[1].Resources) > 1 || len(got.ProviderSummaries[1].Traits) > 0 {
		t.Errorf("appending to a summary changed another: %+v", got.ProviderSummaries[1])
	}
}

// A CandidateBuffer serves one call at a time: a second call while it is in
// use is refused, and the buffer works again once it is free.
func TestCandidateBufferInUse(t *testing.T) {
	v := threeTrees(t)
	req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("1", "VCPU", 1)}}
	var buf placement.CandidateBuffer
	release := placement.HoldCandidateBuffer(&buf)
	_, err := v.e.AllocationCandidatesInto(v.ctx, req, &buf)
	release()
	if !errors.Is(err, placement.ErrInvalid) {
		t.Fatalf("buffer in use: got %v, want ErrInvalid", err)
	}
	got, err := v.e.AllocationCandidatesInto(v.ctx, req, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if want := v.list(v.candidates(req)); !slices.Equal(v.list(got), want) {
		t.Fatalf("got %v, want %v", v.list(got), want)
	}
}

// The pushdown path (CandidateReader) and the fallback give identical
// answers on a mixed topology, in every order.
func TestCandidatesPushdownMatchesFallback(t *testing.T) {
	s := memstore.New()
	v := &candEnv{t: t, ctx: context.Background(), names: map[string]string{}}
	var err error
	if v.e, err = placement.New(s, placement.WithAuthorizer(placement.AllowAll())); err != nil {
		t.Fatal(err)
	}
	agg := "a0000000-0000-4000-8000-000000000001"
	for i := range 20 {
		r := v.provider(fmt.Sprintf("r%d", i), "", placement.NewInventory("MEMORY_MB", 4096))
		for k := range i % 3 {
			v.provider(fmt.Sprintf("r%d.%d", i, k), r, placement.NewInventory("VCPU", 2))
		}
		if i%2 == 0 {
			if _, err := v.e.SetProviderAggregates(v.ctx, r, placement.SkipGenerationCheck(), []string{agg}); err != nil {
				t.Fatal(err)
			}
		}
	}
	ss := v.provider("ss", "", placement.NewInventory("DISK_GB", 100))
	if _, err := v.e.SetProviderAggregates(v.ctx, ss, placement.SkipGenerationCheck(), []string{agg}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.e.SetProviderTraits(v.ctx, ss, placement.SkipGenerationCheck(), []string{placement.TraitMiscSharesViaAggregate}); err != nil {
		t.Fatal(err)
	}
	pushed, err := placement.New(placementtest.WithCandidateIndex(s), placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		t.Fatal(err)
	}
	base := placement.CandidateRequest{Groups: []placement.RequestGroup{
		{Resources: []placement.ResourceAmount{{Class: "MEMORY_MB", Amount: 512}, {Class: "DISK_GB", Amount: 10}}},
		group("1", "VCPU", 1), group("2", "VCPU", 1),
	}, GroupPolicy: placement.GroupPolicyIsolate}
	for _, order := range []placement.CandidateOrder{placement.DepthFirst, placement.BreadthFirst} {
		for _, random := range []bool{false, true} {
			for _, limit := range []int{0, 3} {
				req := base
				req.Order, req.Randomize, req.Seed, req.Limit = order, random, 7, limit
				a := v.candidates(req)
				b, err := pushed.AllocationCandidates(v.ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(a) != fmt.Sprint(b) {
					t.Errorf("order %v random %v limit %d: fallback and pushdown differ:\n%v\n%v", order, random, limit, v.list(a), v.list(b))
				}
				if limit == 0 && len(a.AllocationRequests) != 6 {
					t.Errorf("order %v random %v: %d candidates, want 6", order, random, len(a.AllocationRequests))
				}
			}
		}
	}
}

// The planner's path for trees of one provider (visitFast) and its general
// path give identical answers, order and summaries included, on random
// mixed states (mostly single-provider trees, some nested ones and sharing
// providers) and random requests; so does an answer built in a
// CandidateBuffer that held the answer before.
func TestCandidatesFastPathMatchesGeneric(t *testing.T) {
	traits := []string{"HW_CPU_X86_AVX2", "HW_CPU_X86_SSE", "COMPUTE_VOLUME_MULTI_ATTACH"}
	aggs := []string{"a1000000-0000-4000-8000-000000000001", "a1000000-0000-4000-8000-000000000002"}
	classes := []string{placement.ClassDiskGB, placement.ClassMemoryMB, placement.ClassVCPU}
	asked, answered := 0, 0
	var buf placement.CandidateBuffer
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 99))
		v := newCandEnv(t)
		var provs []string
		for i := range 40 + rng.IntN(40) {
			parent := ""
			if len(provs) > 0 && rng.IntN(5) == 0 {
				parent = provs[rng.IntN(len(provs))]
			}
			var invs []placement.Inventory
			for _, c := range classes {
				if rng.IntN(4) > 0 {
					inv := placement.NewInventory(c, int64(1+rng.IntN(8)))
					if rng.IntN(4) == 0 {
						inv.MinUnit, inv.MaxUnit, inv.StepSize = int64(1+rng.IntN(2)), int64(2+rng.IntN(6)), int64(1+rng.IntN(2))
						inv.Reserved, inv.AllocationRatio = int64(rng.IntN(2)), []float64{0.5, 1, 1.5, 2}[rng.IntN(4)]
					}
					invs = append(invs, inv)
				}
			}
			u := v.provider(fmt.Sprintf("p%d", i), parent, invs...)
			provs = append(provs, u)
			var ts []string
			for _, tr := range traits {
				if rng.IntN(2) == 0 {
					ts = append(ts, tr)
				}
			}
			if rng.IntN(15) == 0 {
				ts = append(ts, placement.TraitMiscSharesViaAggregate)
			}
			if len(ts) > 0 {
				if _, err := v.e.SetProviderTraits(v.ctx, u, placement.SkipGenerationCheck(), ts); err != nil {
					t.Fatal(err)
				}
			}
			var as []string
			for _, a := range aggs {
				if rng.IntN(2) == 0 {
					as = append(as, a)
				}
			}
			if len(as) > 0 {
				if _, err := v.e.SetProviderAggregates(v.ctx, u, placement.SkipGenerationCheck(), as); err != nil {
					t.Fatal(err)
				}
			}
			if len(invs) > 0 && rng.IntN(3) == 0 {
				_ = v.e.SetAllocations(v.ctx, placement.ConsumerAllocations{
					ConsumerUUID: fmt.Sprintf("c1000000-0000-4000-8000-%012d", i), Generation: placement.SkipGenerationCheck(),
					ProjectID: "p", UserID: "u",
					Allocations: []placement.Allocation{{ProviderUUID: u, ResourceClass: invs[0].ResourceClass, Used: int64(1 + rng.IntN(3))}},
				})
			}
		}
		group := func(suffix string) placement.RequestGroup {
			g := placement.RequestGroup{Suffix: suffix}
			for _, c := range classes {
				if rng.IntN(2) == 0 {
					g.Resources = append(g.Resources, placement.ResourceAmount{Class: c, Amount: int64(1 + rng.IntN(2))})
				}
			}
			if len(g.Resources) == 0 && (suffix == "" || rng.IntN(2) == 0) {
				g.Resources = []placement.ResourceAmount{{Class: classes[rng.IntN(3)], Amount: 1}}
			}
			if rng.IntN(3) == 0 || len(g.Resources) == 0 {
				g.Required = [][]string{{traits[rng.IntN(3)], traits[rng.IntN(3)]}}
			}
			if rng.IntN(5) == 0 {
				f := traits[rng.IntN(3)]
				if !slices.ContainsFunc(g.Required, func(set []string) bool { return !slices.ContainsFunc(set, func(t string) bool { return t != f }) }) {
					g.Forbidden = []string{f}
				}
			}
			if rng.IntN(3) == 0 {
				g.MemberOf = [][]string{{aggs[rng.IntN(2)]}}
			}
			if rng.IntN(6) == 0 {
				g.NotMemberOf = []string{aggs[rng.IntN(2)]}
			}
			if rng.IntN(12) == 0 {
				g.InTree = provs[rng.IntN(len(provs))]
			}
			return g
		}
		for range 60 {
			var req placement.CandidateRequest
			if rng.IntN(5) > 0 {
				req.Groups = append(req.Groups, group(""))
			}
			for s := range rng.IntN(3) {
				req.Groups = append(req.Groups, group(fmt.Sprint(s+1)))
			}
			if len(req.Groups) == 0 {
				req.Groups = append(req.Groups, group(""))
			}
			if len(req.Groups[0].Resources) == 0 {
				req.Groups[0].Resources = []placement.ResourceAmount{{Class: classes[rng.IntN(3)], Amount: 1}}
			}
			var suffixes []string
			for _, g := range req.Groups {
				if g.Suffix != "" {
					suffixes = append(suffixes, g.Suffix)
				}
			}
			if len(suffixes) > 0 {
				req.SameSubtree = [][]string{suffixes} // resourceless groups must be named
			}
			if rng.IntN(2) == 0 {
				req.GroupPolicy = placement.GroupPolicyIsolate
			}
			if rng.IntN(6) == 0 {
				req.RootRequired = []string{traits[rng.IntN(3)]}
			} else if rng.IntN(6) == 0 {
				req.RootForbidden = []string{traits[rng.IntN(3)]}
			}
			req.Limit = []int{0, 0, 1, 3, 7}[rng.IntN(5)]
			req.Order = placement.CandidateOrder(rng.IntN(2))
			req.Randomize, req.Seed = rng.IntN(3) == 0, rng.Uint64()
			req.ExcludeNested, req.RequestedClassesOnly = rng.IntN(5) == 0, rng.IntN(5) == 0
			fast, err := v.e.AllocationCandidates(v.ctx, req)
			if err != nil {
				t.Fatalf("seed %d: %+v: %v", seed, req, err)
			}
			placement.SetCandidatesFastPath(false)
			generic, err := v.e.AllocationCandidates(v.ctx, req)
			placement.SetCandidatesFastPath(true)
			if err != nil {
				t.Fatalf("seed %d: %+v: %v", seed, req, err)
			}
			if fmt.Sprint(fast) != fmt.Sprint(generic) {
				t.Fatalf("seed %d: %+v: fast and generic paths differ:\n%v\n%v", seed, req, fast, generic)
			}
			// Again in buf, over the memory of the answer before.
			reused, err := v.e.AllocationCandidatesInto(v.ctx, req, &buf)
			if err != nil {
				t.Fatalf("seed %d: %+v: %v", seed, req, err)
			}
			if fmt.Sprint(fast) != fmt.Sprint(reused) {
				t.Fatalf("seed %d: %+v: the answer built in a used CandidateBuffer differs:\n%v\n%v", seed, req, fast, reused)
			}
			if len(fast.AllocationRequests) > 0 {
				answered++
			}
			asked++
		}
	}
	t.Logf("%d of %d requests had candidates", answered, asked)
	if answered*4 < asked {
		t.Errorf("only %d of %d requests had candidates", answered, asked)
	}
}

// Most roots without room: the planner first reads roots unfiltered, then
// lets the source filter them by the demands (also from the start of a
// page); the answer is the generic path's.
func TestCandidatesFilterSwitch(t *testing.T) {
	s := memstore.New()
	ctx := context.Background()
	const n = 3000
	err := s.Update(ctx, func(tx placement.Tx) error {
		for i := range n {
			u := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
			if err := tx.CreateProvider(placement.ResourceProvider{UUID: u, Name: u, RootUUID: u}); err != nil {
				return err
			}
			total := int64(1)
			if i >= n-60 || i%500 == 7 {
				total = 4
			}
			if err := tx.PutInventory(u, placement.NewInventory(placement.ClassVCPU, total)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	native, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		t.Fatal(err)
	}
	generic, err := placement.New(plainStore{s}, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 1, 50, 1500} {
		for _, order := range []placement.CandidateOrder{placement.DepthFirst, placement.BreadthFirst} {
			req := placement.CandidateRequest{Groups: []placement.RequestGroup{group("", placement.ClassVCPU, 2)}, Limit: limit, Order: order}
			a, err := native.AllocationCandidates(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := generic.AllocationCandidates(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want := 66
			if limit > 0 {
				want = min(want, limit)
			}
			if len(a.AllocationRequests) != want || fmt.Sprint(a) != fmt.Sprint(b) {
				t.Errorf("limit %d order %v: %d candidates (want %d), generic %d; equal %v", limit, order,
					len(a.AllocationRequests), want, len(b.AllocationRequests), fmt.Sprint(a) == fmt.Sprint(b))
			}
		}
	}
}
