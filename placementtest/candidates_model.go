package placementtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/goplacement/placement"
)

// An independent statement of the allocation candidates semantics
// (REFERENCE §5.2), written as plainly as possible and used two ways: a
// brute-force enumerator over small states (every anchor, every assignment
// of providers to the request's choices) for completeness, and a checker of
// single candidates for soundness. It shares no code with the Engine's
// planner; capacity is judged with the exported capacity core.

// acWorld is a store state indexed for the model.
type acWorld struct {
	st    State
	prov  map[string]placement.ResourceProvider
	roots []string
	tree  map[string][]string // root -> member uuids
}

func newACWorld(st State) *acWorld {
	w := &acWorld{st: st, prov: map[string]placement.ResourceProvider{}, tree: map[string][]string{}}
	for _, p := range st.Providers {
		w.prov[p.UUID] = p
		if p.ParentUUID == "" {
			w.roots = append(w.roots, p.UUID)
		}
		w.tree[p.RootUUID] = append(w.tree[p.RootUUID], p.UUID)
	}
	sort.Strings(w.roots)
	return w
}

func (w *acWorld) traitsOf(p string) []string { return w.st.Traits[p] }
func (w *acWorld) aggsOf(p string) []string   { return w.st.Aggregates[p] }

func (w *acWorld) inventory(p, class string) (placement.ProviderResource, bool) {
	for _, r := range w.st.Resources[p] {
		if r.ResourceClass == class {
			return r, true
		}
	}
	return placement.ProviderResource{}, false
}

func (w *acWorld) isSharing(p string) bool {
	return slices.Contains(w.traitsOf(p), placement.TraitMiscSharesViaAggregate)
}

// sharesWithTree: p shares an aggregate with some provider of root's tree.
func (w *acWorld) sharesWithTree(p, root string) bool {
	for _, q := range w.tree[root] {
		for _, a := range w.aggsOf(p) {
			if slices.Contains(w.aggsOf(q), a) {
				return true
			}
		}
	}
	return false
}

// usableFrom: p is in anchor's tree, or a sharing provider associated with it.
func (w *acWorld) usableFrom(p, anchor string) bool {
	if w.prov[p].RootUUID == anchor {
		return true
	}
	return w.isSharing(p) && w.sharesWithTree(p, anchor)
}

func (w *acWorld) memberOfAll(p string, sets [][]string) bool {
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(a string) bool { return slices.Contains(w.aggsOf(p), a) }) {
			return false
		}
	}
	return true
}

func (w *acWorld) inAnyAgg(p string, aggs []string) bool {
	return slices.ContainsFunc(aggs, func(a string) bool { return slices.Contains(w.aggsOf(p), a) })
}

func hasEveryAnyOf(traits []string, sets [][]string) bool {
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(t string) bool { return slices.Contains(traits, t) }) {
			return false
		}
	}
	return true
}

func (w *acWorld) ancestorOrSelf(a, q string) bool {
	for q != "" {
		if q == a {
			return true
		}
		q = w.prov[q].ParentUUID
	}
	return false
}

// acChoice is one decision of an assignment: which provider serves a class
// of the unsuffixed group, or a whole suffixed group.
type acChoice struct {
	group int    // index in req.Groups
	class string // "" for a suffixed group
}

func acChoices(req *placement.CandidateRequest) []acChoice {
	var out []acChoice
	for gi, g := range req.Groups {
		if g.Suffix == "" {
			for _, r := range g.Resources {
				out = append(out, acChoice{group: gi, class: r.Class})
			}
		} else {
			out = append(out, acChoice{group: gi})
		}
	}
	return out
}

func amountOf(g placement.RequestGroup, class string) int64 {
	for _, r := range g.Resources {
		if r.Class == class {
			return r.Amount
		}
	}
	return 0
}

