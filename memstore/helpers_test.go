package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

var (
	bg = context.Background()
	t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
)

func mustUpdate(t testing.TB, s *memstore.Store, fn func(tx placement.Tx) error) {
	t.Helper()
	if err := s.Update(bg, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t testing.TB, s *memstore.Store, fn func(tx placement.ReadTx) error) {
	t.Helper()
	if err := s.View(bg, fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// checkInternal fails t if the store's indexes or usage are inconsistent.
func checkInternal(t testing.TB, s *memstore.Store) {
	t.Helper()
	if err := memstore.CheckInternal(s); err != nil {
		t.Fatal(err)
	}
}

func diffInternal(a, b memstore.Internal) string {
	return cmp.Diff(a, b, cmpopts.EquateEmpty())
}

func rp(uuid, name, parent, root string) placement.ResourceProvider {
	return placement.ResourceProvider{UUID: uuid, Name: name, ParentUUID: parent, RootUUID: root, CreatedAt: t0, UpdatedAt: t0}
}

func inv(class string, total int64) placement.Inventory {
	i := placement.NewInventory(class, total)
	i.CreatedAt, i.UpdatedAt = t0, t0
	return i
}

func alloc(consumer, provider, class string, used int64) placement.AllocationRecord {
	return placement.AllocationRecord{ConsumerUUID: consumer, ProviderUUID: provider, ResourceClass: class, Used: used}
}

func consumer(uuid, project, user string) placement.Consumer {
	return placement.Consumer{UUID: uuid, ProjectID: project, UserID: user, Generation: 1, CreatedAt: t0, UpdatedAt: t0}
}

// seed fills s with a small world:
//
//	r1 (VCPU 8, MEMORY_MB 1024; HW_CPU_X86_AVX2, CUSTOM_A; agg1)
//	├── c1 (CUSTOM_GPU 4; CUSTOM_B; agg1, agg2)
//	│   └── g1 (CUSTOM_A, CUSTOM_B; agg3)
//	└── c2 (DISK_GB 100)
//	r2 (VCPU 4; CUSTOM_A; agg2)
//
// with consumers k1 (proj1/u1: 2 VCPU + 512 MEMORY_MB on r1, 1 CUSTOM_GPU
// on c1) and k2 (proj1/u2: 1 VCPU on r1, 2 VCPU on r2).
func seed(t testing.TB, s *memstore.Store) {
	t.Helper()
	mustUpdate(t, s, func(tx placement.Tx) error {
		for _, c := range []string{"CUSTOM_GPU", "CUSTOM_FPGA"} {
			if err := tx.CreateResourceClass(placement.ResourceClass{Name: c, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		for _, tr := range []string{"CUSTOM_A", "CUSTOM_B", "CUSTOM_UNUSED"} {
			if err := tx.CreateTrait(placement.Trait{Name: tr, CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		for _, p := range []placement.ResourceProvider{
			rp("r1", "root-1", "", "r1"),
			rp("c1", "child-1", "r1", "r1"),
			rp("g1", "grandchild-1", "c1", "r1"),
			rp("c2", "child-2", "r1", "r1"),
			rp("r2", "root-2", "", "r2"),
		} {
			if err := tx.CreateProvider(p); err != nil {
				return err
			}
		}
		invs := map[string][]placement.Inventory{
			"r1": {inv("VCPU", 8), inv("MEMORY_MB", 1024)},
			"c1": {inv("CUSTOM_GPU", 4)},
			"c2": {inv("DISK_GB", 100)},
			"r2": {inv("VCPU", 4)},
		}
		for p, is := range invs {
			for _, i := range is {
				if err := tx.PutInventory(p, i); err != nil {
					return err
				}
			}
		}
		traits := map[string][]string{
			"r1": {"HW_CPU_X86_AVX2", "CUSTOM_A"},
			"c1": {"CUSTOM_B"},
			"g1": {"CUSTOM_B", "CUSTOM_A"},
			"r2": {"CUSTOM_A"},
		}
		for p, ts := range traits {
			if err := tx.SetProviderTraits(p, ts); err != nil {
				return err
			}
		}
		aggs := map[string][]string{
			"r1": {"agg1"},
			"c1": {"agg2", "agg1"},
			"g1": {"agg3"},
			"r2": {"agg2"},
		}
		for p, as := range aggs {
			if err := tx.SetProviderAggregates(p, as); err != nil {
				return err
			}
		}
		if err := tx.CreateConsumer(consumer("k1", "proj1", "u1")); err != nil {
			return err
		}
		if err := tx.CreateConsumer(consumer("k2", "proj1", "u2")); err != nil {
			return err
		}
		if err := tx.ReplaceAllocations("k1", []placement.AllocationRecord{
			alloc("k1", "r1", "VCPU", 2), alloc("k1", "c1", "CUSTOM_GPU", 1), alloc("k1", "r1", "MEMORY_MB", 512),
		}); err != nil {
			return err
		}
		return tx.ReplaceAllocations("k2", []placement.AllocationRecord{alloc("k2", "r2", "VCPU", 2), alloc("k2", "r1", "VCPU", 1)})
	})
	checkInternal(t, s)
}

func uuids(ps []placement.ResourceProvider) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.UUID)
	}
	return out
}
