package placement

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// This file holds the types of allocation candidates (Placement's
// GET /allocation_candidates) and Engine.AllocationCandidates. The planner is
// in candidates_plan.go, its data access (the optional pushdown SPI and the
// generic fallback) in candidates_source.go, the result building in
// candidates_emit.go.

// ResourceAmount is an amount of a resource class.
type ResourceAmount struct {
	Class  string
	Amount int64
}

// RequestGroup is one group of an allocation candidates request: Placement's
// resources, required, member_of and in_tree query parameters with one suffix.
//
// The unsuffixed group (Suffix "") may be satisfied by several providers of
// one tree plus sharing providers associated with that tree (one provider per
// class). A suffixed group must be satisfied entirely by one provider. A
// suffixed group without Resources (resourceless) maps to the provider that
// matches its Required and MemberOf filters; it must be named in some
// SameSubtree set, and one with neither Required nor MemberOf matches
// nothing, as in Placement.
type RequestGroup struct {
	// Suffix is "" for the unsuffixed group, else 1 to 64 characters of
	// [A-Za-z0-9_-] (Placement's "_COMPUTE" in resources_COMPUTE, or "1").
	Suffix string
	// Resources are the classes and amounts the group asks for (each class
	// once, amounts at least 1).
	Resources []ResourceAmount
	// Required is an AND of any-of sets of traits (Placement's required and
	// required=in:A,B). In the unsuffixed group the providers used by the
	// group must together have them; in a suffixed group its provider must.
	Required [][]string
	// Forbidden traits: no provider used by the group may have any of them.
	Forbidden []string
	// MemberOf is an AND of any-of sets of aggregate uuids. In the
	// unsuffixed group a provider qualifies when it or its tree's root is a
	// member (a sharing provider must be a member itself); in a suffixed
	// group membership is direct.
	MemberOf [][]string
	// NotMemberOf excludes providers in any of these aggregates (for the
	// unsuffixed group also providers whose root, or whose anchor tree's
	// root, is in one of them).
	NotMemberOf []string
	// InTree restricts the group to the tree of this provider (an unknown
	// provider gives no candidates). For the unsuffixed group sharing
	// providers are then not considered at all.
	InTree string
}

// GroupPolicy says how suffixed groups interact (Placement's group_policy).
type GroupPolicy uint8

const (
	// GroupPolicyNone lets suffixed groups land on the same or different
	// providers (amounts on one provider are summed). It is the zero value;
	// Placement requires the REST caller to name a policy when there are
	// several suffixed groups, which is the REST layer's check.
	GroupPolicyNone GroupPolicy = iota
	// GroupPolicyIsolate makes every suffixed group (resourceless ones
	// included) land on a different provider. The unsuffixed group may still
	// share providers with any of them.
	GroupPolicyIsolate
)

// CandidateOrder is the order in which candidates are generated (and so
// which ones a Limit or the cap keeps).
type CandidateOrder uint8

const (
	// DepthFirst (the default) exhausts one anchor tree before the next:
	// all candidates of the first root, then of the second, ...
	DepthFirst CandidateOrder = iota
	// BreadthFirst takes candidates round-robin across anchor trees: the
	// first candidate of every root, then the second of every root that has
	// one, and so on (Placement's breadth-first generation strategy).
	BreadthFirst
)

// DefaultMaxCandidates is the default cap on the number of candidates one
// request generates (see CandidateRequest.MaxCandidates and WithMaxCandidates).
const DefaultMaxCandidates = 100000

