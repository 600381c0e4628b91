package memstore

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/goplacement/placement"
)

// state is the whole content of a store: the primary records and every
// index over them. Its methods keep the indexes in step and never fail; the
// transaction methods validate before calling them.
type state struct {
	// The indexes hold few pointers per provider: the garbage collector
	// marks them all at every cycle, and a large answer (allocation
	// candidates) starts a cycle every few calls.
	provIdx  hashIndex[*provider] // by uuid (provider)
	byName   map[string]*provider
	children map[string]provSet // parent uuid -> children
	byRoot   map[string]provSet // root uuid -> the providers below it (none: no entry)
	byTrait  map[string]provSet // trait -> providers having it
	byAgg    map[string]provSet // aggregate -> member providers
	byClass  map[string]provSet // class -> providers with inventory of it
	roots    rootList           // providers without a parent, sorted by uuid

	classes map[string]placement.ResourceClass // custom classes
	traits  map[string]placement.Trait         // custom traits

	// consumers has an entry for every consumer with a record or
	// allocations (by uuid, a hashIndex: a claim looks one up and a release
	// drops one); byProject lists those with a record, per project.
	consumers hashIndex[*consumerEntry]
	byProject map[string]*projectMembers
	free      []*consumerEntry // dropped entries, for reuse
	lastProj  *projectMembers  // the project a record joined last

	// sets holds the trait and aggregate sets of providers (see intern).
	sets map[string][]string
}

func newState() *state {
	return &state{
		provIdx:   newHashIndex[*provider](),
		byName:    map[string]*provider{},
		children:  map[string]provSet{},
		byRoot:    map[string]provSet{},
		byTrait:   map[string]provSet{},
		byAgg:     map[string]provSet{},
		byClass:   map[string]provSet{},
		classes:   map[string]placement.ResourceClass{},
		traits:    map[string]placement.Trait{},
		consumers: newHashIndex[*consumerEntry](),
		byProject: map[string]*projectMembers{},
	}
}

// provider is everything about one provider, so that one map lookup finds
// its record, inventory with usage, traits, aggregates and consumers. A
// provider object is never replaced while it exists (updates change it in
// place), so allocations can point at it.
type provider struct {
	// The fields a claim reads and writes come first, together.
	rec placement.ResourceProvider
	// res holds the inventories with their usage, sorted by class: Resources
	// is one copy of it.
	res []placement.ProviderResource
	// holders are the consumers holding allocations here, in no order;
	// each of their allocations here has its index (allocation.hold).
	holders []*consumerEntry
	// live tells whether the provider is indexed (a transaction's cached
	// provider must still be).
	live bool
	// resInline starts a cache line (provider objects laid out by cluster
	// are elements of a page-aligned array, so start on cache line
	// boundaries), so that the inline resources span one line fewer: two
	// rather than three for one resource (TestProviderLayout checks the
	// padding).
	_ [16]byte
	// resInline and holdInline hold res and holders while they fit (a
	// compute node's VCPU, MEMORY_MB and DISK_GB; a consumer or two), so
	// that a claim finds them next to the record rather than waiting for
	// loads from elsewhere in memory.
	resInline  [3]placement.ProviderResource
	holdInline [2]*consumerEntry

	// extra holds the usage of classes the provider has no inventory of
	// (possible only transiently, or if the Engine allowed it); usually nil.
	extra  map[string]int64
	traits []string // sorted, unique
	aggs   []string // sorted, unique
	// members caches, for Trees, copies of the tps of the tree rooted here
	// sorted by uuid, side by side in one array: sorting a tree at every
	// read cost more than the rest of Trees, and the planner reads the
	// copies faster than tps scattered one per provider object. Built by
	// the first reader that needs it (readers may race to build it, so it
	// is an atomic pointer), dropped (under the write lock) by every change
	// to the tree's members (addToTree, removeFromTree) or to their tps
	// (refresh), never modified once built.
	members atomic.Pointer[[]*placement.TreeProvider]
	// tp starts a cache line and treeSize ends the next one, so that Trees
	// and the planner read two lines for a tree of one provider rather
	// than three.
	_ [8]byte
	// tp mirrors rec's uuids, res, traits and aggs (the same slices), for
	// CandidateReader.Trees to point at; refresh keeps it in step.
	tp placement.TreeProvider
	// treeSize is the number of providers whose root this one is (see
	// state.tree).
	treeSize int
}

