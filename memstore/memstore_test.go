package memstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

func TestProviderCRUD(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	mustView(t, s, func(tx placement.ReadTx) error {
		p, err := tx.Provider("c1")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(rp("c1", "child-1", "r1", "r1"), p); diff != "" {
			t.Errorf("Provider(c1) (-want +got):\n%s", diff)
		}
		p, err = tx.ProviderByName("root-2")
		if err != nil || p.UUID != "r2" {
			t.Errorf("ProviderByName(root-2) = %v, %v", p.UUID, err)
		}
		var nf *placement.NotFoundError
		if _, err := tx.Provider("nope"); !errors.As(err, &nf) || nf.Resource != "resource provider" || nf.ID != "nope" {
			t.Errorf("Provider(nope) error = %v", err)
		}
		if _, err := tx.ProviderByName("nope"); !errors.Is(err, placement.ErrNotFound) {
			t.Errorf("ProviderByName(nope) error = %v", err)
		}
		return nil
	})

	// Unique uuid and name.
	err := s.Update(bg, func(tx placement.Tx) error { return tx.CreateProvider(rp("r1", "other", "", "r1")) })
	if diff := cmp.Diff(&placement.ExistsError{Resource: "resource provider", Field: "uuid", Value: "r1"}, err); diff != "" {
		t.Errorf("duplicate uuid (-want +got):\n%s", diff)
	}
	err = s.Update(bg, func(tx placement.Tx) error { return tx.CreateProvider(rp("r9", "root-1", "", "r9")) })
	if diff := cmp.Diff(&placement.ExistsError{Resource: "resource provider", Field: "name", Value: "root-1"}, err); diff != "" {
		t.Errorf("duplicate name (-want +got):\n%s", diff)
	}
	err = s.Update(bg, func(tx placement.Tx) error { return tx.CreateProvider(rp("r9", "r9", "missing", "missing")) })
	if !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("unknown parent: %v", err)
	}

	// Update: rename, keep generation and CreatedAt, name clash, re-parent.
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.BumpProviderGeneration("c2", 0) })
	later := t0.Add(time.Hour)
	mustUpdate(t, s, func(tx placement.Tx) error {
		u := rp("c2", "renamed", "", "c2")
		u.Generation, u.CreatedAt, u.UpdatedAt = 42, later, later
		return tx.UpdateProvider(u)
	})
	mustView(t, s, func(tx placement.ReadTx) error {
		p, err := tx.ProviderByName("renamed")
		if err != nil {
			return err
		}
		want := rp("c2", "renamed", "", "c2")
		want.Generation, want.UpdatedAt = 1, later
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("updated provider (-want +got):\n%s", diff)
		}
		if _, err := tx.ProviderByName("child-2"); !errors.Is(err, placement.ErrNotFound) {
			t.Errorf("old name still found: %v", err)
		}
		kids, _ := tx.Providers(placement.ProviderQuery{Parent: "r1"})
		roots, _ := tx.Providers(placement.ProviderQuery{Root: "c2"})
		if diff := cmp.Diff([]string{"c1"}, uuids(kids)); diff != "" {
			t.Errorf("children of r1 (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"c2"}, uuids(roots)); diff != "" {
			t.Errorf("tree of c2 (-want +got):\n%s", diff)
		}
		return nil
	})
	err = s.Update(bg, func(tx placement.Tx) error { return tx.UpdateProvider(rp("c2", "root-1", "", "c2")) })
	if !errors.Is(err, placement.ErrAlreadyExists) {
		t.Errorf("rename onto a taken name: %v", err)
	}
	// Renaming to its own name is fine.
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.UpdateProvider(rp("c2", "renamed", "", "c2")) })
	err = s.Update(bg, func(tx placement.Tx) error { return tx.UpdateProvider(rp("zz", "zz", "", "zz")) })
	if !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("update unknown provider: %v", err)
	}
	checkInternal(t, s)
}

