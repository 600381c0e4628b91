package sqlstore

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goplacement/placement"
)

// The allocation candidates pushdown (placement.CandidateReader) in indexed
// SQL, for both dialects and both kinds of transaction (an Update's sees its
// own writes, as every read of it does).
//
//   - CandidateRoots is one statement walking the roots in uuid order
//     (the distinct values of the root_uuid index, from After on, stopping
//     at Limit), each filtered by its own traits and, per demand, by probes
//     of its own inventory and usage rows (by key) and, only if those fail,
//     of the rest of its tree (the root_uuid index).
//   - Trees reads the providers of the JSON list of roots (the root_uuid
//     index): on SQLite their row ids and versions, which the tree cache
//     (treecache.go) checks, on PostgreSQL also their uuids and parents.
//     On SQLite, roots that the cached list of roots has side by side (the
//     ordered walk's pages) are read with one range of the index instead
//     of one search each, a third of the time.
//     Then, for the providers not cached, by a JSON list of their ids: (on
//     SQLite) their uuids and parents, their inventories with usage, their
//     traits, their aggregates (by key). The rows of each come grouped by
//     provider, in the providers' order (one pass puts them together; rows
//     in another order are sorted first). Every column costs the driver a
//     value per row, often an allocation: the rows carry no more than
//     needed, and on SQLite classes come as ids, named from one small
//     query.
//   - ProvidersWithCapacity is one statement per driving filter, as
//     Providers (with the same filter texts, so the ProviderQuery is
//     applied exactly as there), with a per-provider capacity filter and
//     the provider's inventories and usage joined in.
//
// The demands (class and amount) are bound as one JSON parameter of [class,
// amount] pairs (the list mechanism of list.go) and materialized once per
// statement with their class ids. An inventory passes a demand when the
// amount is within min_unit, max_unit and step_size and fits: SQLite compares
// used + amount with the capacity (total - reserved) * allocation_ratio
// exactly, as the capacity core does; PostgreSQL, whose bigint sum could
// overflow, compares in double precision with a margin, which lets through a
// few more (a superset, allowed by the contract: the Engine checks every
// answer again).

var _ placement.CandidateReader = (*txn)(nil)

// sqlCandClasses: every class's id and name.
const sqlCandClasses = `SELECT id, name FROM resource_classes`

