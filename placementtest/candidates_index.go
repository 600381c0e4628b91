package placementtest

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/goplacement/placement"
)

// WithCandidateIndex wraps a store so that its read transactions also
// implement placement.CandidateReader, answered from an in-memory index of
// the whole state that is rebuilt (through the plain SPI) at the first View
// after any Update. It is a reference implementation of the pushdown
// contract, for tests (the Engine must give the same answers with and
// without it) and for benchmarks (it shows what the Engine costs when a
// backend answers the pushdown from indexes). Writes must go through the
// returned store. It is not meant for production: rebuilding reads
// everything.
func WithCandidateIndex(s placement.Store) placement.Store {
	return &indexedStore{inner: s, dirty: true}
}

type indexedStore struct {
	inner placement.Store
	mu    sync.RWMutex
	dirty bool
	idx   *candIndex
}

// candIndex is the whole state arranged for the pushdown questions.
type candIndex struct {
	roots []string                   // sorted
	trees [][]placement.TreeProvider // trees[i]: the tree of roots[i], sorted by uuid
	byID  map[string]*placement.TreeProvider
}

func (s *indexedStore) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	s.mu.RLock()
	if s.dirty {
		s.mu.RUnlock()
		s.mu.Lock()
		if s.dirty {
			idx, err := buildCandIndex(ctx, s.inner)
			if err != nil {
				s.mu.Unlock()
				return err
			}
			s.idx, s.dirty = idx, false
		}
		s.mu.Unlock()
		s.mu.RLock()
	}
	defer s.mu.RUnlock()
	idx := s.idx
	return s.inner.View(ctx, func(tx placement.ReadTx) error {
		return fn(&indexedTx{ReadTx: tx, idx: idx})
	})
}

func (s *indexedStore) Update(ctx context.Context, fn func(placement.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	return s.inner.Update(ctx, fn)
}

func buildCandIndex(ctx context.Context, s placement.Store) (*candIndex, error) {
	st, err := ReadState(ctx, s)
	if err != nil {
		return nil, err
	}
	byRoot := map[string][]placement.TreeProvider{}
	idx := &candIndex{byID: map[string]*placement.TreeProvider{}}
	for _, p := range st.Providers {
		if p.ParentUUID == "" {
			idx.roots = append(idx.roots, p.UUID)
		}
		byRoot[p.RootUUID] = append(byRoot[p.RootUUID], placement.TreeProvider{
			UUID: p.UUID, ParentUUID: p.ParentUUID, RootUUID: p.RootUUID,
			Resources: st.Resources[p.UUID], Traits: st.Traits[p.UUID], Aggregates: st.Aggregates[p.UUID],
		})
	}
	slices.Sort(idx.roots)
	idx.trees = make([][]placement.TreeProvider, len(idx.roots))
	for i, r := range idx.roots {
		tree := byRoot[r]
		slices.SortFunc(tree, func(a, b placement.TreeProvider) int { return strings.Compare(a.UUID, b.UUID) })
		idx.trees[i] = tree
		for k := range tree {
			idx.byID[tree[k].UUID] = &tree[k]
		}
	}
	return idx, nil
}

// indexedTx is a ReadTx with the pushdown answered from the index.
type indexedTx struct {
	placement.ReadTx
	idx *candIndex
}

var _ placement.CandidateReader = (*indexedTx)(nil)

func indexFits(res []placement.ProviderResource, class string, amount int64) bool {
	for i := range res {
		if res[i].ResourceClass == class {
			return res[i].Check(res[i].Used, amount) == placement.ReasonNone
		}
	}
	return false
}

func sortedHas(list []string, s string) bool {
	_, ok := slices.BinarySearch(list, s)
	return ok
}

// CandidateRoots answers exactly (no superset).
func (t *indexedTx) CandidateRoots(q placement.RootQuery) ([]string, error) {
	roots := t.idx.roots
	i := 0
	if q.After != "" {
		i, _ = slices.BinarySearch(roots, q.After)
		if i < len(roots) && roots[i] == q.After {
			i++
		}
	}
	if len(q.Resources) == 0 && len(q.Required) == 0 && len(q.Forbidden) == 0 {
		j := len(roots)
		if q.Limit > 0 && i+q.Limit < j {
			j = i + q.Limit
		}
		return roots[i:j:j], nil
	}
	var out []string
	if q.Limit > 0 {
		out = make([]string, 0, q.Limit)
	}
	for ; i < len(roots) && (q.Limit == 0 || len(out) < q.Limit); i++ {
		r := roots[i]
		tree := t.idx.trees[i]
		rp := &tree[0]
		if rp.UUID != r {
			rp = t.idx.byID[r]
		}
		ok := true
		for _, tr := range q.Required {
			if !sortedHas(rp.Traits, tr) {
				ok = false
			}
		}
		for _, tr := range q.Forbidden {
			if sortedHas(rp.Traits, tr) {
				ok = false
			}
		}
		for _, ra := range q.Resources {
			if !ok {
				break
			}
			ok = false
			for k := range tree {
				if indexFits(tree[k].Resources, ra.Class, ra.Amount) {
					ok = true
					break
				}
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Trees returns the index's own slices (allowed by the contract).
func (t *indexedTx) Trees(roots []string) ([]*placement.TreeProvider, error) {
	sorted := roots
	if !slices.IsSorted(roots) {
		sorted = slices.Clone(roots)
		slices.Sort(sorted)
	}
	// Walk the sorted roots in step with the index's (usually consecutive).
	at := make([]int, 0, len(sorted))
	n, next := 0, -1
	for _, r := range sorted {
		i := next
		if i < 0 || i >= len(t.idx.roots) || t.idx.roots[i] != r {
			var ok bool
			if i, ok = slices.BinarySearch(t.idx.roots, r); !ok {
				continue
			}
		}
		at = append(at, i)
		n += len(t.idx.trees[i])
		next = i + 1
	}
	out := make([]*placement.TreeProvider, 0, n)
	for _, i := range at {
		tree := t.idx.trees[i]
		for k := range tree {
			out = append(out, &tree[k])
		}
	}
	return out, nil
}

// ProvidersWithCapacity filters the store's Providers answer by capacity.
func (t *indexedTx) ProvidersWithCapacity(q placement.CapacityQuery) ([]placement.ProviderCapacity, error) {
	ps, err := t.ReadTx.Providers(q.ProviderQuery)
	if err != nil {
		return nil, err
	}
	var out []placement.ProviderCapacity
	for _, p := range ps {
		tp := t.idx.byID[p.UUID]
		if tp == nil {
			continue
		}
		ok := true
		for _, ra := range q.Resources {
			if !indexFits(tp.Resources, ra.Class, ra.Amount) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, placement.ProviderCapacity{ResourceProvider: p, Resources: tp.Resources})
		}
	}
	return out, nil
}