func TestGenerations(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	err := s.Update(bg, func(tx placement.Tx) error { return tx.BumpProviderGeneration("r1", 3) })
	want := &placement.ConflictError{Kind: placement.ProviderGeneration, UUID: "r1", Expected: placement.ExpectGeneration(3), Actual: 0, Exists: true}
	if diff := cmp.Diff(want, err, cmpopts.IgnoreUnexported(placement.ConflictError{}, placement.GenerationCheck{})); diff != "" {
		t.Errorf("stale bump (-want +got):\n%s", diff)
	}
	var ce *placement.ConflictError
	if !errors.As(err, &ce) || ce.Expected != placement.ExpectGeneration(3) || !errors.Is(err, placement.ErrConcurrentUpdate) {
		t.Errorf("stale bump: %#v", err)
	}
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.BumpProviderGeneration("r1", 0); err != nil {
			return err
		}
		return tx.BumpProviderGeneration("r1", 1)
	})
	mustView(t, s, func(tx placement.ReadTx) error {
		p, _ := tx.Provider("r1")
		if p.Generation != 2 {
			t.Errorf("generation = %d, want 2", p.Generation)
		}
		return nil
	})
	if err := s.Update(bg, func(tx placement.Tx) error { return tx.BumpProviderGeneration("zz", 0) }); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("bump unknown provider: %v", err)
	}

	// Consumers.
	err = s.Update(bg, func(tx placement.Tx) error {
		c := consumer("k1", "proj2", "u9")
		c.Generation = 5
		return tx.UpdateConsumer(c, 4)
	})
	if !errors.As(err, &ce) || ce.Kind != placement.ConsumerGeneration || ce.UUID != "k1" || ce.Actual != 1 || !ce.Exists || ce.Expected != placement.ExpectGeneration(4) {
		t.Errorf("stale consumer update: %#v", err)
	}
	err = s.Update(bg, func(tx placement.Tx) error { return tx.UpdateConsumer(consumer("zz", "p", "u"), 0) })
	if !errors.As(err, &ce) || ce.Exists || ce.UUID != "zz" || ce.Kind != placement.ConsumerGeneration {
		t.Errorf("missing consumer update: %#v", err)
	}
	later := t0.Add(time.Minute)
	mustUpdate(t, s, func(tx placement.Tx) error {
		c := placement.Consumer{UUID: "k1", ProjectID: "proj2", UserID: "u9", ConsumerType: "INSTANCE", Generation: 2, CreatedAt: later, UpdatedAt: later}
		return tx.UpdateConsumer(c, 1)
	})
	mustView(t, s, func(tx placement.ReadTx) error {
		c, err := tx.Consumer("k1")
		if err != nil {
			return err
		}
		want := placement.Consumer{UUID: "k1", ProjectID: "proj2", UserID: "u9", ConsumerType: "INSTANCE", Generation: 2, CreatedAt: t0, UpdatedAt: later}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("updated consumer (-want +got):\n%s", diff)
		}
		old, _ := tx.ConsumerUsages("proj1", "")
		if len(old) != 1 || old[0].ConsumerUUID != "k2" || old[0].Used != 3 {
			t.Errorf("proj1 usages after moving k1 away: %+v", old)
		}
		return nil
	})
	err = s.Update(bg, func(tx placement.Tx) error { return tx.CreateConsumer(consumer("k1", "p", "u")) })
	if diff := cmp.Diff(&placement.ExistsError{Resource: "consumer", Field: "uuid", Value: "k1"}, err); diff != "" {
		t.Errorf("duplicate consumer (-want +got):\n%s", diff)
	}
	err = s.Update(bg, func(tx placement.Tx) error { return tx.DeleteConsumer("zz") })
	var nf *placement.NotFoundError
	if !errors.As(err, &nf) || nf.Resource != "consumer" {
		t.Errorf("delete missing consumer: %v", err)
	}
	checkInternal(t, s)
}

func TestClassesAndTraits(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	var nf *placement.NotFoundError
	mustView(t, s, func(tx placement.ReadTx) error {
		classes, _ := tx.ResourceClasses()
		want := []placement.ResourceClass{{Name: "CUSTOM_FPGA", CreatedAt: t0, UpdatedAt: t0}, {Name: "CUSTOM_GPU", CreatedAt: t0, UpdatedAt: t0}}
		if diff := cmp.Diff(want, classes); diff != "" {
			t.Errorf("ResourceClasses (-want +got):\n%s", diff)
		}
		if _, err := tx.ResourceClass("CUSTOM_NONE"); !errors.As(err, &nf) || nf.Resource != "resource class" {
			t.Errorf("missing class: %v", err)
		}
		for class, want := range map[string]bool{"VCPU": true, "CUSTOM_GPU": true, "CUSTOM_FPGA": false, "DISK_GB": true, "IPV4_ADDRESS": false} {
			if got, _ := tx.ResourceClassInUse(class); got != want {
				t.Errorf("ResourceClassInUse(%s) = %v, want %v", class, got, want)
			}
		}
		traits, _ := tx.Traits()
		if len(traits) != 3 || traits[0].Name != "CUSTOM_A" || traits[2].Name != "CUSTOM_UNUSED" {
			t.Errorf("Traits = %+v", traits)
		}
		if _, err := tx.Trait("CUSTOM_NONE"); !errors.As(err, &nf) || nf.Resource != "trait" {
			t.Errorf("missing trait: %v", err)
		}
		assoc, _ := tx.AssociatedTraits()
		if diff := cmp.Diff([]string{"CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2"}, assoc); diff != "" {
			t.Errorf("AssociatedTraits (-want +got):\n%s", diff)
		}
		return nil
	})
	err := s.Update(bg, func(tx placement.Tx) error {
		return tx.CreateResourceClass(placement.ResourceClass{Name: "CUSTOM_GPU"})
	})
	if diff := cmp.Diff(&placement.ExistsError{Resource: "resource class", Field: "name", Value: "CUSTOM_GPU"}, err); diff != "" {
		t.Errorf("duplicate class (-want +got):\n%s", diff)
	}
	err = s.Update(bg, func(tx placement.Tx) error { return tx.CreateTrait(placement.Trait{Name: "CUSTOM_A"}) })
	if diff := cmp.Diff(&placement.ExistsError{Resource: "trait", Field: "name", Value: "CUSTOM_A"}, err); diff != "" {
		t.Errorf("duplicate trait (-want +got):\n%s", diff)
	}
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.DeleteTrait("CUSTOM_UNUSED"); err != nil {
			return err
		}
		return tx.DeleteResourceClass("CUSTOM_FPGA")
	})
	if err := s.Update(bg, func(tx placement.Tx) error { return tx.DeleteTrait("CUSTOM_UNUSED") }); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("delete missing trait: %v", err)
	}
	if err := s.Update(bg, func(tx placement.Tx) error { return tx.DeleteResourceClass("CUSTOM_FPGA") }); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("delete missing class: %v", err)
	}
	// Removing the last holder of a trait drops it from AssociatedTraits.
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.SetProviderTraits("r1", []string{"CUSTOM_A"}) })
	mustView(t, s, func(tx placement.ReadTx) error {
		assoc, _ := tx.AssociatedTraits()
		if diff := cmp.Diff([]string{"CUSTOM_A", "CUSTOM_B"}, assoc); diff != "" {
			t.Errorf("AssociatedTraits (-want +got):\n%s", diff)
		}
		return nil
	})
	checkInternal(t, s)
}

