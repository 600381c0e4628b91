package memstore

import (
	"slices"
	"strings"

	"github.com/goplacement/placement"
)

func providerNotFound(uuid string) error {
	return &placement.NotFoundError{Resource: "resource provider", ID: uuid}
}

func compareProviders(a, b placement.ResourceProvider) int { return strings.Compare(a.UUID, b.UUID) }

// Provider returns the provider with this uuid.
func (t *readTx) Provider(uuid string) (placement.ResourceProvider, error) {
	if err := t.check(); err != nil {
		return placement.ResourceProvider{}, err
	}
	p := t.st.provider(uuid)
	if p == nil {
		return placement.ResourceProvider{}, providerNotFound(uuid)
	}
	return p.rec, nil
}

// ProviderByName returns the provider with this name.
func (t *readTx) ProviderByName(name string) (placement.ResourceProvider, error) {
	if err := t.check(); err != nil {
		return placement.ResourceProvider{}, err
	}
	p := t.st.byName[name]
	if p == nil {
		return placement.ResourceProvider{}, providerNotFound(name)
	}
	return p.rec, nil
}

// Providers lists the providers matching q, sorted by uuid.
func (t *readTx) Providers(q placement.ProviderQuery) ([]placement.ResourceProvider, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return t.st.query(&q), nil
}

// query scans the smallest candidate set an index gives for q and keeps the
// providers matching all of q.
func (st *state) query(q *placement.ProviderQuery) []placement.ResourceProvider {
	found := st.queryProviders(q)
	if len(found) == 0 {
		return nil
	}
	out := make([]placement.ResourceProvider, len(found))
	for i, p := range found {
		out[i] = p.rec
	}
	return out
}

// queryCost returns the size of the candidate set queryProviders scans for
// q (for a query with neither UUID nor Name).
func (st *state) queryCost(q *placement.ProviderQuery) int {
	best := st.provIdx.n
	if q.Parent != "" {
		best = min(best, len(st.children[q.Parent]))
	}
	if q.Root != "" {
		_, _, n := st.tree(q.Root)
		best = min(best, n)
	}
	group := func(idx map[string]provSet, g []string) {
		n := 0
		for _, name := range g {
			n += len(idx[name])
		}
		best = min(best, n)
	}
	for _, g := range q.Required {
		group(st.byTrait, g)
	}
	for _, g := range q.MemberOf {
		group(st.byAgg, g)
	}
	return best
}

// queryProviders is query returning the provider objects, sorted by uuid.
func (st *state) queryProviders(q *placement.ProviderQuery) []*provider {
	one := func(p *provider) []*provider {
		if p != nil && matches(p, q) {
			return []*provider{p}
		}
		return nil
	}
	switch {
	case q.UUID != "":
		return one(st.provider(q.UUID))
	case q.Name != "":
		return one(st.byName[q.Name])
	}

	// Candidate sources: one set (Parent, Root), the union of the sets
	// of an any-of group (its members are deduplicated by scanning each
	// provider only from the first alternative it has), or every provider.
	best := st.provIdx.n + 1
	var bestSet provSet
	var bestRoot *provider // a tree's root, scanned with bestSet (below it)
	var bestGroup []string
	var bestIdx map[string]provSet
	var bestLinks func(*provider) []string
	consider := func(n int, set provSet, root *provider) {
		if n < best {
			best, bestSet, bestRoot, bestGroup = n, set, root, nil
		}
	}
	considerGroup := func(idx map[string]provSet, group []string, links func(*provider) []string) {
		n := 0
		for _, name := range group {
			n += len(idx[name])
		}
		if n < best {
			best, bestSet, bestRoot, bestGroup, bestIdx, bestLinks = n, nil, nil, group, idx, links
		}
	}
	if q.Parent != "" {
		consider(len(st.children[q.Parent]), st.children[q.Parent], nil)
	}
	if q.Root != "" {
		rp, below, n := st.tree(q.Root)
		consider(n, below, rp)
	}
	for _, g := range q.Required {
		considerGroup(st.byTrait, g, providerTraits)
	}
	for _, g := range q.MemberOf {
		considerGroup(st.byAgg, g, providerAggs)
	}
	if best == 0 {
		return nil
	}
	found := make([]*provider, 0, min(best, st.provIdx.n, 256))
	keep := func(p *provider) {
		if matches(p, q) {
			found = append(found, p)
		}
	}
	switch {
	case bestGroup != nil:
		for i, name := range bestGroup {
			for p := range bestIdx[name] {
				if !containsAny(bestLinks(p), bestGroup[:i]) {
					keep(p)
				}
			}
		}
	case bestSet != nil || bestRoot != nil:
		if bestRoot != nil {
			keep(bestRoot)
		}
		for p := range bestSet {
			keep(p)
		}
	default:
		for p := range st.eachProvider {
			keep(p)
		}
	}
	if len(found) == 0 {
		return nil
	}
	slices.SortFunc(found, func(a, b *provider) int { return strings.Compare(a.rec.UUID, b.rec.UUID) })
	return found
}

