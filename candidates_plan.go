package placement

import (
	"cmp"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The allocation candidates planner.
//
// A candidate is built around an anchor: the root R of a tree. Every request
// group is satisfied by providers "usable from R": the providers of R's tree
// and the sharing providers (trait MISC_SHARES_VIA_AGGREGATE) associated with
// R, i.e. sharing an aggregate with some provider of R's tree. The search is
// a depth-first walk over slots (one per class of the unsuffixed group, one
// per suffixed group) choosing one provider per slot, pruning a prefix as
// soon as a summed amount does not fit (the capacity core), isolate or
// ExcludeNested is broken, the unsuffixed group's traits cannot be met or a
// same_subtree set is broken. Nothing bigger than one candidate is ever
// materialised, and the walk stops at the cap or the limit.
//
// Data is read per tree (CandidateReader.Trees or the fallback), a batch of
// anchors at a time, into compact per-request tables indexed by provider
// number (pid) and by request-local class, trait and group numbers; in
// depth-first order a batch's tables are dropped once it is visited. A tree
// of one provider that no sharing provider serves (a flat deployment's
// compute node) is not indexed: visitFast checks it directly against the
// request compiled into flat lists, and flushFast writes the candidates of
// such trees, with their summaries, in bulk.

type slotKind uint8

const (
	slotClass  slotKind = iota // one class of the unsuffixed group
	slotGroup                  // a suffixed group with resources: all on one provider
	slotMapped                 // a resourceless suffixed group
)

type slot struct {
	kind    slotKind
	group   int
	res     []nres
	lastG0  bool  // the last slot of the unsuffixed group: check its traits
	subtree []int // same_subtree sets complete at this slot
}

// pnode is one provider read by the planner (its data stays in the
// TreeProvider the source returned).
type pnode struct {
	tp           *TreeProvider
	parent, root int32 // pids; -1 when unknown
	lo, hi       int32 // for a root: its tree is pids lo..hi-1 (sorted by uuid)
	sharing      bool
}

type sumEntry struct {
	pid   int32
	class int32
	total int64
}

// gen is the suspended depth-first walk of one anchor.
type gen struct {
	root   int32
	opts   [][]int32 // per slot, eligible pids
	pos    []int32   // per slot, the current option (-1 before the first)
	assign []int32   // per slot, the chosen pid
	sumLen []int32   // per slot, len(sums) before its additions
	sums   []sumEntry
	s      int
	done   bool
	hit    bool // produced at least one candidate
}

type planner struct {
	ctx   context.Context
	err   error // set when ctx ends during the walk
	steps int
	tx    ReadTx
	src   candSource
	r     *normRequest
	slots []slot
	// groupSlot maps a suffixed group to its slot (-1 for the unsuffixed one).
	groupSlot []int
	ncls      int
	ngroups   int
	needAggs  bool

	pn     []pnode
	tw     int      // words per trait bitset
	tbits  []uint64 // pid*tw ...
	resIdx []int32  // pid*ncls + class -> index in pn.res, -1 if none
	gflag  []uint8  // pid*ngroups + group: 1 = in member_of, 2 = in a forbidden aggregate
	elig   []uint8  // pid*nslots + slot: 1 = usable in its own tree, 2 = usable as a sharing provider elsewhere

	reqMask      [][][]uint64 // group -> any-of sets
	forbMask     [][]uint64   // group
	rootReqMask  []uint64
	rootForbMask []uint64
	inTreeRoot   []string // group -> root of its InTree provider
	classTotal   []int64  // class -> amount requested over all groups
	classMulti   []bool   // class -> requested by several groups

	preloaded map[string]int32 // trees read before the anchor walk: root uuid -> pid
	npre      int32            // pids below npre are the preloaded trees
	shByRoot  map[string][]int32
	shAnchors map[int32][]string
	batch     []batchEnt // trees read by the last loadTrees, sorted by root uuid
	fast      fastPlan
	pending   []*TreeProvider // candidates of visitFast not written yet

	// generation state
	stopAt    int
	count     int
	visited   int  // anchors visited
	rootsLeft int  // anchors of the current list not visited yet, the current one included (an estimate)
	ascending bool // anchors are visited in ascending uuid order
	sumSorted bool // the summaries built so far are sorted by uuid
	capped    bool
	stopped   bool
	dedup     map[string]struct{}
	keyBuf    []byte
	usedRoot  []bool
	usedProv  []bool
	scratch   gen
	optBuf    []int32
	gens      []*gen
	pcg       *rand.PCG
	arng      *rand.Rand
	yielded   int
	b         builder
}

func newPlanner(ctx context.Context, tx ReadTx, r *normRequest) (*planner, error) {
	for _, c := range r.classes {
		if _, err := lookupClass(tx, c); err != nil {
			return nil, err
		}
	}
	if err := requireTraits(tx, r.traits); err != nil {
		return nil, err
	}
	p := plannerPool.Get().(*planner)
	p.ctx, p.tx, p.src, p.r, p.ncls, p.ngroups = ctx, tx, newCandSource(tx), r, len(r.classes), len(r.groups)
	p.tw = (len(r.traits) + 63) / 64
	p.groupSlot = make([]int, len(r.groups))
	for gi := range r.groups {
		g := &r.groups[gi]
		p.groupSlot[gi] = -1
		if len(g.memberOf) > 0 || len(g.notMemberOf) > 0 {
			p.needAggs = true
		}
		switch {
		case g.suffix == "":
			for k := range g.res {
				p.slots = append(p.slots, slot{kind: slotClass, group: gi, res: g.res[k : k+1 : k+1]})
			}
			p.slots[len(p.slots)-1].lastG0 = true
		case len(g.res) > 0:
			p.groupSlot[gi] = len(p.slots)
			p.slots = append(p.slots, slot{kind: slotGroup, group: gi, res: g.res})
		default:
			p.groupSlot[gi] = len(p.slots)
			p.slots = append(p.slots, slot{kind: slotMapped, group: gi})
		}
	}
	for si, set := range r.sameSubtree {
		last := 0
		for _, gi := range set {
			last = max(last, p.groupSlot[gi])
		}
		p.slots[last].subtree = append(p.slots[last].subtree, si)
	}
	mask := func(ids []int) []uint64 {
		if len(ids) == 0 {
			return nil
		}
		m := make([]uint64, p.tw)
		for _, t := range ids {
			m[t/64] |= 1 << (t % 64)
		}
		return m
	}
	p.reqMask = make([][][]uint64, len(r.groups))
	p.forbMask = make([][]uint64, len(r.groups))
	for gi := range r.groups {
		for _, set := range r.groups[gi].required {
			p.reqMask[gi] = append(p.reqMask[gi], mask(set))
		}
		p.forbMask[gi] = mask(r.groups[gi].forbidden)
	}
	p.rootReqMask = mask(r.rootRequired)
	p.rootForbMask = mask(r.rootForbidden)
	p.classTotal = make([]int64, p.ncls)
	p.classMulti = make([]bool, p.ncls)
	for _, g := range r.groups {
		for _, rs := range g.res {
			if p.classTotal[rs.class] > 0 {
				p.classMulti[rs.class] = true
			}
			p.classTotal[rs.class] = satAdd(p.classTotal[rs.class], rs.amount)
		}
	}
	p.stopAt = r.maxCandidates
	if r.limit > 0 && r.limit < p.stopAt {
		p.stopAt = r.limit
	}
	return p, nil
}

// plannerPool recycles the planners' scratch tables (never the answer).
var plannerPool = sync.Pool{New: func() any { return new(planner) }}

// release returns p to the pool, keeping only its buffers (emptied, so that
// nothing of the store or of the answer stays reachable).
func (p *planner) release() {
	if cap(p.pn) > 1<<16 {
		return // do not keep huge tables alive
	}
	clear(p.pn[:cap(p.pn)])
	clear(p.batch[:cap(p.batch)])
	clear(p.pending[:cap(p.pending)])
	clear(p.optBuf)
	clear(p.gens)
	keep := planner{
		pn: p.pn[:0], tbits: p.tbits[:0], resIdx: p.resIdx[:0], gflag: p.gflag[:0], elig: p.elig[:0],
		batch: p.batch[:0], pending: p.pending[:0], fast: p.fast.reset(), keyBuf: p.keyBuf[:0], usedRoot: p.usedRoot[:0], usedProv: p.usedProv[:0],
		optBuf: p.optBuf[:0], gens: p.gens[:0],
	}
	keep.scratch = gen{opts: p.scratch.opts[:0], pos: p.scratch.pos[:0], assign: p.scratch.assign[:0], sumLen: p.scratch.sumLen[:0], sums: p.scratch.sums[:0]}
	clear(p.scratch.opts[:cap(p.scratch.opts)])
	*p = keep
	plannerPool.Put(p)
}

func (p *planner) bits(pid int32) []uint64 {
	return p.tbits[int(pid)*p.tw : int(pid)*p.tw+p.tw]
}

func intersects(a, b []uint64) bool {
	for i := range b {
		if a[i]&b[i] != 0 {
			return true
		}
	}
	return false
}

func containsAll(a, b []uint64) bool {
	for i := range b {
		if a[i]&b[i] != b[i] {
			return false
		}
	}
	return true
}

// hasSorted reports whether the sorted list contains s.
func hasSorted(list []string, s string) bool {
	if len(list) > 8 {
		return hasSortedLong(list, s)
	}
	for i := range list {
		if list[i] == s {
			return true
		}
	}
	return false
}

func hasSortedLong(list []string, s string) bool {
	_, ok := slices.BinarySearch(list, s)
	return ok
}

// run computes the answer.
func (p *planner) run() (Candidates, error) {
	r := p.r
	p.inTreeRoot = make([]string, len(r.groups))
	for gi := range r.groups {
		if u := r.groups[gi].inTree; u != "" {
			rp, err := p.src.provider(u)
			if errors.Is(err, ErrNotFound) {
				return Candidates{}, nil
			} else if err != nil {
				return Candidates{}, err
			}
			p.inTreeRoot[gi] = rp.RootUUID
		}
	}
	if r.randomize {
		p.pcg = rand.NewPCG(0, 0)
		p.arng = rand.New(p.pcg)
	}
	if err := p.loadSharing(); err != nil {
		return Candidates{}, err
	}
	p.npre = int32(len(p.pn))
	explicit, err := p.explicitAnchors()
	if err != nil {
		return Candidates{}, err
	}
	p.ascending = !r.randomize
	p.sumSorted = p.ascending
	switch {
	case explicit != nil:
		if r.randomize {
			rng := rand.New(rand.NewPCG(r.seed, anchorStream))
			rng.Shuffle(len(explicit), func(i, j int) { explicit[i], explicit[j] = explicit[j], explicit[i] })
		}
		_, err = p.processRoots(explicit, 0, false)
	case r.randomize:
		err = p.walkRandom()
	default:
		err = p.walkOrdered()
	}
	if err != nil {
		return Candidates{}, err
	}
	p.finishBreadthFirst()
	if p.err != nil {
		return Candidates{}, p.err
	}
	return p.result(), nil
}

const anchorStream = 0x9e3779b97f4a7c15

// loadSharing reads the trees of every sharing provider and, for those
// usable by some slot, the anchors they are associated with.
func (p *planner) loadSharing() error {
	shs, err := p.src.providers(ProviderQuery{Required: [][]string{{TraitMiscSharesViaAggregate}}})
	if err != nil || len(shs) == 0 {
		return err
	}
	roots := make([]string, 0, len(shs))
	for _, s := range shs {
		roots = append(roots, s.RootUUID)
	}
	roots = sortedUnique(roots)
	p.preloaded = make(map[string]int32, len(roots))
	if err := p.loadTrees(roots, true, false); err != nil {
		return err
	}
	for _, e := range p.batch {
		p.preloaded[e.tp.UUID] = e.pid
	}
	p.shByRoot = map[string][]int32{}
	p.shAnchors = map[int32][]string{}
	ns := len(p.slots)
	for pid := range p.pn {
		n := &p.pn[pid]
		if !n.sharing || len(n.tp.Aggregates) == 0 {
			continue
		}
		usable := false
		for s := range ns {
			if p.elig[pid*ns+s]&2 != 0 {
				usable = true
				break
			}
		}
		if !usable {
			continue
		}
		members, err := p.src.providers(ProviderQuery{MemberOf: [][]string{n.tp.Aggregates}})
		if err != nil {
			return err
		}
		var anchors []string
		for _, m := range members {
			anchors = append(anchors, m.RootUUID)
		}
		anchors = sortedUnique(anchors)
		p.shAnchors[int32(pid)] = anchors
		for _, a := range anchors {
			if a != n.tp.RootUUID {
				p.shByRoot[a] = append(p.shByRoot[a], int32(pid))
			}
		}
	}
	for a, list := range p.shByRoot {
		slices.SortFunc(list, func(x, y int32) int { return strings.Compare(p.pn[x].tp.UUID, p.pn[y].tp.UUID) })
		p.shByRoot[a] = list
	}
	return nil
}

// explicitAnchors returns the sorted anchors allowed by in_tree filters, or
// nil when no group has one (the anchors are then streamed).
func (p *planner) explicitAnchors() ([]string, error) {
	var allowed []string
	restricted := false
	for gi := range p.r.groups {
		root := p.inTreeRoot[gi]
		if root == "" {
			continue
		}
		set := []string{root}
		if s := p.groupSlot[gi]; s >= 0 {
			// A sharing provider of that tree may also serve other anchors.
			for pid, anchors := range p.shAnchors {
				if p.pn[pid].tp.RootUUID == root && p.elig[int(pid)*len(p.slots)+s]&2 != 0 {
					set = append(set, anchors...)
				}
			}
		}
		set = sortedUnique(set)
		if !restricted {
			allowed, restricted = set, true
			continue
		}
		allowed = slices.DeleteFunc(allowed, func(a string) bool { return !hasSorted(set, a) })
	}
	if !restricted {
		return nil, nil
	}
	if allowed == nil {
		allowed = []string{}
	}
	return allowed, nil
}

// demands are the amounts that no sharing provider can supply: every
// anchor's own tree must have capacity for each (a filter pushed down to
// CandidateRoots).
func (p *planner) demands() []ResourceAmount {
	ns := len(p.slots)
	var out []ResourceAmount
	for s, sl := range p.slots {
		if sl.kind == slotMapped {
			continue
		}
		shareable := false
		for pid := range p.shAnchors {
			if p.elig[int(pid)*ns+s]&2 != 0 {
				shareable = true
				break
			}
		}
		if shareable {
			continue
		}
		for _, rs := range sl.res {
			ra := ResourceAmount{Class: p.r.classes[rs.class], Amount: rs.amount}
			if !slices.Contains(out, ra) {
				out = append(out, ra)
			}
		}
	}
	return out
}

func (p *planner) rootTraitFilter() (req, forb []string) {
	for _, t := range p.r.rootRequired {
		req = append(req, p.r.traits[t])
	}
	for _, t := range p.r.rootForbidden {
		forb = append(forb, p.r.traits[t])
	}
	return req, forb
}

// walkOrdered streams anchors in ascending uuid order. The first page asks
// for as many roots as candidates may be returned (at least 16; more would
// cost a SQL store a tree read each for nothing), without the demands
// (sharing no provider, most roots usually pass them, and the planner
// checks them anyway while the trees are in the cache); when most anchors
// turn out useless, the source filters the remaining roots by the demands.
func (p *planner) walkOrdered() error {
	var q RootQuery
	q.Required, q.Forbidden = p.rootTraitFilter()
	dem := p.demands()
	q.Limit = max(p.stopAt, 16)
	for !p.stopped {
		roots, err := p.src.roots(q)
		if err != nil {
			return err
		}
		if len(roots) == 0 {
			return nil
		}
		n, err := p.processRoots(roots, 0, q.Resources == nil && len(dem) > 0)
		if err != nil || p.stopped {
			return err
		}
		if n < len(roots) {
			// Most anchors were useless: from roots[n] on, let the
			// source filter the roots by the demands.
			q.Resources = dem
			if n > 0 {
				q.After = roots[n-1]
			}
			q.Limit = min(max(p.stopAt-p.count, 64), 1024)
			continue
		}
		if len(roots) < q.Limit {
			return nil
		}
		q.After = roots[len(roots)-1]
		q.Limit = min(q.Limit*4, max(p.stopAt, 16384))
	}
	return nil
}

// walkRandom visits anchors in a uniformly random order drawn from the seed:
// a lazy Fisher-Yates shuffle of every root, so that a small limit reads
// only a few trees. When most roots drawn turn out useless, the roots are
// filtered by the pushed-down demands first (the order stays the same).
func (p *planner) walkRandom() error {
	req, forb := p.rootTraitFilter()
	all, err := p.src.roots(RootQuery{Required: req, Forbidden: forb})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(p.r.seed, anchorStream))
	perm := newLazyPerm(len(all), rng, p.r.limit)
	dem := p.demands()
	var filtered []string
	drawn := 0
	batch := make([]string, 0, 256)
	size := 64
	if p.stopAt > 64 {
		size = 256
	}
	for !p.stopped && perm.left() > 0 {
		batch = batch[:0]
		for len(batch) < size && perm.left() > 0 {
			r := all[perm.next()]
			drawn++
			if filtered != nil && !hasSorted(filtered, r) {
				continue
			}
			batch = append(batch, r)
		}
		if _, err := p.processRoots(batch, perm.left(), false); err != nil {
			return err
		}
		if filtered == nil && len(dem) > 0 && drawn >= 1024 && p.yielded*16 < drawn {
			if filtered, err = p.src.roots(RootQuery{Resources: dem, Required: req, Forbidden: forb}); err != nil {
				return err
			}
			if filtered == nil {
				filtered = []string{}
			}
		}
	}
	return nil
}