// newProvider returns a provider object for rec, not indexed yet.
func newProvider(rec placement.ResourceProvider) *provider {
	p := &provider{rec: rec}
	p.res, p.holders = p.resInline[:0], p.holdInline[:0]
	return p
}

// refresh sets p.tp from p's record, inventories, traits and aggregates,
// and drops the copy of it in its root's members. Every state method that
// changes one of them (or replaces the slice) calls it; usage changes write
// into the shared res array in place.
func (st *state) refresh(p *provider) {
	p.tp = placement.TreeProvider{UUID: p.rec.UUID, ParentUUID: p.rec.ParentUUID, RootUUID: p.rec.RootUUID,
		Resources: p.res, Traits: p.traits, Aggregates: p.aggs}
	if rp := st.provider(p.rec.RootUUID); rp != nil {
		rp.members.Store(nil)
	}
}

// allocation is one stored allocation of a consumer.
type allocation struct {
	p     *provider
	class string
	used  int64
	hold  int32 // the consumer's index in p.holders
	// res is where the class was in p.res when the allocation was stored
	// (a hint: inventory writes move classes), -1 if p had no inventory.
	res int32
}

// consumerEntry is everything about one consumer uuid: its record, if it
// has one, and its allocations. An entry exists while either does and is
// never replaced meanwhile, so that providers and projects can point at it;
// a dropped entry is cleared and may be reused for another consumer.
type consumerEntry struct {
	uuid   string
	rec    placement.Consumer // valid when hasRec
	hasRec bool
	live   bool // in state.consumers
	// proj is byProject[rec.ProjectID] and projIdx e's index in its list,
	// when hasRec.
	proj    *projectMembers
	projIdx int
	// allocs are sorted by provider then class, kept in inline while they
	// fit (a typical claim).
	allocs []allocation
	inline [3]allocation
}

// projectMembers lists the consumers with a record in a project, in no
// order (consumerEntry.projIdx is each one's index). It is dropped from
// byProject (dead) when its list empties.
type projectMembers struct {
	name string
	list []*consumerEntry
	dead bool
}

// maxFree bounds the dropped consumer entries kept for reuse.
const maxFree = 256

