package memstore

import (
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"slices"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
)

// The tests lay a chunk of the root list out again at every change, so that
// every commit that creates, re-roots or deletes a root moves objects
// (CheckInternal then finds any index left pointing at a moved one).
func init() { clusterShare = math.MaxInt32 }

// Internal is the whole internal state of a store, indexes included, in a
// canonical form that go-cmp can compare.
type Internal struct {
	Providers map[string]InternalProvider
	ByName    map[string]string
	Children  map[string][]string
	ByRoot    map[string][]string
	ByTrait   map[string][]string
	ByAgg     map[string][]string
	ByClass   map[string][]string
	Roots     []string
	Classes   map[string]placement.ResourceClass
	Traits    map[string]placement.Trait
	Consumers map[string]placement.Consumer
	ByProject map[string][]string
	Allocs    map[string][]placement.AllocationRecord
}

// InternalProvider is one provider of Internal.
type InternalProvider struct {
	Rec       placement.ResourceProvider
	Res       []placement.ProviderResource
	Extra     map[string]int64
	Traits    []string
	Aggs      []string
	Consumers []string
}

// DumpInternal returns the internal state of s (under the read lock).
func DumpInternal(s *Store) Internal {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return dumpState(s.st)
}

func dumpState(st *state) Internal {
	idx := func(m map[string]provSet) map[string][]string {
		out := map[string][]string{}
		for k, set := range m {
			var uuids []string
			for p := range set {
				uuids = append(uuids, p.rec.UUID)
			}
			slices.Sort(uuids)
			out[k] = uuids
		}
		return out
	}
	d := Internal{
		Providers: map[string]InternalProvider{},
		ByName:    map[string]string{},
		Children:  idx(st.children),
		ByRoot:    idx(st.byRoot),
		ByTrait:   idx(st.byTrait),
		ByAgg:     idx(st.byAgg),
		ByClass:   idx(st.byClass),
		Roots:     st.roots.all(),
		Classes:   maps.Clone(st.classes),
		Traits:    maps.Clone(st.traits),
		Consumers: map[string]placement.Consumer{},
		ByProject: map[string][]string{},
		Allocs:    map[string][]placement.AllocationRecord{},
	}
	for p := range st.eachProvider {
		u := p.rec.UUID
		d.Providers[u] = InternalProvider{
			Rec: p.rec, Res: slices.Clone(p.res), Extra: maps.Clone(p.extra),
			Traits: slices.Clone(p.traits), Aggs: slices.Clone(p.aggs),
		}
		var holders []string
		for _, e := range p.holders {
			holders = append(holders, e.uuid)
		}
		slices.Sort(holders)
		ip := d.Providers[u]
		ip.Consumers = holders
		d.Providers[u] = ip
	}
	for n, p := range st.byName {
		d.ByName[n] = p.rec.UUID
	}
	for proj, m := range st.byProject {
		var uuids []string
		for _, e := range m.list {
			uuids = append(uuids, e.uuid)
		}
		slices.Sort(uuids)
		d.ByProject[proj] = uuids
	}
	for e := range st.consumers.all {
		c := e.uuid
		if e.hasRec {
			d.Consumers[c] = e.rec
		}
		for _, a := range e.allocs {
			d.Allocs[c] = append(d.Allocs[c], placement.AllocationRecord{ConsumerUUID: c, ProviderUUID: a.p.rec.UUID, ResourceClass: a.class, Used: a.used})
		}
	}
	return d
}