// lazyPerm draws a uniformly random permutation of 0..n-1 one element at a
// time (Fisher-Yates), densely for small n or many draws, else sparsely.
type lazyPerm struct {
	n, i   int
	rng    *rand.Rand
	dense  []int32
	sparse map[int]int
}

func newLazyPerm(n int, rng *rand.Rand, limit int) *lazyPerm {
	lp := &lazyPerm{n: n, rng: rng}
	if limit == 0 || n <= 1<<16 || limit*64 > n {
		lp.dense = make([]int32, n)
		for i := range lp.dense {
			lp.dense[i] = int32(i)
		}
	} else {
		lp.sparse = map[int]int{}
	}
	return lp
}

func (lp *lazyPerm) left() int { return lp.n - lp.i }

func (lp *lazyPerm) next() int {
	i := lp.i
	j := i + lp.rng.IntN(lp.n-i)
	lp.i++
	if lp.dense != nil {
		lp.dense[i], lp.dense[j] = lp.dense[j], lp.dense[i]
		return int(lp.dense[i])
	}
	vi, ok := lp.sparse[i]
	if !ok {
		vi = i
	}
	vj, ok := lp.sparse[j]
	if !ok {
		vj = j
	}
	lp.sparse[j] = vi
	delete(lp.sparse, i)
	return vj
}