// SQLite texts (compared parameters written +?, see queries.go).
const (
	// The version of the set of roots (treecache.go).
	sqliteCandRootsVersion = `SELECT version FROM roots_version`
	// The demands, a JSON array of [class, amount]; an unknown class has a
	// NULL id, which no inventory matches.
	sqliteCandDemands = `WITH d(class_id, amount) AS MATERIALIZED (
  SELECT c.id, j.value ->> 1 FROM json_each(?) AS j LEFT JOIN resource_classes c ON c.name = j.value ->> 0)
`
	// An inventory i (with its usage row u) on which demand d fits.
	sqliteCandFits = `d.amount >= i.min_unit AND d.amount <= i.max_unit AND d.amount % i.step_size = 0
  AND COALESCE(u.used, 0) + d.amount <= (i.total - i.reserved) * i.allocation_ratio`
	// Roots in uuid order: the distinct values of the root_uuid index (a
	// provider's root_uuid names the root of its tree, which has its own
	// uuid there), read in order and so lazily: a query with a limit stops
	// early. (Walking the uuid index instead reads every provider's row to
	// find the roots; the parent_uuid index needs a sort.) The filtered
	// queries join each root's row (its id) and keep the order of the
	// subquery, which SQLite runs as a co-routine feeding the outer loop;
	// CandidateRoots checks the order all the same.
	sqliteCandRootsAll   = `SELECT DISTINCT root_uuid FROM resource_providers WHERE root_uuid > +? ORDER BY root_uuid`
	sqliteCandRootsWhere = `SELECT p.uuid FROM (` + sqliteCandRootsAll + `) AS q CROSS JOIN resource_providers p WHERE p.uuid = q.root_uuid`
	// Every demand fits on the root itself or, failing that, on another
	// provider of its tree (so that a tree of one provider costs one probe
	// per demand).
	sqliteCandRootDemands = `
AND NOT EXISTS (SELECT 1 FROM d WHERE NOT EXISTS (
  SELECT 1 FROM inventories i LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
  WHERE i.provider_id = p.id AND i.class_id = d.class_id AND ` + sqliteCandFits + `)
AND NOT EXISTS (
  SELECT 1 FROM resource_providers m
  CROSS JOIN inventories i ON i.provider_id = m.id AND i.class_id = d.class_id
  LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
  WHERE m.root_uuid = p.uuid AND m.id <> p.id AND ` + sqliteCandFits + `))`
	sqliteCandRoots       = sqliteCandDemands + sqliteCandRootsWhere + sqliteCandRootDemands
	sqliteCandRootsTraits = sqliteCandDemands + sqliteCandRootsWhere + `
AND NOT EXISTS (SELECT 1 FROM json_each(?) AS r WHERE NOT EXISTS (
  SELECT 1 FROM provider_traits t WHERE t.provider_id = p.id AND t.trait = r.value))
AND NOT EXISTS (SELECT 1 FROM provider_traits t WHERE t.provider_id = p.id AND t.trait IN (SELECT value FROM json_each(?)))` +
		sqliteCandRootDemands
	// The trees of a JSON list of roots: their providers (with the index
	// of their root in the list), then by a JSON list of the providers' ids
	// (an id finds its rows by key, without the root_uuid index again)
	// their inventories with usage, traits and aggregates.
	sqliteCandTrees = `SELECT p.id, p.version, r.key FROM json_each(?) AS r CROSS JOIN resource_providers p
WHERE p.root_uuid = r.value`
	// The trees of the roots from ? to ? (by the root_uuid index, in
	// order): what Trees reads instead when it asks for a run of
	// consecutive roots (see treeRange).
	sqliteCandTreeRange = `SELECT p.id, p.version, p.root_uuid FROM resource_providers p
WHERE p.root_uuid >= +? AND p.root_uuid <= +? ORDER BY p.root_uuid`
	sqliteCandTreeProviders = `SELECT p.id, p.uuid, p.parent_uuid FROM json_each(?) AS r CROSS JOIN resource_providers p
WHERE p.id = r.value`
	sqliteCandTreeResources = `SELECT i.provider_id, i.class_id, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio,
  i.created_at, i.updated_at, COALESCE(u.used, 0)
FROM json_each(?) AS r CROSS JOIN inventories i
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
WHERE i.provider_id = r.value`
	sqliteCandTreeTraits     = `SELECT t.provider_id, t.trait FROM json_each(?) AS r CROSS JOIN provider_traits t WHERE t.provider_id = r.value`
	sqliteCandTreeAggregates = `SELECT a.provider_id, a.aggregate FROM json_each(?) AS r CROSS JOIN provider_aggregates a WHERE a.provider_id = r.value`
	// Providers with capacity: the columns of providerResourceCols, the
	// filters of Providers (sqliteProviderExact, sqliteProviderSets, which
	// ends with the ORDER BY) and the capacity filter.
	sqliteCandCapacity = ` AND NOT EXISTS (SELECT 1 FROM d WHERE NOT EXISTS (
  SELECT 1 FROM inventories i LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
  WHERE i.provider_id = p.id AND i.class_id = d.class_id AND ` + sqliteCandFits + `))`
	sqliteCapAll      = sqliteCandDemands + providerResourceCols + `WHERE true` + sqliteProviderExact + sqliteCandCapacity + sqliteProviderSets
	sqliteCapByUUID   = sqliteCandDemands + providerResourceCols + `WHERE p.uuid = +?` + sqliteProviderExact + sqliteCandCapacity + sqliteProviderSets
	sqliteCapByName   = sqliteCandDemands + providerResourceCols + `WHERE p.name = +?` + sqliteProviderExact + sqliteCandCapacity + sqliteProviderSets
	sqliteCapByParent = sqliteCandDemands + providerResourceCols + `WHERE p.parent_uuid = +?` + sqliteProviderExact + sqliteCandCapacity + sqliteProviderSets
	sqliteCapByRoot   = sqliteCandDemands + providerResourceCols + `WHERE p.root_uuid = +?` + sqliteProviderExact + sqliteCandCapacity + sqliteProviderSets
)