func providerTraits(p *provider) []string { return p.traits }
func providerAggs(p *provider) []string   { return p.aggs }

// matches reports whether p satisfies every set field of q.
func matches(p *provider, q *placement.ProviderQuery) bool {
	r := &p.rec
	if (q.UUID != "" && r.UUID != q.UUID) || (q.Name != "" && r.Name != q.Name) ||
		(q.Root != "" && r.RootUUID != q.Root) || (q.Parent != "" && r.ParentUUID != q.Parent) {
		return false
	}
	for _, g := range q.MemberOf {
		if !containsAny(p.aggs, g) {
			return false
		}
	}
	if containsAny(p.aggs, q.NotMemberOf) {
		return false
	}
	for _, g := range q.Required {
		if !containsAny(p.traits, g) {
			return false
		}
	}
	return !containsAny(p.traits, q.Forbidden)
}

// Resources lists a provider's inventories with their usage, sorted by
// class (empty for an unknown provider).
func (t *readTx) Resources(provider string) ([]placement.ProviderResource, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	p := t.st.provider(provider)
	if p == nil || len(p.res) == 0 {
		return nil, nil
	}
	return slices.Clone(p.res), nil
}

// ProviderTraits lists a provider's traits, sorted.
func (t *readTx) ProviderTraits(provider string) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if p := t.st.provider(provider); p != nil {
		return slices.Clone(p.traits), nil
	}
	return nil, nil
}

// ProviderAggregates lists the aggregates a provider is in, sorted.
func (t *readTx) ProviderAggregates(provider string) ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if p := t.st.provider(provider); p != nil {
		return slices.Clone(p.aggs), nil
	}
	return nil, nil
}

// ProviderAllocations lists the allocations held against a provider, sorted
// by consumer then class.
func (t *readTx) ProviderAllocations(provider string) ([]placement.AllocationRecord, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	p := t.st.provider(provider)
	if p == nil || len(p.holders) == 0 {
		return nil, nil
	}
	holders := slices.Clone(p.holders)
	slices.SortFunc(holders, func(a, b *consumerEntry) int { return strings.Compare(a.uuid, b.uuid) })
	var out []placement.AllocationRecord
	for _, e := range holders {
		for _, a := range e.allocs {
			if a.p == p {
				out = append(out, placement.AllocationRecord{ConsumerUUID: e.uuid, ProviderUUID: provider, ResourceClass: a.class, Used: a.used})
			}
		}
	}
	return out, nil
}

// ResourceClass returns a custom resource class.
func (t *readTx) ResourceClass(name string) (placement.ResourceClass, error) {
	if err := t.check(); err != nil {
		return placement.ResourceClass{}, err
	}
	rc, ok := t.st.classes[name]
	if !ok {
		return placement.ResourceClass{}, &placement.NotFoundError{Resource: "resource class", ID: name}
	}
	return rc, nil
}

