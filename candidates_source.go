package placement

import (
	"cmp"
	"slices"
	"strings"
)

// The data access of the candidates planner: an optional pushdown SPI that a
// ReadTx may implement (CandidateReader), and a generic fallback built only on
// the ReadTx methods. Both give the planner the same answers; the Engine
// re-checks every capacity with the capacity core either way.

// CandidateReader is an optional interface of a ReadTx: the questions of the
// allocation candidates planner and of the provider-list resources filter
// that scale with the number of providers. A backend implements it to answer
// them from indexes (memstore) or indexed SQL (sqlstore); without it the
// Engine falls back on the plain ReadTx methods (listing every provider and
// reading each one), with identical results.
//
// Contract, for every method: answers come from the transaction's snapshot
// and lists are sorted as documented. Capacity filters may let through more
// than asked (a superset: the Engine checks every amount again with the
// capacity core on the inventories and usage returned) but never less; the
// other filters are exact unless stated otherwise. Returned slices, including
// the Resources, Traits and Aggregates inside returned values, may alias the
// store's own memory: the Engine only reads them, and only until the
// transaction ends, copying what it keeps. A store that does not keep data
// in memory simply returns fresh slices.
type CandidateReader interface {
	// CandidateRoots returns uuids of root providers (providers without a
	// parent), in ascending order, strictly greater than q.After (all when
	// q.After is ""), at most q.Limit of them (all when q.Limit is 0; fewer
	// than q.Limit only when there are no more), omitting none that passes
	// q's filters:
	//   - for every entry of q.Resources, some provider of the root's tree
	//     has an inventory of the class on which the amount fits on top of
	//     its current usage ((*Inventory).Check(used, amount) == ReasonNone:
	//     min_unit, max_unit, step_size and capacity);
	//   - the root provider itself has every trait of q.Required and none of
	//     q.Forbidden.
	// Both filters may let through roots that fail them (the Engine checks
	// again on the trees it reads). A query without filters (but maybe a
	// Limit and After) lists every root; it should be cheap: the Engine uses
	// it to draw random anchors, and in the default order it pages through
	// the roots without Resources first, asking for them only once most
	// anchors turn out to have no room.
	CandidateRoots(q RootQuery) ([]string, error)
	// Trees returns every provider of the trees rooted at roots (given in
	// any order, without duplicates; unknown uuids and non-roots are
	// ignored), sorted by RootUUID then UUID, each with its inventories and
	// usage (sorted by class), traits and aggregates (sorted). The
	// TreeProviders pointed to may be the store's own (never written while
	// the transaction lasts): the Engine does not modify them.
	Trees(roots []string) ([]*TreeProvider, error)
	// ProvidersWithCapacity returns the providers matching q.ProviderQuery
	// (applied exactly as ReadTx.Providers does) that themselves have, for
	// every entry of q.Resources, an inventory of the class on which the
	// amount fits on top of its usage (as above), sorted by uuid, each with
	// its inventories and usage (at least those of the requested classes,
	// sorted by class).
	ProvidersWithCapacity(q CapacityQuery) ([]ProviderCapacity, error)
}

// RootQuery selects candidate anchor roots (see CandidateReader.CandidateRoots).
type RootQuery struct {
	After     string
	Limit     int
	Resources []ResourceAmount
	Required  []string
	Forbidden []string
}

// TreeProvider is one provider of a tree with everything the candidates
// planner reads about it.
type TreeProvider struct {
	UUID       string
	ParentUUID string
	RootUUID   string
	Resources  []ProviderResource
	Traits     []string
	Aggregates []string
}

// CapacityQuery selects providers with capacity (see
// CandidateReader.ProvidersWithCapacity).
type CapacityQuery struct {
	ProviderQuery
	Resources []ResourceAmount
}

// ProviderCapacity is a provider with (at least) the inventories and usage
// of the classes asked for.
type ProviderCapacity struct {
	ResourceProvider
	Resources []ProviderResource
}

// candSource is the planner's whole data access: switching between the
// pushdown and the fallback is choosing an implementation.
type candSource interface {
	// roots: CandidateReader.CandidateRoots (superset allowed).
	roots(q RootQuery) ([]string, error)
	// trees: CandidateReader.Trees; aggs says whether aggregates are needed.
	trees(roots []string, aggs bool) ([]*TreeProvider, error)
	// providers and provider: ReadTx.Providers and ReadTx.Provider (the
	// sharing providers, the members of their aggregates, in_tree lookups:
	// indexed trait and aggregate queries every backend already has).
	providers(q ProviderQuery) ([]ResourceProvider, error)
	provider(uuid string) (ResourceProvider, error)
}

func newCandSource(tx ReadTx) candSource {
	if cr, ok := tx.(CandidateReader); ok {
		return pushdownSource{tx, cr}
	}
	return &fallbackSource{tx: tx}
}

type pushdownSource struct {
	tx ReadTx
	cr CandidateReader
}