// valid reports whether the assignment (one provider per choice) around
// anchor satisfies every rule, and returns the candidate it makes.
func (w *acWorld) valid(req *placement.CandidateRequest, choices []acChoice, anchor string, assign []string) (string, bool) {
	rootTraits := w.traitsOf(anchor)
	for _, t := range req.RootRequired {
		if !slices.Contains(rootTraits, t) {
			return "", false
		}
	}
	for _, t := range req.RootForbidden {
		if slices.Contains(rootTraits, t) {
			return "", false
		}
	}
	inTreeRoot := func(g placement.RequestGroup) (string, bool) {
		if g.InTree == "" {
			return "", true
		}
		p, ok := w.prov[g.InTree]
		return p.RootUUID, ok
	}
	sums := map[[2]string]int64{}
	var g0Traits []string
	var g0Provs []string
	suffixedProv := map[int]string{}
	for i, ch := range choices {
		p := assign[i]
		g := req.Groups[ch.group]
		if !w.usableFrom(p, anchor) {
			return "", false
		}
		inOwnTree := w.prov[p].RootUUID == anchor
		if slices.ContainsFunc(g.Forbidden, func(t string) bool { return slices.Contains(w.traitsOf(p), t) }) {
			return "", false
		}
		itRoot, ok := inTreeRoot(g)
		if !ok || (itRoot != "" && w.prov[p].RootUUID != itRoot) {
			return "", false
		}
		if ch.class != "" { // unsuffixed group
			if g.InTree != "" && !inOwnTree {
				return "", false // no sharing providers with in_tree
			}
			if len(g.MemberOf) > 0 {
				if inOwnTree {
					if !w.memberOfAll(p, g.MemberOf) && !w.memberOfAll(anchor, g.MemberOf) {
						return "", false
					}
				} else if !w.memberOfAll(p, g.MemberOf) {
					return "", false
				}
			}
			if w.inAnyAgg(p, g.NotMemberOf) || w.inAnyAgg(anchor, g.NotMemberOf) {
				return "", false
			}
			inv, ok := w.inventory(p, ch.class)
			amount := amountOf(g, ch.class)
			if !ok || placement.CheckUnits(amount, inv.MinUnit, inv.MaxUnit, inv.StepSize) != placement.ReasonNone {
				return "", false
			}
			sums[[2]string{p, ch.class}] += amount
			g0Traits = append(g0Traits, w.traitsOf(p)...)
			if !slices.Contains(g0Provs, p) {
				g0Provs = append(g0Provs, p)
			}
			continue
		}
		// suffixed group: direct rules on its single provider
		if !hasEveryAnyOf(w.traitsOf(p), g.Required) || !w.memberOfAll(p, g.MemberOf) || w.inAnyAgg(p, g.NotMemberOf) {
			return "", false
		}
		if len(g.Resources) == 0 && len(g.Required) == 0 && len(g.MemberOf) == 0 {
			return "", false
		}
		for _, r := range g.Resources {
			inv, ok := w.inventory(p, r.Class)
			if !ok || placement.CheckUnits(r.Amount, inv.MinUnit, inv.MaxUnit, inv.StepSize) != placement.ReasonNone {
				return "", false
			}
			sums[[2]string{p, r.Class}] += r.Amount
		}
		suffixedProv[ch.group] = p
	}
	for gi, g := range req.Groups {
		if g.Suffix == "" && !hasEveryAnyOf(g0Traits, g.Required) {
			return "", false
		}
		_ = gi
	}
	// Capacity of the summed amounts: used + sum within capacity, and
	// sum within max_unit (each single amount passed its unit rules).
	for k, sum := range sums {
		inv, _ := w.inventory(k[0], k[1])
		if sum > inv.MaxUnit || !placement.Fits(inv.Used, sum, placement.Capacity(inv.Total, inv.Reserved, inv.AllocationRatio)) {
			return "", false
		}
	}
	if req.GroupPolicy == placement.GroupPolicyIsolate {
		seen := map[string]bool{}
		for _, p := range suffixedProv {
			if seen[p] {
				return "", false
			}
			seen[p] = true
		}
	}
	for _, set := range req.SameSubtree {
		var ps []string
		for _, s := range set {
			for gi, g := range req.Groups {
				if g.Suffix == s {
					ps = append(ps, suffixedProv[gi])
				}
			}
		}
		if !slices.ContainsFunc(ps, func(top string) bool {
			return !slices.ContainsFunc(ps, func(q string) bool { return !w.ancestorOrSelf(top, q) })
		}) {
			return "", false
		}
	}
	if req.ExcludeNested {
		rootOf := map[string]string{}
		for k := range sums {
			rootOf[k[0]] = w.prov[k[0]].RootUUID
		}
		seen := map[string]bool{}
		for _, r := range rootOf {
			if seen[r] {
				return "", false
			}
			seen[r] = true
		}
	}
	// The candidate, in canonical text form.
	var allocs []string
	for k, sum := range sums {
		allocs = append(allocs, fmt.Sprintf("%s:%s=%d", k[0], k[1], sum))
	}
	sort.Strings(allocs)
	var maps []string
	for gi, g := range req.Groups {
		ps := []string{suffixedProv[gi]}
		if g.Suffix == "" {
			ps = slices.Clone(g0Provs)
			sort.Strings(ps)
		}
		maps = append(maps, g.Suffix+"="+strings.Join(ps, "+"))
	}
	sort.Strings(maps)
	return strings.Join(allocs, ",") + "|" + strings.Join(maps, ","), true
}

