package sqlstore

import (
	"maps"
	"slices"
	"sync"

	"github.com/goplacement/placement"
)

// The tree cache (SQLite). Reading the trees of the allocation candidates
// (Trees) costs SQLite and its driver about a microsecond per row, and a
// provider has several rows (its inventories with their usage, traits,
// aggregates): most of a candidates query over many providers. Yet between
// two queries few providers change (a claim changes one or two). So a
// Store keeps what Trees read of each provider, and a query reads, per
// provider of the trees, just its row id and version (one row of integers),
// and the rest only for the providers whose version it does not hold.
//
// A provider's version (schema version 3) changes in every write
// transaction that changes its parent, inventories, usage, traits or
// aggregates: its generation bump changes it in the same statement (the
// claims' case, at no cost), and for a provider changed without one (usage
// moved off it, DELETE /allocations, writes through the Store directly) the
// transaction changes it before it commits (txn.bumpVersions). This holds
// for every process writing the database, as they all run this code; a
// version read in a snapshot therefore names the data of that snapshot. A
// new provider's version is random, so that one deleted and created again,
// even under the same row id, does not meet the versions of its former self
// (the odds are those of a 62-bit collision). Class names are read at every
// query (a small table); entries read with other names are dropped.
//
// Only read transactions use the cache: an Update sees its own writes,
// whose versions change only when it commits.

// defaultTreeCacheSize is the number of providers a Store's tree cache holds
// by default (see WithTreeCache).
const defaultTreeCacheSize = 200_000

// treeCache is a Store's cache of tree providers, by provider row id.
type treeCache struct {
	mu      sync.RWMutex
	classes classNames // the names the entries were read with
	entries map[int64]*treeEntry
	size    int
	roots   rootList
}

// treeEntry is what Trees read of a provider at a version. It is never
// modified once cached (Trees hands out its slices).
type treeEntry struct {
	version      int64
	uuid, parent string
	resources    []placement.ProviderResource
	traits, aggs []string
}

// classNames are the resource classes' names by id: standard ids (below
// 10000) index std, custom ones are in custom.
type classNames struct {
	std    []string
	custom map[int64]string
}

func (c classNames) name(id int64) string {
	if id >= 0 && id < int64(len(c.std)) {
		return c.std[id]
	}
	return c.custom[id]
}

func (c classNames) equal(d classNames) bool {
	return slices.Equal(c.std, d.std) && maps.Equal(c.custom, d.custom)
}

func newTreeCache(size int) *treeCache {
	if size <= 0 {
		return nil
	}
	return &treeCache{size: size}
}

// lookup sets hits[i] to the entry of ids[i] at versions[i] when the cache
// holds it (read with classes), and returns the number of misses.
func (c *treeCache) lookup(classes classNames, ids, versions []int64, hits []*treeEntry) int {
	misses := len(ids)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.classes.equal(classes) {
		return misses
	}
	for i, id := range ids {
		if e := c.entries[id]; e != nil && e.version == versions[i] {
			hits[i] = e
			misses--
		}
	}
	return misses
}

// store caches entries read with classes (ids[i] is entries[i]'s provider).
// When the cache would outgrow its size it starts again empty.
func (c *treeCache) store(classes classNames, ids []int64, entries []*treeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.classes.equal(classes) || len(c.entries)+len(entries) > c.size {
		c.classes, c.entries = classes, nil
	}
	if c.entries == nil {
		c.entries = make(map[int64]*treeEntry, min(c.size, max(len(entries), 64)))
	}
	for i, e := range entries {
		if len(c.entries) >= c.size {
			break
		}
		c.entries[ids[i]] = e
	}
}

// changed records that this transaction changed what Trees reads of a
// provider (see bumpVersions).
func (t *txn) changed(providers ...string) {
	if t.s.trees != nil {
		t.dirty = append(t.dirty, providers...)
	}
}