func (s pushdownSource) providers(q ProviderQuery) ([]ResourceProvider, error) {
	return s.tx.Providers(q)
}
func (s pushdownSource) provider(uuid string) (ResourceProvider, error) { return s.tx.Provider(uuid) }
func (f *fallbackSource) providers(q ProviderQuery) ([]ResourceProvider, error) {
	return f.tx.Providers(q)
}
func (f *fallbackSource) provider(uuid string) (ResourceProvider, error) { return f.tx.Provider(uuid) }

func (s pushdownSource) roots(q RootQuery) ([]string, error) { return s.cr.CandidateRoots(q) }
func (s pushdownSource) trees(roots []string, _ bool) ([]*TreeProvider, error) {
	return s.cr.Trees(roots)
}

// fallbackSource answers with the plain ReadTx methods. Roots are listed
// from one scan of every provider (their filters are left to the planner);
// trees are read provider by provider.
type fallbackSource struct {
	tx     ReadTx
	loaded bool
	all    []ResourceProvider // every provider, sorted by (root, uuid)
	rootAt []string           // distinct roots, sorted
	start  []int              // tree of rootAt[i] is all[start[i]:start[i+1]]
}

func (f *fallbackSource) load() error {
	if f.loaded {
		return nil
	}
	all, err := f.tx.Providers(ProviderQuery{})
	if err != nil {
		return err
	}
	byRoot := func(a, b ResourceProvider) int {
		return cmp.Or(strings.Compare(a.RootUUID, b.RootUUID), strings.Compare(a.UUID, b.UUID))
	}
	if !slices.IsSortedFunc(all, byRoot) {
		slices.SortFunc(all, byRoot)
	}
	f.all = all
	for i := range all {
		if i == 0 || all[i].RootUUID != all[i-1].RootUUID {
			f.rootAt = append(f.rootAt, all[i].RootUUID)
			f.start = append(f.start, i)
		}
	}
	f.start = append(f.start, len(all))
	f.loaded = true
	return nil
}

func (f *fallbackSource) roots(q RootQuery) ([]string, error) {
	if err := f.load(); err != nil {
		return nil, err
	}
	i := 0
	if q.After != "" {
		i, _ = slices.BinarySearch(f.rootAt, q.After)
		if i < len(f.rootAt) && f.rootAt[i] == q.After {
			i++
		}
	}
	j := len(f.rootAt)
	if q.Limit > 0 && i+q.Limit < j {
		j = i + q.Limit
	}
	return f.rootAt[i:j:j], nil
}

func (f *fallbackSource) trees(roots []string, aggs bool) ([]*TreeProvider, error) {
	sorted := slices.Clone(roots)
	slices.Sort(sorted)
	var vals []TreeProvider
	add := func(p *ResourceProvider) error {
		tp := TreeProvider{UUID: p.UUID, ParentUUID: p.ParentUUID, RootUUID: p.RootUUID}
		var err error
		if tp.Resources, err = f.tx.Resources(p.UUID); err != nil {
			return err
		}
		if tp.Traits, err = f.tx.ProviderTraits(p.UUID); err != nil {
			return err
		}
		if aggs {
			if tp.Aggregates, err = f.tx.ProviderAggregates(p.UUID); err != nil {
				return err
			}
		}
		vals = append(vals, tp)
		return nil
	}
	for _, r := range sorted {
		if f.loaded {
			i, ok := slices.BinarySearch(f.rootAt, r)
			if !ok {
				continue
			}
			if vals == nil {
				vals = make([]TreeProvider, 0, len(sorted))
			}
			for k := f.start[i]; k < f.start[i+1]; k++ {
				if err := add(&f.all[k]); err != nil {
					return nil, err
				}
			}
			continue
		}
		members, err := f.tx.Providers(ProviderQuery{Root: r})
		if err != nil {
			return nil, err
		}
		for k := range members {
			if err := add(&members[k]); err != nil {
				return nil, err
			}
		}
	}
	out := make([]*TreeProvider, len(vals))
	for i := range vals {
		out[i] = &vals[i]
	}
	return out, nil
}

// providersWithCapacity answers a CapacityQuery through the pushdown when
// tx has it, else with Providers and Resources; either way every returned
// provider is checked with the capacity core.
func providersWithCapacity(tx ReadTx, q CapacityQuery) ([]ResourceProvider, error) {
	check := func(res []ProviderResource) bool {
		for _, ra := range q.Resources {
			i := findResource(res, ra.Class)
			if i < 0 || res[i].Check(res[i].Used, ra.Amount) != ReasonNone {
				return false
			}
		}
		return true
	}
	if cr, ok := tx.(CandidateReader); ok {
		rows, err := cr.ProvidersWithCapacity(q)
		if err != nil {
			return nil, err
		}
		out := make([]ResourceProvider, 0, len(rows))
		for i := range rows {
			if check(rows[i].Resources) {
				out = append(out, rows[i].ResourceProvider)
			}
		}
		return out, nil
	}
	ps, err := tx.Providers(q.ProviderQuery)
	if err != nil {
		return nil, err
	}
	out := ps[:0]
	for _, p := range ps {
		res, err := tx.Resources(p.UUID)
		if err != nil {
			return nil, err
		}
		if check(res) {
			out = append(out, p)
		}
	}
	return out, nil
}