// findClass returns the index of class in p.res, or where it would go.
func (p *provider) findClass(class string) (int, bool) {
	if len(p.res) <= len(p.resInline) {
		// A few classes: equality tests (quick on the same string) first.
		for i := range p.res {
			if p.res[i].ResourceClass == class {
				return i, true
			}
		}
	}
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

// addUsage adds delta to p's usage of class, looking at index hint of
// p.res first, and returns the index of the class in p.res (-1 when p has
// no inventory of it).
func (p *provider) addUsage(class string, delta int64, hint int32) int32 {
	if i := int(hint); i >= 0 && i < len(p.res) && p.res[i].ResourceClass == class {
		p.res[i].Used += delta
		return hint
	}
	if i, ok := p.findClass(class); ok {
		p.res[i].Used += delta
		return int32(i)
	}
	if p.extra == nil {
		p.extra = map[string]int64{}
	}
	if v := p.extra[class] + delta; v != 0 {
		p.extra[class] = v
	} else {
		delete(p.extra, class)
	}
	return -1
}

// provSet is a set of providers, one entry of an index: keyed by the
// object rather than by uuid, it holds one pointer per member.
type provSet map[*provider]struct{}

func addTo(idx map[string]provSet, key string, p *provider) {
	m := idx[key]
	if m == nil {
		m = provSet{}
		idx[key] = m
	}
	m[p] = struct{}{}
}

func removeFrom(idx map[string]provSet, key string, p *provider) {
	if m := idx[key]; m != nil {
		delete(m, p)
		if len(m) == 0 {
			delete(idx, key)
		}
	}
}

// indexProvider inserts p, with its current inventories, traits and
// aggregates, into every index.
func (st *state) indexProvider(p *provider) {
	st.provIdx.put(p)
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
	_, _, p.treeSize = st.tree(p.rec.UUID)
	p.live = true
	st.refresh(p)
}

// provider returns the provider with this uuid, or nil.
func (st *state) provider(uuid string) *provider { return st.provIdx.get(uuid) }

// eachProvider yields every provider, in no particular order.
func (st *state) eachProvider(yield func(*provider) bool) { st.provIdx.all(yield) }

func (p *provider) indexKey() string { return p.rec.UUID }

func (e *consumerEntry) indexKey() string { return e.uuid }

// hashIndex is an open-addressing hash table (linear probing) of objects by
// a string key (their indexKey), for the store's hottest lookups. A slot
// holds the key's hash next to the object, so a lookup waits for one load
// fewer than a Go map's: the key is compared in the object, which the
// caller reads next anyway. The zero value is an empty index but for its
// seed.
type hashIndex[V interface {
	comparable
	indexKey() string
}] struct {
	seed  maphash.Seed
	slots []hashSlot[V] // a power of two of them, at most 3/4 used
	n     int
}

type hashSlot[V any] struct {
	h uint64
	v V // the zero V (nil) for a free slot
}

func newHashIndex[V interface {
	comparable
	indexKey() string
}]() hashIndex[V] {
	return hashIndex[V]{seed: maphash.MakeSeed()}
}

// get returns the object with this key, or the zero V.
func (x *hashIndex[V]) get(key string) V {
	var zero V
	if x.n == 0 {
		return zero
	}
	h := maphash.String(x.seed, key)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.v == zero {
			return zero
		}
		if s.h == h && s.v.indexKey() == key {
			return s.v
		}
	}
}

// put adds v, whose key the index does not have.
func (x *hashIndex[V]) put(v V) {
	var zero V
	if (x.n+1)*4 > len(x.slots)*3 {
		old := x.slots
		x.slots = make([]hashSlot[V], max(16, 2*len(old)))
		for _, s := range old {
			if s.v != zero {
				x.insert(s)
			}
		}
	}
	x.insert(hashSlot[V]{h: maphash.String(x.seed, v.indexKey()), v: v})
	x.n++
}