// bumpVersions changes, before the transaction commits, the version of
// every provider it changed but whose generation it did not bump (which
// changed the version already), and the version of the set of roots if it
// may have changed that.
func (t *txn) bumpVersions() error {
	if t.s.trees == nil {
		return nil
	}
	if t.rootsChanged {
		if _, err := t.exec(qBumpRootsVersion); err != nil {
			return t.fail("roots version", err)
		}
	}
	if len(t.dirty) == 0 {
		return nil
	}
	slices.Sort(t.dirty)
	t.dirty = slices.Compact(t.dirty)
	if len(t.bumped) > 0 {
		slices.Sort(t.bumped)
		t.dirty = slices.DeleteFunc(t.dirty, func(p string) bool {
			_, found := slices.BinarySearch(t.bumped, p)
			return found
		})
		if len(t.dirty) == 0 {
			return nil
		}
	}
	_, err := t.exec(qBumpVersions, t.s.listArg(t.dirty))
	return t.fail("provider versions", err)
}

// rootList caches the roots in uuid order at a version of the set of roots
// (schema version 4): every root, or the first ones (a prefix of the list,
// read page by page by the ordered walk). The random order lists every root
// at every query, and the ordered walk with a limit asks for the same first
// page again and again; on SQLite a root read costs about a third of a
// microsecond, and the set of roots seldom changes.
type rootList struct {
	mu      sync.Mutex
	version int64
	roots   []string // never modified once cached (extended by copying)
	all     bool     // roots is every root, not only the first ones
	ok      bool
}

// listAllRoots is the smallest first page of roots that a stale cache
// answers by listing every root.
const listAllRoots = 1024

// cachedRoots answers an unfiltered CandidateRoots query (q has no
// Resources, Required or Forbidden) from the cache of roots at the
// database's current version, which it fills as it goes:
//   - a page that lies within the cached first roots, or any query once
//     they are all cached, is answered from the cache;
//   - a query for every root, or a first page of at least listAllRoots (the
//     ordered walk of a request without a limit), lists every root into
//     the cache;
//   - the page that follows the cached first roots (the first page, when
//     none is cached) is read in SQL and appended to them.
//
// ok is false when the query is left to SQL (a page beyond the cached
// roots: listing every root could cost far more than the page).
func (t *txn) cachedRoots(q placement.RootQuery) (out []string, ok bool, err error) {
	var version int64
	if err := t.one(qCandidateRootsVersion, nil, &version); err != nil {
		return nil, false, t.fail("candidate roots", err)
	}
	c := &t.s.trees.roots
	c.mu.Lock()
	roots, all := c.roots, c.all
	if !c.ok || c.version != version {
		roots, all = nil, false
	}
	c.mu.Unlock()
	lo := 0
	if q.After != "" {
		lo, _ = slices.BinarySearch(roots, q.After)
		if lo < len(roots) && roots[lo] == q.After {
			lo++
		}
	}
	switch {
	case all || (q.Limit > 0 && lo+q.Limit <= len(roots)):
		// In the cache.
	case q.Limit == 0 || (q.After == "" && q.Limit >= listAllRoots):
		if roots, err = t.roots(placement.RootQuery{}); err != nil {
			return nil, false, err
		}
		t.s.trees.storeRoots(version, roots, true)
	case lo == len(roots) && (q.After == "" || (len(roots) > 0 && q.After == roots[len(roots)-1])):
		page, err := t.roots(q)
		if err != nil {
			return nil, false, err
		}
		t.s.trees.storeRoots(version, append(slices.Clip(roots), page...), len(page) < q.Limit)
		return page, true, nil
	default:
		return nil, false, nil
	}
	hi := len(roots)
	if q.Limit > 0 {
		hi = min(hi, lo+q.Limit)
	}
	if lo >= hi {
		return nil, true, nil
	}
	return slices.Clip(roots[lo:hi]), true, nil
}

// consecutive reports whether sorted (at least two roots, ascending) are
// consecutive in the cached roots, whatever their version: a guess that
// the roots between the first and the last of sorted are all in it.
func (r *rootList) consecutive(sorted []string) bool {
	if len(sorted) < 2 {
		return false
	}
	r.mu.Lock()
	roots := r.roots
	r.mu.Unlock()
	lo, found := slices.BinarySearch(roots, sorted[0])
	return found && lo+len(sorted) <= len(roots) && slices.Equal(roots[lo:lo+len(sorted)], sorted)
}

// storeRoots caches roots (all of them, or the first ones) at version,
// unless another reader cached as many of them (or all) meanwhile.
func (c *treeCache) storeRoots(version int64, roots []string, all bool) {
	r := &c.roots
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ok && r.version == version && (r.all || (!all && len(r.roots) >= len(roots))) {
		return
	}
	r.version, r.roots, r.all, r.ok = version, roots, all, true
}
