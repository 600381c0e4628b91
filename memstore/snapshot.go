package memstore

import (
	"slices"

	"github.com/goplacement/placement"
)

// Snapshot is a deep copy of a store's whole state, taken by Store.Snapshot
// and put back by Store.Restore (any number of times, into any store). It
// holds the primary records only; Restore rebuilds every index and recounts
// every usage from the allocations.
type Snapshot struct {
	providers []snapshotProvider // sorted by uuid
	classes   []placement.ResourceClass
	traits    []placement.Trait
	consumers []placement.Consumer
	allocs    []placement.AllocationRecord
}

type snapshotProvider struct {
	rec         placement.ResourceProvider
	inventories []placement.Inventory // sorted by class
	traits      []string
	aggs        []string
}

// Snapshot returns a deep copy of the store's committed state. It takes the
// read lock, so it must not be called from inside View or Update's fn.
func (s *Store) Snapshot() *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	snap := &Snapshot{}
	for p := range st.eachProvider {
		sp := snapshotProvider{rec: p.rec, traits: slices.Clone(p.traits), aggs: slices.Clone(p.aggs)}
		for _, r := range p.res {
			sp.inventories = append(sp.inventories, r.Inventory)
		}
		snap.providers = append(snap.providers, sp)
	}
	slices.SortFunc(snap.providers, func(a, b snapshotProvider) int { return compareProviders(a.rec, b.rec) })
	for _, rc := range st.classes {
		snap.classes = append(snap.classes, rc)
	}
	for _, t := range st.traits {
		snap.traits = append(snap.traits, t)
	}
	for e := range st.consumers.all {
		c := e.uuid
		if e.hasRec {
			snap.consumers = append(snap.consumers, e.rec)
		}
		for _, a := range e.allocs {
			snap.allocs = append(snap.allocs, placement.AllocationRecord{ConsumerUUID: c, ProviderUUID: a.p.rec.UUID, ResourceClass: a.class, Used: a.used})
		}
	}
	return snap
}

// Restore replaces the store's whole state with a copy of snap. It takes
// the write lock, so it waits for running transactions and must not be
// called from inside View or Update's fn.
func (s *Store) Restore(snap *Snapshot) {
	st := newState()
	for _, sp := range snap.providers {
		p := newProvider(sp.rec)
		p.traits, p.aggs = st.intern(slices.Clone(sp.traits)), st.intern(slices.Clone(sp.aggs))
		for _, inv := range sp.inventories {
			p.res = append(p.res, placement.ProviderResource{Inventory: inv})
		}
		st.indexProvider(p)
	}
	st.cluster()
	for _, rc := range snap.classes {
		st.classes[rc.Name] = rc
	}
	for _, t := range snap.traits {
		st.traits[t.Name] = t
	}
	for _, c := range snap.consumers {
		st.putConsumer(c)
	}
	byConsumer := map[string][]allocation{}
	for _, a := range snap.allocs {
		byConsumer[a.ConsumerUUID] = append(byConsumer[a.ConsumerUUID], allocation{p: st.provider(a.ProviderUUID), class: a.ResourceClass, used: a.Used})
	}
	for c, allocs := range byConsumer {
		sortAllocations(allocs)
		st.setAllocations(st.entry(c), allocs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = st
}
