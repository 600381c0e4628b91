package placement_test

import (
	"context"
	"errors"
	"fmt"
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