// PostgreSQL texts ('?' rebound to $n).
const (
	pgCandDemands = `WITH d(class_id, amount) AS MATERIALIZED (
  SELECT c.id, CAST(j.v ->> 1 AS BIGINT) FROM jsonb_array_elements(CAST(? AS jsonb)) AS j(v)
  LEFT JOIN resource_classes c ON c.name = j.v ->> 0)
`
	// The sum used + amount is compared in double precision (a bigint sum
	// could overflow), with a margin that covers its rounding.
	pgCandFits = `d.amount >= i.min_unit AND d.amount <= i.max_unit AND d.amount % i.step_size = 0
  AND CAST(COALESCE(u.used, 0) AS DOUBLE PRECISION) + CAST(d.amount AS DOUBLE PRECISION)
    <= CAST(i.total - i.reserved AS DOUBLE PRECISION) * i.allocation_ratio * 1.000001 + 1`
	pgCandRootsWhere = `SELECT p.uuid FROM resource_providers p WHERE p.parent_uuid = '' AND p.uuid > ?`
	// LIMIT NULL is no limit.
	pgCandRootsAll    = pgCandRootsWhere + ` ORDER BY p.uuid LIMIT ?`
	pgCandRootDemands = `
AND NOT EXISTS (SELECT 1 FROM d WHERE NOT EXISTS (
  SELECT 1 FROM resource_providers m
  JOIN inventories i ON i.provider_id = m.id AND i.class_id = d.class_id
  LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
  WHERE m.root_uuid = p.uuid AND ` + pgCandFits + `))`
	pgCandRoots       = pgCandDemands + pgCandRootsWhere + pgCandRootDemands + ` ORDER BY p.uuid LIMIT ?`
	pgCandRootsTraits = pgCandDemands + pgCandRootsWhere + `
AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(CAST(? AS jsonb)) AS r(v) WHERE NOT EXISTS (
  SELECT 1 FROM provider_traits t WHERE t.provider_id = p.id AND t.trait = r.v))
AND NOT EXISTS (SELECT 1 FROM provider_traits t WHERE t.provider_id = p.id AND t.trait IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))))` +
		pgCandRootDemands + ` ORDER BY p.uuid LIMIT ?`
	// The trees (as on SQLite; inventories come with the class name).
	pgCandTrees = `SELECT p.id, CAST(0 AS BIGINT), r.k - 1, p.uuid, p.parent_uuid
FROM jsonb_array_elements_text(CAST(? AS jsonb)) WITH ORDINALITY AS r(v, k)
JOIN resource_providers p ON p.root_uuid = r.v`
	pgCandTreeProviders = `SELECT p.id, p.uuid, p.parent_uuid FROM resource_providers p
WHERE p.id IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))`
	pgCandTreeResources = `SELECT i.provider_id, c.name, i.total, i.reserved, i.min_unit, i.max_unit, i.step_size, i.allocation_ratio,
  i.created_at, i.updated_at, COALESCE(u.used, 0)
FROM inventories i
JOIN resource_classes c ON c.id = i.class_id
LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
WHERE i.provider_id IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))`
	pgCandTreeTraits = `SELECT t.provider_id, t.trait FROM provider_traits t
WHERE t.provider_id IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))`
	pgCandTreeAggregates = `SELECT a.provider_id, a.aggregate FROM provider_aggregates a
WHERE a.provider_id IN (SELECT CAST(jsonb_array_elements_text(CAST(? AS jsonb)) AS BIGINT))`
	pgCandCapacity = ` AND NOT EXISTS (SELECT 1 FROM d WHERE NOT EXISTS (
  SELECT 1 FROM inventories i LEFT JOIN usages u ON u.provider_id = i.provider_id AND u.class_id = i.class_id
  WHERE i.provider_id = p.id AND i.class_id = d.class_id AND ` + pgCandFits + `))`
	pgCapAll      = pgCandDemands + providerResourceCols + `WHERE true` + pgProviderExact + pgCandCapacity + pgProviderSets
	pgCapByUUID   = pgCandDemands + providerResourceCols + `WHERE p.uuid = ?` + pgProviderExact + pgCandCapacity + pgProviderSets
	pgCapByName   = pgCandDemands + providerResourceCols + `WHERE p.name = ?` + pgProviderExact + pgCandCapacity + pgProviderSets
	pgCapByParent = pgCandDemands + providerResourceCols + `WHERE p.parent_uuid = ?` + pgProviderExact + pgCandCapacity + pgProviderSets
	pgCapByRoot   = pgCandDemands + providerResourceCols + `WHERE p.root_uuid = ?` + pgProviderExact + pgCandCapacity + pgProviderSets
)