func TestInventory(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	mustUpdate(t, s, func(tx placement.Tx) error {
		i := inv("VCPU", 16)
		i.AllocationRatio = 4
		if err := tx.PutInventory("r1", i); err != nil {
			return err
		}
		return tx.PutInventory("r1", inv("DISK_GB", 10))
	})
	mustView(t, s, func(tx placement.ReadTx) error {
		res, err := tx.Resources("r1")
		if err != nil {
			return err
		}
		v := inv("VCPU", 16)
		v.AllocationRatio = 4
		want := []placement.ProviderResource{{Inventory: inv("DISK_GB", 10)}, {Inventory: inv("MEMORY_MB", 1024), Used: 512}, {Inventory: v, Used: 3}}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("Resources(r1) (-want +got):\n%s", diff)
		}
		if res, err := tx.Resources("nope"); err != nil || len(res) != 0 {
			t.Errorf("Resources(nope) = %v, %v", res, err)
		}
		if res, err := tx.Resources("g1"); err != nil || len(res) != 0 {
			t.Errorf("Resources(g1) = %v, %v", res, err)
		}
		return nil
	})
	err := s.Update(bg, func(tx placement.Tx) error { return tx.DeleteInventory("r1", "CUSTOM_GPU") })
	var nf *placement.NotFoundError
	if !errors.As(err, &nf) || nf.Resource != "inventory" || nf.Provider != "r1" || nf.ID != "CUSTOM_GPU" {
		t.Errorf("delete missing inventory: %v", err)
	}
	if err := s.Update(bg, func(tx placement.Tx) error { return tx.PutInventory("nope", inv("VCPU", 1)) }); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("inventory of unknown provider: %v", err)
	}
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.DeleteInventory("c2", "DISK_GB") })
	mustView(t, s, func(tx placement.ReadTx) error {
		if used, _ := tx.ResourceClassInUse("DISK_GB"); !used {
			t.Error("DISK_GB no longer in use though r1 has some")
		}
		return nil
	})
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.DeleteInventory("r1", "DISK_GB") })
	mustView(t, s, func(tx placement.ReadTx) error {
		if used, _ := tx.ResourceClassInUse("DISK_GB"); used {
			t.Error("DISK_GB still in use")
		}
		return nil
	})
	checkInternal(t, s)
}