// candBatch is the number of anchors whose trees are read and visited
// together: small enough for their data to stay in the processor's cache
// from the reading to the summaries.
const candBatch = 512

// processRoots visits roots as anchors, in the given order, reading their
// trees a batch at a time; more is the number of anchors expected after
// these (for sizing the answer). With mayFilter it stops early, returning
// the number of roots it processed, when most anchors visited were useless
// (the caller then asks the source to filter roots by the demands).
func (p *planner) processRoots(roots []string, more int, mayFilter bool) (int, error) {
	for start := 0; start < len(roots); start += candBatch {
		if p.stopped {
			return start, nil
		}
		if mayFilter && p.visited >= 1024 && p.yielded*16 < p.visited {
			return start, nil
		}
		if err := p.processBatch(roots[start:min(start+candBatch, len(roots))], len(roots)-start+more); err != nil {
			return start, err
		}
	}
	return len(roots), nil
}

// processBatch reads the trees of roots not read yet and visits each root
// as an anchor, in the given order; left is the number of anchors left,
// these included. In depth-first order the trees read are dropped
// afterwards (no later anchor uses them: only sharing providers serve
// several anchors, and their trees are preloaded).
func (p *planner) processBatch(roots []string, left int) error {
	base := len(p.pn)
	toLoad := roots
	if len(p.preloaded) > 0 {
		toLoad = make([]string, 0, len(roots))
		for _, r := range roots {
			if _, ok := p.preloaded[r]; !ok {
				toLoad = append(toLoad, r)
			}
		}
	}
	p.batch = p.batch[:0]
	if len(toLoad) > 0 {
		if err := p.loadTrees(toLoad, p.needAggs, true); err != nil {
			return err
		}
	}
	loaded := p.batch
	// Sorted roots that all came back are loaded's roots, in order.
	inOrder := p.ascending && len(loaded) == len(roots)
	next := 0 // roots usually come sorted, like loaded: try the next one first
	for k, r := range roots {
		e := batchEnt{pid: -1}
		ok := false
		if inOrder {
			e, ok = loaded[k], true
		} else if len(p.preloaded) > 0 {
			e.pid, ok = p.preloaded[r]
		}
		if !ok {
			if next < len(loaded) && loaded[next].tp.UUID == r {
				e = loaded[next]
			} else {
				i, found := slices.BinarySearchFunc(loaded, r, func(x batchEnt, u string) int { return strings.Compare(x.tp.UUID, u) })
				if !found {
					continue
				}
				e, next = loaded[i], i
			}
			next++
		}
		p.rootsLeft = left - k
		p.visited++
		if e.pid < 0 {
			p.visitFast(e.tp)
		} else {
			p.visit(e.pid)
		}
		if p.stopped {
			break
		}
	}
	p.flushFast(left - len(roots))
	p.rootsLeft = 0
	if p.r.order == DepthFirst && len(p.pn) > base {
		p.truncate(base)
	}
	return nil
}

