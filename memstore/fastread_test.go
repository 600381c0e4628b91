package memstore_test

import (
	"errors"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// TestFastReadsFollowWrites drives an Update's lookup cache (the provider,
// the consumer entry and the missing consumer found last) through the
// writes that invalidate it: each fast read must agree with the plain reads
// right after the write, then everything is rolled back.
func TestFastReadsFollowWrites(t *testing.T) {
	for _, transient := range []bool{false, true} {
		s := memstore.New()
		seed(t, s)
		before := memstore.DumpInternal(s)
		update := s.Update
		if transient {
			update = s.UpdateTransient
		}
		provs := []string{"r1", "c1", "g1", "c2", "r2", "x1"}
		consumers := []string{"k1", "k2", "k3", "k4"}
		abort := errors.New("abort")
		steps := []struct {
			name  string
			write func(placement.Tx) error
			look  []string // read these first (fills the cache) ...
		}{
			{"create x1", func(tx placement.Tx) error { return tx.CreateProvider(rp("x1", "x-1", "", "x1")) }, []string{"x1"}},
			{"inventory x1", func(tx placement.Tx) error { return tx.PutInventory("x1", inv("VCPU", 2)) }, []string{"x1"}},
			{"delete x1", func(tx placement.Tx) error { return tx.DeleteProvider("x1") }, []string{"x1"}},
			{"create x1 again", func(tx placement.Tx) error { return tx.CreateProvider(rp("x1", "x-1b", "", "x1")) }, []string{"x1"}},
			{"create k3", func(tx placement.Tx) error { return tx.CreateConsumer(consumer("k3", "proj2", "u1")) }, []string{"k3"}},
			{"allocate k3", func(tx placement.Tx) error {
				return tx.ReplaceAllocations("k3", []placement.AllocationRecord{alloc("k3", "x1", "VCPU", 1), alloc("k3", "r2", "VCPU", 1)})
			}, []string{"k3", "x1"}},
			{"allocate k4 without a record", func(tx placement.Tx) error {
				return tx.ReplaceAllocations("k4", []placement.AllocationRecord{alloc("k4", "r1", "VCPU", 1)})
			}, []string{"k4"}},
			{"free k3", func(tx placement.Tx) error { return tx.ReplaceAllocations("k3", nil) }, []string{"k3"}},
			{"delete k3", func(tx placement.Tx) error { return tx.DeleteConsumer("k3") }, []string{"k3"}},
			{"free k4 (entry dropped)", func(tx placement.Tx) error { return tx.ReplaceAllocations("k4", nil) }, []string{"k4"}},
			{"create k3 again (reusing an entry)", func(tx placement.Tx) error { return tx.CreateConsumer(consumer("k3", "proj1", "u2")) }, []string{"k4", "k3"}},
			{"update k1", func(tx placement.Tx) error {
				c := consumer("k1", "proj2", "u9")
				c.Generation = 2
				return tx.UpdateConsumer(c, 1)
			}, []string{"k1"}},
			{"delete k2", func(tx placement.Tx) error {
				if err := tx.ReplaceAllocations("k2", nil); err != nil {
					return err
				}
				return tx.DeleteConsumer("k2")
			}, []string{"k2"}},
			{"bump r1", func(tx placement.Tx) error { return tx.BumpProviderGeneration("r1", 0) }, []string{"r1"}},
		}
		err := update(bg, func(tx placement.Tx) error {
			fast := tx.(placement.FastReader)
			for _, st := range steps {
				for _, u := range st.look {
					_, _, _, _ = fast.ProviderResourcesView(u)
					_, _, _ = fast.LookupConsumer(u)
				}
				if err := st.write(tx); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				for _, u := range st.look { // ... and again right after the write
					checkFastReads(t, tx, []string{u}, []string{u})
				}
				checkFastReads(t, tx, provs, consumers)
			}
			return abort
		})
		if err != abort {
			t.Fatal(err)
		}
		if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
			t.Errorf("transient %v: rollback left (-before +after):\n%s", transient, diff)
		}
		checkInternal(t, s)
	}
}

// TestUpdateTransient checks that UpdateTransient commits and rolls back
// like Update, and that its transaction is closed between transactions.
func TestUpdateTransient(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	var kept placement.Tx
	if err := s.UpdateTransient(bg, func(tx placement.Tx) error {
		kept = tx
		return tx.CreateTrait(placement.Trait{Name: "CUSTOM_T1"})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Traits(); !errors.Is(err, memstore.ErrTxClosed) {
		t.Errorf("transaction kept after UpdateTransient: %v", err)
	}
	before := memstore.DumpInternal(s)
	if err := s.UpdateTransient(bg, func(tx placement.Tx) error {
		if err := tx.CreateTrait(placement.Trait{Name: "CUSTOM_T2"}); err != nil {
			return err
		}
		return errors.New("abort")
	}); err == nil {
		t.Fatal("no error")
	}
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("aborted UpdateTransient left (-before +after):\n%s", diff)
	}
	mustView(t, s, func(tx placement.ReadTx) error {
		if _, err := tx.Trait("CUSTOM_T1"); err != nil {
			t.Errorf("committed trait: %v", err)
		}
		return nil
	})
	if s.Self() != placement.Store(s) {
		t.Error("Self is not the store")
	}
	if _, _, err := s.ProviderResources(bg, "nope"); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("ProviderResources of an unknown provider: %v", err)
	}
}