// CandidateRequest asks where resources could be allocated right now
// (Placement's GET /allocation_candidates). Nothing is reserved.
//
// # Ordering
//
// Anchors are the roots of the trees candidates are built around (for a
// candidate that uses only sharing providers, any tree they are associated
// with). With the default DepthFirst order anchors are taken in ascending uuid
// order and every candidate of an anchor comes before those of the next;
// BreadthFirst takes them round-robin. Within an anchor, candidates come in
// lexicographic order of their choices: first the unsuffixed group's classes
// (by class name), then the suffixed groups (by suffix), each choosing among
// its eligible providers in ascending uuid order. A candidate that several
// anchors can produce appears once, at its first position. With Randomize
// the anchors are taken in a uniformly random order drawn from Seed and the
// eligible providers of each choice are shuffled (also from Seed): the same
// seed on the same state gives the same answer. Limit and the cap keep the
// first candidates of this order; generation stops as soon as they are
// reached, so a small Limit is cheap even over many providers.
type CandidateRequest struct {
	// Groups: at most one unsuffixed group, any number of suffixed ones;
	// at least one group has resources. Suffixes are unique.
	Groups []RequestGroup
	// GroupPolicy applies to the suffixed groups.
	GroupPolicy GroupPolicy
	// Limit is the most allocation requests returned (0: no limit).
	Limit int
	// RootRequired and RootForbidden are traits the root of the anchor tree
	// must have and must not have (Placement's root_required). A sharing
	// provider used alone is judged as its own anchor.
	RootRequired  []string
	RootForbidden []string
	// SameSubtree lists sets of suffixes (Placement's same_subtree): for
	// each set, one of the providers the named groups map to must be an
	// ancestor-or-self of all the others.
	SameSubtree [][]string
	// MaxCandidates caps the number of candidates generated (0: the
	// Engine's cap, DefaultMaxCandidates unless set with WithMaxCandidates).
	// Generation stops at the cap: no whole product is ever built.
	MaxCandidates int
	// Order is DepthFirst (default) or BreadthFirst across anchors.
	Order CandidateOrder
	// Randomize shuffles anchors and choices with a generator seeded by Seed.
	Randomize bool
	Seed      uint64
	// ExcludeNested is what Placement does before microversion 1.29: drop
	// every candidate that takes resources from more than one provider of
	// the same tree, and list in ProviderSummaries only the providers the
	// returned candidates use.
	ExcludeNested bool
	// RequestedClassesOnly is what Placement does before microversion 1.27:
	// summaries list only the resource classes the request names.
	RequestedClassesOnly bool
}

// Candidates is the answer to a CandidateRequest.
type Candidates struct {
	// AllocationRequests in the order described on CandidateRequest. Each
	// one's Allocations can be written unchanged with SetAllocations.
	AllocationRequests []AllocationRequest
	// ProviderSummaries has every provider of every tree a returned
	// candidate uses, by allocating from it or mapping a group to it (with
	// ExcludeNested: only the providers used), sorted by uuid. Summary
	// finds one.
	ProviderSummaries []ProviderSummary
	// Capped reports that generation stopped at the cap (MaxCandidates):
	// more candidates may exist.
	Capped bool
}

// AllocationRequest is one candidate: what to allocate where, and which
// providers satisfied which group.
type AllocationRequest struct {
	// Allocations sorted by provider then class; amounts of several groups
	// on one provider and class are summed.
	Allocations []Allocation
	// Mappings says which providers satisfied each group, sorted by suffix
	// ("" first); each Providers list is sorted.
	Mappings []GroupMapping
}

// Mapping returns the providers that satisfied the group with this suffix.
func (r *AllocationRequest) Mapping(suffix string) []string {
	for i := range r.Mappings {
		if r.Mappings[i].Suffix == suffix {
			return r.Mappings[i].Providers
		}
	}
	return nil
}

// GroupMapping is the providers that satisfied one request group.
type GroupMapping struct {
	Suffix    string
	Providers []string
}

// ProviderSummary describes a provider involved in the candidates.
type ProviderSummary struct {
	UUID       string
	ParentUUID string // "" for a root
	RootUUID   string
	// Resources: every class the provider has inventory of (with
	// RequestedClassesOnly, only the requested ones), sorted by class.
	Resources []SummaryResource
	// Traits sorted.
	Traits []string
}

// SummaryResource is the capacity (the integer capacity, see CapacityInt)
// and usage of one class on a provider.
type SummaryResource struct {
	Class    string
	Capacity int64
	Used     int64
}

// Summary returns the summary of a provider, if it is in c.ProviderSummaries.
func (c *Candidates) Summary(uuid string) (*ProviderSummary, bool) {
	i, ok := slices.BinarySearchFunc(c.ProviderSummaries, uuid, func(s ProviderSummary, u string) int {
		return strings.Compare(s.UUID, u)
	})
	if !ok {
		return nil, false
	}
	return &c.ProviderSummaries[i], true
}