// truncate drops the pids from n on.
func (p *planner) truncate(n int) {
	clear(p.pn[n:])
	p.pn = p.pn[:n]
	p.tbits = p.tbits[:n*p.tw]
	p.resIdx = p.resIdx[:n*p.ncls]
	p.gflag = p.gflag[:n*p.ngroups]
	p.elig = p.elig[:n*len(p.slots)]
	p.usedRoot = p.usedRoot[:min(n, len(p.usedRoot))]
	p.usedProv = p.usedProv[:min(n, len(p.usedProv))]
}

// candNoFastPath turns visitFast off (tests compare both paths).
var candNoFastPath atomic.Bool

// batchEnt is a tree read by loadTrees: its root's pid, or -1 for a tree of
// one provider left to visitFast (tp is then the provider).
type batchEnt struct {
	tp  *TreeProvider
	pid int32
}

// loadTrees reads trees into the tables; p.batch lists them sorted by root
// uuid. With fast, a tree that is a single root provider that is not a
// sharing provider and that no sharing provider serves is not indexed: it
// is left to visitFast.
func (p *planner) loadTrees(roots []string, aggs, fast bool) error {
	tps, err := p.src.trees(roots, aggs)
	if err != nil {
		return err
	}
	fast = fast && !candNoFastPath.Load()
	base := len(p.pn)
	p.batch = p.batch[:0]
	isRoot := func(tp *TreeProvider) bool { return tp.ParentUUID == "" && tp.RootUUID == tp.UUID }
	nextRoot := len(tps) > 0 && isRoot(tps[0])
	for lo := 0; lo < len(tps); {
		hi := lo + 1
		loRoot := nextRoot
		// Two distinct roots are in distinct trees (no need to compare
		// their uuids: flat deployments are all roots).
		for {
			nextRoot = hi < len(tps) && isRoot(tps[hi])
			if hi == len(tps) || (loRoot && nextRoot) || tps[hi].RootUUID != tps[lo].RootUUID {
				break
			}
			hi++
		}
		// (A tree with a sharing provider is preloaded, so not read here:
		// the snapshot's Providers and Trees agree.)
		if fast && hi == lo+1 && loRoot && (p.shByRoot == nil || len(p.shByRoot[tps[lo].UUID]) == 0) {
			p.batch = append(p.batch, batchEnt{tp: tps[lo], pid: -1})
			lo = hi
			continue
		}
		first := len(p.pn)
		for _, tp := range tps[lo:hi] {
			p.pn = append(p.pn, pnode{tp: tp, parent: -1, root: -1, lo: -1, hi: -1})
		}
		tree := p.pn[first:]
		find := func(u string) int32 {
			if len(tree) <= 16 {
				for k := range tree {
					if tree[k].tp.UUID == u {
						return int32(first + k)
					}
				}
				return -1
			}
			i, ok := slices.BinarySearchFunc(tree, u, func(n pnode, u string) int { return strings.Compare(n.tp.UUID, u) })
			if !ok {
				return -1
			}
			return int32(first + i)
		}
		if rp := find(tree[0].tp.RootUUID); rp >= 0 && p.pn[rp].tp.ParentUUID == "" {
			p.pn[rp].lo, p.pn[rp].hi = int32(first), int32(len(p.pn))
			for k := first; k < len(p.pn); k++ {
				p.pn[k].root = rp
				if p.pn[k].tp.ParentUUID != "" {
					p.pn[k].parent = find(p.pn[k].tp.ParentUUID)
				}
			}
			p.batch = append(p.batch, batchEnt{tp: p.pn[rp].tp, pid: rp})
		}
		lo = hi
	}
	p.index(base)
	return nil
}