// demandsArg encodes amounts as a JSON array of [class, amount] pairs (see
// list.go). A class that cannot be stored (not valid UTF-8) is left out, so
// the filter lets more through, which the callers allow.
func (s *Store) demandsArg(res []placement.ResourceAmount) string {
	rows := make([][2]any, 0, len(res))
	for _, ra := range res {
		if e, ok := s.element(ra.Class); ok {
			rows = append(rows, [2]any{e, ra.Amount})
		}
	}
	return mustJSON(rows)
}

// CandidateRoots lists roots in uuid order after q.After, at most q.Limit,
// filtered exactly by q's traits and demands.
func (t *txn) CandidateRoots(q placement.RootQuery) ([]string, error) {
	if t.s.trees != nil && !t.write && len(q.Resources) == 0 && len(q.Required) == 0 && len(q.Forbidden) == 0 {
		out, ok, err := t.cachedRoots(q)
		if ok || err != nil {
			return out, err
		}
	}
	return t.roots(q)
}

// roots is CandidateRoots in SQL.
func (t *txn) roots(q placement.RootQuery) ([]string, error) {
	var limit any // nil: no limit (PostgreSQL's LIMIT NULL)
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	pg := t.s.dialect == PostgreSQL
	var args []any
	var id stmtID
	switch {
	case len(q.Required) > 0 || len(q.Forbidden) > 0:
		id = qCandidateRootsTraits
		args = append(make([]any, 0, 5), t.s.demandsArg(q.Resources), q.After, t.s.listArg(q.Required), t.s.listArg(q.Forbidden))
	case len(q.Resources) > 0:
		id = qCandidateRoots
		args = append(make([]any, 0, 3), t.s.demandsArg(q.Resources), q.After)
	default:
		id = qCandidateRootsAll
		args = append(make([]any, 0, 2), q.After)
	}
	if pg {
		args = append(args, limit)
	}
	rows, err := t.query(id, args...)
	if err == errNoMatch {
		return nil, nil // After cannot be stored: only by a caller's mistake
	}
	if err != nil {
		return nil, t.fail("candidate roots", err)
	}
	defer rows.Close()
	var out []string
	if q.Limit > 0 {
		out = make([]string, 0, min(q.Limit, 1024))
	}
	ordered := true
	for rows.Next() {
		r := rows.text(0)
		if len(out) > 0 && r <= out[len(out)-1] {
			ordered = false // (not seen: see sqliteCandRootsWhere) read all, sort below
		}
		out = append(out, r)
		if ordered && q.Limit > 0 && len(out) == q.Limit {
			break // SQLite stops here: the rest is never computed
		}
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("candidate roots", err)
	}
	if err := rows.scanErr(); err != nil {
		return nil, t.fail("candidate roots", err)
	}
	if err := rows.Close(); err != nil {
		return nil, t.fail("candidate roots", err)
	}
	if !ordered {
		slices.Sort(out)
		out = slices.Compact(out)
		if q.Limit > 0 && len(out) > q.Limit {
			out = out[:q.Limit]
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Trees returns every provider of the trees rooted at roots with its
// inventories and usage, traits and aggregates, sorted by root then uuid.
func (t *txn) Trees(roots []string) ([]*placement.TreeProvider, error) {
	if len(roots) == 0 {
		return nil, t.check()
	}
	// The roots in order, as the JSON list is: a row's root is named by
	// its index in the list, so that providers share their root's string.
	sorted := roots
	if !slices.IsSorted(roots) {
		sorted = slices.Clone(roots)
		slices.Sort(sorted)
	}
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] { // (roots come without duplicates)
			sorted = slices.Compact(slices.Clone(sorted))
			break
		}
	}
	if slices.ContainsFunc(sorted, func(r string) bool { return !utf8.ValidString(r) }) {
		// No stored uuid is invalid UTF-8 (the JSON list could not carry it).
		sorted = slices.DeleteFunc(slices.Clone(sorted), func(r string) bool { return !utf8.ValidString(r) })
		if len(sorted) == 0 {
			return nil, t.check()
		}
	}
	var classes classNames // SQLite: inventories come with class ids
	if t.s.dialect == SQLite {
		var err error
		if classes, err = t.classNames(); err != nil {
			return nil, err
		}
	}
	var l treeList
	var err error
	if t.s.trees != nil && t.s.trees.roots.consecutive(sorted) {
		err = t.treeRange(&l, sorted)
	} else {
		err = t.treeList(&l, t.s.listArg(sorted), len(sorted))
	}
	if err != nil || len(l.ids) == 0 {
		return nil, err
	}
	cache := t.s.trees
	if t.write {
		cache = nil // (see treecache.go)
	}
	entries := make([]*treeEntry, len(l.ids))
	misses := len(l.ids)
	if cache != nil {
		misses = cache.lookup(classes, l.ids, l.versions, entries)
	}
	if misses > 0 {
		if err := t.readEntries(&l, classes, entries, misses, cache); err != nil {
			return nil, err
		}
	}
	provs := make([]placement.TreeProvider, len(entries))
	out := make([]*placement.TreeProvider, len(entries))
	for i, e := range entries {
		provs[i] = placement.TreeProvider{UUID: e.uuid, ParentUUID: e.parent, RootUUID: sorted[l.keys[i]],
			Resources: e.resources, Traits: e.traits, Aggregates: e.aggs}
		out[i] = &provs[i]
	}
	sortTrees(out)
	return out, nil
}

// eachRow runs statement id, one of the trees' reads, and hands row every
// row; an argument that cannot match anything stored (errNoMatch) reads no
// row.
func (t *txn) eachRow(id stmtID, row func(r *rawRows), args ...any) error {
	rows, err := t.query(id, args...)
	if err == errNoMatch {
		return nil
	}
	if err != nil {
		return t.fail("trees", err)
	}
	defer rows.Close()
	for rows.Next() {
		row(rows)
	}
	if err := rows.Err(); err != nil {
		return t.fail("trees", err)
	}
	if err := rows.scanErr(); err != nil {
		return t.fail("trees", err)
	}
	return t.fail("trees", rows.Close())
}

// treeList is the providers of the trees: row id, version and root (its
// index in the list of roots); on PostgreSQL also uuid and parent.
type treeList struct {
	ids, versions []int64
	keys          []int
	uuids, parent []string
}

// treeList reads the providers of the trees (arg: the JSON list of the n
// roots).
func (t *txn) treeList(l *treeList, arg string, n int) error {
	return t.eachRow(qCandidateTrees, func(rows *rawRows) {
		k := rows.int(2)
		if k < 0 || k >= int64(n) {
			return // (cannot happen: k indexes the list)
		}
		l.add(rows, int(k), n)
		if len(rows.vals) > 3 {
			l.uuids, l.parent = append(l.uuids, rows.text(3)), append(l.parent, rows.text(4))
		}
	}, arg)
}

// add appends the row id and version of the current row (its columns 0
// and 1) with the index key of its root among n roots.
func (l *treeList) add(rows *rawRows, key, n int) {
	if l.ids == nil {
		l.ids, l.versions, l.keys = make([]int64, 0, n), make([]int64, 0, n), make([]int, 0, n)
	}
	l.ids, l.versions, l.keys = append(l.ids, rows.int(0)), append(l.versions, rows.int(1)), append(l.keys, key)
}

// treeRange is treeList for roots that are consecutive among all roots
// (most likely: see rootList.consecutive): one scan of the root_uuid index
// from the first to the last, rather than one search per root, keeping the
// rows of the roots asked for (any other root the range holds is skipped:
// a stale guess costs time, not exactness).
func (t *txn) treeRange(l *treeList, sorted []string) error {
	k := 0
	return t.eachRow(qCandidateTreeRange, func(rows *rawRows) {
		r := rows.text(2)
		for k < len(sorted) && sorted[k] < r {
			k++
		}
		if k == len(sorted) || sorted[k] != r {
			return // a root not asked for
		}
		l.add(rows, k, len(sorted))
	}, sorted[0], sorted[len(sorted)-1])
}

// readEntries reads the providers of l that entries lacks (misses of them),
// fills entries in and, given a cache, caches them.
func (t *txn) readEntries(l *treeList, classes classNames, entries []*treeEntry, misses int, cache *treeCache) error {
	b := treeBuilder{provs: make([]placement.TreeProvider, 0, misses), ids: make([]int64, 0, misses)}
	at := make([]int, 0, misses) // b.ids[j] is l.ids[at[j]]
	for i, e := range entries {
		if e == nil {
			var tp placement.TreeProvider
			if l.uuids != nil {
				tp.UUID, tp.ParentUUID = l.uuids[i], l.parent[i]
			}
			b.provs, b.ids, at = append(b.provs, tp), append(b.ids, l.ids[i]), append(at, i)
		}
	}
	ids := idsArg(b.ids)
	if l.uuids == nil {
		if err := t.treeProviders(&b, ids); err != nil {
			return err
		}
	}
	if err := t.treeResources(&b, ids, classes); err != nil {
		return err
	}
	var err error
	if b.traits, b.traitIDs, err = t.treeNames(qCandidateTreeTraits, ids, len(b.provs)); err != nil {
		return err
	}
	if b.aggs, b.aggIDs, err = t.treeNames(qCandidateTreeAggregates, ids, len(b.provs)); err != nil {
		return err
	}
	b.group()
	read := make([]treeEntry, len(b.provs))
	ptrs := make([]*treeEntry, len(b.provs))
	for j := range b.provs {
		p := &b.provs[j]
		read[j] = treeEntry{version: l.versions[at[j]], uuid: p.UUID, parent: p.ParentUUID,
			resources: p.Resources, traits: p.Traits, aggs: p.Aggregates}
		ptrs[j] = &read[j]
		entries[at[j]] = ptrs[j]
	}
	if cache != nil {
		cache.store(classes, b.ids, ptrs)
	}
	return nil
}

// treeProviders reads the uuid and parent of the providers of b (ids: the
// JSON list of their ids).
func (t *txn) treeProviders(b *treeBuilder, ids string) error {
	var rowIDs []int64
	var uuids, parents []string
	err := t.eachRow(qCandidateTreeProviders, func(rows *rawRows) {
		rowIDs, uuids, parents = append(rowIDs, rows.int(0)), append(uuids, rows.text(1)), append(parents, rows.text(2))
	}, ids)
	if err != nil {
		return err
	}
	for k, i := range b.positions(rowIDs) {
		if i >= 0 {
			b.provs[i].UUID, b.provs[i].ParentUUID = uuids[k], parents[k]
		}
	}
	return nil
}

// treeResources reads the inventories and usage of the trees' providers
// (ids: the JSON list of their ids).
func (t *txn) treeResources(b *treeBuilder, ids string, classes classNames) error {
	b.res = make([]placement.ProviderResource, 0, 2*len(b.provs))
	b.resIDs = make([]int64, 0, 2*len(b.provs))
	return t.eachRow(qCandidateTreeResources, func(rows *rawRows) {
		var x placement.ProviderResource
		if c, ok := rows.vals[1].(int64); ok {
			x.ResourceClass = classes.name(c)
		} else {
			x.ResourceClass = rows.text(1)
		}
		x.Total, x.Reserved, x.MinUnit, x.MaxUnit, x.StepSize = rows.int(2), rows.int(3), rows.int(4), rows.int(5), rows.int(6)
		x.AllocationRatio, x.CreatedAt, x.UpdatedAt, x.Used = rows.real(7), fromMicro(rows.int(8)), fromMicro(rows.int(9)), rows.int(10)
		b.res = append(b.res, x)
		b.resIDs = append(b.resIDs, rows.int(0))
	}, ids)
}

// treeNames reads the traits or aggregates (statement id) of the trees'
// providers (ids: the JSON list of their ids).
func (t *txn) treeNames(id stmtID, ids string, n int) (names []string, of []int64, err error) {
	err = t.eachRow(id, func(rows *rawRows) {
		if names == nil {
			names, of = make([]string, 0, n), make([]int64, 0, n)
		}
		names = append(names, rows.text(1))
		of = append(of, rows.int(0))
	}, ids)
	return names, of, err
}

// classNames reads the names of the resource classes: by id for the
// standard ones (ids below 10000), in a map for custom ones.
func (t *txn) classNames() (classNames, error) {
	var std []string
	var custom map[int64]string
	err := t.eachRow(qCandidateClasses, func(rows *rawRows) {
		id, name := rows.int(0), rows.text(1)
		switch {
		case id >= 0 && id < 10000:
			if int(id) >= len(std) {
				std = slices.Grow(std, int(id)+1-len(std))[:id+1]
			}
			std[id] = name
		default:
			if custom == nil {
				custom = map[int64]string{}
			}
			custom[id] = name
		}
	})
	return classNames{std, custom}, err
}

// treeBuilder gathers the rows read of providers and puts them together.
type treeBuilder struct {
	provs    []placement.TreeProvider
	ids      []int64 // provs[i]'s id
	res      []placement.ProviderResource
	resIDs   []int64
	traits   []string
	traitIDs []int64
	aggs     []string
	aggIDs   []int64
	// position of a provider id in ids, built only if rows come in
	// another order than the providers
	index map[int64]int32
}

// positions returns, for each id of rowIDs, the position of its provider
// in b.ids (-1 if none). Rows normally come in the providers' order, which
// a cursor follows; otherwise an index is built.
func (b *treeBuilder) positions(rowIDs []int64) []int32 {
	pos := make([]int32, len(rowIDs))
	cur := 0
	for k, id := range rowIDs {
		if cur < len(b.ids) && b.ids[cur] == id {
			pos[k] = int32(cur)
			continue
		}
		found := false
		for j := cur + 1; j < len(b.ids) && j <= cur+8; j++ {
			if b.ids[j] == id {
				cur, found = j, true
				break
			}
		}
		if !found {
			if b.index == nil {
				b.index = make(map[int64]int32, len(b.ids))
				for i, id := range b.ids {
					b.index[id] = int32(i)
				}
			}
			p, ok := b.index[id]
			if !ok {
				pos[k] = -1
				continue
			}
			cur = int(p)
		}
		pos[k] = int32(cur)
	}
	return pos
}

// groupRuns calls set(i, run) with the rows of each provider i, given the
// position of each row's provider (-1: none), after putting rows in
// provider order if they are not (a stable sort: a provider's rows keep
// their order).
func groupRuns[T any](rows []T, pos []int32, set func(i int32, run []T)) {
	if !slices.IsSorted(pos) {
		perm := make([]int, len(pos))
		for i := range perm {
			perm[i] = i
		}
		slices.SortStableFunc(perm, func(a, b int) int { return int(pos[a]) - int(pos[b]) })
		sortedRows, sortedPos := make([]T, len(rows)), make([]int32, len(pos))
		for i, k := range perm {
			sortedRows[i], sortedPos[i] = rows[k], pos[k]
		}
		rows, pos = sortedRows, sortedPos
	}
	for lo := 0; lo < len(pos); {
		hi := lo + 1
		for hi < len(pos) && pos[hi] == pos[lo] {
			hi++
		}
		if pos[lo] >= 0 {
			set(pos[lo], rows[lo:hi:hi])
		}
		lo = hi
	}
}

// group gives each provider of b its rows.
func (b *treeBuilder) group() {
	provs := b.provs
	if len(b.res) > 0 {
		groupRuns(b.res, b.positions(b.resIDs), func(i int32, r []placement.ProviderResource) {
			sortResources(r)
			provs[i].Resources = r
		})
	}
	names := func(s []string) []string {
		if !slices.IsSorted(s) {
			slices.Sort(s)
		}
		return s
	}
	if len(b.traits) > 0 {
		groupRuns(b.traits, b.positions(b.traitIDs), func(i int32, s []string) { provs[i].Traits = names(s) })
	}
	if len(b.aggs) > 0 {
		groupRuns(b.aggs, b.positions(b.aggIDs), func(i int32, s []string) { provs[i].Aggregates = names(s) })
	}
}

// sortTrees sorts providers by root then uuid. They normally come grouped
// by root in root order (SQLite), so only each tree is sorted.
func sortTrees(out []*placement.TreeProvider) {
	byUUID := func(a, b *placement.TreeProvider) int { return strings.Compare(a.UUID, b.UUID) }
	grouped := true
	for lo := 0; lo < len(out); {
		hi := lo + 1
		for hi < len(out) && out[hi].RootUUID == out[lo].RootUUID {
			hi++
		}
		if hi < len(out) && out[hi].RootUUID < out[lo].RootUUID {
			grouped = false
			break
		}
		if hi-lo > 1 && !slices.IsSortedFunc(out[lo:hi], byUUID) {
			slices.SortFunc(out[lo:hi], byUUID)
		}
		lo = hi
	}
	if !grouped {
		slices.SortFunc(out, func(a, b *placement.TreeProvider) int {
			if c := strings.Compare(a.RootUUID, b.RootUUID); c != 0 {
				return c
			}
			return strings.Compare(a.UUID, b.UUID)
		})
	}
}

// ProvidersWithCapacity lists the providers matching q.ProviderQuery (as
// Providers does) that have room for every demand of q, each with its
// inventories and usage, sorted by uuid.
func (t *txn) ProvidersWithCapacity(q placement.CapacityQuery) ([]placement.ProviderCapacity, error) {
	args := append(make([]any, 0, 14), t.s.demandsArg(q.Resources))
	id, args := t.providerQuery(q.ProviderQuery, providerStmts{qCapacityAll, qCapacityByUUID, qCapacityByName, qCapacityByParent, qCapacityByRoot, qCapacityAll}, args)
	rows, err := t.query(id, args...)
	if err == errNoMatch {
		return nil, nil
	}
	if err != nil {
		return nil, t.fail("providers with capacity", err)
	}
	defer rows.Close()
	var out []placement.ProviderCapacity
	var res []placement.ProviderResource // every row's, cut per provider below
	var starts []int
	for rows.Next() {
		var p placement.ResourceProvider
		var x placement.ProviderResource
		if err := scanProviderResource(rows, &p, &x); err != nil {
			return nil, t.fail("providers with capacity", err)
		}
		if len(out) == 0 || out[len(out)-1].UUID != p.UUID {
			out = append(out, placement.ProviderCapacity{ResourceProvider: p})
			starts = append(starts, len(res))
		}
		if x.ResourceClass != "" { // "" when the provider has no inventory
			res = append(res, x)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, t.fail("providers with capacity", err)
	}
	if err := rows.Close(); err != nil {
		return nil, t.fail("providers with capacity", err)
	}
	for i := range out {
		hi := len(res)
		if i+1 < len(starts) {
			hi = starts[i+1]
		}
		if lo := starts[i]; hi > lo {
			out[i].Resources = res[lo:hi:hi]
			sortResources(out[i].Resources)
		}
	}
	return out, nil
}