// ResourceClasses lists the custom resource classes, sorted by name.
func (t *readTx) ResourceClasses() ([]placement.ResourceClass, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(t.st.classes) == 0 {
		return nil, nil
	}
	out := make([]placement.ResourceClass, 0, len(t.st.classes))
	for _, rc := range t.st.classes {
		out = append(out, rc)
	}
	slices.SortFunc(out, func(a, b placement.ResourceClass) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ResourceClassInUse reports whether some provider has inventory of the
// class (one index lookup).
func (t *readTx) ResourceClassInUse(name string) (bool, error) {
	if err := t.check(); err != nil {
		return false, err
	}
	return len(t.st.byClass[name]) > 0, nil
}

// Trait returns a custom trait.
func (t *readTx) Trait(name string) (placement.Trait, error) {
	if err := t.check(); err != nil {
		return placement.Trait{}, err
	}
	tr, ok := t.st.traits[name]
	if !ok {
		return placement.Trait{}, &placement.NotFoundError{Resource: "trait", ID: name}
	}
	return tr, nil
}

// Traits lists the custom traits, sorted by name.
func (t *readTx) Traits() ([]placement.Trait, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(t.st.traits) == 0 {
		return nil, nil
	}
	out := make([]placement.Trait, 0, len(t.st.traits))
	for _, tr := range t.st.traits {
		out = append(out, tr)
	}
	slices.SortFunc(out, func(a, b placement.Trait) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// AssociatedTraits lists, sorted, the traits at least one provider has.
func (t *readTx) AssociatedTraits() ([]string, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if len(t.st.byTrait) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(t.st.byTrait))
	for name := range t.st.byTrait {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// Consumer returns a consumer record.
func (t *readTx) Consumer(uuid string) (placement.Consumer, error) {
	if err := t.check(); err != nil {
		return placement.Consumer{}, err
	}
	e := t.st.consumers.get(uuid)
	if e == nil || !e.hasRec {
		return placement.Consumer{}, &placement.NotFoundError{Resource: "consumer", ID: uuid}
	}
	return e.rec, nil
}

// ConsumerAllocations lists a consumer's allocations, sorted by provider
// then class.
func (t *readTx) ConsumerAllocations(consumer string) ([]placement.AllocationRecord, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	e := t.st.consumers.get(consumer)
	if e == nil || len(e.allocs) == 0 {
		return nil, nil
	}
	allocs := e.allocs
	out := make([]placement.AllocationRecord, len(allocs))
	for i, a := range allocs {
		out[i] = placement.AllocationRecord{ConsumerUUID: consumer, ProviderUUID: a.p.rec.UUID, ResourceClass: a.class, Used: a.used}
	}
	return out, nil
}

// ConsumerUsages sums the allocations of the consumers of a project (and of
// a user, when user is not empty) per consumer and class, sorted by consumer
// then class. Consumers without allocations have no entry.
func (t *readTx) ConsumerUsages(project, user string) ([]placement.ConsumerUsage, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var members []*consumerEntry
	if m := t.st.byProject[project]; m != nil {
		for _, e := range m.list {
			if len(e.allocs) > 0 && (user == "" || e.rec.UserID == user) {
				members = append(members, e)
			}
		}
	}
	slices.SortFunc(members, func(a, b *consumerEntry) int { return strings.Compare(a.uuid, b.uuid) })
	var out []placement.ConsumerUsage
	for _, e := range members {
		u, allocs, ctype := e.uuid, e.allocs, e.rec.ConsumerType
		start := len(out)
		for _, a := range allocs {
			i := slices.IndexFunc(out[start:], func(x placement.ConsumerUsage) bool { return x.ResourceClass == a.class })
			if i >= 0 {
				out[start+i].Used += a.used
				continue
			}
			out = append(out, placement.ConsumerUsage{ConsumerUUID: u, ConsumerType: ctype, ResourceClass: a.class, Used: a.used})
		}
		slices.SortFunc(out[start:], func(a, b placement.ConsumerUsage) int { return strings.Compare(a.ResourceClass, b.ResourceClass) })
	}
	return out, nil
}

func compareUsageCounts(a, b placement.UsageCount) int {
	if c := strings.Compare(a.ProviderUUID, b.ProviderUUID); c != 0 {
		return c
	}
	return strings.Compare(a.ResourceClass, b.ResourceClass)
}

// MaintainedUsages lists the usage kept for every inventory (what Resources
// reports), zeros included, sorted by provider and class.
func (t *readTx) MaintainedUsages() ([]placement.UsageCount, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	var out []placement.UsageCount
	for p := range t.st.eachProvider {
		for _, r := range p.res {
			out = append(out, placement.UsageCount{ProviderUUID: p.rec.UUID, ResourceClass: r.ResourceClass, Used: r.Used, HasInventory: true})
		}
	}
	slices.SortFunc(out, compareUsageCounts)
	return out, nil
}

// RecountedUsages sums every allocation per provider and class (a full
// scan, independent of the maintained usage), sorted by provider and class.
func (t *readTx) RecountedUsages() ([]placement.UsageCount, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	type key struct {
		p     *provider
		class string
	}
	sums := map[key]int64{}
	for e := range t.st.consumers.all {
		for _, a := range e.allocs {
			sums[key{a.p, a.class}] += a.used
		}
	}
	if len(sums) == 0 {
		return nil, nil
	}
	out := make([]placement.UsageCount, 0, len(sums))
	for k, used := range sums {
		_, has := k.p.findClass(k.class)
		out = append(out, placement.UsageCount{ProviderUUID: k.p.rec.UUID, ResourceClass: k.class, Used: used, HasInventory: has})
	}
	slices.SortFunc(out, compareUsageCounts)
	return out, nil
}

// LookupConsumer returns a consumer record, ok false when there is none
// (placement.FastReader: no error value is built for the miss).
func (t *readTx) LookupConsumer(uuid string) (placement.Consumer, bool, error) {
	if err := t.check(); err != nil {
		return placement.Consumer{}, false, err
	}
	if e := t.st.consumers.get(uuid); e != nil && e.hasRec {
		return e.rec, true, nil
	}
	return placement.Consumer{}, false, nil
}

// AppendConsumerAllocations appends a consumer's allocations, sorted by
// provider then class, to buf (placement.FastReader).
func (t *readTx) AppendConsumerAllocations(buf []placement.AllocationRecord, consumer string) ([]placement.AllocationRecord, error) {
	if err := t.check(); err != nil {
		return buf, err
	}
	e := t.st.consumers.get(consumer)
	if e == nil {
		return buf, nil
	}
	for _, a := range e.allocs {
		buf = append(buf, placement.AllocationRecord{ConsumerUUID: consumer, ProviderUUID: a.p.rec.UUID, ResourceClass: a.class, Used: a.used})
	}
	return buf, nil
}

// HasConsumerAllocations reports whether a consumer holds allocations
// (placement.FastReader).
func (t *readTx) HasConsumerAllocations(consumer string) (bool, error) {
	if err := t.check(); err != nil {
		return false, err
	}
	e := t.st.consumers.get(consumer)
	return e != nil && len(e.allocs) > 0, nil
}

// ProviderResourcesView returns a provider's generation and its
// inventories with their usage, sorted by class: the store's own slice,
// which the caller must not modify and may read only until the
// transaction's next write or its end (placement.FastReader).
func (t *readTx) ProviderResourcesView(uuid string) (int64, []placement.ProviderResource, bool, error) {
	if err := t.check(); err != nil {
		return 0, nil, false, err
	}
	p := t.st.provider(uuid)
	if p == nil {
		return 0, nil, false, nil
	}
	return p.rec.Generation, p.res, true, nil
}