// TestUsage checks the usage maintained by ReplaceAllocations against the
// allocations, through every read that reports it.
func TestUsage(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	used := func(tx placement.ReadTx, p, class string) int64 {
		res, _ := tx.Resources(p)
		for _, r := range res {
			if r.ResourceClass == class {
				return r.Used
			}
		}
		return -1
	}
	mustView(t, s, func(tx placement.ReadTx) error {
		if u := used(tx, "r1", "VCPU"); u != 3 {
			t.Errorf("r1 VCPU used = %d, want 3", u)
		}
		pa, _ := tx.ProviderAllocations("r1")
		want := []placement.AllocationRecord{alloc("k1", "r1", "MEMORY_MB", 512), alloc("k1", "r1", "VCPU", 2), alloc("k2", "r1", "VCPU", 1)}
		if diff := cmp.Diff(want, pa); diff != "" {
			t.Errorf("ProviderAllocations(r1) (-want +got):\n%s", diff)
		}
		ca, _ := tx.ConsumerAllocations("k1")
		want = []placement.AllocationRecord{alloc("k1", "c1", "CUSTOM_GPU", 1), alloc("k1", "r1", "MEMORY_MB", 512), alloc("k1", "r1", "VCPU", 2)}
		if diff := cmp.Diff(want, ca); diff != "" {
			t.Errorf("ConsumerAllocations(k1) (-want +got):\n%s", diff)
		}
		cu, _ := tx.ConsumerUsages("proj1", "")
		wantCU := []placement.ConsumerUsage{
			{ConsumerUUID: "k1", ResourceClass: "CUSTOM_GPU", Used: 1},
			{ConsumerUUID: "k1", ResourceClass: "MEMORY_MB", Used: 512},
			{ConsumerUUID: "k1", ResourceClass: "VCPU", Used: 2},
			{ConsumerUUID: "k2", ResourceClass: "VCPU", Used: 3},
		}
		if diff := cmp.Diff(wantCU, cu); diff != "" {
			t.Errorf("ConsumerUsages(proj1) (-want +got):\n%s", diff)
		}
		cu, _ = tx.ConsumerUsages("proj1", "u2")
		if diff := cmp.Diff(wantCU[3:], cu); diff != "" {
			t.Errorf("ConsumerUsages(proj1, u2) (-want +got):\n%s", diff)
		}
		if cu, _ := tx.ConsumerUsages("proj9", ""); len(cu) != 0 {
			t.Errorf("ConsumerUsages(proj9) = %v", cu)
		}
		return nil
	})
	// Resize k2, then free k1; delete k2's record but keep its allocations.
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.ReplaceAllocations("k2", []placement.AllocationRecord{alloc("k2", "r1", "VCPU", 4), alloc("k2", "r1", "MEMORY_MB", 100)}); err != nil {
			return err
		}
		if err := tx.ReplaceAllocations("k1", nil); err != nil {
			return err
		}
		return tx.DeleteConsumer("k1")
	})
	mustView(t, s, func(tx placement.ReadTx) error {
		for _, c := range []struct {
			p, class string
			want     int64
		}{{"r1", "VCPU", 4}, {"r1", "MEMORY_MB", 100}, {"r2", "VCPU", 0}, {"c1", "CUSTOM_GPU", 0}} {
			if u := used(tx, c.p, c.class); u != c.want {
				t.Errorf("%s %s used = %d, want %d", c.p, c.class, u, c.want)
			}
		}
		if pa, _ := tx.ProviderAllocations("c1"); len(pa) != 0 {
			t.Errorf("c1 allocations: %v", pa)
		}
		if ca, _ := tx.ConsumerAllocations("k1"); len(ca) != 0 {
			t.Errorf("k1 allocations: %v", ca)
		}
		kept, _ := tx.MaintainedUsages()
		counted, _ := tx.RecountedUsages()
		wantKept := []placement.UsageCount{
			{ProviderUUID: "c1", ResourceClass: "CUSTOM_GPU", HasInventory: true},
			{ProviderUUID: "c2", ResourceClass: "DISK_GB", HasInventory: true},
			{ProviderUUID: "r1", ResourceClass: "MEMORY_MB", Used: 100, HasInventory: true},
			{ProviderUUID: "r1", ResourceClass: "VCPU", Used: 4, HasInventory: true},
			{ProviderUUID: "r2", ResourceClass: "VCPU", HasInventory: true},
		}
		if diff := cmp.Diff(wantKept, kept); diff != "" {
			t.Errorf("MaintainedUsages (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantKept[2:4], counted); diff != "" {
			t.Errorf("RecountedUsages (-want +got):\n%s", diff)
		}
		return nil
	})
	// Allocations on a class without inventory are kept aside and reported
	// as orphans, and come back when the inventory does.
	mustUpdate(t, s, func(tx placement.Tx) error {
		return tx.ReplaceAllocations("k3", []placement.AllocationRecord{alloc("k3", "g1", "CUSTOM_GPU", 2)})
	})
	checkInternal(t, s)
	mustView(t, s, func(tx placement.ReadTx) error {
		counted, _ := tx.RecountedUsages()
		want := placement.UsageCount{ProviderUUID: "g1", ResourceClass: "CUSTOM_GPU", Used: 2}
		if len(counted) != 3 || counted[0] != want {
			t.Errorf("RecountedUsages = %+v", counted)
		}
		return nil
	})
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.PutInventory("g1", inv("CUSTOM_GPU", 8)) })
	mustView(t, s, func(tx placement.ReadTx) error {
		if u := used(tx, "g1", "CUSTOM_GPU"); u != 2 {
			t.Errorf("g1 CUSTOM_GPU used = %d, want 2", u)
		}
		return nil
	})
	checkInternal(t, s)
}

