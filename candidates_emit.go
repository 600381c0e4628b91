package placement

import (
	"slices"
	"strings"
)

// Building the answer: allocation requests and summaries are carved from a
// few large arenas sized from an estimate of the candidates still to come
// (see expect), so that a flat deployment's answer takes one allocation per
// kind of element. Summaries are built when a tree is first used, while its
// data is still in the processor's cache; the candidates of trees of one
// provider (visitFast) are written in bulk by flushFast. The summaries come
// out sorted when anchors are visited in ascending order and every tree used
// is a single provider that only its own anchor uses; otherwise result sorts
// them.

// builder holds the answer under construction. Every slice handed out of an
// arena has its capacity clipped, so a caller appending to it cannot
// clobber another.
type builder struct {
	reqs   []AllocationRequest
	allocs arena[Allocation]
	maps   arena[GroupMapping]
	strs   arena[string]
	sums   []ProviderSummary
	sres   arena[SummaryResource]
	traits arena[string]
}

// rewind readies b to build another answer over the memory of the last
// one.
func (b *builder) rewind() {
	b.reqs, b.sums = b.reqs[:0], b.sums[:0]
	b.allocs.rewind()
	b.maps.rewind()
	b.strs.rewind()
	b.sres.rewind()
	b.traits.rewind()
}

// arena hands out sub-slices of chunks. Once rewound (an answer built in a
// CandidateBuffer), it keeps its chunks and carves the next answer from
// them, largest first, before it makes new ones.
type arena[T any] struct {
	buf     []T   // the chunk being carved
	used    [][]T // chunks carved before buf, kept when recycling
	spare   [][]T // chunks free to overwrite, by ascending capacity
	recycle bool
}

