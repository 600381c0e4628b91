package memstore

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/goplacement/placement"
)

// TestMoveCopiesEveryField guards move, which copies provider's fields one
// by one: a field added to provider must be copied there, then listed here.
func TestMoveCopiesEveryField(t *testing.T) {
	var names []string
	typ := reflect.TypeFor[provider]()
	for i := range typ.NumField() {
		names = append(names, typ.Field(i).Name)
	}
	want := []string{"rec", "res", "holders", "live", "_", "resInline", "holdInline", "extra", "traits", "aggs", "members", "_", "tp", "treeSize"}
	if !slices.Equal(names, want) {
		t.Errorf("provider's fields are %v, move copies %v", names, want)
	}
}

// createRoots creates a root provider for each uuid, in one Update.
func createRoots(t *testing.T, s *Store, uuids ...string) {
	t.Helper()
	err := s.Update(context.Background(), func(tx placement.Tx) error {
		for _, u := range uuids {
			if err := tx.CreateProvider(placement.ResourceProvider{UUID: u, Name: "n-" + u, RootUUID: u}); err != nil {
				return err
			}
			if err := tx.PutInventory(u, placement.NewInventory(placement.ClassVCPU, 8)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClusterPolicy checks that a commit lays out the chunks of the root
// list that changed enough (with the default share), in uuid order, and
// leaves the others where they are.
func TestClusterPolicy(t *testing.T) {
	defer func(share int) { clusterShare = share }(clusterShare)
	clusterShare = 8
	s := New()
	uuids := make([]string, 3000)
	for i := range uuids {
		uuids[i] = fmt.Sprintf("%08x-%d", uint32(i)*2654435761, i) // scattered
	}
	createRoots(t, s, uuids...)
	st := s.st
	// Consecutive objects of a chunk ascend in memory, but where the
	// allocator moved on to another span.
	ascending, pairs := 0, 0
	for _, c := range st.roots.chunks {
		for i := 1; i < len(c); i++ {
			pairs++
			if uintptr(unsafe.Pointer(c[i].p)) > uintptr(unsafe.Pointer(c[i-1].p)) {
				ascending++
			}
		}
	}
	if ascending*10 < pairs*9 {
		t.Errorf("%d of %d neighbours in the root list ascend in memory, want 90%%", ascending, pairs)
	}

	// New roots sorting first all land in the first chunk: while they are
	// fewer than 1/8 of its length (theirs included) they leave its
	// providers in place, then one more moves them.
	first := slices.Clone(st.roots.chunks[0])
	k := (len(first)+6)/7 - 1 // the most with k*8 < len(first)+k
	if len(first)+k+1 > 2*rootChunk {
		t.Fatalf("the first chunk (%d) would split", len(first))
	}
	before := make([]string, k+1)
	for i := range before {
		before[i] = fmt.Sprintf("0000-%03d", i)
	}
	createRoots(t, s, before[:k]...)
	for _, e := range first {
		if st.provider(e.uuid) != e.p {
			t.Fatalf("%d new roots in a chunk of %d moved its providers", k, len(first))
		}
	}
	createRoots(t, s, before[k])
	for _, e := range first {
		if st.provider(e.uuid) == e.p {
			t.Fatalf("%d new roots in a chunk of %d did not move its providers", k+1, len(first))
		}
	}

	// A root given a parent leaves the root list, and its array for an
	// object of its own.
	child, parent := st.roots.chunks[1][0], st.roots.chunks[1][1]
	err := s.Update(context.Background(), func(tx placement.Tx) error {
		rec, err := tx.Provider(child.uuid)
		if err != nil {
			return err
		}
		rec.ParentUUID, rec.RootUUID = parent.uuid, parent.uuid
		return tx.UpdateProvider(rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := st.provider(child.uuid); p == child.p || p.rec.ParentUUID != parent.uuid {
		t.Errorf("a root given a parent stayed in its array")
	}
	if err := CheckInternal(s); err != nil {
		t.Fatal(err)
	}
}