func TestReplaceAllocationsRejects(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	before := memstore.DumpInternal(s)
	for name, allocs := range map[string][]placement.AllocationRecord{
		"other consumer":   {alloc("k1", "r1", "VCPU", 1), alloc("kX", "r1", "VCPU", 1)},
		"zero amount":      {alloc("k1", "r1", "VCPU", 0)},
		"unknown provider": {alloc("k1", "r1", "VCPU", 1), alloc("k1", "nope", "VCPU", 1)},
		"duplicate":        {alloc("k1", "r1", "VCPU", 1), alloc("k1", "r2", "VCPU", 1), alloc("k1", "r1", "VCPU", 2)},
	} {
		// The failed call changes nothing even though fn commits.
		mustUpdate(t, s, func(tx placement.Tx) error {
			if err := tx.ReplaceAllocations("k1", allocs); err == nil {
				t.Errorf("%s: no error", name)
			} else if name == "unknown provider" && !errors.Is(err, placement.ErrNotFound) {
				t.Errorf("%s: %v", name, err)
			}
			return nil
		})
		if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
			t.Errorf("%s changed the state:\n%s", name, diff)
		}
	}
}

func TestDeleteProviderCascade(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	// Refused while it has children or allocations.
	for p, sentinel := range map[string]error{"c1": placement.ErrProviderHasChildren, "r2": placement.ErrProviderInUse} {
		if err := s.Update(bg, func(tx placement.Tx) error { return tx.DeleteProvider(p) }); !errors.Is(err, sentinel) {
			t.Errorf("DeleteProvider(%s) = %v, want %v", p, err, sentinel)
		}
	}
	if err := s.Update(bg, func(tx placement.Tx) error { return tx.DeleteProvider("nope") }); !errors.Is(err, placement.ErrNotFound) {
		t.Errorf("DeleteProvider(nope) = %v", err)
	}
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.DeleteProvider("g1"); err != nil {
			return err
		}
		if err := tx.DeleteProvider("c2"); err != nil {
			return err
		}
		if err := tx.ReplaceAllocations("k2", nil); err != nil {
			return err
		}
		return tx.DeleteProvider("r2")
	})
	checkInternal(t, s)
	mustView(t, s, func(tx placement.ReadTx) error {
		if _, err := tx.Provider("g1"); !errors.Is(err, placement.ErrNotFound) {
			t.Errorf("g1 still there: %v", err)
		}
		for _, p := range []string{"g1", "c2", "r2"} {
			tr, _ := tx.ProviderTraits(p)
			ag, _ := tx.ProviderAggregates(p)
			res, _ := tx.Resources(p)
			if len(tr)+len(ag)+len(res) != 0 {
				t.Errorf("%s left traits %v, aggregates %v, resources %v", p, tr, ag, res)
			}
		}
		if inUse, _ := tx.ResourceClassInUse("DISK_GB"); inUse {
			t.Error("DISK_GB still in use")
		}
		assoc, _ := tx.AssociatedTraits()
		if diff := cmp.Diff([]string{"CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2"}, assoc); diff != "" {
			t.Errorf("AssociatedTraits (-want +got):\n%s", diff)
		}
		for _, q := range []placement.ProviderQuery{{MemberOf: [][]string{{"agg3"}}}, {Required: [][]string{{"CUSTOM_A"}}, Root: "r2"}, {Parent: "c1"}} {
			if ps, _ := tx.Providers(q); len(ps) != 0 {
				t.Errorf("Providers(%+v) = %v", q, uuids(ps))
			}
		}
		return nil
	})
	// The name and uuid are free again.
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.CreateProvider(rp("g1", "grandchild-1", "", "g1")) })
	mustView(t, s, func(tx placement.ReadTx) error {
		if tr, _ := tx.ProviderTraits("g1"); len(tr) != 0 {
			t.Errorf("re-created g1 has traits %v", tr)
		}
		return nil
	})
	checkInternal(t, s)
}

