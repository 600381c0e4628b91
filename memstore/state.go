package memstore

import (
	"slices"
	"strings"

	"github.com/goplacement/placement"
)

// state is the whole content of a store: the primary records and every
// index over them. Its methods keep the indexes in step and never fail; the
// transaction methods validate before calling them.
type state struct {
	providers map[string]*provider // by uuid
	byName    map[string]*provider
	children  map[string]map[string]*provider // parent uuid -> uuid -> child
	byRoot    map[string]map[string]*provider // root uuid -> uuid -> provider (the root included)
	byTrait   map[string]map[string]*provider // trait -> providers having it
	byAgg     map[string]map[string]*provider // aggregate -> member providers
	byClass   map[string]map[string]*provider // class -> providers with inventory of it
	roots     rootList                        // providers without a parent, sorted by uuid

	classes map[string]placement.ResourceClass // custom classes
	traits  map[string]placement.Trait         // custom traits

	consumers map[string]placement.Consumer
	byProject map[string]map[string]struct{} // project -> consumer uuids
	allocs    map[string][]allocation        // consumer -> allocations, sorted by provider, class
}

func newState() *state {
	return &state{
		providers: map[string]*provider{},
		byName:    map[string]*provider{},
		children:  map[string]map[string]*provider{},
		byRoot:    map[string]map[string]*provider{},
		byTrait:   map[string]map[string]*provider{},
		byAgg:     map[string]map[string]*provider{},
		byClass:   map[string]map[string]*provider{},
		classes:   map[string]placement.ResourceClass{},
		traits:    map[string]placement.Trait{},
		consumers: map[string]placement.Consumer{},
		byProject: map[string]map[string]struct{}{},
		allocs:    map[string][]allocation{},
	}
}

// provider is everything about one provider, so that one map lookup finds
// its record, inventory with usage, traits, aggregates and consumers. A
// provider object is never replaced while it exists (updates change it in
// place), so allocations can point at it.
type provider struct {
	rec placement.ResourceProvider
	// res holds the inventories with their usage, sorted by class: Resources
	// is one copy of it.
	res []placement.ProviderResource
	// extra holds the usage of classes the provider has no inventory of
	// (possible only transiently, or if the Engine allowed it); usually nil.
	extra     map[string]int64
	traits    []string            // sorted, unique
	aggs      []string            // sorted, unique
	consumers map[string]struct{} // consumers holding allocations here
	// treeSize is len(byRoot[rec.UUID]): the number of providers whose
	// root this one is.
	treeSize int
	// tp mirrors rec's uuids, res, traits and aggs (the same slices), for
	// CandidateReader.Trees to point at; refresh keeps it in step.
	tp placement.TreeProvider
}

// refresh sets p.tp from p's record, inventories, traits and aggregates.
// Every state method that changes one of them (or replaces the slice)
// calls it; usage changes write into the shared res array in place.
func (p *provider) refresh() {
	p.tp = placement.TreeProvider{UUID: p.rec.UUID, ParentUUID: p.rec.ParentUUID, RootUUID: p.rec.RootUUID,
		Resources: p.res, Traits: p.traits, Aggregates: p.aggs}
}

// allocation is one stored allocation of a consumer.
type allocation struct {
	p     *provider
	class string
	used  int64
}

