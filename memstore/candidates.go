package memstore

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/goplacement/placement"
)

// The allocation candidates pushdown (placement.CandidateReader), answered
// from the live indexes under the transaction's lock: the sorted root list
// (state.roots), the per-root sets (byRoot), the trait and class indexes,
// each provider's own TreeProvider (provider.tp) and each root's cached
// copies of its tree's (provider.members), which Trees and
// ProvidersWithCapacity hand out without copying in a View (the read lock
// keeps them unchanged until the View returns). An Update's transaction
// answers with copies instead, since its later writes would change them.

var (
	_ placement.CandidateReader = (*readTx)(nil)
	_ placement.CandidateReader = (*writeTx)(nil)
)

// rootList is a sorted set of providers by uuid, kept in chunks of bounded
// size so that inserting or removing one costs O(sqrt n) rather than O(n).
// Chunks are never empty.
type rootList struct {
	chunks [][]rootEntry
	n      int
	// For laying the roots out in order (cluster.go): churn counts, per
	// chunk, the entries inserted, replaced or removed since its providers
	// were last laid out; churned tells whether any count grew since
	// cluster last looked; left lists the providers removed since.
	churn   []int32
	churned bool
	left    []*provider
	// flat caches every uuid in order, for the unfiltered queries: built
	// by the first reader that needs it (readers may race to build it, so
	// it is an atomic pointer), dropped by every insert and remove (under
	// the write lock), never modified once built.
	flat atomic.Pointer[[]string]
}

// rootEntry keeps the uuid next to the provider, so that listing and
// searching the roots reads only the chunks.
type rootEntry struct {
	uuid string
	p    *provider
}

const rootChunk = 512 // a chunk is split when it grows past 2*rootChunk

func cmpEntry(e rootEntry, u string) int { return strings.Compare(e.uuid, u) }

// seek returns the position of the first provider whose uuid is >= u (ci ==
// len(chunks) at the end) and whether it is u.
func (l *rootList) seek(u string) (ci, i int, found bool) {
	ci, _ = slices.BinarySearchFunc(l.chunks, u, func(c []rootEntry, u string) int {
		return cmpEntry(c[len(c)-1], u)
	})
	if ci == len(l.chunks) {
		return ci, 0, false
	}
	i, found = slices.BinarySearchFunc(l.chunks[ci], u, cmpEntry)
	return ci, i, found
}

// after returns the position of the first provider whose uuid is > u (the
// first one when u is "").
func (l *rootList) after(u string) (ci, i int) {
	if u == "" {
		return 0, 0
	}
	ci, i, found := l.seek(u)
	if found {
		i++
		if i == len(l.chunks[ci]) {
			ci, i = ci+1, 0
		}
	}
	return ci, i
}

func (l *rootList) insert(p *provider) {
	l.flat.Store(nil)
	l.churned = true
	e := rootEntry{p.rec.UUID, p}
	ci, i, found := l.seek(e.uuid)
	if found {
		l.chunks[ci][i] = e
		l.churn[ci]++
		return
	}
	if len(l.chunks) == 0 {
		l.chunks = [][]rootEntry{{e}}
		l.churn = []int32{1}
		l.n = 1
		return
	}
	if ci == len(l.chunks) {
		ci = len(l.chunks) - 1
		i = len(l.chunks[ci])
	}
	c := slices.Insert(l.chunks[ci], i, e)
	l.n++
	l.churn[ci]++
	if len(c) > 2*rootChunk {
		tail := slices.Clone(c[rootChunk:])
		clear(c[rootChunk:])
		l.chunks[ci] = c[:rootChunk]
		l.chunks = slices.Insert(l.chunks, ci+1, tail)
		// (Where the churn was is not known: each half takes half.)
		half := l.churn[ci] / 2
		l.churn[ci] -= half
		l.churn = slices.Insert(l.churn, ci+1, half)
		return
	}
	l.chunks[ci] = c
}

func (l *rootList) remove(u string) {
	l.flat.Store(nil)
	ci, i, found := l.seek(u)
	if !found {
		return
	}
	l.left = append(l.left, l.chunks[ci][i].p)
	c := slices.Delete(l.chunks[ci], i, i+1)
	l.n--
	l.churned = true
	if len(c) == 0 {
		l.chunks = slices.Delete(l.chunks, ci, ci+1)
		l.churn = slices.Delete(l.churn, ci, ci+1)
		return
	}
	l.chunks[ci] = c
	l.churn[ci]++
}

// uuids returns every uuid in order, from the cache (the caller must not
// modify it).
func (l *rootList) uuids() []string {
	if f := l.flat.Load(); f != nil {
		return *f
	}
	all := l.all()
	l.flat.CompareAndSwap(nil, &all)
	return all
}

// all returns the uuids in order (nil for none).
func (l *rootList) all() []string {
	if l.n == 0 {
		return nil
	}
	out := make([]string, 0, l.n)
	for _, c := range l.chunks {
		for _, e := range c {
			out = append(out, e.uuid)
		}
	}
	return out
}