// AllocationCandidates answers a CandidateRequest in one read transaction:
// the allocation requests that satisfy every group at once (see
// CandidateRequest for their order) and summaries of the providers involved.
// An empty answer is not an error.
//
// Errors: ErrInvalid (a *ValidationError naming the Placement parameter:
// "resources_X", "required_X", "member_of_X", "in_tree_X", "same_subtree",
// "root_required", "limit", ...) for a malformed request; ErrNotFound (a
// *NotFoundError) for unknown resource classes or traits, which Placement
// reports as 400; ErrForbidden when the caller may not list candidates.
//
// Semantics are Placement's (REFERENCE §5.2); the answers were checked
// against Placement 8.0.0 on its own test fixtures and on random states.
// Deliberate differences, all where Placement is inconsistent:
//   - a candidate part made only of sharing providers counts for every
//     anchor it can belong to (Placement de-duplicates each group's parts
//     across anchors before combining them, so it keeps one arbitrary
//     anchor and drops the combinations the others allow);
//   - amounts of a class several groups ask for are summed once per
//     candidate (Placement, when group_policy is not "none", sums into
//     shared objects and can report amounts such as 3 for 1+1);
//   - sharing providers with a parent work (Placement fails with an
//     internal error when their summaries are built);
//   - summaries also cover trees that only a mapping uses (a resourceless
//     group's provider), and in_tree also restricts resourceless groups
//     (Placement ignores it there);
//   - a member_of of the unsuffixed group never narrows the sharing
//     providers seen by other groups (Placement intersects a shared set in
//     place).
//
// Every capacity decision uses the capacity core: a candidate's summed
// amount per provider and class passes (*Inventory).Check, so each
// candidate, claimed alone on the state it was computed from, succeeds.
func (e *Engine) AllocationCandidates(ctx context.Context, req CandidateRequest) (Candidates, error) {
	return e.AllocationCandidatesInto(ctx, req, nil)
}

// CandidateBuffer is memory that AllocationCandidatesInto builds answers in,
// reused from one answer to the next. An answer takes one allocation per
// kind of element (requests, allocations, summaries...), but every one of
// them holds pointers: a large answer (10,000 candidates are about 4 MB)
// costs the garbage collector as much again as it costs to build. A buffer
// that has grown to the size of the answers asked of it allocates nothing
// more. It keeps the memory of its largest answer (and the strings that
// answer held) until it is dropped. The zero value is ready to use; a
// buffer serves one call at a time.
type CandidateBuffer struct {
	mu sync.Mutex
	b  builder
}

// AllocationCandidatesInto is AllocationCandidates building the answer in
// buf's memory, for a caller that asks again and again (a scheduler's loop,
// a server that encodes each answer before the next: one buffer per
// goroutine, or a sync.Pool of them). The answer is valid until buf's next
// use, which overwrites it; the previous answer built in buf must no longer
// be used. A nil buf allocates a new answer (AllocationCandidates). Using
// buf from two calls at once is refused with ErrInvalid.
func (e *Engine) AllocationCandidatesInto(ctx context.Context, req CandidateRequest, buf *CandidateBuffer) (Candidates, error) {
	if buf != nil {
		if !buf.mu.TryLock() {
			return Candidates{}, invalid("candidate buffer", "", "is in use by another call")
		}
		defer buf.mu.Unlock()
	}
	nr, err := normalizeCandidateRequest(&req, e.maxCandidates)
	if err != nil {
		return Candidates{}, err
	}
	var out Candidates
	err = e.view(ctx, ActionAllocationCandidates, Target{}, func(tx ReadTx) error {
		p, err := newPlanner(ctx, tx, nr)
		if err != nil {
			return err
		}
		defer p.release()
		if buf != nil {
			buf.b.rewind()
			p.b = buf.b
			// p.b's chunks are buf's again, whatever happens in run.
			defer func() { buf.b, p.b = p.b, builder{} }()
		}
		out, err = p.run()
		return err
	})
	if err != nil {
		return Candidates{}, err
	}
	return out, nil
}

// WithMaxCandidates sets the Engine's default cap on the number of
// candidates one AllocationCandidates call generates (Placement's
// [placement]max_allocation_candidates; default DefaultMaxCandidates). A
// request's MaxCandidates overrides it. n must be at least 1.
func WithMaxCandidates(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return invalid("max candidates", itoa(int64(n)), "must be at least 1")
		}
		e.maxCandidates = n
		return nil
	}
}
