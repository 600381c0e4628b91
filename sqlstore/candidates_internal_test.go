//go:build cgo

package sqlstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/goplacement/placement"
)

// The merge of Trees' rows when they do not come in the providers' order
// (PostgreSQL gives no order; SQLite's plans give the providers' order).
func TestTreeBuilderAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var b treeBuilder
		type want struct {
			res    []string
			traits []string
		}
		wants := map[string]*want{}
		nroots := 1 + rng.IntN(6)
		roots := make([]string, nroots)
		for i := range roots {
			roots[i] = fmt.Sprintf("r%02d", i)
		}
		id := int64(100)
		for _, r := range roots {
			for k := range 1 + rng.IntN(4) {
				u := r
				parent := ""
				if k > 0 {
					u, parent = fmt.Sprintf("%s.%d", r, rng.IntN(1000)), r
				}
				if wants[u] != nil {
					continue
				}
				w := &want{}
				wants[u] = w
				id += int64(1 + rng.IntN(3))
				b.provs = append(b.provs, placement.TreeProvider{UUID: u, ParentUUID: parent, RootUUID: r})
				b.ids = append(b.ids, id)
				for _, c := range []string{"A", "B", "C", "D"} {
					if rng.IntN(2) == 0 {
						w.res = append(w.res, c)
						b.res = append(b.res, placement.ProviderResource{Inventory: placement.Inventory{ResourceClass: c}})
						b.resIDs = append(b.resIDs, id)
					}
					if rng.IntN(3) == 0 {
						w.traits = append(w.traits, "T"+c)
						b.traits = append(b.traits, "T"+c)
						b.traitIDs = append(b.traitIDs, id)
					}
				}
			}
		}
		// Rows for an unknown provider id are dropped.
		b.traits = append(b.traits, "ORPHAN")
		b.traitIDs = append(b.traitIDs, 1)
		if round%2 == 1 {
			shuffle := func(n int, swap func(i, j int)) { rng.Shuffle(n, swap) }
			shuffle(len(b.provs), func(i, j int) {
				b.provs[i], b.provs[j] = b.provs[j], b.provs[i]
				b.ids[i], b.ids[j] = b.ids[j], b.ids[i]
			})
			shuffle(len(b.res), func(i, j int) {
				b.res[i], b.res[j] = b.res[j], b.res[i]
				b.resIDs[i], b.resIDs[j] = b.resIDs[j], b.resIDs[i]
			})
			shuffle(len(b.traits), func(i, j int) {
				b.traits[i], b.traits[j] = b.traits[j], b.traits[i]
				b.traitIDs[i], b.traitIDs[j] = b.traitIDs[j], b.traitIDs[i]
			})
		}
		b.group()
		out := make([]*placement.TreeProvider, len(b.provs))
		for i := range b.provs {
			out[i] = &b.provs[i]
		}
		sortTrees(out)
		if len(out) != len(wants) {
			t.Fatalf("round %d: %d providers, want %d", round, len(out), len(wants))
		}
		if !slices.IsSortedFunc(out, func(a, b *placement.TreeProvider) int {
			if a.RootUUID != b.RootUUID {
				return cmpStr(a.RootUUID, b.RootUUID)
			}
			return cmpStr(a.UUID, b.UUID)
		}) {
			t.Fatalf("round %d: not sorted by root and uuid", round)
		}
		for _, tp := range out {
			w := wants[tp.UUID]
			var classes []string
			for _, r := range tp.Resources {
				classes = append(classes, r.ResourceClass)
			}
			if !slices.Equal(classes, w.res) || !slices.Equal(tp.Traits, w.traits) {
				t.Fatalf("round %d: %s has %v %v, want %v %v", round, tp.UUID, classes, tp.Traits, w.res, w.traits)
			}
		}
	}
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