// fits reports whether p has an inventory of class on which amount fits on
// top of its usage.
func fits(p *provider, class string, amount int64) bool {
	i, ok := p.findClass(class)
	return ok && p.res[i].Check(p.res[i].Used, amount) == placement.ReasonNone
}

// treeFits reports whether, for every demand, some provider of the tree
// rooted at root has room for it.
func (st *state) treeFits(root *provider, demands []placement.ResourceAmount) bool {
	below := st.byRoot[root.rec.UUID]
	for _, ra := range demands {
		if fits(root, ra.Class, ra.Amount) {
			continue
		}
		ok := false
		for p := range below {
			if fits(p, ra.Class, ra.Amount) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// rootPasses applies every filter of q to root (After aside).
func (st *state) rootPasses(root *provider, q *placement.RootQuery) bool {
	for _, t := range q.Required {
		if !contains(root.traits, t) {
			return false
		}
	}
	return !containsAny(root.traits, q.Forbidden) && st.treeFits(root, q.Resources)
}

// CandidateRoots answers exactly, walking the root list from q.After, or,
// when a required trait is rare among the roots left, the trait's index.
// A query without filters, or unlimited without resources on common traits
// only (answered without the trait filters: a superset, which the contract
// allows), that asks for (about) every root is answered with a subslice of
// the cached list of every root (no copy).
func (t *readTx) CandidateRoots(q placement.RootQuery) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	st := t.st
	ci, i := st.roots.after(q.After)
	if ci == len(st.roots.chunks) {
		return nil, nil
	}
	left := st.roots.n // an upper bound of the roots after q.After
	var rare provSet
	for _, tr := range q.Required {
		set := st.byTrait[tr]
		if len(set) == 0 {
			return nil, nil
		}
		if rare == nil || len(set) < len(rare) {
			rare = set
		}
	}
	if rare != nil && len(rare)*8 < left {
		var found []*provider
		for p := range rare {
			if p.rec.ParentUUID == "" && (q.After == "" || p.rec.UUID > q.After) && st.rootPasses(p, &q) {
				found = append(found, p)
			}
		}
		slices.SortFunc(found, func(a, b *provider) int { return strings.Compare(a.rec.UUID, b.rec.UUID) })
		if q.Limit > 0 && len(found) > q.Limit {
			found = found[:q.Limit]
		}
		return uuidsOf(found), nil
	}
	filter := len(q.Resources) > 0 || (q.Limit > 0 && len(q.Required) > 0)
	for _, tr := range q.Forbidden {
		if len(st.byTrait[tr]) > 0 {
			filter = true
		}
	}
	if !filter && (q.Limit == 0 || q.Limit >= st.roots.n) {
		// Every root after q.After: a subslice of the cached list (built
		// again after roots change, so only for queries that would walk
		// most of the list anyway).
		all := st.roots.uuids()
		k := 0
		if q.After != "" {
			var found bool
			if k, found = slices.BinarySearch(all, q.After); found {
				k++
			}
		}
		if k == len(all) {
			return nil, nil
		}
		end := len(all)
		if q.Limit > 0 && k+q.Limit < end {
			end = k + q.Limit
		}
		return all[k:end:end], nil
	}
	var out []string
	if q.Limit > 0 {
		out = make([]string, 0, min(q.Limit, left))
	} else {
		out = make([]string, 0, left)
	}
	for ; ci < len(st.roots.chunks); ci, i = ci+1, 0 {
		for _, e := range st.roots.chunks[ci][i:] {
			if !filter || st.rootPasses(e.p, &q) {
				out = append(out, e.uuid)
				if q.Limit > 0 && len(out) == q.Limit {
					return out, nil
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func uuidsOf(ps []*provider) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.rec.UUID
	}
	return out
}

// Trees returns the providers' own TreeProviders (see the file comment).
func (t *readTx) Trees(roots []string) ([]*placement.TreeProvider, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return t.st.trees(roots), nil
}

// trees lists the trees of roots, pointing at a provider's tp for a tree of
// one provider, at the copies in its root's members for a larger one.
func (st *state) trees(roots []string) []*placement.TreeProvider {
	if len(roots) == 0 || st.roots.n == 0 {
		return nil
	}
	// Find each root in the root list, walking it in step with roots (roots
	// asked together are usually consecutive in it, and sorted: when their
	// positions increase, so do their uuids, without comparing any).
	out := make([]*placement.TreeProvider, 0, len(roots))
	chunks := st.roots.chunks
	ci, i := 0, 0
	chunk := chunks[0]
	sorted, prevCi, prevI := true, 0, -1
	for k, r := range roots {
		if i == len(chunk) || chunk[i].uuid != r {
			// (The position of a uuid not found is not kept: it may be
			// past the end of the chunk walked.)
			sci, si, ok := st.roots.seek(r)
			if !ok {
				continue
			}
			ci, i, chunk = sci, si, chunks[sci]
			if ci < prevCi || (ci == prevCi && i < prevI) {
				sorted = false
			}
		}
		prevCi, prevI = ci, i
		p := chunk[i].p
		// (p.tp, next to treeSize, mirrors p.rec: reading it spares a
		// cache line.)
		if p.treeSize == 1 && p.tp.RootUUID == p.tp.UUID {
			out = append(out, &p.tp) // a tree of one provider
		} else {
			m := st.members(p)
			if len(out)+len(m) > cap(out) {
				// Grow out once for the roots left, at the mean size of
				// the trees so far (appends would grow it in steps,
				// copying it at each), within the number of providers.
				mean := (len(out) + len(m)) / (k + 1)
				out = slices.Grow(out, min(len(m)+mean*(len(roots)-k-1), st.provIdx.n-len(out)))
			}
			out = append(out, m...)
		}
		if i++; i == len(chunk) && ci+1 < len(chunks) {
			ci, i = ci+1, 0
			chunk = chunks[ci]
		}
	}
	if !sorted {
		slices.SortStableFunc(out, func(a, b *placement.TreeProvider) int { return strings.Compare(a.RootUUID, b.RootUUID) })
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// members returns copies of the tps of the tree rooted at root, sorted by
// uuid, from root.members (built if need be; the caller must not modify
// it).
func (st *state) members(root *provider) []*placement.TreeProvider {
	if m := root.members.Load(); m != nil {
		return *m
	}
	rp, below, n := st.tree(root.rec.UUID)
	tps := make([]placement.TreeProvider, 0, n)
	if rp != nil {
		tps = append(tps, rp.tp)
	}
	for p := range below {
		tps = append(tps, p.tp)
	}
	slices.SortFunc(tps, func(a, b placement.TreeProvider) int { return strings.Compare(a.UUID, b.UUID) })
	m := make([]*placement.TreeProvider, len(tps))
	for i := range tps {
		m[i] = &tps[i]
	}
	root.members.CompareAndSwap(nil, &m)
	return m
}

// ProvidersWithCapacity answers exactly: the ProviderQuery as Providers
// does, scanning the smallest of its index sets and of the class sets of
// the demands.
func (t *readTx) ProvidersWithCapacity(q placement.CapacityQuery) ([]placement.ProviderCapacity, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return t.st.providersWithCapacity(&q), nil
}

func (st *state) providersWithCapacity(q *placement.CapacityQuery) []placement.ProviderCapacity {
	ok := func(p *provider) bool {
		for _, ra := range q.Resources {
			if !fits(p, ra.Class, ra.Amount) {
				return false
			}
		}
		return true
	}
	var found []*provider
	var smallest provSet
	for _, ra := range q.Resources {
		set := st.byClass[ra.Class]
		if len(set) == 0 {
			return nil
		}
		if smallest == nil || len(set) < len(smallest) {
			smallest = set
		}
	}
	if smallest != nil && q.UUID == "" && q.Name == "" && len(smallest) < st.queryCost(&q.ProviderQuery) {
		for p := range smallest {
			if matches(p, &q.ProviderQuery) && ok(p) {
				found = append(found, p)
			}
		}
		slices.SortFunc(found, func(a, b *provider) int { return strings.Compare(a.rec.UUID, b.rec.UUID) })
	} else {
		for _, p := range st.queryProviders(&q.ProviderQuery) {
			if ok(p) {
				found = append(found, p)
			}
		}
	}
	if len(found) == 0 {
		return nil
	}
	out := make([]placement.ProviderCapacity, len(found))
	for i, p := range found {
		out[i] = placement.ProviderCapacity{ResourceProvider: p.rec, Resources: p.res}
	}
	return out
}

// An Update's transaction answers Trees and ProvidersWithCapacity with
// copies: its own later writes would otherwise change what it returned.

// Trees returns copies of the trees of roots.
func (t *writeTx) Trees(roots []string) ([]*placement.TreeProvider, error) {
	tps, err := t.readTx.Trees(roots)
	if err != nil || len(tps) == 0 {
		return tps, err
	}
	vals := make([]placement.TreeProvider, len(tps))
	for i, tp := range tps {
		vals[i] = *tp
		vals[i].Resources = slices.Clone(tp.Resources)
		vals[i].Traits = slices.Clone(tp.Traits)
		vals[i].Aggregates = slices.Clone(tp.Aggregates)
		tps[i] = &vals[i]
	}
	return tps, nil
}

// ProvidersWithCapacity returns copies of the inventories.
func (t *writeTx) ProvidersWithCapacity(q placement.CapacityQuery) ([]placement.ProviderCapacity, error) {
	rows, err := t.readTx.ProvidersWithCapacity(q)
	for i := range rows {
		rows[i].Resources = slices.Clone(rows[i].Resources)
	}
	return rows, err
}