// index fills the per-provider tables for pids base..len(p.pn)-1.
func (p *planner) index(base int) {
	n := len(p.pn)
	ns, r := len(p.slots), p.r
	p.tbits = slices.Grow(p.tbits, (n-base)*p.tw)[:n*p.tw]
	p.resIdx = slices.Grow(p.resIdx, (n-base)*p.ncls)[:n*p.ncls]
	p.gflag = slices.Grow(p.gflag, (n-base)*p.ngroups)[:n*p.ngroups]
	p.elig = slices.Grow(p.elig, (n-base)*ns)[:n*ns]
	for pid := base; pid < n; pid++ {
		nd := &p.pn[pid]
		nd.sharing = hasSorted(nd.tp.Traits, TraitMiscSharesViaAggregate)
		if p.tw > 0 {
			w := p.tbits[pid*p.tw : pid*p.tw+p.tw]
			clear(w)
			if len(nd.tp.Traits) > 0 {
				for t, name := range r.traits {
					if hasSorted(nd.tp.Traits, name) {
						w[t/64] |= 1 << (t % 64)
					}
				}
			}
		}
		resolveClasses(nd.tp.Resources, r.classes, p.resIdx[pid*p.ncls:pid*p.ncls+p.ncls])
		for gi := range r.groups {
			g := &r.groups[gi]
			var f uint8
			if len(g.memberOf) > 0 {
				in := true
				for _, set := range g.memberOf {
					if !anyIn(nd.tp.Aggregates, set) {
						in = false
						break
					}
				}
				if in {
					f |= 1
				}
			}
			if anyIn(nd.tp.Aggregates, g.notMemberOf) {
				f |= 2
			}
			p.gflag[pid*p.ngroups+gi] = f
		}
	}
	for pid := base; pid < n; pid++ {
		for s := range p.slots {
			p.elig[pid*ns+s] = p.eligibility(int32(pid), s)
		}
	}
}

// resolveClasses sets idx[c] to the index of classes[c] in res, -1 if
// absent. Both lists are sorted by class: merge them, trying equality first
// (cheap when the store shares its class name strings).
func resolveClasses(res []ProviderResource, classes []string, idx []int32) {
	ri := 0
	for c, name := range classes {
		idx[c] = -1
		for ri < len(res) {
			rc := res[ri].ResourceClass
			if rc == name {
				idx[c] = int32(ri)
				ri++
				break
			}
			if rc > name {
				break
			}
			ri++
		}
	}
}