// findClass returns the index of class in p.res, or where it would go.
func (p *provider) findClass(class string) (int, bool) {
	lo, hi := 0, len(p.res)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if p.res[m].ResourceClass < class {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(p.res) && p.res[lo].ResourceClass == class
}

// addUsage adds delta to p's usage of class.
func (p *provider) addUsage(class string, delta int64) {
	if i, ok := p.findClass(class); ok {
		p.res[i].Used += delta
		return
	}
	if p.extra == nil {
		p.extra = map[string]int64{}
	}
	if v := p.extra[class] + delta; v != 0 {
		p.extra[class] = v
	} else {
		delete(p.extra, class)
	}
}

func addTo(idx map[string]map[string]*provider, key string, p *provider) {
	m := idx[key]
	if m == nil {
		m = map[string]*provider{}
		idx[key] = m
	}
	m[p.rec.UUID] = p
}

func removeFrom(idx map[string]map[string]*provider, key, uuid string) {
	if m := idx[key]; m != nil {
		delete(m, uuid)
		if len(m) == 0 {
			delete(idx, key)
		}
	}
}

// indexProvider inserts p, with its current inventories, traits and
// aggregates, into every index.
func (st *state) indexProvider(p *provider) {
	st.providers[p.rec.UUID] = p
	st.byName[p.rec.Name] = p
	if p.rec.ParentUUID != "" {
		addTo(st.children, p.rec.ParentUUID, p)
	}
	st.addToTree(p.rec.RootUUID, p)
	for _, t := range p.traits {
		addTo(st.byTrait, t, p)
	}
	for _, a := range p.aggs {
		addTo(st.byAgg, a, p)
	}
	for i := range p.res {
		addTo(st.byClass, p.res[i].ResourceClass, p)
	}
	if p.rec.ParentUUID == "" {
		st.roots.insert(p)
	}
	p.treeSize = len(st.byRoot[p.rec.UUID])
	p.refresh()
}

// addToTree and removeFromTree change the byRoot index, keeping the root
// provider's treeSize in step.
func (st *state) addToTree(root string, p *provider) {
	addTo(st.byRoot, root, p)
	if rp := st.providers[root]; rp != nil {
		rp.treeSize = len(st.byRoot[root])
	}
}

func (st *state) removeFromTree(root, uuid string) {
	removeFrom(st.byRoot, root, uuid)
	if rp := st.providers[root]; rp != nil {
		rp.treeSize = len(st.byRoot[root])
	}
}

// unindexProvider removes p from every index (p itself is left as it is, so
// indexProvider can put it back).
func (st *state) unindexProvider(p *provider) {
	u := p.rec.UUID
	delete(st.providers, u)
	if st.byName[p.rec.Name] == p {
		delete(st.byName, p.rec.Name)
	}
	if p.rec.ParentUUID != "" {
		removeFrom(st.children, p.rec.ParentUUID, u)
	}
	st.removeFromTree(p.rec.RootUUID, u)
	for _, t := range p.traits {
		removeFrom(st.byTrait, t, u)
	}
	for _, a := range p.aggs {
		removeFrom(st.byAgg, a, u)
	}
	for i := range p.res {
		removeFrom(st.byClass, p.res[i].ResourceClass, u)
	}
	if p.rec.ParentUUID == "" {
		st.roots.remove(u)
	}
}

// setProviderRecord replaces p's record (same uuid), moving it in the name,
// parent and root indexes.
func (st *state) setProviderRecord(p *provider, rec placement.ResourceProvider) {
	old := p.rec
	u := old.UUID
	if old.Name != rec.Name {
		if st.byName[old.Name] == p {
			delete(st.byName, old.Name)
		}
		st.byName[rec.Name] = p
	}
	p.rec = rec
	if old.ParentUUID != rec.ParentUUID {
		if old.ParentUUID != "" {
			removeFrom(st.children, old.ParentUUID, u)
		}
		if rec.ParentUUID != "" {
			addTo(st.children, rec.ParentUUID, p)
		}
	}
	if old.RootUUID != rec.RootUUID {
		st.removeFromTree(old.RootUUID, u)
		st.addToTree(rec.RootUUID, p)
	}
	switch {
	case old.ParentUUID == "" && rec.ParentUUID != "":
		st.roots.remove(u)
	case old.ParentUUID != "" && rec.ParentUUID == "":
		st.roots.insert(p)
	}
	p.refresh()
}

// putInventory inserts or replaces p's inventory of inv's class, keeping its
// usage, and returns the inventory it replaced.
func (st *state) putInventory(p *provider, inv placement.Inventory) (old placement.Inventory, existed bool) {
	i, ok := p.findClass(inv.ResourceClass)
	if ok {
		old = p.res[i].Inventory
		p.res[i].Inventory = inv
		p.refresh()
		return old, true
	}
	used := p.extra[inv.ResourceClass]
	if used != 0 {
		delete(p.extra, inv.ResourceClass)
	}
	p.res = slices.Insert(p.res, i, placement.ProviderResource{Inventory: inv, Used: used})
	addTo(st.byClass, inv.ResourceClass, p)
	p.refresh()
	return old, false
}

// deleteInventory removes p's inventory of class (which it has), keeping
// any usage of it aside, and returns it.
func (st *state) deleteInventory(p *provider, class string) placement.Inventory {
	i, _ := p.findClass(class)
	r := p.res[i]
	p.res = slices.Delete(p.res, i, i+1)
	if r.Used != 0 {
		if p.extra == nil {
			p.extra = map[string]int64{}
		}
		p.extra[class] = r.Used
	}
	removeFrom(st.byClass, class, p.rec.UUID)
	p.refresh()
	return r.Inventory
}

// setLinks replaces a sorted set of names of p (traits or aggregates) and
// keeps idx in step; it returns the previous set. want must be sorted,
// unique and owned by the store.
func setLinks(idx map[string]map[string]*provider, p *provider, have *[]string, want []string) []string {
	old := *have
	i, j := 0, 0
	for i < len(old) || j < len(want) {
		switch {
		case j == len(want) || (i < len(old) && old[i] < want[j]):
			removeFrom(idx, old[i], p.rec.UUID)
			i++
		case i == len(old) || want[j] < old[i]:
			addTo(idx, want[j], p)
			j++
		default:
			i++
			j++
		}
	}
	*have = want
	p.refresh()
	return old
}

// putConsumer inserts or replaces a consumer record.
func (st *state) putConsumer(c placement.Consumer) {
	old, ok := st.consumers[c.UUID]
	if !ok || old.ProjectID != c.ProjectID {
		if ok {
			st.removeFromProject(old.ProjectID, c.UUID)
		}
		m := st.byProject[c.ProjectID]
		if m == nil {
			m = map[string]struct{}{}
			st.byProject[c.ProjectID] = m
		}
		m[c.UUID] = struct{}{}
	}
	st.consumers[c.UUID] = c
}

// removeConsumer deletes a consumer record (which exists).
func (st *state) removeConsumer(uuid string) {
	c := st.consumers[uuid]
	st.removeFromProject(c.ProjectID, uuid)
	delete(st.consumers, uuid)
}

func (st *state) removeFromProject(project, uuid string) {
	if m := st.byProject[project]; m != nil {
		delete(m, uuid)
		if len(m) == 0 {
			delete(st.byProject, project)
		}
	}
}

// setAllocations replaces a consumer's allocations with allocs (sorted by
// provider and class, owned by the store, naming existing providers), keeping
// the providers' usage and consumer sets in step, and returns the previous
// allocations.
func (st *state) setAllocations(consumer string, allocs []allocation) []allocation {
	old := st.allocs[consumer]
	var last *provider
	for i := range old {
		a := &old[i]
		a.p.addUsage(a.class, -a.used)
		if a.p != last {
			delete(a.p.consumers, consumer)
			last = a.p
		}
	}
	last = nil
	for i := range allocs {
		a := &allocs[i]
		a.p.addUsage(a.class, a.used)
		if a.p != last {
			if a.p.consumers == nil {
				a.p.consumers = map[string]struct{}{}
			}
			a.p.consumers[consumer] = struct{}{}
			last = a.p
		}
	}
	if len(allocs) == 0 {
		delete(st.allocs, consumer)
	} else {
		st.allocs[consumer] = allocs
	}
	return old
}

// renameClass renames class from to class to in every inventory, usage,
// allocation and class index (the class records are the caller's). Nothing
// may use to yet.
func (st *state) renameClass(from, to string) {
	affected := map[*provider]struct{}{}
	if set := st.byClass[from]; set != nil {
		delete(st.byClass, from)
		st.byClass[to] = set
		for _, p := range set {
			affected[p] = struct{}{}
			i, _ := p.findClass(from)
			p.res[i].ResourceClass = to
			slices.SortFunc(p.res, func(a, b placement.ProviderResource) int {
				return strings.Compare(a.ResourceClass, b.ResourceClass)
			})
			p.refresh()
		}
	}
	for _, p := range st.providers {
		if v, ok := p.extra[from]; ok {
			delete(p.extra, from)
			p.extra[to] = v
			affected[p] = struct{}{}
		}
	}
	consumers := map[string]struct{}{}
	for p := range affected {
		for c := range p.consumers {
			consumers[c] = struct{}{}
		}
	}
	for c := range consumers {
		allocs := slices.Clone(st.allocs[c])
		for i := range allocs {
			if allocs[i].class == from {
				allocs[i].class = to
			}
		}
		sortAllocations(allocs)
		st.allocs[c] = allocs
	}
}

// classUsed reports whether some inventory, usage or allocation names class.
func (st *state) classUsed(class string) bool {
	if len(st.byClass[class]) > 0 {
		return true
	}
	for _, p := range st.providers {
		if _, ok := p.extra[class]; ok {
			return true
		}
	}
	return false
}

func compareAllocations(a, b allocation) int {
	if c := strings.Compare(a.p.rec.UUID, b.p.rec.UUID); c != 0 {
		return c
	}
	return strings.Compare(a.class, b.class)
}

func sortAllocations(allocs []allocation) {
	if !slices.IsSortedFunc(allocs, compareAllocations) {
		slices.SortFunc(allocs, compareAllocations)
	}
}

// sortedUnique returns a sorted copy of names without duplicates (nil for
// none).
func sortedUnique(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}

// contains reports whether the sorted set has name.
func contains(set []string, name string) bool {
	_, ok := slices.BinarySearch(set, name)
	return ok
}

// containsAny reports whether the sorted set has one of names.
func containsAny(set []string, names []string) bool {
	for _, n := range names {
		if contains(set, n) {
			return true
		}
	}
	return false
}