// CheckInternal verifies that every index and usage of s is what a rebuild
// from its primary records gives, and that every index points at the live
// provider objects. It returns a description of the first problems found.
func CheckInternal(s *Store) error {
	live := DumpInternal(s)
	rebuilt := New()
	rebuilt.Restore(s.Snapshot())
	if diff := cmp.Diff(dumpState(rebuilt.st), live, cmpopts.EquateEmpty()); diff != "" {
		return fmt.Errorf("indexes differ from a rebuild (-rebuilt +live):\n%s", diff)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	same := func(what string, p *provider) error {
		if st.provider(p.rec.UUID) != p {
			return fmt.Errorf("%s points at a stale provider object %s", what, p.rec.UUID)
		}
		return nil
	}
	for n, p := range st.byName {
		if err := same("byName["+n+"]", p); err != nil {
			return err
		}
	}
	count, last := 0, ""
	for ci, c := range st.roots.chunks {
		if len(c) == 0 || len(c) > 2*rootChunk {
			return fmt.Errorf("roots chunk %d has %d entries", ci, len(c))
		}
		for _, e := range c {
			if err := same("roots", e.p); err != nil {
				return err
			}
			if e.uuid != e.p.rec.UUID || e.p.rec.ParentUUID != "" {
				return fmt.Errorf("roots entry %s points at provider %s (parent %q)", e.uuid, e.p.rec.UUID, e.p.rec.ParentUUID)
			}
			if count > 0 && e.uuid <= last {
				return fmt.Errorf("roots not sorted at %s", e.uuid)
			}
			count, last = count+1, e.uuid
		}
	}
	if f := st.roots.flat.Load(); f != nil && !slices.Equal(*f, st.roots.all()) {
		return fmt.Errorf("cached root list out of step")
	}
	if count != st.roots.n {
		return fmt.Errorf("roots counts %d entries, has %d", st.roots.n, count)
	}
	sizes := map[string]int{}
	for p := range st.eachProvider {
		sizes[p.rec.RootUUID]++
	}
	for p := range st.eachProvider {
		u := p.rec.UUID
		if size := sizes[u]; p.treeSize != size {
			return fmt.Errorf("provider %s: treeSize %d, root of %d providers", u, p.treeSize, size)
		}
		want := placement.TreeProvider{UUID: p.rec.UUID, ParentUUID: p.rec.ParentUUID, RootUUID: p.rec.RootUUID,
			Resources: p.res, Traits: p.traits, Aggregates: p.aggs}
		if diff := cmp.Diff(want, p.tp); diff != "" || !sameSlice(p.tp.Resources, p.res) ||
			!sameSlice(p.tp.Traits, p.traits) || !sameSlice(p.tp.Aggregates, p.aggs) {
			return fmt.Errorf("provider %s: tp out of step with the provider:\n%s", u, diff)
		}
	}
	for root, set := range st.byRoot {
		for p := range set {
			if p.rec.RootUUID != root || p.rec.UUID == root {
				return fmt.Errorf("byRoot[%s] has provider %s of root %s", root, p.rec.UUID, p.rec.RootUUID)
			}
		}
	}
	for name, idx := range map[string]map[string]provSet{"children": st.children, "byRoot": st.byRoot, "byTrait": st.byTrait, "byAgg": st.byAgg, "byClass": st.byClass} {
		for k, set := range idx {
			if len(set) == 0 {
				return fmt.Errorf("%s[%s] is an empty set", name, k)
			}
			for p := range set {
				if err := same(name+"["+k+"]", p); err != nil {
					return err
				}
			}
		}
	}
	if err := checkIndex(&st.consumers); err != nil {
		return fmt.Errorf("consumer index: %v", err)
	}
	for e := range st.consumers.all {
		c := e.uuid
		if !e.live {
			return fmt.Errorf("consumers[%s] is not live", c)
		}
		if !e.hasRec && len(e.allocs) == 0 {
			return fmt.Errorf("consumers[%s] is empty", c)
		}
		if e.hasRec {
			if e.rec.UUID != c {
				return fmt.Errorf("consumers[%s] has the record of %s", c, e.rec.UUID)
			}
			m := st.byProject[e.rec.ProjectID]
			if m == nil || e.proj != m || m.name != e.rec.ProjectID || e.projIdx >= len(m.list) || m.list[e.projIdx] != e {
				return fmt.Errorf("consumer %s: not at its index %d in project %s", c, e.projIdx, e.rec.ProjectID)
			}
		}
		for i, a := range e.allocs {
			if err := same("allocs["+c+"]", a.p); err != nil {
				return err
			}
			if int(a.hold) >= len(a.p.holders) || a.p.holders[a.hold] != e {
				return fmt.Errorf("consumer %s: not at its index %d in the holders of %s", c, a.hold, a.p.rec.UUID)
			}
			if i > 0 && compareAllocations(e.allocs[i-1], a) >= 0 {
				return fmt.Errorf("consumer %s: allocations not sorted", c)
			}
		}
	}
	for proj, m := range st.byProject {
		if len(m.list) == 0 || m.dead || m.name != proj {
			return fmt.Errorf("byProject[%s] is empty", proj)
		}
		for _, e := range m.list {
			if st.consumers.get(e.uuid) != e || !e.hasRec || e.rec.ProjectID != proj {
				return fmt.Errorf("byProject[%s] has a stale consumer %s", proj, e.uuid)
			}
		}
	}
	if err := checkIndex(&st.provIdx); err != nil {
		return fmt.Errorf("provider index: %v", err)
	}
	for p := range st.provIdx.all {
		u := p.rec.UUID
		if st.provider(u) != p {
			return fmt.Errorf("provider index has a stale provider %s", u)
		}
		if !p.live {
			return fmt.Errorf("provider %s is indexed but not live", u)
		}
		for _, e := range p.holders {
			if st.consumers.get(e.uuid) != e || !slices.ContainsFunc(e.allocs, func(a allocation) bool { return a.p == p }) {
				return fmt.Errorf("provider %s: holder %s is stale or holds nothing here", u, e.uuid)
			}
		}
	}
	for _, e := range st.free {
		if e.live || e.hasRec || len(e.allocs) > 0 {
			return fmt.Errorf("free consumer entry %q still in use", e.uuid)
		}
	}
	return nil
}

// sameSlice reports whether a and b are the same slice (same array, length
// and capacity), or both empty.
func sameSlice[T any](a, b []T) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return len(a) == len(b) && cap(a) == cap(b) && &a[0] == &b[0]
}

// checkIndex verifies that x counts its objects right, finds each of them,
// and holds each slot's hash right.
func checkIndex[V interface {
	comparable
	indexKey() string
}](x *hashIndex[V]) error {
	var zero V
	used := 0
	for _, sl := range x.slots {
		if sl.v == zero {
			continue
		}
		used++
		if k := sl.v.indexKey(); sl.h != maphash.String(x.seed, k) || x.get(k) != sl.v {
			return fmt.Errorf("entry %s is not found", k)
		}
	}
	if used != x.n {
		return fmt.Errorf("counts %d entries, has %d", x.n, used)
	}
	return nil
}