func TestRenameResourceClass(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	mustUpdate(t, s, func(tx placement.Tx) error {
		// An allocation without inventory of the class goes along too.
		return tx.ReplaceAllocations("k3", []placement.AllocationRecord{alloc("k3", "g1", "CUSTOM_GPU", 3), alloc("k3", "g1", "CUSTOM_ZZZ", 1)})
	})
	before := memstore.DumpInternal(s)

	later := t0.Add(time.Hour)
	var nf *placement.NotFoundError
	if err := s.Update(bg, func(tx placement.Tx) error {
		return tx.RenameResourceClass("CUSTOM_NONE", placement.ResourceClass{Name: "CUSTOM_X"})
	}); !errors.As(err, &nf) || nf.Resource != "resource class" {
		t.Errorf("rename unknown: %v", err)
	}
	for _, to := range []string{"CUSTOM_FPGA", "CUSTOM_GPU", "VCPU", "CUSTOM_ZZZ"} {
		if err := s.Update(bg, func(tx placement.Tx) error {
			return tx.RenameResourceClass("CUSTOM_GPU", placement.ResourceClass{Name: to})
		}); !errors.Is(err, placement.ErrAlreadyExists) {
			t.Errorf("rename to %s: %v", to, err)
		}
	}
	// AAA sorts first: the inventories and allocations must be re-sorted.
	mustUpdate(t, s, func(tx placement.Tx) error {
		return tx.RenameResourceClass("CUSTOM_GPU", placement.ResourceClass{Name: "CUSTOM_AAA", CreatedAt: later, UpdatedAt: later})
	})
	checkInternal(t, s)
	mustView(t, s, func(tx placement.ReadTx) error {
		rc, err := tx.ResourceClass("CUSTOM_AAA")
		if err != nil {
			return err
		}
		if diff := cmp.Diff(placement.ResourceClass{Name: "CUSTOM_AAA", CreatedAt: t0, UpdatedAt: later}, rc); diff != "" {
			t.Errorf("renamed class (-want +got):\n%s", diff)
		}
		if _, err := tx.ResourceClass("CUSTOM_GPU"); !errors.Is(err, placement.ErrNotFound) {
			t.Errorf("old class still there: %v", err)
		}
		if inUse, _ := tx.ResourceClassInUse("CUSTOM_GPU"); inUse {
			t.Error("old class still in use")
		}
		if inUse, _ := tx.ResourceClassInUse("CUSTOM_AAA"); !inUse {
			t.Error("new class not in use")
		}
		res, _ := tx.Resources("c1")
		g := inv("CUSTOM_GPU", 4)
		g.ResourceClass = "CUSTOM_AAA"
		if diff := cmp.Diff([]placement.ProviderResource{{Inventory: g, Used: 1}}, res); diff != "" {
			t.Errorf("Resources(c1) (-want +got):\n%s", diff)
		}
		ca, _ := tx.ConsumerAllocations("k1")
		want := []placement.AllocationRecord{alloc("k1", "c1", "CUSTOM_AAA", 1), alloc("k1", "r1", "MEMORY_MB", 512), alloc("k1", "r1", "VCPU", 2)}
		if diff := cmp.Diff(want, ca); diff != "" {
			t.Errorf("ConsumerAllocations(k1) (-want +got):\n%s", diff)
		}
		ca, _ = tx.ConsumerAllocations("k3")
		want = []placement.AllocationRecord{alloc("k3", "g1", "CUSTOM_AAA", 3), alloc("k3", "g1", "CUSTOM_ZZZ", 1)}
		if diff := cmp.Diff(want, ca); diff != "" {
			t.Errorf("ConsumerAllocations(k3) (-want +got):\n%s", diff)
		}
		cu, _ := tx.ConsumerUsages("proj1", "u1")
		if len(cu) != 3 || cu[0].ResourceClass != "CUSTOM_AAA" || cu[0].Used != 1 {
			t.Errorf("ConsumerUsages = %+v", cu)
		}
		return nil
	})
	// Renaming back gives exactly the state before.
	mustUpdate(t, s, func(tx placement.Tx) error {
		return tx.RenameResourceClass("CUSTOM_AAA", placement.ResourceClass{Name: "CUSTOM_GPU", UpdatedAt: t0})
	})
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("rename and back (-before +after):\n%s", diff)
	}
}

func TestTransactionLifecycle(t *testing.T) {
	s := memstore.New()
	seed(t, s)

	// A transaction is unusable after View or Update returned.
	var rtx placement.ReadTx
	mustView(t, s, func(tx placement.ReadTx) error { rtx = tx; return nil })
	if _, err := rtx.Provider("r1"); !errors.Is(err, memstore.ErrTxClosed) {
		t.Errorf("read after View: %v", err)
	}
	var wtx placement.Tx
	mustUpdate(t, s, func(tx placement.Tx) error { wtx = tx; return nil })
	if err := wtx.CreateTrait(placement.Trait{Name: "CUSTOM_LATE"}); !errors.Is(err, memstore.ErrTxClosed) {
		t.Errorf("write after Update: %v", err)
	}
	if _, err := wtx.Traits(); !errors.Is(err, memstore.ErrTxClosed) {
		t.Errorf("read after Update: %v", err)
	}

	// A View's transaction cannot write.
	mustView(t, s, func(tx placement.ReadTx) error {
		if _, ok := tx.(placement.Tx); ok {
			t.Error("View's ReadTx is a Tx")
		}
		return nil
	})

	// fn's error comes back unchanged.
	sentinel := errors.New("mine")
	if err := s.View(bg, func(placement.ReadTx) error { return sentinel }); err != sentinel {
		t.Errorf("View error = %v", err)
	}
	if err := s.Update(bg, func(placement.Tx) error { return sentinel }); err != sentinel {
		t.Errorf("Update error = %v", err)
	}

	// Reads see the transaction's own writes.
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.CreateProvider(rp("n1", "new-1", "r2", "r2")); err != nil {
			return err
		}
		if p, err := tx.ProviderByName("new-1"); err != nil || p.UUID != "n1" {
			t.Errorf("own write not visible: %v %v", p, err)
		}
		if ps, _ := tx.Providers(placement.ProviderQuery{Root: "r2"}); len(ps) != 2 {
			t.Errorf("tree of r2 = %v", uuids(ps))
		}
		return nil
	})
}