func (x *hashIndex[V]) insert(s hashSlot[V]) {
	var zero V
	mask := uint64(len(x.slots) - 1)
	i := s.h & mask
	for x.slots[i].v != zero {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

// replace puts v in the place of the object with the same key (nothing
// when there is none).
func (x *hashIndex[V]) replace(v V) {
	var zero V
	key := v.indexKey()
	h := maphash.String(x.seed, key)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; x.slots[i].v != zero; i = (i + 1) & mask {
		if s := &x.slots[i]; s.h == h && s.v.indexKey() == key {
			s.v = v
			return
		}
	}
}

// remove deletes key's object, shifting back the slots after it that would
// otherwise no longer be found.
func (x *hashIndex[V]) remove(key string) {
	var zero V
	if x.n == 0 {
		return
	}
	h := maphash.String(x.seed, key)
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for ; x.slots[i].v == zero || x.slots[i].h != h || x.slots[i].v.indexKey() != key; i = (i + 1) & mask {
		if x.slots[i].v == zero {
			return
		}
	}
	for j := i; ; {
		j = (j + 1) & mask
		if x.slots[j].v == zero {
			break
		}
		// The slot at j may move to i unless its home k lies cyclically
		// in (i, j].
		if k := x.slots[j].h & mask; (i < j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		x.slots[i] = x.slots[j]
		i = j
	}
	x.slots[i] = hashSlot[V]{}
	x.n--
}

// all yields every object, in no particular order. The index must not
// change meanwhile.
func (x *hashIndex[V]) all(yield func(V) bool) {
	var zero V
	for _, s := range x.slots {
		if s.v != zero && !yield(s.v) {
			return
		}
	}
}

// addToTree and removeFromTree change the byRoot index, keeping the root
// provider's treeSize and members in step. A root is not in its own set, so
// that a tree of one provider (most of them) costs no set at all.
func (st *state) addToTree(root string, p *provider) {
	if p.rec.UUID != root {
		addTo(st.byRoot, root, p)
	}
	st.treeChanged(root)
}

func (st *state) removeFromTree(root string, p *provider) {
	removeFrom(st.byRoot, root, p)
	st.treeChanged(root)
}

func (st *state) treeChanged(root string) {
	if rp := st.provider(root); rp != nil {
		_, _, rp.treeSize = st.tree(root)
		rp.members.Store(nil)
	}
}

// tree returns the providers whose root is the provider with uuid root:
// that provider if it is its own root (else nil), the others (below), and
// their number.
func (st *state) tree(root string) (rp *provider, below provSet, n int) {
	below = st.byRoot[root]
	n = len(below)
	if rp = st.provider(root); rp != nil && rp.rec.RootUUID == root {
		n++
	} else {
		rp = nil
	}
	return rp, below, n
}

// unindexProvider removes p from every index (p itself is left as it is, so
// indexProvider can put it back).
func (st *state) unindexProvider(p *provider) {
	u := p.rec.UUID
	p.live = false
	st.provIdx.remove(u)
	if st.byName[p.rec.Name] == p {
		delete(st.byName, p.rec.Name)
	}
	if p.rec.ParentUUID != "" {
		removeFrom(st.children, p.rec.ParentUUID, p)
	}
	st.removeFromTree(p.rec.RootUUID, p)
	for _, t := range p.traits {
		removeFrom(st.byTrait, t, p)
	}
	for _, a := range p.aggs {
		removeFrom(st.byAgg, a, p)
	}
	for i := range p.res {
		removeFrom(st.byClass, p.res[i].ResourceClass, p)
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
			removeFrom(st.children, old.ParentUUID, p)
		}
		if rec.ParentUUID != "" {
			addTo(st.children, rec.ParentUUID, p)
		}
	}
	if old.RootUUID != rec.RootUUID {
		st.removeFromTree(old.RootUUID, p)
		st.addToTree(rec.RootUUID, p)
	}
	switch {
	case old.ParentUUID == "" && rec.ParentUUID != "":
		st.roots.remove(u)
	case old.ParentUUID != "" && rec.ParentUUID == "":
		st.roots.insert(p)
	}
	st.refresh(p)
}

// putInventory inserts or replaces p's inventory of inv's class, keeping its
// usage, and returns the inventory it replaced.
func (st *state) putInventory(p *provider, inv placement.Inventory) (old placement.Inventory, existed bool) {
	i, ok := p.findClass(inv.ResourceClass)
	if ok {
		old = p.res[i].Inventory
		p.res[i].Inventory = inv
		st.refresh(p)
		return old, true
	}
	used := p.extra[inv.ResourceClass]
	if used != 0 {
		delete(p.extra, inv.ResourceClass)
	}
	p.res = slices.Insert(p.res, i, placement.ProviderResource{Inventory: inv, Used: used})
	addTo(st.byClass, inv.ResourceClass, p)
	st.refresh(p)
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
	removeFrom(st.byClass, class, p)
	st.refresh(p)
	return r.Inventory
}

// setLinks replaces a sorted set of names of p (traits or aggregates) and
// keeps idx in step; it returns the previous set. want must be sorted,
// unique and owned by the store.
func (st *state) setLinks(idx map[string]provSet, p *provider, have *[]string, want []string) []string {
	old := *have
	i, j := 0, 0
	for i < len(old) || j < len(want) {
		switch {
		case j == len(want) || (i < len(old) && old[i] < want[j]):
			removeFrom(idx, old[i], p)
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
	st.refresh(p)
	return old
}

// newEntry creates and indexes the entry of a consumer that has none.
func (st *state) newEntry(uuid string) *consumerEntry {
	var e *consumerEntry
	if n := len(st.free); n > 0 {
		e = st.free[n-1]
		st.free[n-1] = nil
		st.free = st.free[:n-1]
	} else {
		e = new(consumerEntry)
	}
	e.uuid, e.live, e.allocs = uuid, true, e.inline[:0]
	st.consumers.put(e)
	return e
}

// entry returns the consumer's entry, creating it if needed.
func (st *state) entry(uuid string) *consumerEntry {
	if e := st.consumers.get(uuid); e != nil {
		return e
	}
	return st.newEntry(uuid)
}

// dropIfEmpty removes e once it has neither a record nor allocations.
func (st *state) dropIfEmpty(e *consumerEntry) {
	if e.hasRec || len(e.allocs) > 0 {
		return
	}
	st.consumers.remove(e.uuid)
	*e = consumerEntry{}
	if len(st.free) < maxFree {
		st.free = append(st.free, e)
	}
}

// putConsumer inserts or replaces a consumer record.
func (st *state) putConsumer(c placement.Consumer) { st.setRecord(st.entry(c.UUID), c) }

// setRecord inserts or replaces e's record (c.UUID is e's uuid).
func (st *state) setRecord(e *consumerEntry, c placement.Consumer) {
	moved := !e.hasRec || e.rec.ProjectID != c.ProjectID
	if moved && e.hasRec {
		st.leaveProject(e)
	}
	e.rec, e.hasRec = c, true
	if moved {
		m := st.lastProj
		if m == nil || m.dead || m.name != c.ProjectID {
			if m = st.byProject[c.ProjectID]; m == nil {
				m = &projectMembers{name: c.ProjectID}
				st.byProject[c.ProjectID] = m
			}
			st.lastProj = m
		}
		e.proj, e.projIdx = m, len(m.list)
		m.list = append(m.list, e)
	}
}

// removeRecord deletes e's record (which it has), dropping e if it holds
// no allocations.
func (st *state) removeRecord(e *consumerEntry) {
	st.leaveProject(e)
	e.rec, e.hasRec = placement.Consumer{}, false
	st.dropIfEmpty(e)
}

// leaveProject removes e from its project's members.
func (st *state) leaveProject(e *consumerEntry) {
	m := e.proj
	e.proj = nil
	last := len(m.list) - 1
	if i := e.projIdx; i != last {
		moved := m.list[last]
		m.list[i], moved.projIdx = moved, i
	}
	m.list[last] = nil
	m.list = m.list[:last]
	if last == 0 {
		delete(st.byProject, m.name)
		m.dead = true
	}
}

// removeHolder removes the holder at index i of p.holders, re-indexing the
// one moved into its place.
func (p *provider) removeHolder(i int32) {
	last := int32(len(p.holders) - 1)
	if i != last {
		moved := p.holders[last]
		p.holders[i] = moved
		for j := range moved.allocs {
			if moved.allocs[j].p == p {
				moved.allocs[j].hold = i
			}
		}
	}
	p.holders[last] = nil
	p.holders = p.holders[:last]
}

// setAllocations replaces e's allocations with a copy of allocs (sorted by
// provider and class, naming existing providers), keeping the providers'
// usage and holders in step, and drops e if it is left with nothing. The
// caller keeps a copy of e.allocs first if it needs the previous ones: they
// may be overwritten.
func (st *state) setAllocations(e *consumerEntry, allocs []allocation) {
	old := e.allocs
	for i := range old {
		a := &old[i]
		a.p.addUsage(a.class, -a.used, a.res)
		if i == 0 || a.p != old[i-1].p {
			a.p.removeHolder(a.hold)
		}
	}
	next := old[:0]
	if len(allocs) > cap(next) {
		next = make([]allocation, 0, len(allocs))
	}
	next = append(next, allocs...)
	for i := range next {
		a := &next[i]
		a.res = a.p.addUsage(a.class, a.used, -1)
		if i == 0 || a.p != next[i-1].p {
			a.hold = int32(len(a.p.holders))
			a.p.holders = append(a.p.holders, e)
		} else {
			a.hold = next[i-1].hold
		}
	}
	e.allocs = next
	st.dropIfEmpty(e)
}

// renameClass renames class from to class to in every inventory, usage,
// allocation and class index (the class records are the caller's). Nothing
// may use to yet.
func (st *state) renameClass(from, to string) {
	affected := map[*provider]struct{}{}
	if set := st.byClass[from]; set != nil {
		delete(st.byClass, from)
		st.byClass[to] = set
		for p := range set {
			affected[p] = struct{}{}
			i, _ := p.findClass(from)
			p.res[i].ResourceClass = to
			slices.SortFunc(p.res, func(a, b placement.ProviderResource) int {
				return strings.Compare(a.ResourceClass, b.ResourceClass)
			})
			st.refresh(p)
		}
	}
	for p := range st.eachProvider {
		if v, ok := p.extra[from]; ok {
			delete(p.extra, from)
			p.extra[to] = v
			affected[p] = struct{}{}
		}
	}
	consumers := map[*consumerEntry]struct{}{}
	for p := range affected {
		for _, e := range p.holders {
			consumers[e] = struct{}{}
		}
	}
	for e := range consumers {
		for i := range e.allocs {
			if e.allocs[i].class == from {
				e.allocs[i].class = to
			}
		}
		sortAllocations(e.allocs)
	}
}

// classUsed reports whether some inventory, usage or allocation names class.
func (st *state) classUsed(class string) bool {
	if len(st.byClass[class]) > 0 {
		return true
	}
	for p := range st.eachProvider {
		if _, ok := p.extra[class]; ok {
			return true
		}
	}
	return false
}

func compareAllocations(a, b allocation) int {
	if a.p != b.p {
		return strings.Compare(a.p.rec.UUID, b.p.rec.UUID)
	}
	return strings.Compare(a.class, b.class)
}

func sortAllocations(allocs []allocation) {
	for i := 1; i < len(allocs); i++ {
		a, b := &allocs[i-1], &allocs[i]
		if a.p == b.p && a.class <= b.class || a.p != b.p && a.p.rec.UUID < b.p.rec.UUID {
			continue
		}
		slices.SortFunc(allocs, compareAllocations)
		return
	}
}

// maxSets bounds state.sets; when full it starts again empty (the sets
// already shared stay shared).
const maxSets = 1024

// intern returns a slice equal to set (sorted, unique: a provider's traits or
// aggregates) shared with every provider given an equal one lately. The
// sets are never modified (a change replaces a provider's slice), so
// sharing is safe, and a deployment's providers mostly have a few distinct
// sets: the candidates planner, reading the traits and aggregates of
// thousands of providers, then finds them in the processor's cache instead
// of one load from memory per provider and kind.
func (st *state) intern(set []string) []string {
	if len(set) == 0 {
		return nil
	}
	key := strings.Join(set, "\x00")
	if s, ok := st.sets[key]; ok && slices.Equal(s, set) { // (names with NUL could collide)
		return s
	}
	if st.sets == nil || len(st.sets) >= maxSets {
		st.sets = make(map[string][]string)
	}
	set = slices.Clip(set)
	st.sets[key] = set
	return set
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
