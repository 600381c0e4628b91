package placement

import (
	"slices"
	"strings"
)

// Building the answer: allocation requests are carved from a few large
// arenas (no per-candidate allocation of their own), summaries are built
// once at the end for the trees the returned candidates use.

// builder hands out sub-slices of chunked arenas; every handed-out slice has
// its capacity clipped, so a caller appending to it cannot clobber another.
type builder struct {
	reqs   []AllocationRequest
	allocs arena[Allocation]
	maps   arena[GroupMapping]
	strs   arena[string]
}

// arena hands out sub-slices of chunks that double up to 4096 elements.
type arena[T any] struct {
	buf   []T
	chunk int
}

func (a *arena[T]) take(n int) []T {
	if cap(a.buf)-len(a.buf) < n {
		a.chunk = min(max(a.chunk*2, 64), 4096)
		a.buf = make([]T, 0, max(n, a.chunk))
	}
	l := len(a.buf)
	a.buf = a.buf[:l+n]
	return a.buf[l : l+n : l+n]
}

func (b *builder) takeAllocs(n int) []Allocation { return b.allocs.take(n) }
func (b *builder) takeMaps(n int) []GroupMapping { return b.maps.take(n) }
func (b *builder) takeStrs(n int) []string       { return b.strs.take(n) }

// emit records the candidate g currently holds.
func (p *planner) emit(g *gen) {
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

	req := AllocationRequest{Allocations: p.b.takeAllocs(len(ents))}
	for i, e := range ents {
		req.Allocations[i] = Allocation{ProviderUUID: p.pn[e.pid].tp.UUID, ResourceClass: p.r.classes[e.class], Used: e.total}
	}
	nm := len(p.r.groups)
	req.Mappings = p.b.takeMaps(nm)
	nsuf := nm
	if p.r.hasG0 {
		nsuf--
	}
	strs := p.b.takeStrs(len(g0) + nsuf)
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
	p.b.reqs = append(p.b.reqs, req)

	for s := range ns {
		p.markUsed(g.assign[s])
	}
	p.count++
	if p.count >= p.stopAt {
		p.stopped = true
		p.capped = p.stopAt == p.r.maxCandidates
	}
}

// emitSingle records the candidate that puts every group on provider pid.
func (p *planner) emitSingle(pid int32) {
	nd := &p.pn[pid]
	req := AllocationRequest{Allocations: p.b.takeAllocs(p.ncls), Mappings: p.b.takeMaps(len(p.r.groups))}
	for c, total := range p.classTotal {
		req.Allocations[c] = Allocation{ProviderUUID: nd.tp.UUID, ResourceClass: p.r.classes[c], Used: total}
	}
	strs := p.b.takeStrs(len(p.r.groups))
	for gi := range p.r.groups {
		strs[gi] = nd.tp.UUID
		req.Mappings[gi] = GroupMapping{Suffix: p.r.groups[gi].suffix, Providers: strs[gi : gi+1 : gi+1]}
	}
	p.b.reqs = append(p.b.reqs, req)
	p.markUsed(pid)
	p.count++
	if p.count >= p.stopAt {
		p.stopped = true
		p.capped = p.stopAt == p.r.maxCandidates
	}
}

func (p *planner) markUsed(pid int32) {
	if n := len(p.pn); len(p.usedRoot) < n {
		p.usedRoot = growZero(p.usedRoot, n)
		if p.r.excludeNested {
			p.usedProv = growZero(p.usedProv, n)
		}
	}
	p.usedRoot[p.pn[pid].root] = true
	if p.r.excludeNested {
		p.usedProv[pid] = true
	}
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

// result assembles the answer with the summaries of the used trees.
func (p *planner) result() Candidates {
	if len(p.b.reqs) == 0 {
		return Candidates{}
	}
	out := Candidates{AllocationRequests: p.b.reqs, Capped: p.capped}
	var pids []int32
	if p.r.excludeNested {
		for pid, used := range p.usedProv {
			if used {
				pids = append(pids, int32(pid))
			}
		}
	} else {
		n := 0
		for pid, used := range p.usedRoot {
			if used {
				n += int(p.pn[pid].hi - p.pn[pid].lo)
			}
		}
		pids = make([]int32, 0, n)
		for pid, used := range p.usedRoot {
			if used {
				for k := p.pn[pid].lo; k < p.pn[pid].hi; k++ {
					pids = append(pids, k)
				}
			}
		}
	}
	byUUID := func(a, b int32) int { return strings.Compare(p.pn[a].tp.UUID, p.pn[b].tp.UUID) }
	if !slices.IsSortedFunc(pids, byUUID) {
		p.sortByUUID(pids)
	}
	nres, ntraits := 0, 0
	for _, pid := range pids {
		nres += len(p.pn[pid].tp.Resources)
		ntraits += len(p.pn[pid].tp.Traits)
	}
	sums := make([]ProviderSummary, len(pids))
	resArena := make([]SummaryResource, 0, nres)
	traitArena := make([]string, 0, ntraits)
	for i, pid := range pids {
		nd := &p.pn[pid]
		s := &sums[i]
		s.UUID, s.ParentUUID, s.RootUUID = nd.tp.UUID, nd.tp.ParentUUID, nd.tp.RootUUID
		start := len(resArena)
		for k := range nd.tp.Resources {
			r := &nd.tp.Resources[k]
			if p.r.requestedOnly && !hasSorted(p.r.classes, r.ResourceClass) {
				continue
			}
			resArena = append(resArena, SummaryResource{Class: r.ResourceClass, Capacity: r.CapacityInt(), Used: r.Used})
		}
		if len(resArena) > start {
			s.Resources = resArena[start:len(resArena):len(resArena)]
		}
		if len(nd.tp.Traits) > 0 {
			start = len(traitArena)
			traitArena = append(traitArena, nd.tp.Traits...)
			s.Traits = traitArena[start:len(traitArena):len(traitArena)]
		}
	}
	out.ProviderSummaries = sums
	return out
}

// growZero extends s to length n with zero values (also over recycled
// capacity).
func growZero[T any](s []T, n int) []T {
	l := len(s)
	s = slices.Grow(s, n-l)[:n]
	clear(s[l:])
	return s
}

// sortByUUID sorts pids by uuid, comparing 8-byte prefixes as integers
// first (uuids mostly differ there).
func (p *planner) sortByUUID(pids []int32) {
	type sortKey struct {
		prefix uint64
		pid    int32
	}
	keys := make([]sortKey, len(pids))
	for i, pid := range pids {
		u := p.pn[pid].tp.UUID
		var k uint64
		for j := 0; j < 8; j++ {
			k <<= 8
			if j < len(u) {
				k |= uint64(u[j])
			}
		}
		keys[i] = sortKey{k, pid}
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.prefix != b.prefix {
			if a.prefix < b.prefix {
				return -1
			}
			return 1
		}
		return strings.Compare(p.pn[a.pid].tp.UUID, p.pn[b.pid].tp.UUID)
	})
	for i := range keys {
		pids[i] = keys[i].pid
	}
}