func TestContext(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	before := memstore.DumpInternal(s)

	done, cancel := context.WithCancel(bg)
	cancel()
	ran := false
	if err := s.View(done, func(placement.ReadTx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View on a done context: %v (ran %v)", err, ran)
	}
	if err := s.Update(done, func(placement.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update on a done context: %v (ran %v)", err, ran)
	}

	// Cancelled during fn: methods fail, writes done before are undone even
	// though fn returns nil.
	ctx, cancel := context.WithCancel(bg)
	err := s.Update(ctx, func(tx placement.Tx) error {
		if err := tx.CreateTrait(placement.Trait{Name: "CUSTOM_EARLY"}); err != nil {
			return err
		}
		if err := tx.BumpProviderGeneration("r1", 0); err != nil {
			return err
		}
		cancel()
		if err := tx.CreateTrait(placement.Trait{Name: "CUSTOM_LATE"}); !errors.Is(err, context.Canceled) {
			t.Errorf("write after cancel: %v", err)
		}
		if _, err := tx.Provider("r1"); !errors.Is(err, context.Canceled) {
			t.Errorf("read after cancel: %v", err)
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled during fn = %v", err)
	}
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("cancelled Update left writes (-before +after):\n%s", diff)
	}

	// A deadline passing during a View fails its later reads.
	ctx, cancel = context.WithTimeout(bg, time.Millisecond)
	defer cancel()
	err = s.View(ctx, func(tx placement.ReadTx) error {
		<-ctx.Done()
		_, err := tx.Provider("r1")
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("View past its deadline = %v", err)
	}
}

func TestAliasing(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	traits := []string{"CUSTOM_B", "CUSTOM_A"}
	aggs := []string{"aggX", "aggY"}
	allocs := []placement.AllocationRecord{alloc("k9", "r2", "VCPU", 1), alloc("k9", "r1", "VCPU", 1)}
	mustUpdate(t, s, func(tx placement.Tx) error {
		if err := tx.SetProviderTraits("r2", traits); err != nil {
			return err
		}
		if err := tx.SetProviderAggregates("r2", aggs); err != nil {
			return err
		}
		return tx.ReplaceAllocations("k9", allocs)
	})
	before := memstore.DumpInternal(s)
	checkInternal(t, s)

	// Mutating what was passed in changes nothing.
	traits[0], aggs[0], allocs[0].Used, allocs[1].ProviderUUID = "CUSTOM_Z", "aggZ", 99, "c1"
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("mutating inputs changed the store:\n%s", diff)
	}

	// Mutating what came out changes nothing.
	mustView(t, s, func(tx placement.ReadTx) error {
		ps, _ := tx.Providers(placement.ProviderQuery{})
		ps[0].Name = "x"
		res, _ := tx.Resources("r1")
		res[0].Total, res[0].Used = 1, 1
		tr, _ := tx.ProviderTraits("r2")
		tr[0] = "x"
		ag, _ := tx.ProviderAggregates("r2")
		ag[0] = "x"
		pa, _ := tx.ProviderAllocations("r1")
		pa[0].Used = 1000
		ca, _ := tx.ConsumerAllocations("k9")
		ca[0].Used = 1000
		as, _ := tx.AssociatedTraits()
		as[0] = "x"
		rcs, _ := tx.ResourceClasses()
		rcs[0].Name = "x"
		ts, _ := tx.Traits()
		ts[0].Name = "x"
		cu, _ := tx.ConsumerUsages("proj1", "")
		cu[0].Used = 1000
		mu, _ := tx.MaintainedUsages()
		mu[0].Used = 1000
		return nil
	})
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("mutating outputs changed the store:\n%s", diff)
	}
	// Snapshots are deep copies both ways.
	snap := s.Snapshot()
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.SetProviderTraits("r2", nil) })
	s.Restore(snap)
	mustUpdate(t, s, func(tx placement.Tx) error { return tx.SetProviderAggregates("r2", nil) })
	s2 := memstore.New()
	s2.Restore(snap)
	if diff := diffInternal(before, memstore.DumpInternal(s2)); diff != "" {
		t.Errorf("snapshot changed by later writes:\n%s", diff)
	}
	checkInternal(t, s)
	checkInternal(t, s2)
}