// anyIn reports whether some element of set is in the sorted list.
func anyIn(list, set []string) bool {
	if len(list) > 8 {
		for _, x := range set {
			if hasSortedLong(list, x) {
				return true
			}
		}
		return false
	}
	for _, x := range set {
		for _, y := range list {
			if x == y {
				return true
			}
		}
	}
	return false
}

func (p *planner) gf(pid int32, gi int) uint8 {
	if pid < 0 {
		return 0
	}
	return p.gflag[int(pid)*p.ngroups+gi]
}

// fits reports whether amount fits on the provider's inventory of class on
// top of its usage (the capacity core).
func (p *planner) fits(pid int32, class int, amount int64) bool {
	i := p.resIdx[int(pid)*p.ncls+class]
	if i < 0 {
		return false
	}
	res := &p.pn[pid].tp.Resources[i]
	return res.Check(res.Used, amount) == ReasonNone
}

// eligibility of provider pid for slot s, independent of the anchor: bit 1
// when usable inside its own tree, bit 2 when usable, as a sharing provider,
// from the other trees it is associated with.
func (p *planner) eligibility(pid int32, s int) uint8 {
	sl := &p.slots[s]
	g := &p.r.groups[sl.group]
	nd := &p.pn[pid]
	if nd.root < 0 {
		return 0
	}
	if p.forbMask[sl.group] != nil && intersects(p.bits(pid), p.forbMask[sl.group]) {
		return 0
	}
	if sl.kind == slotClass {
		c := sl.res[0]
		if !p.fits(pid, c.class, c.amount) {
			return 0
		}
		var e uint8
		inM := p.gf(pid, sl.group)&1 != 0
		inF := p.gf(pid, sl.group)&2 != 0
		mOK := len(g.memberOf) == 0 || inM || p.gf(nd.root, sl.group)&1 != 0
		fOK := !inF && p.gf(nd.root, sl.group)&2 == 0
		if mOK && fOK && (g.inTree == "" || nd.tp.RootUUID == p.inTreeRoot[sl.group]) {
			e |= 1
		}
		if nd.sharing && g.inTree == "" && (len(g.memberOf) == 0 || inM) && !inF {
			e |= 2
		}
		return e
	}
	for _, m := range p.reqMask[sl.group] {
		if !intersects(p.bits(pid), m) {
			return 0
		}
	}
	if len(g.memberOf) > 0 && p.gf(pid, sl.group)&1 == 0 {
		return 0
	}
	if p.gf(pid, sl.group)&2 != 0 {
		return 0
	}
	if g.inTree != "" && nd.tp.RootUUID != p.inTreeRoot[sl.group] {
		return 0
	}
	if sl.kind == slotMapped {
		if len(g.required) == 0 && len(g.memberOf) == 0 {
			return 0 // Placement: a resourceless group without filters matches nothing
		}
	} else {
		for _, rs := range sl.res {
			if !p.fits(pid, rs.class, rs.amount) {
				return 0
			}
		}
	}
	if nd.sharing {
		return 3
	}
	return 1
}

// anchorOK checks the anchor-wide rules on root pid.
func (p *planner) anchorOK(root int32) bool {
	if p.rootReqMask != nil && !containsAll(p.bits(root), p.rootReqMask) {
		return false
	}
	if p.rootForbMask != nil && intersects(p.bits(root), p.rootForbMask) {
		return false
	}
	if p.r.hasG0 {
		if p.gf(root, 0)&2 != 0 {
			return false // forbidden aggregate on the anchor's root
		}
		if t := p.inTreeRoot[0]; t != "" && p.pn[root].tp.UUID != t {
			return false
		}
	}
	return true
}

// visit runs the walk of one anchor.
func (p *planner) visit(root int32) {
	if p.steps++; p.steps&4095 == 0 {
		if err := p.ctx.Err(); err != nil {
			p.err, p.stopped = err, true
			return
		}
	}
	if !p.anchorOK(root) {
		return
	}
	if rn := &p.pn[root]; rn.hi-rn.lo == 1 && !rn.sharing && (p.shByRoot == nil || len(p.shByRoot[rn.tp.UUID]) == 0) {
		p.visitSingle(root)
		return
	}
	if p.r.order == BreadthFirst {
		g := &gen{}
		if !p.prepare(g, root, false) {
			return
		}
		if p.next(g) {
			p.yielded++
			if !p.stopped && !g.done {
				p.gens = append(p.gens, g)
			}
		}
		return
	}
	g := &p.scratch
	if !p.prepare(g, root, true) {
		return
	}
	for p.next(g) {
		if p.stopped {
			return
		}
	}
	if g.hit {
		p.yielded++
	}
}

func (p *planner) finishBreadthFirst() {
	for len(p.gens) > 0 && !p.stopped {
		keep := p.gens[:0]
		for _, g := range p.gens {
			if p.next(g) && !g.done {
				keep = append(keep, g)
			}
			if p.stopped {
				return
			}
		}
		p.gens = keep
	}
}

