package memstore

import "unsafe"

// Laying root providers out in uuid order. The allocation candidates planner
// reads roots in ascending uuid order (state.trees), a few cache lines of
// each provider object; providers created in another order (random uuids)
// lie scattered over the heap, and a flat deployment's answer then waits for
// memory at every provider. So once enough of a chunk of the root list has
// changed (clusterShare), the Update that commits the change moves the
// chunk's providers into one new array, in the chunk's order: the planner
// then streams through memory, and the garbage collector marks them faster
// too. An element of an array of more than 32 KB also starts on a cache
// line, which the layout of provider counts on, and takes 768 bytes where
// an object of its own takes 896 (its allocator's header moves it to the
// next size class). Moving changes nothing a reader can see: every index
// and allocation that pointed at the old object points at the new one.
//
// An array lives as long as one of its providers does. Deleted roots count
// as changes of their chunk, so their chunk is laid out again before they
// are more than about 1/clusterShare of it; a chunk split in two may keep
// half an array alive until both halves are laid out again. A root given a
// parent leaves the root list and its array: it is moved to an object of
// its own.

// clusterShare: a chunk is laid out again once the entries inserted,
// replaced or removed since its last layout (rootList.churn) are at least
// 1/clusterShare of its length. A chunk of n roots is moved at most once
// per n/clusterShare changes, so a provider created costs at most
// clusterShare moves of about a microsecond, and at most about 1 root in
// clusterShare lies out of order. (A variable for the tests, which lay
// chunks out at every change.)
var clusterShare = 8

// cluster lays out again the chunks of the root list that changed enough,
// and moves the roots that were given a parent out of their arrays. It runs
// between transactions (Store.update after a commit, Restore): an Update's
// lookup cache and undo log would still point at the objects it replaces.
func (st *state) cluster() {
	l := &st.roots
	if !l.churned {
		return
	}
	l.churned = false
	for _, p := range l.left {
		if p.live && p.rec.ParentUUID != "" {
			st.move(p, new(provider))
		}
	}
	clear(l.left)
	l.left = l.left[:0]
	for ci, c := range l.chunks {
		if int(l.churn[ci])*clusterShare < len(c) {
			continue
		}
		l.churn[ci] = 0
		block := make([]provider, len(c))
		for i := range c {
			st.move(c[i].p, &block[i])
			c[i].p = &block[i]
		}
	}
}

// move makes q, a zero object, the object of p's provider: q takes p's
// fields (its members cache aside, built again when needed) and p's place
// in every index and allocation, and p is zeroed.
func (st *state) move(p, q *provider) {
	q.rec = p.rec
	q.resInline, q.holdInline = p.resInline, p.holdInline
	q.res, q.holders = p.res, p.holders
	if unsafe.SliceData(p.res) == &p.resInline[0] {
		q.res = q.resInline[:len(p.res)]
	}
	if unsafe.SliceData(p.holders) == &p.holdInline[0] {
		q.holders = q.holdInline[:len(p.holders)]
	}
	q.live, q.extra, q.traits, q.aggs, q.treeSize = p.live, p.extra, p.traits, p.aggs, p.treeSize

	st.provIdx.replace(q)
	if st.byName[q.rec.Name] == p {
		st.byName[q.rec.Name] = q
	}
	if q.rec.ParentUUID != "" {
		swapIn(st.children[q.rec.ParentUUID], p, q)
	}
	if q.rec.RootUUID != q.rec.UUID {
		swapIn(st.byRoot[q.rec.RootUUID], p, q)
	}
	for _, t := range q.traits {
		swapIn(st.byTrait[t], p, q)
	}
	for _, a := range q.aggs {
		swapIn(st.byAgg[a], p, q)
	}
	for i := range q.res {
		swapIn(st.byClass[q.res[i].ResourceClass], p, q)
	}
	for _, e := range q.holders {
		for k := range e.allocs {
			if e.allocs[k].p == p {
				e.allocs[k].p = q
			}
		}
	}
	st.refresh(q)
	// Zeroed, p keeps nothing alive in its array, and whatever still read
	// it would see a provider without a uuid, which the tests would notice.
	*p = provider{}
}

// swapIn replaces p with q in set.
func swapIn(set provSet, p, q *provider) {
	delete(set, p)
	set[q] = struct{}{}
}