// allCalls calls every method of tx once and returns their errors.
func allCalls(tx placement.ReadTx) map[string]error {
	errs := map[string]error{}
	_, errs["Provider"] = tx.Provider("r1")
	_, errs["ProviderByName"] = tx.ProviderByName("root-1")
	_, errs["Providers"] = tx.Providers(placement.ProviderQuery{})
	_, errs["Resources"] = tx.Resources("r1")
	_, errs["ProviderTraits"] = tx.ProviderTraits("r1")
	_, errs["ProviderAggregates"] = tx.ProviderAggregates("r1")
	_, errs["ProviderAllocations"] = tx.ProviderAllocations("r1")
	_, errs["ResourceClass"] = tx.ResourceClass("CUSTOM_GPU")
	_, errs["ResourceClasses"] = tx.ResourceClasses()
	_, errs["ResourceClassInUse"] = tx.ResourceClassInUse("VCPU")
	_, errs["Trait"] = tx.Trait("CUSTOM_A")
	_, errs["Traits"] = tx.Traits()
	_, errs["AssociatedTraits"] = tx.AssociatedTraits()
	_, errs["Consumer"] = tx.Consumer("k1")
	_, errs["ConsumerAllocations"] = tx.ConsumerAllocations("k1")
	_, errs["ConsumerUsages"] = tx.ConsumerUsages("proj1", "")
	_, errs["MaintainedUsages"] = tx.MaintainedUsages()
	_, errs["RecountedUsages"] = tx.RecountedUsages()
	w, ok := tx.(placement.Tx)
	if !ok {
		return errs
	}
	errs["CreateProvider"] = w.CreateProvider(rp("n1", "n1", "", "n1"))
	errs["UpdateProvider"] = w.UpdateProvider(rp("r1", "root-1", "", "r1"))
	errs["DeleteProvider"] = w.DeleteProvider("g1")
	errs["BumpProviderGeneration"] = w.BumpProviderGeneration("r1", 0)
	errs["PutInventory"] = w.PutInventory("r1", inv("VCPU", 1))
	errs["DeleteInventory"] = w.DeleteInventory("c2", "DISK_GB")
	errs["CreateResourceClass"] = w.CreateResourceClass(placement.ResourceClass{Name: "CUSTOM_NEW"})
	errs["RenameResourceClass"] = w.RenameResourceClass("CUSTOM_FPGA", placement.ResourceClass{Name: "CUSTOM_NEW2"})
	errs["DeleteResourceClass"] = w.DeleteResourceClass("CUSTOM_NEW2")
	errs["CreateTrait"] = w.CreateTrait(placement.Trait{Name: "CUSTOM_NEW"})
	errs["DeleteTrait"] = w.DeleteTrait("CUSTOM_UNUSED")
	errs["SetProviderTraits"] = w.SetProviderTraits("r1", nil)
	errs["SetProviderAggregates"] = w.SetProviderAggregates("r1", nil)
	errs["CreateConsumer"] = w.CreateConsumer(consumer("k9", "p", "u"))
	errs["UpdateConsumer"] = w.UpdateConsumer(consumer("k1", "p", "u"), 1)
	errs["DeleteConsumer"] = w.DeleteConsumer("k2")
	errs["ReplaceAllocations"] = w.ReplaceAllocations("k1", nil)
	return errs
}

func TestEveryMethodChecksTheTransaction(t *testing.T) {
	s := memstore.New()
	seed(t, s)
	before := memstore.DumpInternal(s)
	check := func(what string, errs map[string]error, want error, n int) {
		t.Helper()
		if len(errs) != n {
			t.Errorf("%s: %d methods called, want %d", what, len(errs), n)
		}
		for m, err := range errs {
			if !errors.Is(err, want) {
				t.Errorf("%s: %s = %v, want %v", what, m, err, want)
			}
		}
	}
	var rtx placement.ReadTx
	mustView(t, s, func(tx placement.ReadTx) error { rtx = tx; return nil })
	check("closed View", allCalls(rtx), memstore.ErrTxClosed, 18)
	var wtx placement.Tx
	mustUpdate(t, s, func(tx placement.Tx) error { wtx = tx; return nil })
	check("closed Update", allCalls(wtx), memstore.ErrTxClosed, 35)

	ctx, cancel := context.WithCancel(bg)
	_ = s.View(ctx, func(tx placement.ReadTx) error {
		cancel()
		check("cancelled View", allCalls(tx), context.Canceled, 18)
		return nil
	})
	ctx, cancel = context.WithCancel(bg)
	_ = s.Update(ctx, func(tx placement.Tx) error {
		cancel()
		check("cancelled Update", allCalls(tx), context.Canceled, 35)
		return nil
	})
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("state changed:\n%s", diff)
	}
	// The same calls on a live transaction succeed (so the lists above
	// really exercised every method), and are all undone by an error.
	err := s.Update(bg, func(tx placement.Tx) error {
		for m, err := range allCalls(tx) {
			if err != nil {
				t.Errorf("live %s: %v", m, err)
			}
		}
		return errors.New("abort")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if diff := diffInternal(before, memstore.DumpInternal(s)); diff != "" {
		t.Errorf("state changed:\n%s", diff)
	}
}
