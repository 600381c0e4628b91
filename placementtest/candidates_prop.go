package placementtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/goplacement/placement"
)

// Property tests of Engine.AllocationCandidates on small random states built
// through the Engine on the backend under test:
//
//   - completeness and exactness: the uncapped answer is exactly the set the
//     brute-force enumerator of candidates_model.go finds, without duplicates;
//   - soundness: every candidate passes the independent checker, and claimed
//     alone (SetAllocations for a new consumer) it succeeds, then is released;
//   - summaries: exactly the providers of the used trees, with their
//     inventories, usage and traits as stored;
//   - pushdown: the same store wrapped by WithCandidateIndex (the Engine
//     then uses CandidateReader) gives an identical answer, order included;
//   - determinism and ordering: a seeded request gives the same answer
//     twice; every order gives the same set; a limited answer is a prefix of
//     the unlimited one.
//
// Checks: rapid's default (100) each; more with -rapid.checks=N.

func init() {
	register("Candidates/Properties/Exact", testCandidatesExact)
	register("Candidates/Properties/Ordering", testCandidatesOrdering)
}

// acTB runs a store factory inside one rapid check (failures and cleanups
// belong to the check).
type acTB struct {
	testing.TB
	rt *rapid.T
}

func (r acTB) Cleanup(f func())                  { r.rt.Cleanup(f) }
func (r acTB) Error(args ...any)                 { r.rt.Error(args...) }
func (r acTB) Errorf(format string, args ...any) { r.rt.Errorf(format, args...) }
func (r acTB) Fail()                             { r.rt.Fail() }
func (r acTB) FailNow()                          { r.rt.FailNow() }
func (r acTB) Failed() bool                      { return r.rt.Failed() }
func (r acTB) Fatal(args ...any)                 { r.rt.Fatal(args...) }
func (r acTB) Fatalf(format string, args ...any) { r.rt.Fatalf(format, args...) }
func (r acTB) Log(args ...any)                   { r.rt.Log(args...) }
func (r acTB) Logf(format string, args ...any)   { r.rt.Logf(format, args...) }
func (r acTB) Skip(args ...any)                  { r.rt.Skip(args...) }
func (r acTB) SkipNow()                          { r.rt.SkipNow() }
func (r acTB) Skipf(format string, args ...any)  { r.rt.Skipf(format, args...) }
func (r acTB) Helper()                           { r.rt.Helper() }
func (r acTB) Context() context.Context          { return r.rt.Context() }
func (r acTB) TempDir() string {
	dir, err := os.MkdirTemp("", "placementtest-candidates-")
	if err != nil {
		r.rt.Fatalf("TempDir: %v", err)
	}
	r.rt.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

var (
	acClasses = []string{placement.ClassDiskGB, placement.ClassMemoryMB, placement.ClassVCPU}
	acTraits  = []string{"COMPUTE_VOLUME_MULTI_ATTACH", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"}
	acAggs    = []string{
		"a9000000-0000-4000-8000-000000000001",
		"a9000000-0000-4000-8000-000000000002",
		"a9000000-0000-4000-8000-000000000003",
	}
	acRatios = []float64{1, 1, 1.5, 0.5, 2}
)

func acUUID(i int) string { return fmt.Sprintf("ac%06x-0000-4000-8000-000000000000", i) }

// acInstance is one random state and request.
type acInstance struct {
	ctx   context.Context
	store placement.Store
	e     *placement.Engine
	provs []string
}

// acPct is true with about pct percent chance (small draws, which rapid
// favours and shrinks towards, mean false).
func acPct(rt *rapid.T, label string, pct int) bool {
	return rapid.IntRange(0, 99).Draw(rt, label) >= 100-pct
}

// acLikely is true with about pct percent chance, small draws meaning true.
func acLikely(rt *rapid.T, label string, pct int) bool {
	return rapid.IntRange(0, 99).Draw(rt, label) < pct
}

// drawACState builds a random forest of providers with inventories, usage,
// traits and aggregates through the Engine.
func drawACState(rt *rapid.T, t *testing.T, newStore NewStore) *acInstance {
	tb := acTB{TB: t, rt: rt}
	in := &acInstance{ctx: context.Background(), store: newStore(tb)}
	in.e = NewEngine(tb, in.store)
	ctx := in.ctx
	n := rapid.IntRange(1, 6).Draw(rt, "providers")
	for i := range n {
		spec := placement.ProviderSpec{UUID: acUUID(rapid.IntRange(0, 1<<20).Draw(rt, "uuid")*8 + i), Name: fmt.Sprintf("ac-%d", i)}
		if i > 0 && acLikely(rt, "child", 50) {
			spec.ParentUUID = rapid.SampledFrom(in.provs).Draw(rt, "parent")
		}
		p, err := in.e.CreateProvider(ctx, spec)
		if err != nil {
			rt.Fatalf("CreateProvider: %v", err)
		}
		in.provs = append(in.provs, p.UUID)
		var invs []placement.Inventory
		for _, c := range acClasses {
			if !acLikely(rt, "has-"+c, 65) {
				continue
			}
			inv := placement.NewInventory(c, int64(rapid.IntRange(1, 8).Draw(rt, "total")))
			if acPct(rt, "odd", 30) {
				inv.Reserved = int64(rapid.IntRange(0, 1).Draw(rt, "reserved"))
				inv.MinUnit = int64(rapid.IntRange(1, 2).Draw(rt, "minUnit"))
				inv.MaxUnit = int64(rapid.IntRange(1, 6).Draw(rt, "maxUnit"))
				inv.StepSize = int64(rapid.IntRange(1, 2).Draw(rt, "stepSize"))
				inv.AllocationRatio = rapid.SampledFrom(acRatios).Draw(rt, "ratio")
			}
			if inv.Reserved > inv.Total {
				inv.Reserved = inv.Total
			}
			invs = append(invs, inv)
		}
		if len(invs) > 0 {
			if _, err := in.e.ReplaceInventories(ctx, p.UUID, placement.SkipGenerationCheck(), invs); err != nil {
				rt.Fatalf("ReplaceInventories: %v", err)
			}
		}
		var traits []string
		for _, tr := range acTraits {
			if acLikely(rt, "trait", 40) {
				traits = append(traits, tr)
			}
		}
		if acPct(rt, "sharing", 30) {
			traits = append(traits, placement.TraitMiscSharesViaAggregate)
		}
		if len(traits) > 0 {
			if _, err := in.e.SetProviderTraits(ctx, p.UUID, placement.SkipGenerationCheck(), traits); err != nil {
				rt.Fatalf("SetProviderTraits: %v", err)
			}
		}
		var aggs []string
		for _, a := range acAggs {
			if acLikely(rt, "agg", 45) {
				aggs = append(aggs, a)
			}
		}
		if len(aggs) > 0 {
			if _, err := in.e.SetProviderAggregates(ctx, p.UUID, placement.SkipGenerationCheck(), aggs); err != nil {
				rt.Fatalf("SetProviderAggregates: %v", err)
			}
		}
	}
	// Some usage (claims that do not fit are simply refused).
	for k := range rapid.IntRange(0, 3).Draw(rt, "claims") {
		p := rapid.SampledFrom(in.provs).Draw(rt, "claimProvider")
		_ = in.e.SetAllocations(ctx, placement.ConsumerAllocations{
			ConsumerUUID: fmt.Sprintf("c9000000-0000-4000-8000-%012x", k), Generation: placement.SkipGenerationCheck(),
			ProjectID: "p", UserID: "u",
			Allocations: []placement.Allocation{{ProviderUUID: p, ResourceClass: rapid.SampledFrom(acClasses).Draw(rt, "claimClass"), Used: int64(rapid.IntRange(1, 3).Draw(rt, "claimUsed"))}},
		})
	}
	return in
}

func drawACTraitSet(rt *rapid.T) []string {
	set := []string{rapid.SampledFrom(acTraits).Draw(rt, "trait")}
	if acPct(rt, "anyOf", 30) {
		if t := rapid.SampledFrom(acTraits).Draw(rt, "trait2"); t != set[0] {
			set = append(set, t)
		}
	}
	return set
}

func drawACGroup(rt *rapid.T, in *acInstance, suffix string, resourceless bool) placement.RequestGroup {
	g := placement.RequestGroup{Suffix: suffix}
	if !resourceless {
		nc := 1
		if suffix == "" || acPct(rt, "twoClasses", 25) {
			nc = rapid.IntRange(1, 2).Draw(rt, "classes")
		}
		classes := slices.Clone(acClasses)
		for range nc {
			i := rapid.IntRange(0, len(classes)-1).Draw(rt, "class")
			g.Resources = append(g.Resources, placement.ResourceAmount{Class: classes[i], Amount: int64(rapid.IntRange(1, 2).Draw(rt, "amount"))})
			classes = slices.Delete(classes, i, i+1)
		}
	}
	if acPct(rt, "required", 20) || (resourceless && acPct(rt, "resourcelessTraits", 70)) {
		g.Required = append(g.Required, drawACTraitSet(rt))
	}
	if acPct(rt, "forbidden", 12) {
		g.Forbidden = []string{rapid.SampledFrom(append(slices.Clone(acTraits), placement.TraitMiscSharesViaAggregate)).Draw(rt, "forbiddenTrait")}
		for _, set := range g.Required {
			if !slices.ContainsFunc(set, func(t string) bool { return t != g.Forbidden[0] }) {
				g.Forbidden = nil // would conflict
			}
		}
	}
	if acPct(rt, "memberOf", 20) || (resourceless && len(g.Required) == 0 && acPct(rt, "resourcelessAggs", 80)) {
		set := []string{rapid.SampledFrom(acAggs).Draw(rt, "agg")}
		if acPct(rt, "aggAnyOf", 30) {
			if a := rapid.SampledFrom(acAggs).Draw(rt, "agg2"); a != set[0] {
				set = append(set, a)
			}
		}
		g.MemberOf = append(g.MemberOf, set)
	}
	if acPct(rt, "notMemberOf", 10) {
		g.NotMemberOf = []string{rapid.SampledFrom(acAggs).Draw(rt, "notAgg")}
	}
	if acPct(rt, "inTree", 6) {
		g.InTree = rapid.SampledFrom(in.provs).Draw(rt, "inTreeProvider")
	}
	return g
}

// drawACRequest draws a valid request.
func drawACRequest(rt *rapid.T, in *acInstance) placement.CandidateRequest {
	var req placement.CandidateRequest
	if acPct(rt, "unsuffixed", 80) {
		req.Groups = append(req.Groups, drawACGroup(rt, in, "", false))
	}
	nsuf := rapid.IntRange(0, 2).Draw(rt, "suffixed")
	if len(req.Groups) == 0 && nsuf == 0 {
		nsuf = 1
	}
	var resourceless []string
	for i := range nsuf {
		suffix := []string{"_A", "_B", "1"}[i]
		rl := (len(req.Groups) > 0 || i > 0) && acPct(rt, "resourceless", 20)
		req.Groups = append(req.Groups, drawACGroup(rt, in, suffix, rl))
		if rl {
			resourceless = append(resourceless, suffix)
		}
	}
	var suffixes []string
	for _, g := range req.Groups {
		if g.Suffix != "" {
			suffixes = append(suffixes, g.Suffix)
		}
	}
	if len(resourceless) > 0 || (len(suffixes) >= 2 && acPct(rt, "sameSubtree", 30)) {
		set := slices.Clone(resourceless)
		for _, s := range suffixes {
			if !slices.Contains(set, s) && (len(set) < 2 || acPct(rt, "subtreeMember", 50)) {
				set = append(set, s)
			}
		}
		req.SameSubtree = [][]string{set}
	}
	if acPct(rt, "isolate", 40) {
		req.GroupPolicy = placement.GroupPolicyIsolate
	}
	if acPct(rt, "rootRequired", 10) {
		req.RootRequired = []string{rapid.SampledFrom(acTraits).Draw(rt, "rootTrait")}
	}
	if acPct(rt, "rootForbidden", 10) {
		if t := rapid.SampledFrom(acTraits).Draw(rt, "rootForbiddenTrait"); !slices.Contains(req.RootRequired, t) {
			req.RootForbidden = []string{t}
		}
	}
	if len(resourceless) == 0 && acPct(rt, "excludeNested", 15) {
		req.ExcludeNested = true
	}
	return req
}

// acBuffer is the placement.CandidateBuffer that acCandidates builds every
// answer in a second time, over the memory of the answer before (another
// request's, often of another shape, on another store).
var (
	acBufferMu sync.Mutex
	acBuffer   placement.CandidateBuffer
)

// acCandidates answers req, and checks that the answer built in acBuffer is
// the same.
func acCandidates(rt *rapid.T, e *placement.Engine, req placement.CandidateRequest) placement.Candidates {
	got, err := e.AllocationCandidates(context.Background(), req)
	if err != nil {
		rt.Fatalf("AllocationCandidates(%+v): %v", req, err)
	}
	acBufferMu.Lock()
	defer acBufferMu.Unlock()
	again, err := e.AllocationCandidatesInto(context.Background(), req, &acBuffer)
	if err != nil {
		rt.Fatalf("AllocationCandidatesInto(%+v): %v", req, err)
	}
	if d := gocmp.Diff(got, again); d != "" {
		rt.Fatalf("request %+v: the answer built in a used CandidateBuffer differs (-new +buffer):\n%s", req, d)
	}
	return got
}

func testCandidatesExact(t *testing.T, newStore NewStore) {
	rapid.Check(t, func(rt *rapid.T) {
		in := drawACState(rt, t, newStore)
		req := drawACRequest(rt, in)
		st, err := ReadState(in.ctx, in.store)
		if err != nil {
			rt.Fatalf("ReadState: %v", err)
		}
		w := newACWorld(st)
		got := acCandidates(rt, in.e, req)
		checkACShape(rt, got)

		// Completeness and exactness against the brute force.
		want := acBruteForce(w, &req)
		gotSet := map[string]bool{}
		for _, ar := range got.AllocationRequests {
			c := acCanonical(ar)
			if gotSet[c] {
				rt.Fatalf("duplicate candidate %s", c)
			}
			gotSet[c] = true
		}
		if d := gocmp.Diff(acSorted(want), acSorted(gotSet)); d != "" {
			rt.Fatalf("request %+v: candidates differ from the brute force (-want +got):\n%s", req, d)
		}
		if got.Capped {
			rt.Fatalf("small answer reported as capped")
		}

		// Summaries.
		var sumIDs []string
		for _, s := range got.ProviderSummaries {
			sumIDs = append(sumIDs, s.UUID)
			p := w.prov[s.UUID]
			if s.ParentUUID != p.ParentUUID || s.RootUUID != p.RootUUID {
				rt.Fatalf("summary %s: parent/root %q/%q, want %q/%q", s.UUID, s.ParentUUID, s.RootUUID, p.ParentUUID, p.RootUUID)
			}
			var wantRes []placement.SummaryResource
			for _, r := range st.Resources[s.UUID] {
				wantRes = append(wantRes, placement.SummaryResource{Class: r.ResourceClass, Capacity: r.CapacityInt(), Used: r.Used})
			}
			if d := gocmp.Diff(wantRes, s.Resources); d != "" {
				rt.Fatalf("summary %s resources (-want +got):\n%s", s.UUID, d)
			}
			if d := gocmp.Diff(acSortedCopy(st.Traits[s.UUID]), acSortedCopy(s.Traits)); d != "" {
				rt.Fatalf("summary %s traits (-want +got):\n%s", s.UUID, d)
			}
		}
		if d := gocmp.Diff(acExpectedSummaries(w, &req, got), sumIDs); d != "" {
			rt.Fatalf("summary providers (-want +got):\n%s", d)
		}

		// The pushdown path gives the identical answer.
		pushed := NewEngine(acTB{TB: t, rt: rt}, WithCandidateIndex(in.store))
		if d := gocmp.Diff(got, acCandidates(rt, pushed, req)); d != "" {
			rt.Fatalf("pushdown answer differs (-fallback +pushdown):\n%s", d)
		}

		// Soundness: each candidate is valid and can be claimed alone.
		for i, ar := range got.AllocationRequests {
			if !acCheck(w, &req, ar) {
				rt.Fatalf("candidate %s breaks a rule of request %+v", acCanonical(ar), req)
			}
			if i >= 12 {
				continue // claiming is slower on SQL backends; the checker covers the rest
			}
			consumer := "cc000000-0000-4000-8000-000000000001"
			err := in.e.SetAllocations(in.ctx, placement.ConsumerAllocations{
				ConsumerUUID: consumer, Generation: placement.ExpectNewConsumer(), ProjectID: "p", UserID: "u",
				Allocations: ar.Allocations,
			})
			if err != nil {
				rt.Fatalf("claiming candidate %s: %v", acCanonical(ar), err)
			}
			if err := in.e.DeleteAllocations(in.ctx, consumer); err != nil {
				rt.Fatalf("releasing candidate: %v", err)
			}
		}
	})
}

// checkACShape checks the documented sort orders of an answer.
func checkACShape(rt *rapid.T, got placement.Candidates) {
	for _, ar := range got.AllocationRequests {
		if !slices.IsSortedFunc(ar.Allocations, func(a, b placement.Allocation) int {
			return cmpStrings(a.ProviderUUID, b.ProviderUUID, a.ResourceClass, b.ResourceClass)
		}) {
			rt.Fatalf("allocations not sorted: %+v", ar.Allocations)
		}
		for i, m := range ar.Mappings {
			if i > 0 && ar.Mappings[i-1].Suffix >= m.Suffix {
				rt.Fatalf("mappings not sorted by suffix: %+v", ar.Mappings)
			}
			if !slices.IsSorted(m.Providers) || len(m.Providers) == 0 {
				rt.Fatalf("mapping providers not sorted: %+v", m)
			}
		}
	}
	for i, s := range got.ProviderSummaries {
		if i > 0 && got.ProviderSummaries[i-1].UUID >= s.UUID {
			rt.Fatalf("summaries not sorted by uuid")
		}
		if sp, ok := got.Summary(s.UUID); !ok || sp.UUID != s.UUID {
			rt.Fatalf("Summary(%s) not found", s.UUID)
		}
	}
}

func acSorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func acList(got placement.Candidates) []string {
	out := make([]string, len(got.AllocationRequests))
	for i, ar := range got.AllocationRequests {
		out[i] = acCanonical(ar)
	}
	return out
}

func testCandidatesOrdering(t *testing.T, newStore NewStore) {
	rapid.Check(t, func(rt *rapid.T) {
		in := drawACState(rt, t, newStore)
		req := drawACRequest(rt, in)
		base := acCandidates(rt, in.e, req)
		all := acList(base)
		set := slices.Clone(all)
		sort.Strings(set)

		// Every order gives the same set; limits give prefixes.
		for _, order := range []placement.CandidateOrder{placement.DepthFirst, placement.BreadthFirst} {
			for _, random := range []bool{false, true} {
				r := req
				r.Order, r.Randomize, r.Seed = order, random, rapid.Uint64().Draw(rt, "seed")
				full := acCandidates(rt, in.e, r)
				list := acList(full)
				s := slices.Clone(list)
				sort.Strings(s)
				if d := gocmp.Diff(set, s); d != "" {
					rt.Fatalf("order %v random %v: different set (-default +this):\n%s", order, random, d)
				}
				if d := gocmp.Diff(full, acCandidates(rt, in.e, r)); d != "" {
					rt.Fatalf("order %v random %v seed %d: not deterministic:\n%s", order, random, r.Seed, d)
				}
				if len(list) > 1 {
					lim := rapid.IntRange(1, len(list)-1).Draw(rt, "limit")
					r.Limit = lim
					limited := acCandidates(rt, in.e, r)
					if d := gocmp.Diff(list[:lim], acList(limited)); d != "" {
						rt.Fatalf("order %v random %v limit %d: not a prefix (-want +got):\n%s", order, random, lim, d)
					}
					if limited.Capped {
						rt.Fatalf("limited answer reported as capped")
					}
					r.Limit, r.MaxCandidates = 0, lim
					capped := acCandidates(rt, in.e, r)
					if d := gocmp.Diff(list[:lim], acList(capped)); d != "" || !capped.Capped {
						rt.Fatalf("order %v random %v cap %d: not a prefix or not capped (%v):\n%s", order, random, lim, capped.Capped, d)
					}
				}
			}
		}
	})
}

func acSortedCopy(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