// take returns n elements; when the current chunk has not enough room left
// another replaces it: a spare one, or a new one of max(n, hint) elements.
func (a *arena[T]) take(n, hint int) []T {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = a.next(n, hint)
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

// next returns an empty chunk for at least n elements: the largest spare
// one when it is large enough, else a new one of max(n, hint).
func (a *arena[T]) next(n, hint int) []T {
	if !a.recycle {
		return make([]T, 0, max(n, hint))
	}
	if a.buf != nil {
		a.used = append(a.used, a.buf)
	}
	if k := len(a.spare) - 1; k >= 0 && cap(a.spare[k]) >= n {
		c := a.spare[k][:0]
		a.spare[k] = nil
		a.spare = a.spare[:k]
		return c
	}
	return make([]T, 0, max(n, hint))
}

// rewind makes every chunk spare: what was carved from them may be
// overwritten.
func (a *arena[T]) rewind() {
	a.recycle = true
	if a.buf != nil {
		a.used = append(a.used, a.buf)
	}
	a.spare = append(a.spare, a.used...)
	slices.SortFunc(a.spare, func(x, y []T) int { return cap(x) - cap(y) })
	clear(a.used)
	a.used, a.buf = a.used[:0], nil
}

// appendHint appends v to s; when s is full it grows by hint elements (at
// least by half its length, so that repeated growth stays linear).
func appendHint[T any](s []T, v T, hint int) []T {
	if len(s) == cap(s) {
		ns := make([]T, len(s), len(s)+max(hint, len(s)/2, 1))
		copy(ns, s)
		s = ns
	}
	return append(s, v)
}

// expect estimates the number of candidates still to be emitted, the one
// being emitted included: the anchors left to visit times the candidates
// per anchor so far (one before the first), within the cap, and at least 64
// unless the cap is nearer.
func (p *planner) expect() int {
	left := p.stopAt - p.count
	est := p.rootsLeft
	if p.count > 0 && p.visited > 0 {
		est = int(int64(est)*int64(p.count)/int64(p.visited)) + 1
	}
	return min(max(est, 64), left)
}

// expectTrees estimates the number of trees still to be first used, the
// one being added included: at most one per anchor left to visit.
func (p *planner) expectTrees() int {
	return max(min(p.rootsLeft, p.stopAt-p.count), 1)
}

// emit records the candidate g currently holds.
func (p *planner) emit(g *gen) {
	p.flushFast(p.rootsLeft)
	ns := len(p.slots)
	// Consolidated allocations: the last running total of each (pid, class).
	var entBuf [16]sumEntry
	ents := entBuf[:0]
	for k := len(g.sums) - 1; k >= 0; k-- {
		e := g.sums[k]
		dup := false
		for _, x := range ents {
			if x.pid == e.pid && x.class == e.class {
				dup = true
				break
			}
		}
		if !dup {
			ents = append(ents, e)
		}
	}
	for i := 1; i < len(ents); i++ {
		for j := i; j > 0 && p.entLess(ents[j], ents[j-1]); j-- {
			ents[j], ents[j-1] = ents[j-1], ents[j]
		}
	}
	// The unsuffixed group's providers, sorted by uuid.
	var g0Buf [8]int32
	g0 := g0Buf[:0]
	for s := 0; s < ns && p.slots[s].kind == slotClass; s++ {
		if pid := g.assign[s]; !slices.Contains(g0, pid) {
			g0 = append(g0, pid)
		}
	}
	for i := 1; i < len(g0); i++ {
		for j := i; j > 0 && p.pidLess(g0[j], g0[j-1]); j-- {
			g0[j], g0[j-1] = g0[j-1], g0[j]
		}
	}
	// A candidate using only sharing providers may come from several
	// anchors: keep the first.
	if p.shByRoot != nil {
		allSharing := true
		for s := range ns {
			if !p.pn[g.assign[s]].sharing {
				allSharing = false
				break
			}
		}
		if allSharing && p.seen(ents, g0, g) {
			return
		}
	}

	exp := p.expect()
	req := AllocationRequest{Allocations: p.b.allocs.take(len(ents), len(ents)*exp)}
	for i, e := range ents {
		req.Allocations[i] = Allocation{ProviderUUID: p.pn[e.pid].tp.UUID, ResourceClass: p.r.classes[e.class], Used: e.total}
	}
	nm := len(p.r.groups)
	req.Mappings = p.b.maps.take(nm, nm*exp)
	nsuf := nm
	if p.r.hasG0 {
		nsuf--
	}
	strs := p.b.strs.take(len(g0)+nsuf, (len(g0)+nsuf)*exp)
	k := 0
	for gi := range p.r.groups {
		m := &req.Mappings[gi]
		m.Suffix = p.r.groups[gi].suffix
		if s := p.groupSlot[gi]; s >= 0 {
			strs[k] = p.pn[g.assign[s]].tp.UUID
			m.Providers = strs[k : k+1 : k+1]
			k++
			continue
		}
		start := k
		for _, pid := range g0 {
			strs[k] = p.pn[pid].tp.UUID
			k++
		}
		m.Providers = strs[start:k:k]
	}
	p.b.reqs = appendHint(p.b.reqs, req, exp)

	for s := range ns {
		p.markUsed(g.assign[s])
	}
	p.counted()
}

// emitSingle records the candidate that puts every group on provider pid.
func (p *planner) emitSingle(pid int32) {
	p.flushFast(p.rootsLeft)
	p.putSingle(p.pn[pid].tp)
	p.markUsed(pid)
	p.counted()
}

// flushFast writes the candidates queued by visitFast, each putting every
// group on its tree's only provider, with their summaries.
// left is the number of anchors still to visit, for sizing the answer.
func (p *planner) flushFast(left int) {
	n := len(p.pending)
	if n == 0 {
		return
	}
	r := p.r
	// Room for these and for the candidates expected after them.
	later := left
	if p.visited > 0 {
		later = int(int64(later) * int64(p.count) / int64(p.visited))
	}
	later = min(later, p.stopAt-p.count)
	ncls, ng := p.ncls, len(r.groups)
	nres, ntraits := 0, 0
	for _, tp := range p.pending {
		nres += len(tp.Resources)
		ntraits += len(tp.Traits)
	}
	scale := func(k int) int { return k + int(int64(k)*int64(later)/int64(n)) }
	allocs := p.b.allocs.take(n*ncls, scale(n*ncls))
	maps := p.b.maps.take(n*ng, scale(n*ng))
	strs := p.b.strs.take(n*ng, scale(n*ng))
	res := p.b.sres.take(nres, scale(nres))
	traits := p.b.traits.take(ntraits, scale(ntraits))
	p.b.reqs = growHint(p.b.reqs, n, n+later)
	p.b.sums = growHint(p.b.sums, n, n+later)
	reqs := p.b.reqs[len(p.b.reqs) : len(p.b.reqs)+n]
	p.b.reqs = p.b.reqs[:len(p.b.reqs)+n]
	sums := p.b.sums[len(p.b.sums) : len(p.b.sums)+n]
	p.b.sums = p.b.sums[:len(p.b.sums)+n]
	putRequests(p.pending, reqs, allocs, maps, strs, r.classes[:ncls], p.classTotal[:ncls], r.groups)
	ri := putSummaries(p.pending, sums, res, traits, r)
	if ri < len(res) {
		// RequestedClassesOnly left some unused: give them back.
		p.b.sres.buf = p.b.sres.buf[:len(p.b.sres.buf)-(len(res)-ri)]
	}
	p.pending = p.pending[:0] // release clears it
}

// putRequests writes the allocation requests that put every group on one
// provider, one per tree of tps, into reqs, carving their elements from
// allocs, maps and strs. Fields are set one by one: a composite literal
// would be built aside and copied with a bulk write barrier while the GC
// runs.
func putRequests(tps []*TreeProvider, reqs []AllocationRequest, allocs []Allocation, maps []GroupMapping, strs []string,
	classes []string, totals []int64, groups []ngroup) {
	ncls, ng := len(classes), len(groups)
	for k, tp := range tps {
		a := allocs[k*ncls : (k+1)*ncls : (k+1)*ncls]
		for c := range a {
			a[c].ProviderUUID = tp.UUID
			a[c].ResourceClass = classes[c]
			a[c].Used = totals[c]
		}
		m := maps[k*ng : (k+1)*ng : (k+1)*ng]
		st := strs[k*ng : (k+1)*ng : (k+1)*ng]
		for gi := range m {
			st[gi] = tp.UUID
			m[gi].Suffix = groups[gi].suffix
			m[gi].Providers = st[gi : gi+1 : gi+1]
		}
		q := &reqs[k]
		q.Allocations = a
		q.Mappings = m
	}
}

// putSummaries writes the summaries of tps into sums, carving their
// resources and traits from res and traits; it returns the number of
// resources used.
func putSummaries(tps []*TreeProvider, sums []ProviderSummary, res []SummaryResource, traits []string, r *normRequest) int {
	ri, ti := 0, 0
	for k, tp := range tps {
		// Every field is set: sums may be a recycled answer's memory.
		s := &sums[k]
		s.UUID, s.ParentUUID, s.RootUUID = tp.UUID, tp.ParentUUID, tp.RootUUID
		start := ri
		for q := range tp.Resources {
			pr := &tp.Resources[q]
			if r.requestedOnly && !hasSorted(r.classes, pr.ResourceClass) {
				continue
			}
			sr := &res[ri]
			sr.Class = pr.ResourceClass
			sr.Capacity = pr.CapacityInt()
			sr.Used = pr.Used
			ri++
		}
		s.Resources = nil
		if ri > start {
			s.Resources = res[start:ri:ri]
		}
		s.Traits = nil
		if len(tp.Traits) > 0 {
			start = ti
			for _, t := range tp.Traits {
				traits[ti] = t
				ti++
			}
			s.Traits = traits[start:ti:ti]
		}
	}
	return ri
}

// growHint makes room for n more elements in s, growing it to hold total
// more when it has to (and at least by half its length).
func growHint[T any](s []T, n, total int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	ns := make([]T, len(s), len(s)+max(n, total, len(s)/2))
	copy(ns, s)
	return ns
}

// putSingle appends the allocation request that puts every group on tp.
func (p *planner) putSingle(tp *TreeProvider) {
	exp, ng := p.expect(), len(p.r.groups)
	req := AllocationRequest{Allocations: p.b.allocs.take(p.ncls, p.ncls*exp), Mappings: p.b.maps.take(ng, ng*exp)}
	for c, total := range p.classTotal {
		req.Allocations[c] = Allocation{ProviderUUID: tp.UUID, ResourceClass: p.r.classes[c], Used: total}
	}
	strs := p.b.strs.take(ng, ng*exp)
	for gi := range p.r.groups {
		strs[gi] = tp.UUID
		req.Mappings[gi] = GroupMapping{Suffix: p.r.groups[gi].suffix, Providers: strs[gi : gi+1 : gi+1]}
	}
	p.b.reqs = appendHint(p.b.reqs, req, exp)
}

// counted counts a candidate just emitted and stops at the cap or limit.
func (p *planner) counted() {
	p.count++
	if p.count >= p.stopAt {
		p.stopped = true
		p.capped = p.stopAt == p.r.maxCandidates
	}
}

// markUsed records that a candidate uses pid (allocating from it or mapping
// a group to it): the first use of a tree (with ExcludeNested, of a
// provider) adds its summaries.
func (p *planner) markUsed(pid int32) {
	if n := len(p.pn); len(p.usedRoot) < n {
		p.usedRoot = growZero(p.usedRoot, n)
		if p.r.excludeNested {
			p.usedProv = growZero(p.usedProv, n)
		}
	}
	root := p.pn[pid].root
	if p.r.excludeNested {
		if !p.usedProv[pid] {
			p.usedProv[pid] = true
			p.noteTree(root)
			p.addSummaries(pid, pid+1)
		}
		return
	}
	if !p.usedRoot[root] {
		p.usedRoot[root] = true
		p.noteTree(root)
		p.addSummaries(p.pn[root].lo, p.pn[root].hi)
	}
}

// noteTree keeps track of whether the summaries, appended in order of
// first use, are sorted by uuid: they are when the anchors are visited in
// ascending order and every tree used is a single provider (which only its
// own anchor uses) not preloaded (the sharing providers' trees, used from
// any anchor).
func (p *planner) noteTree(root int32) {
	if p.sumSorted && (p.pn[root].hi-p.pn[root].lo != 1 || root < p.npre) {
		p.sumSorted = false
	}
}

// addSummaries appends the summaries of pids lo..hi-1.
func (p *planner) addSummaries(lo, hi int32) {
	hint := p.expectTrees() * int(hi-lo)
	for pid := lo; pid < hi; pid++ {
		p.addSummary(p.pn[pid].tp, hint)
	}
}

// addSummary appends the summary of tp; hint is the number of summaries
// expected, this one included.
func (p *planner) addSummary(tp *TreeProvider, hint int) {
	s := ProviderSummary{UUID: tp.UUID, ParentUUID: tp.ParentUUID, RootUUID: tp.RootUUID}
	n := len(tp.Resources)
	if p.r.requestedOnly {
		n = 0
		for k := range tp.Resources {
			if hasSorted(p.r.classes, tp.Resources[k].ResourceClass) {
				n++
			}
		}
	}
	if n > 0 {
		res := p.b.sres.take(n, n*hint)
		i := 0
		for k := range tp.Resources {
			r := &tp.Resources[k]
			if p.r.requestedOnly && !hasSorted(p.r.classes, r.ResourceClass) {
				continue
			}
			res[i] = SummaryResource{Class: r.ResourceClass, Capacity: r.CapacityInt(), Used: r.Used}
			i++
		}
		s.Resources = res
	}
	if n := len(tp.Traits); n > 0 {
		s.Traits = p.b.traits.take(n, n*hint)
		copy(s.Traits, tp.Traits)
	}
	p.b.sums = appendHint(p.b.sums, s, hint)
}

func (p *planner) entLess(a, b sumEntry) bool {
	if a.pid != b.pid {
		return p.pidLess(a.pid, b.pid)
	}
	return a.class < b.class // classes are numbered in name order
}

// pidLess orders providers by uuid; within a tree pids already are.
func (p *planner) pidLess(a, b int32) bool {
	if p.pn[a].root == p.pn[b].root {
		return a < b
	}
	return p.pn[a].tp.UUID < p.pn[b].tp.UUID
}

// seen reports whether an identical candidate (same allocations, same
// mappings) was emitted already, and remembers this one.
func (p *planner) seen(ents []sumEntry, g0 []int32, g *gen) bool {
	key := p.keyBuf[:0]
	put := func(v uint64) {
		for i := 0; i < 8; i++ {
			key = append(key, byte(v>>(8*i)))
		}
	}
	for _, e := range ents {
		put(uint64(e.pid)<<32 | uint64(e.class))
		put(uint64(e.total))
	}
	put(uint64(len(g0)))
	for _, pid := range g0 {
		put(uint64(pid))
	}
	for s := range p.slots {
		if p.slots[s].kind != slotClass {
			put(uint64(g.assign[s]))
		}
	}
	p.keyBuf = key
	if p.dedup == nil {
		p.dedup = map[string]struct{}{}
	}
	if _, ok := p.dedup[string(key)]; ok {
		return true
	}
	p.dedup[string(key)] = struct{}{}
	return false
}

// result assembles the answer.
func (p *planner) result() Candidates {
	p.flushFast(0)
	if len(p.b.reqs) == 0 {
		return Candidates{}
	}
	if !p.sumSorted {
		sortSummaries(p.b.sums)
	}
	return Candidates{AllocationRequests: p.b.reqs, ProviderSummaries: p.b.sums, Capped: p.capped}
}

// growZero extends s to length n with zero values (also over recycled
// capacity).
func growZero[T any](s []T, n int) []T {
	l := len(s)
	s = slices.Grow(s, n-l)[:n]
	clear(s[l:])
	return s
}

// sortSummaries sorts s by uuid, comparing 8-byte prefixes as integers
// first (uuids mostly differ there), then moving each summary once.
func sortSummaries(s []ProviderSummary) {
	type sortKey struct {
		prefix uint64
		i      int32
	}
	keys := make([]sortKey, len(s))
	for i := range s {
		u := s[i].UUID
		var k uint64
		for j := 0; j < 8; j++ {
			k <<= 8
			if j < len(u) {
				k |= uint64(u[j])
			}
		}
		keys[i] = sortKey{k, int32(i)}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.prefix != b.prefix {
			if a.prefix < b.prefix {
				return -1
			}
			return 1
		}
		return strings.Compare(s[a.i].UUID, s[b.i].UUID)
	})
	// Position k receives the summary at keys[k].i: follow the cycles.
	for k := range keys {
		if keys[k].i < 0 {
			continue
		}
		tmp := s[k]
		j := k
		for {
			src := int(keys[j].i)
			keys[j].i = -1
			if src == k {
				s[j] = tmp
				break
			}
			s[j] = s[src]
			j = src
		}
	}
}
