package integration

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/allocationcandidates"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/allocations"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceclasses"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/traits"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/usages"

	"github.com/goplacement/placement/placementtest"
)

// client returns a gophercloud placement client for srv at microversion mv,
// authenticated as noauth2's admin.
func client(srv *placementtest.Server, mv string) *gophercloud.ServiceClient {
	pc := &gophercloud.ProviderClient{HTTPClient: *srv.Client()}
	pc.SetToken("admin")
	return &gophercloud.ServiceClient{
		ProviderClient: pc,
		Endpoint:       srv.URL + "/",
		ResourceBase:   srv.URL + "/",
		Type:           "placement",
		Microversion:   mv,
	}
}

func inv(total int, ratio float32) resourceproviders.Inventory {
	return resourceproviders.Inventory{Total: total, AllocationRatio: ratio, MinUnit: 1, MaxUnit: total, StepSize: 1}
}

func TestGophercloud(t *testing.T) {
	srv := placementtest.NewServer(t)
	ctx := context.Background()
	c := client(srv, "1.39")

	// providers: a compute node with a NUMA child, and a sharing disk
	cn, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "cn1"}).Extract()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	numa, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "cn1-numa0", ParentProviderUUID: cn.UUID}).Extract()
	if err != nil || numa.RootProviderUUID != cn.UUID || numa.ParentProviderUUID != cn.UUID {
		t.Fatalf("create child: %+v %v", numa, err)
	}
	disk, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "shared-disk"}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	got, err := resourceproviders.Get(ctx, c, cn.UUID).Extract()
	if err != nil || got.Name != "cn1" || got.Generation != 0 {
		t.Fatalf("get: %+v %v", got, err)
	}
	upd, err := resourceproviders.Update(ctx, c, disk.UUID, resourceproviders.UpdateOpts{Name: ptr("shared-disk-1")}).Extract()
	if err != nil || upd.Name != "shared-disk-1" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	pages, err := resourceproviders.List(c, resourceproviders.ListOpts{InTree: numa.UUID}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := resourceproviders.ExtractResourceProviders(pages)
	if err != nil || len(list) != 2 {
		t.Fatalf("list in_tree: %d %v", len(list), err)
	}

	// resource classes and traits
	if err := resourceclasses.Create(ctx, c, resourceclasses.CreateOpts{Name: "CUSTOM_FPGA"}).ExtractErr(); err != nil {
		t.Fatalf("create class: %v", err)
	}
	rc, err := resourceclasses.Get(ctx, c, "CUSTOM_FPGA").Extract()
	if err != nil || rc.Name != "CUSTOM_FPGA" {
		t.Fatalf("get class: %+v %v", rc, err)
	}
	if err := resourceclasses.Update(ctx, c, "CUSTOM_FPGA").ExtractErr(); err != nil {
		t.Fatalf("ensure class: %v", err)
	}
	rcPages, err := resourceclasses.List(c).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rcs, _ := resourceclasses.ExtractResourceClasses(rcPages)
	if !slices.ContainsFunc(rcs, func(r resourceclasses.ResourceClass) bool { return r.Name == "VCPU" }) {
		t.Errorf("standard classes missing: %d", len(rcs))
	}
	if err := traits.Create(ctx, c, "CUSTOM_FAST_DISK").ExtractErr(); err != nil {
		t.Fatalf("create trait: %v", err)
	}
	if err := traits.Get(ctx, c, "CUSTOM_FAST_DISK").ExtractErr(); err != nil {
		t.Fatalf("get trait: %v", err)
	}
	tPages, err := traits.List(c, traits.ListOpts{Name: "startswith:CUSTOM_"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := traits.ExtractTraits(tPages); !slices.Equal(names, []string{"CUSTOM_FAST_DISK"}) {
		t.Errorf("traits: %v", names)
	}

	// inventories
	cnInv, err := resourceproviders.UpdateInventories(ctx, c, cn.UUID, resourceproviders.UpdateInventoriesOpts{
		ResourceProviderGeneration: 0,
		Inventories: map[string]resourceproviders.Inventory{
			"MEMORY_MB": {Total: 262144, Reserved: 2048, MinUnit: 1, MaxUnit: 262144, StepSize: 1, AllocationRatio: 1},
		},
	}).Extract()
	if err != nil || cnInv.ResourceProviderGeneration != 1 {
		t.Fatalf("inventories: %+v %v", cnInv, err)
	}
	if _, err := resourceproviders.UpdateInventories(ctx, c, numa.UUID, resourceproviders.UpdateInventoriesOpts{
		Inventories: map[string]resourceproviders.Inventory{"VCPU": inv(32, 4), "CUSTOM_FPGA": inv(2, 1)},
	}).Extract(); err != nil {
		t.Fatal(err)
	}
	if _, err := resourceproviders.UpdateInventories(ctx, c, disk.UUID, resourceproviders.UpdateInventoriesOpts{
		Inventories: map[string]resourceproviders.Inventory{"DISK_GB": inv(4000, 1)},
	}).Extract(); err != nil {
		t.Fatal(err)
	}
	one, err := resourceproviders.UpdateInventory(ctx, c, disk.UUID, "DISK_GB", resourceproviders.UpdateInventoryOpts{
		ResourceProviderGeneration: 1, Inventory: inv(5000, 1)}).Extract()
	if err != nil || one.Total != 5000 {
		t.Fatalf("update one inventory: %+v %v", one, err)
	}
	// a stale generation is a 409
	_, err = resourceproviders.UpdateInventory(ctx, c, disk.UUID, "DISK_GB", resourceproviders.UpdateInventoryOpts{
		ResourceProviderGeneration: 1, Inventory: inv(6000, 1)}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("stale generation: %v", err)
	}
	if inv, err := resourceproviders.GetInventory(ctx, c, numa.UUID, "VCPU").Extract(); err != nil || inv.Total != 32 || inv.AllocationRatio != 4 {
		t.Errorf("get inventory: %+v %v", inv, err)
	}

	// sharing: the disk shares DISK_GB with the compute node's aggregate
	agg := "c0ffee00-0000-4000-8000-00000000a99e"
	for _, uuid := range []string{cn.UUID, disk.UUID} {
		p, err := resourceproviders.Get(ctx, c, uuid).Extract()
		if err != nil {
			t.Fatal(err)
		}
		gen := p.Generation
		if _, err := resourceproviders.UpdateAggregates(ctx, c, uuid, resourceproviders.UpdateAggregatesOpts{
			ResourceProviderGeneration: &gen, Aggregates: []string{agg}}).Extract(); err != nil {
			t.Fatalf("aggregates: %v", err)
		}
	}
	dp, _ := resourceproviders.Get(ctx, c, disk.UUID).Extract()
	if _, err := resourceproviders.UpdateTraits(ctx, c, disk.UUID, resourceproviders.UpdateTraitsOpts{
		ResourceProviderGeneration: dp.Generation, Traits: []string{"MISC_SHARES_VIA_AGGREGATE", "CUSTOM_FAST_DISK"}}).Extract(); err != nil {
		t.Fatalf("traits: %v", err)
	}
	if tr, err := resourceproviders.GetTraits(ctx, c, disk.UUID).Extract(); err != nil || len(tr.Traits) != 2 {
		t.Errorf("get traits: %+v %v", tr, err)
	}
	if ag, err := resourceproviders.GetAggregates(ctx, c, cn.UUID).Extract(); err != nil || !slices.Equal(ag.Aggregates, []string{agg}) {
		t.Errorf("get aggregates: %+v %v", ag, err)
	}

	// candidates: VCPU from the NUMA child, memory from the root, disk from
	// the sharing provider (which must have CUSTOM_FAST_DISK)
	acPages, err := allocationcandidates.List(c, allocationcandidates.ListOpts{
		Resources: "VCPU:4,MEMORY_MB:8192,DISK_GB:100",
		Required:  []string{"CUSTOM_FAST_DISK"},
		Limit:     5,
	}).AllPages(ctx)
	if err != nil {
		t.Fatalf("candidates: %v", err)
	}
	ac, err := allocationcandidates.ExtractAllocationCandidates(acPages)
	if err != nil || len(ac.AllocationRequests) != 1 {
		t.Fatalf("candidates: %+v %v", ac, err)
	}
	ar := ac.AllocationRequests[0]
	if ar.Allocations[numa.UUID].Resources["VCPU"] != 4 || ar.Allocations[disk.UUID].Resources["DISK_GB"] != 100 ||
		ar.Allocations[cn.UUID].Resources["MEMORY_MB"] != 8192 {
		t.Errorf("candidate: %+v", ar)
	}
	if s := ac.ProviderSummaries[numa.UUID]; s.Resources["VCPU"].Capacity != 128 || s.RootProviderUUID == nil || *s.RootProviderUUID != cn.UUID {
		t.Errorf("summary: %+v", s)
	}
	// granular groups
	acPages, err = allocationcandidates.List(c, allocationcandidates.ListOpts{
		Resources:      "MEMORY_MB:1024",
		GroupPolicy:    "none",
		ResourceGroups: map[string]allocationcandidates.ResourceGroup{"_ACCEL": {Resources: "CUSTOM_FPGA:1"}},
	}).AllPages(ctx)
	if err != nil {
		t.Fatalf("granular candidates: %v", err)
	}
	if ac, _ := allocationcandidates.ExtractAllocationCandidates(acPages); len(ac.AllocationRequests) != 1 ||
		!slices.Equal((*ac.AllocationRequests[0].Mappings)["_ACCEL"], []string{numa.UUID}) {
		t.Errorf("granular: %+v", ac)
	}

	// allocations: claim the candidate, read it back, usages
	consumer := "a1b2c3d4-0000-4000-8000-000000000001"
	claim := allocations.UpdateOpts{ProjectID: "proj", UserID: "user", ConsumerType: "INSTANCE",
		Allocations: map[string]allocations.ProviderAllocationsOpts{}}
	for rp, r := range ar.Allocations {
		claim.Allocations[rp] = allocations.ProviderAllocationsOpts{Resources: r.Resources}
	}
	if err := allocations.Update(ctx, c, consumer, claim).ExtractErr(); err != nil {
		t.Fatalf("claim: %v", err)
	}
	a, err := allocations.Get(ctx, c, consumer).Extract()
	if err != nil || a.ConsumerGeneration == nil || *a.ConsumerGeneration != 1 || *a.ConsumerType != "INSTANCE" ||
		a.Allocations[disk.UUID].Resources["DISK_GB"] != 100 {
		t.Fatalf("get allocations: %+v %v", a, err)
	}
	// claiming again as if new conflicts
	if err := allocations.Update(ctx, c, consumer, claim).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("second claim: %v", err)
	}
	// move it with POST /allocations to a migration consumer
	migration := "a1b2c3d4-0000-4000-8000-000000000002"
	gen := 1
	move := allocations.ManageOpts{
		consumer:  {Allocations: map[string]allocations.ProviderAllocationsOpts{}, ProjectID: "proj", UserID: "user", ConsumerGeneration: &gen, ConsumerType: "INSTANCE"},
		migration: {Allocations: claim.Allocations, ProjectID: "proj", UserID: "user", ConsumerType: "MIGRATION"},
	}
	if err := allocations.Manage(ctx, c, move).ExtractErr(); err != nil {
		t.Fatalf("manage: %v", err)
	}
	rpAllocs, err := resourceproviders.GetAllocations(ctx, c, disk.UUID).Extract()
	if err != nil || len(rpAllocs.Allocations) != 1 || rpAllocs.Allocations[migration].Resources["DISK_GB"] != 100 {
		t.Errorf("provider allocations: %+v %v", rpAllocs, err)
	}
	u, err := usages.Get(ctx, c, usages.GetOpts{ProjectID: "proj"}).Extract()
	if err != nil || u.Usages["MIGRATION"]["VCPU"] != 4 || u.Usages["MIGRATION"]["consumer_count"] != 1 {
		t.Errorf("usages: %+v %v", u, err)
	}
	pu, err := resourceproviders.GetUsages(ctx, c, numa.UUID).Extract()
	if err != nil || pu.Usages["VCPU"] != 4 {
		t.Errorf("provider usages: %+v %v", pu, err)
	}

	// deletes, in the order Placement requires
	if err := resourceproviders.Delete(ctx, c, cn.UUID).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusConflict) {
		t.Errorf("deleting a parent: %v", err)
	}
	if err := allocations.Delete(ctx, c, migration).ExtractErr(); err != nil {
		t.Fatalf("delete allocations: %v", err)
	}
	if err := resourceproviders.DeleteTraits(ctx, c, disk.UUID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := traits.Delete(ctx, c, "CUSTOM_FAST_DISK").ExtractErr(); err != nil {
		t.Fatalf("delete trait: %v", err)
	}
	if err := resourceproviders.DeleteInventory(ctx, c, disk.UUID, "DISK_GB").ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := resourceproviders.DeleteInventories(ctx, c, numa.UUID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if err := resourceclasses.Delete(ctx, c, "CUSTOM_FPGA").ExtractErr(); err != nil {
		t.Fatalf("delete class: %v", err)
	}
	for _, uuid := range []string{numa.UUID, cn.UUID, disk.UUID} {
		if err := resourceproviders.Delete(ctx, c, uuid).ExtractErr(); err != nil {
			t.Fatalf("delete %s: %v", uuid, err)
		}
	}
	_, err = resourceproviders.Get(ctx, c, cn.UUID).Extract()
	var notFound gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &notFound) || notFound.Actual != http.StatusNotFound {
		t.Errorf("get deleted: %v", err)
	}
}

// TestGophercloudOldMicroversion checks the shapes of older microversions
// that clients pinned to them still use.
func TestGophercloudOldMicroversion(t *testing.T) {
	srv := placementtest.NewServer(t)
	ctx := context.Background()
	c := client(srv, "1.20")
	rp, err := resourceproviders.Create(ctx, c, resourceproviders.CreateOpts{Name: "old"}).Extract()
	if err != nil || rp.UUID == "" {
		t.Fatalf("create at 1.20: %+v %v", rp, err)
	}
	if _, err := resourceproviders.UpdateInventories(ctx, c, rp.UUID, resourceproviders.UpdateInventoriesOpts{
		Inventories: map[string]resourceproviders.Inventory{"VCPU": inv(8, 1)}}).Extract(); err != nil {
		t.Fatal(err)
	}
	// gophercloud always sends consumer_generation, which Placement refuses
	// before 1.28 (as it refuses any unknown field): 400, as from Placement.
	consumer := "a1b2c3d4-0000-4000-8000-000000000003"
	claim := allocations.UpdateOpts{ProjectID: "p", UserID: "u",
		Allocations: map[string]allocations.ProviderAllocationsOpts{rp.UUID: {Resources: map[string]int{"VCPU": 2}}}}
	if err := allocations.Update(ctx, c, consumer, claim).ExtractErr(); !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Errorf("claim at 1.20: %v", err)
	}
	c.Microversion = "1.28"
	if err := allocations.Update(ctx, c, consumer, claim).ExtractErr(); err != nil {
		t.Fatalf("claim at 1.28: %v", err)
	}
	a, err := allocations.Get(ctx, c, consumer).Extract()
	if err != nil || a.ConsumerGeneration == nil || *a.ConsumerGeneration != 1 || a.ConsumerType != nil || *a.ProjectID != "p" {
		t.Errorf("get at 1.28: %+v %v", a, err)
	}
	c.Microversion = "1.12"
	a, err = allocations.Get(ctx, c, consumer).Extract()
	if err != nil || a.ConsumerGeneration != nil || a.Allocations[rp.UUID].Resources["VCPU"] != 2 {
		t.Errorf("get at 1.12: %+v %v", a, err)
	}
}

func ptr[T any](v T) *T { return &v }