// prepare sets g up for anchor root: the options of every slot. It reports
// false when some slot has none. With reuse, g's buffers are recycled.
func (p *planner) prepare(g *gen, root int32, reuse bool) bool {
	ns := len(p.slots)
	if reuse {
		p.optBuf = p.optBuf[:0]
	} else {
		p.optBuf = nil
	}
	if cap(g.opts) < ns {
		g.opts = make([][]int32, ns)
		g.pos = make([]int32, ns)
		g.assign = make([]int32, ns)
		g.sumLen = make([]int32, ns)
	}
	g.opts, g.pos, g.assign, g.sumLen = g.opts[:ns], g.pos[:ns], g.assign[:ns], g.sumLen[:ns]
	g.sums, g.s, g.done, g.hit, g.root = g.sums[:0], 0, false, false, root
	g.sumLen[0] = 0
	rn := &p.pn[root]
	var shared []int32
	if p.shByRoot != nil {
		shared = p.shByRoot[rn.tp.UUID]
	}
	for s := range ns {
		start := len(p.optBuf)
		i, j := rn.lo, 0
		for i < rn.hi || j < len(shared) {
			var pid int32
			var bit uint8
			switch {
			case j >= len(shared) || (i < rn.hi && p.pn[i].tp.UUID < p.pn[shared[j]].tp.UUID):
				pid, bit = i, 1
				i++
			default:
				pid, bit = shared[j], 2
				j++
			}
			if p.elig[int(pid)*ns+s]&bit != 0 {
				p.optBuf = append(p.optBuf, pid)
			}
		}
		if len(p.optBuf) == start {
			return false
		}
		g.opts[s] = p.optBuf[start:len(p.optBuf):len(p.optBuf)]
		g.pos[s] = -1
	}
	if p.r.randomize {
		p.pcg.Seed(p.r.seed, fnv64(rn.tp.UUID))
		for s := range ns {
			o := g.opts[s]
			p.arng.Shuffle(len(o), func(i, j int) { o[i], o[j] = o[j], o[i] })
		}
	}
	return true
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// next advances g's walk to its next candidate and emits it; false when g
// is exhausted.
func (p *planner) next(g *gen) bool {
	ns := len(p.slots)
	s := g.s
	for !g.done {
		if p.steps++; p.steps&4095 == 0 {
			if err := p.ctx.Err(); err != nil {
				p.err, p.stopped = err, true
				return false
			}
		}
		if s < 0 {
			g.done = true
			break
		}
		g.pos[s]++
		if int(g.pos[s]) >= len(g.opts[s]) {
			g.pos[s] = -1
			s--
			continue
		}
		if !p.try(g, s, g.opts[s][g.pos[s]]) {
			continue
		}
		if s == ns-1 {
			g.s = s
			g.hit = true
			p.emit(g)
			return true
		}
		s++
		g.sumLen[s] = int32(len(g.sums))
	}
	g.s = 0
	return false
}

// try assigns pid to slot s of g and checks every rule that the prefix
// 0..s can already break.
func (p *planner) try(g *gen, s int, pid int32) bool {
	sl := &p.slots[s]
	g.sums = g.sums[:g.sumLen[s]]
	g.assign[s] = pid
	if sl.kind != slotClass && p.r.isolate {
		for t := range s {
			if p.slots[t].kind != slotClass && g.assign[t] == pid {
				return false
			}
		}
	}
	if sl.kind != slotMapped {
		if p.r.excludeNested {
			root := p.pn[pid].root
			for t := range s {
				if q := g.assign[t]; p.slots[t].kind != slotMapped && q != pid && p.pn[q].root == root {
					return false
				}
			}
		}
		for _, rs := range sl.res {
			total := rs.amount
			for k := len(g.sums) - 1; k >= 0; k-- {
				if e := &g.sums[k]; e.pid == pid && e.class == int32(rs.class) {
					total = satAdd(e.total, rs.amount)
					break
				}
			}
			if total != rs.amount && !p.fits(pid, rs.class, total) {
				return false
			}
			g.sums = append(g.sums, sumEntry{pid: pid, class: int32(rs.class), total: total})
		}
	}
	if sl.lastG0 && (len(p.reqMask[0]) > 0) {
		var union [4]uint64
		u := union[:0]
		if p.tw > len(union) {
			u = make([]uint64, 0, p.tw)
		}
		u = u[:p.tw]
		clear(u)
		for t := 0; t <= s; t++ {
			for w, b := range p.bits(g.assign[t]) {
				u[w] |= b
			}
		}
		for _, m := range p.reqMask[0] {
			if !intersects(u, m) {
				return false
			}
		}
	}
	for _, si := range sl.subtree {
		if !p.sameSubtree(g, p.r.sameSubtree[si]) {
			return false
		}
	}
	return true
}

// sameSubtree reports whether one of the providers of the groups is an
// ancestor-or-self of all the others.
func (p *planner) sameSubtree(g *gen, groups []int) bool {
	for _, gi := range groups {
		top := g.assign[p.groupSlot[gi]]
		ok := true
		for _, gj := range groups {
			if !p.ancestorOrSelf(top, g.assign[p.groupSlot[gj]]) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (p *planner) ancestorOrSelf(a, q int32) bool {
	for q >= 0 {
		if q == a {
			return true
		}
		q = p.pn[q].parent
	}
	return false
}

// fastPlan is the request compiled for visitFast: what a tree of one
// provider must pass, in flat lists.
type fastPlan struct {
	ready bool
	never bool // no tree of one provider can satisfy the request
	// traits and aggs: whether the provider has one of names must be want
	// (required any-of sets, forbidden traits, member_of sets, forbidden
	// aggregates).
	traits []anyOf
	aggs   []anyOf
	// inTree: roots the provider must be (in_tree of some group).
	inTree []string
	// checks: amounts that must fit, sorted by class: every group's amount
	// of each class, and the total of a class several groups ask for.
	checks []fastCheck
	names  []string // backs the trait names of traits
}

// reset empties fp, keeping its buffers (cleared: nothing of the request
// stays reachable).
func (fp *fastPlan) reset() fastPlan {
	clear(fp.traits)
	clear(fp.aggs)
	clear(fp.inTree)
	clear(fp.checks)
	clear(fp.names)
	return fastPlan{traits: fp.traits[:0], aggs: fp.aggs[:0], inTree: fp.inTree[:0], checks: fp.checks[:0], names: fp.names[:0]}
}

type fastCheck struct {
	class  string
	amount int64
	same   bool // the class of the previous check
}

type anyOf struct {
	names []string
	want  bool
}

func (p *planner) compileFast() {
	fp := &p.fast
	fp.ready = true
	r := p.r
	add := func(list []anyOf, names []string, want bool) []anyOf {
		for _, t := range list {
			if t.want == want && slices.Equal(t.names, names) {
				return list
			}
		}
		return append(list, anyOf{names, want})
	}
	names := func(ids ...int) []string {
		start := len(fp.names)
		for _, t := range ids {
			fp.names = append(fp.names, r.traits[t])
		}
		return fp.names[start:len(fp.names):len(fp.names)]
	}
	for _, t := range r.rootRequired {
		fp.traits = add(fp.traits, names(t), true)
	}
	if len(r.rootForbidden) > 0 {
		fp.traits = add(fp.traits, names(r.rootForbidden...), false)
	}
	suffixed := 0
	var checksBuf [8]nres
	checks := checksBuf[:0]
	for gi := range r.groups {
		g := &r.groups[gi]
		if g.suffix != "" {
			suffixed++
			if len(g.res) == 0 && len(g.required) == 0 && len(g.memberOf) == 0 {
				fp.never = true // Placement: a resourceless group without filters matches nothing
			}
		}
		// The required traits are tp's own, also for the unsuffixed group
		// (the union of the traits of the providers it uses).
		for _, set := range g.required {
			fp.traits = add(fp.traits, names(set...), true)
		}
		if len(g.forbidden) > 0 {
			fp.traits = add(fp.traits, names(g.forbidden...), false)
		}
		for _, set := range g.memberOf {
			fp.aggs = add(fp.aggs, set, true)
		}
		if len(g.notMemberOf) > 0 {
			fp.aggs = add(fp.aggs, g.notMemberOf, false)
		}
		if g.inTree != "" {
			fp.inTree = append(fp.inTree, p.inTreeRoot[gi])
		}
		checks = append(checks, g.res...)
	}
	if r.isolate && suffixed > 1 {
		fp.never = true
	}
	for c, total := range p.classTotal {
		if p.classMulti[c] {
			checks = append(checks, nres{class: c, amount: total})
		}
	}
	slices.SortStableFunc(checks, func(a, b nres) int { return cmp.Compare(a.class, b.class) })
	for k, c := range checks {
		fp.checks = append(fp.checks, fastCheck{class: r.classes[c.class], amount: c.amount, same: k > 0 && c.class == checks[k-1].class})
	}
}

// visitFast handles an anchor whose tree is tp alone, a root provider that
// is neither a sharing provider nor served by one (see loadTrees): what
// visit, anchorOK, eligibility and visitSingle check for such a tree, on tp
// directly, without indexing it. Every group lands on tp. Its candidate is
// queued, to be written with the others of the batch by flushFast.
func (p *planner) visitFast(tp *TreeProvider) {
	if p.steps++; p.steps&4095 == 0 {
		if err := p.ctx.Err(); err != nil {
			p.err, p.stopped = err, true
			return
		}
	}
	fp := &p.fast
	if !fp.ready {
		p.compileFast()
	}
	if fp.never {
		return
	}
	for _, t := range fp.traits {
		if anyIn(tp.Traits, t.names) != t.want {
			return
		}
	}
	for _, t := range fp.aggs {
		if anyIn(tp.Aggregates, t.names) != t.want {
			return
		}
	}
	for _, root := range fp.inTree {
		if tp.RootUUID != root {
			return
		}
	}
	// The checks and tp.Resources are both sorted by class: merge them.
	res, ri := tp.Resources, -1
	for k := range fp.checks {
		ck := &fp.checks[k]
		if !ck.same {
			for ri++; ; ri++ {
				if ri == len(res) {
					return
				}
				if rc := res[ri].ResourceClass; rc == ck.class {
					break
				} else if rc > ck.class {
					return
				}
			}
		}
		if pr := &res[ri]; pr.Check(pr.Used, ck.amount) != ReasonNone {
			return
		}
	}
	p.yielded++
	p.pending = append(p.pending, tp)
	p.counted()
	if len(p.pending) == fastFlush {
		p.flushFast(p.rootsLeft - 1)
	}
}

// fastFlush is the number of candidates visitFast queues before writing
// them: few enough for their trees to still be in the processor's caches.
const fastFlush = 64

// visitSingle handles an anchor whose tree is one provider that is not a
// sharing provider and that no sharing provider serves: every group lands on
// it, so there is at most one candidate (the flat deployment's fast path).
func (p *planner) visitSingle(root int32) {
	ns := len(p.slots)
	suffixed := 0
	for s := range ns {
		if p.elig[int(root)*ns+s]&1 == 0 {
			return
		}
		if p.slots[s].kind != slotClass {
			suffixed++
		}
	}
	if p.r.isolate && suffixed > 1 {
		return
	}
	for c, total := range p.classTotal {
		if p.classMulti[c] && !p.fits(root, c, total) {
			return
		}
	}
	if p.r.hasG0 {
		for _, m := range p.reqMask[0] {
			if !intersects(p.bits(root), m) {
				return
			}
		}
	}
	p.yielded++
	p.emitSingle(root)
}