// acBruteForce enumerates every candidate of req on the state: every anchor
// root times every assignment of providers to choices.
func acBruteForce(w *acWorld, req *placement.CandidateRequest) map[string]bool {
	out := map[string]bool{}
	choices := acChoices(req)
	provs := make([]string, 0, len(w.st.Providers))
	for _, p := range w.st.Providers {
		provs = append(provs, p.UUID)
	}
	assign := make([]string, len(choices))
	for _, anchor := range w.roots {
		var rec func(i int)
		rec = func(i int) {
			if i == len(choices) {
				if c, ok := w.valid(req, choices, anchor, assign); ok {
					out[c] = true
				}
				return
			}
			for _, p := range provs {
				assign[i] = p
				rec(i + 1)
			}
		}
		rec(0)
	}
	return out
}

// acCheck reports whether a candidate returned by the Engine is valid: some
// anchor and some assignment consistent with its mappings produce exactly it.
func acCheck(w *acWorld, req *placement.CandidateRequest, ar placement.AllocationRequest) bool {
	want := acCanonical(ar)
	choices := acChoices(req)
	opts := make([][]string, len(choices))
	for i, ch := range choices {
		opts[i] = ar.Mapping(req.Groups[ch.group].Suffix)
		if len(opts[i]) == 0 {
			return false
		}
	}
	assign := make([]string, len(choices))
	for _, anchor := range w.roots {
		var rec func(i int) bool
		rec = func(i int) bool {
			if i == len(choices) {
				c, ok := w.valid(req, choices, anchor, assign)
				return ok && c == want
			}
			for _, p := range opts[i] {
				assign[i] = p
				if rec(i + 1) {
					return true
				}
			}
			return false
		}
		if rec(0) {
			return true
		}
	}
	return false
}

// acCanonical is the canonical text form of an allocation request.
func acCanonical(ar placement.AllocationRequest) string {
	var allocs []string
	for _, a := range ar.Allocations {
		allocs = append(allocs, fmt.Sprintf("%s:%s=%d", a.ProviderUUID, a.ResourceClass, a.Used))
	}
	sort.Strings(allocs)
	var maps []string
	for _, m := range ar.Mappings {
		ps := slices.Clone(m.Providers)
		sort.Strings(ps)
		maps = append(maps, m.Suffix+"="+strings.Join(ps, "+"))
	}
	sort.Strings(maps)
	return strings.Join(allocs, ",") + "|" + strings.Join(maps, ",")
}

// acExpectedSummaries lists the providers whose summaries the answer must
// have: every provider of every tree a candidate uses (ExcludeNested: the
// providers used).
func acExpectedSummaries(w *acWorld, req *placement.CandidateRequest, got placement.Candidates) []string {
	used := map[string]bool{}
	for _, ar := range got.AllocationRequests {
		for _, a := range ar.Allocations {
			used[a.ProviderUUID] = true
		}
		for _, m := range ar.Mappings {
			for _, p := range m.Providers {
				used[p] = true
			}
		}
	}
	var out []string
	if req.ExcludeNested {
		for p := range used {
			out = append(out, p)
		}
	} else {
		roots := map[string]bool{}
		for p := range used {
			roots[w.prov[p].RootUUID] = true
		}
		for r := range roots {
			out = append(out, w.tree[r]...)
		}
	}
	sort.Strings(out)
	return out
}
