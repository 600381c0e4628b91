package placementtest

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
)

// init registers the CRUD tests.
func init() {
	register("CRUD/ProviderCreate", testProviderCreate)
	register("CRUD/ProviderList", testProviderList)
	register("CRUD/ProviderUpdate", testProviderUpdate)
	register("CRUD/ProviderUpdateResult", testProviderUpdateResult)
	register("CRUD/ProviderDelete", testProviderDelete)
	register("CRUD/ResourceClasses", testResourceClasses)
	register("CRUD/ResourceClassRename", testResourceClassRename)
	register("CRUD/Traits", testTraits)
	register("CRUD/Aggregates", testAggregates)
	register("CRUD/InventoryValidate", testInventoryValidate)
	register("CRUD/Inventories", testInventories)
	register("CRUD/InventoryInUse", testInventoryInUse)
}

// testProviderCreate checks CreateProvider: uuids, names, uniqueness, parents.
func testProviderCreate(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)

	// Generated uuid.
	p, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: "generated"})
	checkNoErr(t, "CreateProvider without uuid", err)
	if !placement.IsCanonicalUUID(p.UUID) {
		t.Errorf("generated uuid %q is not canonical", p.UUID)
	}
	if p.Generation != 0 || p.ParentUUID != "" || p.RootUUID != p.UUID || p.Name != "generated" {
		t.Errorf("created provider = %+v, want generation 0, no parent, root = itself", p)
	}
	got, err := v.e.Provider(v.ctx, p.UUID)
	checkNoErr(t, "Provider", err)
	if d := cmp.Diff(p, got); d != "" {
		t.Errorf("Provider differs from CreateProvider's result (-created +read):\n%s", d)
	}
	if p2, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: "generated-2"}); err != nil || p2.UUID == p.UUID {
		t.Errorf("second generated provider: %+v, %v; want a different uuid", p2, err)
	}

	// Uppercase and dashless uuids are stored canonical.
	upper := strings.ToUpper(fixedUUID(0xabc1))
	p, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: upper, Name: "upper"})
	checkNoErr(t, "CreateProvider uppercase", err)
	if p.UUID != fixedUUID(0xabc1) {
		t.Errorf("uppercase uuid stored as %q, want %q", p.UUID, fixedUUID(0xabc1))
	}
	if _, err := v.e.Provider(v.ctx, fixedUUID(0xabc1)); err != nil {
		t.Errorf("Provider(canonical of uppercase): %v", err)
	}
	dashless := strings.ReplaceAll(fixedUUID(0xabc2), "-", "")
	p, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: dashless, Name: "dashless"})
	checkNoErr(t, "CreateProvider dashless", err)
	if p.UUID != fixedUUID(0xabc2) || p.RootUUID != fixedUUID(0xabc2) {
		t.Errorf("dashless uuid stored as %q (root %q), want %q", p.UUID, p.RootUUID, fixedUUID(0xabc2))
	}
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: "not-a-uuid", Name: "bad uuid"})
	checkErrIs(t, "CreateProvider bad uuid", err, placement.ErrInvalid)

	// Names: required, at most 200 characters (not bytes).
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: ""})
	checkErrIs(t, "CreateProvider empty name", err, placement.ErrInvalid)
	for _, name := range []string{strings.Repeat("a", 200), strings.Repeat("é", 200), strings.Repeat("名", 200), "quote ' semicolon ; NUL \x00 end"} {
		p, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: name})
		if err != nil {
			t.Errorf("CreateProvider name of %d characters (%d bytes): %v", len([]rune(name)), len(name), err)
			continue
		}
		if got, err := v.e.Provider(v.ctx, p.UUID); err != nil || got.Name != name {
			t.Errorf("name %q did not round-trip: %q, %v", name, got.Name, err)
		}
	}
	for _, name := range []string{strings.Repeat("b", 201), strings.Repeat("ü", 201)} {
		_, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: name})
		checkErrIs(t, "CreateProvider name of 201 characters", err, placement.ErrInvalid)
	}

	// Unique name and uuid.
	before := v.dump()
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: "upper"})
	checkErrIs(t, "duplicate name", err, placement.ErrAlreadyExists)
	if err != nil {
		if ee := errAs[*placement.ExistsError](t, "duplicate name", err); ee.Field != "name" || ee.Value != "upper" {
			t.Errorf("duplicate name: ExistsError %+v, want Field name Value upper", ee)
		}
	}
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: strings.ReplaceAll(fixedUUID(0xabc1), "-", ""), Name: "other"})
	checkErrIs(t, "duplicate uuid", err, placement.ErrAlreadyExists)
	if err != nil {
		if ee := errAs[*placement.ExistsError](t, "duplicate uuid", err); ee.Field != "uuid" || ee.Value != fixedUUID(0xabc1) {
			t.Errorf("duplicate uuid: ExistsError %+v, want Field uuid Value %s", ee, fixedUUID(0xabc1))
		}
	}

	// Parents.
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: "orphan", ParentUUID: fixedUUID(0xdead)})
	checkErrIs(t, "CreateProvider unknown parent", err, placement.ErrInvalid, placement.ErrParentNotFound)
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: fixedUUID(0xbeef), Name: "self parent", ParentUUID: fixedUUID(0xbeef)})
	checkErrIs(t, "CreateProvider parent = itself", err, placement.ErrInvalid, placement.ErrSelfParent)
	_, err = v.e.CreateProvider(v.ctx, placement.ProviderSpec{Name: "bad parent", ParentUUID: "xyz"})
	checkErrIs(t, "CreateProvider malformed parent", err, placement.ErrInvalid)
	v.unchanged(before, "refused CreateProvider calls")

	root := v.rp(1, "root")
	child, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: fixedUUID(2), Name: "child", ParentUUID: strings.ToUpper(root.UUID)})
	checkNoErr(t, "CreateProvider child", err)
	grandchild := v.child(3, "grandchild", child.UUID)
	if child.ParentUUID != root.UUID || child.RootUUID != root.UUID {
		t.Errorf("child = %+v, want parent and root %s", child, root.UUID)
	}
	if grandchild.ParentUUID != child.UUID || grandchild.RootUUID != root.UUID {
		t.Errorf("grandchild = %+v, want parent %s and root %s", grandchild, child.UUID, root.UUID)
	}
	if got, err := v.e.Provider(v.ctx, grandchild.UUID); err != nil || got.RootUUID != root.UUID || got.ParentUUID != child.UUID {
		t.Errorf("stored grandchild = %+v, %v", got, err)
	}

	// Not found.
	_, err = v.e.Provider(v.ctx, fixedUUID(0xdead))
	checkErrIs(t, "Provider unknown", err, placement.ErrNotFound)
}

// testProviderList checks every filter of Providers.
func testProviderList(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	all, err := v.e.Providers(v.ctx, placement.ProviderFilter{})
	checkNoErr(t, "Providers on an empty store", err)
	if len(all) != 0 {
		t.Errorf("Providers on an empty store = %v", all)
	}
	// Created out of uuid order: lists are sorted by uuid.
	a := v.rp(5, "a")
	b := v.rp(3, "b")
	c := v.child(4, "c", a.UUID)
	d := v.child(1, "d", c.UUID)
	e := v.rp(2, "e")
	agg1, agg2, agg3 := fixedUUID(0xa1), fixedUUID(0xa2), fixedUUID(0xa3)
	setAggs := func(p string, aggs ...string) {
		t.Helper()
		_, err := v.e.SetProviderAggregates(v.ctx, p, placement.SkipGenerationCheck(), aggs)
		checkNoErr(t, "SetProviderAggregates", err)
	}
	setAggs(a.UUID, agg1, agg2)
	setAggs(b.UUID, agg1)
	setAggs(c.UUID, agg2)
	setAggs(d.UUID, agg3)
	_, err = v.e.EnsureTrait(v.ctx, "CUSTOM_GOLD")
	checkNoErr(t, "EnsureTrait", err)
	setTraits := func(p string, traits ...string) {
		t.Helper()
		_, err := v.e.SetProviderTraits(v.ctx, p, placement.SkipGenerationCheck(), traits)
		checkNoErr(t, "SetProviderTraits", err)
	}
	setTraits(a.UUID, "HW_CPU_X86_AVX2", "CUSTOM_GOLD")
	setTraits(b.UUID, "HW_CPU_X86_AVX2")
	setTraits(e.UUID, "CUSTOM_GOLD", "STORAGE_DISK_SSD")

	tests := []struct {
		name string
		f    placement.ProviderFilter
		want []string
	}{
		{"all", placement.ProviderFilter{}, []string{d.UUID, e.UUID, b.UUID, c.UUID, a.UUID}},
		{"name", placement.ProviderFilter{Name: "c"}, []string{c.UUID}},
		{"unknown name", placement.ProviderFilter{Name: "zzz"}, nil},
		{"uuid", placement.ProviderFilter{UUID: b.UUID}, []string{b.UUID}},
		{"unknown uuid", placement.ProviderFilter{UUID: fixedUUID(99)}, nil},
		{"name and uuid disagree", placement.ProviderFilter{Name: "a", UUID: b.UUID}, nil},
		{"in_tree root", placement.ProviderFilter{InTree: a.UUID}, []string{d.UUID, c.UUID, a.UUID}},
		{"in_tree leaf", placement.ProviderFilter{InTree: d.UUID}, []string{d.UUID, c.UUID, a.UUID}},
		{"in_tree single", placement.ProviderFilter{InTree: b.UUID}, []string{b.UUID}},
		{"in_tree unknown", placement.ProviderFilter{InTree: fixedUUID(99)}, nil},
		{"member_of one", placement.ProviderFilter{MemberOf: [][]string{{agg1}}}, []string{b.UUID, a.UUID}},
		{"member_of any", placement.ProviderFilter{MemberOf: [][]string{{agg1, agg3}}}, []string{d.UUID, b.UUID, a.UUID}},
		{"member_of all", placement.ProviderFilter{MemberOf: [][]string{{agg1}, {agg2}}}, []string{a.UUID}},
		{"member_of and-of-any", placement.ProviderFilter{MemberOf: [][]string{{agg1, agg2}, {agg2, agg3}}}, []string{c.UUID, a.UUID}},
		{"member_of unknown aggregate", placement.ProviderFilter{MemberOf: [][]string{{fixedUUID(0xa9)}}}, nil},
		{"not member_of", placement.ProviderFilter{NotMemberOf: []string{agg1}}, []string{d.UUID, e.UUID, c.UUID}},
		{"not member_of any", placement.ProviderFilter{NotMemberOf: []string{agg1, agg3}}, []string{e.UUID, c.UUID}},
		{"member_of and not", placement.ProviderFilter{MemberOf: [][]string{{agg2}}, NotMemberOf: []string{agg1}}, []string{c.UUID}},
		{"required", placement.ProviderFilter{Required: [][]string{{"HW_CPU_X86_AVX2"}}}, []string{b.UUID, a.UUID}},
		{"required all", placement.ProviderFilter{Required: [][]string{{"HW_CPU_X86_AVX2"}, {"CUSTOM_GOLD"}}}, []string{a.UUID}},
		{"required any", placement.ProviderFilter{Required: [][]string{{"STORAGE_DISK_SSD", "HW_CPU_X86_AVX2"}}}, []string{e.UUID, b.UUID, a.UUID}},
		{"required nobody has", placement.ProviderFilter{Required: [][]string{{"HW_CPU_X86_SSE"}}}, nil},
		{"forbidden", placement.ProviderFilter{Forbidden: []string{"CUSTOM_GOLD"}}, []string{d.UUID, b.UUID, c.UUID}},
		{"forbidden any", placement.ProviderFilter{Forbidden: []string{"CUSTOM_GOLD", "HW_CPU_X86_AVX2"}}, []string{d.UUID, c.UUID}},
		{"required and forbidden", placement.ProviderFilter{Required: [][]string{{"HW_CPU_X86_AVX2"}}, Forbidden: []string{"CUSTOM_GOLD"}}, []string{b.UUID}},
		{"everything", placement.ProviderFilter{InTree: c.UUID, MemberOf: [][]string{{agg2}}, Required: [][]string{{"CUSTOM_GOLD"}}, NotMemberOf: []string{agg3}}, []string{a.UUID}},
	}
	for _, tc := range tests {
		got, err := v.e.Providers(v.ctx, tc.f)
		if err != nil {
			t.Errorf("Providers(%s): %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, providerUUIDs(got), equateEmpty); d != "" {
			t.Errorf("Providers(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	// The listed providers are complete records.
	got, err := v.e.Providers(v.ctx, placement.ProviderFilter{UUID: d.UUID})
	checkNoErr(t, "Providers(uuid)", err)
	if len(got) != 1 || got[0].Name != "d" || got[0].ParentUUID != c.UUID || got[0].RootUUID != a.UUID {
		t.Errorf("Providers(uuid d) = %+v", got)
	}

	// Unknown traits are an error.
	for _, f := range []placement.ProviderFilter{
		{Required: [][]string{{"CUSTOM_NOPE"}}},
		{Required: [][]string{{"HW_CPU_X86_AVX2", "CUSTOM_NOPE"}}},
		{Forbidden: []string{"CUSTOM_NOPE"}},
	} {
		_, err := v.e.Providers(v.ctx, f)
		checkErrIs(t, "Providers with an unknown trait", err, placement.ErrNotFound)
	}
}

// testProviderUpdate checks renaming, re-parenting and un-parenting.
func testProviderUpdate(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	r1 := v.rp(1, "r1")
	c1 := v.child(2, "c1", r1.UUID)
	g1 := v.child(3, "g1", c1.UUID)
	r2 := v.rp(4, "r2")
	other := v.rp(5, "other")
	v.setInv(c1.UUID, mkInv(placement.ClassVCPU, 4)) // generation 1
	check := func(uuid, name, parent, root string, gen int64) {
		t.Helper()
		p, err := v.e.Provider(v.ctx, uuid)
		checkNoErr(t, "Provider", err)
		if p.Name != name || p.ParentUUID != parent || p.RootUUID != root || p.Generation != gen {
			t.Errorf("provider %s = {name %q parent %q root %q gen %d}, want {%q %q %q %d}",
				uuid, p.Name, p.ParentUUID, p.RootUUID, p.Generation, name, parent, root, gen)
		}
	}

	// Rename: generation unchanged, parent kept.
	p, err := v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed"})
	checkNoErr(t, "rename", err)
	if p.Name != "c1-renamed" || p.Generation != 1 || p.ParentUUID != r1.UUID {
		t.Errorf("UpdateProvider result = %+v", p)
	}
	check(c1.UUID, "c1-renamed", r1.UUID, r1.UUID, 1)
	if got, _ := v.e.Providers(v.ctx, placement.ProviderFilter{Name: "c1"}); len(got) != 0 {
		t.Errorf("old name still found: %v", got)
	}
	// The old name is free again; the same name is accepted.
	if _, err := v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed"}); err != nil {
		t.Errorf("rename to its own name: %v", err)
	}
	before := v.dump()
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "other"})
	checkErrIs(t, "rename to a taken name", err, placement.ErrAlreadyExists)
	if err != nil {
		if ee := errAs[*placement.ExistsError](t, "rename to a taken name", err); ee.Field != "name" {
			t.Errorf("ExistsError.Field = %q, want name", ee.Field)
		}
	}
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: ""})
	checkErrIs(t, "rename to empty", err, placement.ErrInvalid)
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: strings.Repeat("x", 201)})
	checkErrIs(t, "rename to 201 characters", err, placement.ErrInvalid)
	_, err = v.e.UpdateProvider(v.ctx, fixedUUID(99), placement.ProviderUpdate{Name: "ghost"})
	checkErrIs(t, "update unknown", err, placement.ErrNotFound)

	// Loops and bad parents.
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: g1.UUID})
	checkErrIs(t, "re-parent under own grandchild", err, placement.ErrInvalid, placement.ErrProviderLoop)
	_, err = v.e.UpdateProvider(v.ctx, r1.UUID, placement.ProviderUpdate{Name: "r1", SetParent: true, ParentUUID: g1.UUID})
	checkErrIs(t, "re-parent root under its leaf", err, placement.ErrInvalid, placement.ErrProviderLoop)
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: c1.UUID})
	checkErrIs(t, "re-parent under itself", err, placement.ErrInvalid, placement.ErrProviderLoop)
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: fixedUUID(99)})
	checkErrIs(t, "re-parent under unknown", err, placement.ErrInvalid, placement.ErrParentNotFound)
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: "xyz"})
	checkErrIs(t, "re-parent under malformed", err, placement.ErrInvalid)
	// KeepParent (Placement before 1.37) refuses changing an existing parent.
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: r2.UUID, KeepParent: true})
	checkErrIs(t, "KeepParent re-parent", err, placement.ErrInvalid, placement.ErrReparent)
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, KeepParent: true})
	checkErrIs(t, "KeepParent un-parent", err, placement.ErrInvalid, placement.ErrUnparent)
	v.unchanged(before, "refused UpdateProvider calls")
	// ... but re-sending the same parent is fine.
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1-renamed", SetParent: true, ParentUUID: strings.ToUpper(r1.UUID), KeepParent: true})
	checkNoErr(t, "KeepParent same parent", err)
	check(c1.UUID, "c1-renamed", r1.UUID, r1.UUID, 1)

	// Re-parent: the whole subtree gets the new root, generations unchanged.
	p, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1", SetParent: true, ParentUUID: r2.UUID})
	checkNoErr(t, "re-parent", err)
	if p.Name != "c1" || p.Generation != 1 {
		t.Errorf("re-parent result = %+v", p)
	}
	// (Its ParentUUID and RootUUID are checked by CRUD/ProviderUpdateResult.)
	check(c1.UUID, "c1", r2.UUID, r2.UUID, 1)
	check(g1.UUID, "g1", c1.UUID, r2.UUID, 0)
	check(r1.UUID, "r1", "", r1.UUID, 0)
	tree, err := v.e.Providers(v.ctx, placement.ProviderFilter{InTree: r2.UUID})
	checkNoErr(t, "in_tree", err)
	if d := cmp.Diff([]string{c1.UUID, g1.UUID, r2.UUID}, providerUUIDs(tree)); d != "" {
		t.Errorf("in_tree after re-parent (-want +got):\n%s", d)
	}
	if tree, _ := v.e.Providers(v.ctx, placement.ProviderFilter{InTree: r1.UUID}); len(tree) != 1 {
		t.Errorf("old tree after re-parent = %v, want r1 only", providerUUIDs(tree))
	}

	// SetParent false leaves the parent alone.
	_, err = v.e.UpdateProvider(v.ctx, g1.UUID, placement.ProviderUpdate{Name: "g1"})
	checkNoErr(t, "rename keeps parent", err)
	check(g1.UUID, "g1", c1.UUID, r2.UUID, 0)

	// Un-parent: the subtree becomes its own tree.
	p, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1", SetParent: true})
	checkNoErr(t, "un-parent", err)
	check(c1.UUID, "c1", "", c1.UUID, 1)
	check(g1.UUID, "g1", c1.UUID, c1.UUID, 0)
	check(r2.UUID, "r2", "", r2.UUID, 0)

	// KeepParent still allows giving a root its first parent.
	_, err = v.e.UpdateProvider(v.ctx, c1.UUID, placement.ProviderUpdate{Name: "c1", SetParent: true, ParentUUID: r1.UUID, KeepParent: true})
	checkNoErr(t, "KeepParent on a root", err)
	check(c1.UUID, "c1", r1.UUID, r1.UUID, 1)
	check(g1.UUID, "g1", c1.UUID, r1.UUID, 0)
	// Move within the same tree (g1 up to the root): root unchanged.
	_, err = v.e.UpdateProvider(v.ctx, g1.UUID, placement.ProviderUpdate{Name: "g1", SetParent: true, ParentUUID: r1.UUID})
	checkNoErr(t, "move within a tree", err)
	check(g1.UUID, "g1", r1.UUID, r1.UUID, 0)
	// A root with a subtree moved under another tree.
	_, err = v.e.UpdateProvider(v.ctx, r1.UUID, placement.ProviderUpdate{Name: "r1", SetParent: true, ParentUUID: other.UUID})
	checkNoErr(t, "move a whole tree", err)
	for _, u := range []string{r1.UUID, c1.UUID, g1.UUID} {
		p, _ := v.e.Provider(v.ctx, u)
		if p.RootUUID != other.UUID {
			t.Errorf("after moving the tree, %s has root %s, want %s", u, p.RootUUID, other.UUID)
		}
	}
	v.audit()
}

// testProviderUpdateResult checks that UpdateProvider returns the provider
// as stored, also after re-parenting and un-parenting.
func testProviderUpdateResult(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	r1 := v.rp(1, "r1")
	c := v.child(2, "c", r1.UUID)
	r2 := v.rp(3, "r2")
	for _, step := range []struct {
		name     string
		parent   string
		wantRoot string
	}{
		{"re-parent", r2.UUID, r2.UUID},
		{"un-parent", "", c.UUID},
		{"parent a root", r1.UUID, r1.UUID},
	} {
		got, err := v.e.UpdateProvider(v.ctx, c.UUID, placement.ProviderUpdate{Name: "c", SetParent: true, ParentUUID: step.parent})
		checkNoErr(t, step.name, err)
		stored, err := v.e.Provider(v.ctx, c.UUID)
		checkNoErr(t, "Provider", err)
		if d := cmp.Diff(stored, got); d != "" {
			t.Errorf("%s: UpdateProvider result differs from the stored provider (-stored +returned):\n%s", step.name, d)
		}
		if got.ParentUUID != step.parent || got.RootUUID != step.wantRoot {
			t.Errorf("%s: UpdateProvider returned parent %q root %q, want %q %q", step.name, got.ParentUUID, got.RootUUID, step.parent, step.wantRoot)
		}
	}
}

// testProviderDelete checks what blocks a provider delete and what cascades.
func testProviderDelete(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	root := v.rp(1, "root")
	child := v.child(2, "child", root.UUID)
	other := v.rp(3, "other")
	v.setInv(child.UUID, mkInv(placement.ClassVCPU, 8), mkInv(placement.ClassMemoryMB, 1024))
	v.setInv(other.UUID, mkInv(placement.ClassVCPU, 8))
	_, err := v.e.EnsureTrait(v.ctx, "CUSTOM_T")
	checkNoErr(t, "EnsureTrait", err)
	_, err = v.e.SetProviderTraits(v.ctx, child.UUID, placement.SkipGenerationCheck(), []string{"CUSTOM_T", "HW_CPU_X86_AVX2"})
	checkNoErr(t, "SetProviderTraits", err)
	agg := fixedUUID(0xa1)
	_, err = v.e.SetProviderAggregates(v.ctx, child.UUID, placement.SkipGenerationCheck(), []string{agg})
	checkNoErr(t, "SetProviderAggregates", err)
	_, err = v.e.SetProviderAggregates(v.ctx, other.UUID, placement.SkipGenerationCheck(), []string{agg})
	checkNoErr(t, "SetProviderAggregates", err)
	consumer := fixedUUID(0xc1)
	v.put(consumer, mkAlloc(child.UUID, placement.ClassVCPU, 2), mkAlloc(other.UUID, placement.ClassVCPU, 1))

	before := v.dump()
	err = v.e.DeleteProvider(v.ctx, root.UUID)
	checkErrIs(t, "delete a parent", err, placement.ErrProviderHasChildren)
	if err != nil {
		errAs[*placement.InUseError](t, "delete a parent", err)
	}
	err = v.e.DeleteProvider(v.ctx, child.UUID)
	checkErrIs(t, "delete a provider with allocations", err, placement.ErrProviderInUse)
	if err != nil {
		errAs[*placement.InUseError](t, "delete a provider with allocations", err)
	}
	err = v.e.DeleteProvider(v.ctx, fixedUUID(99))
	checkErrIs(t, "delete unknown", err, placement.ErrNotFound)
	v.unchanged(before, "refused DeleteProvider calls")

	// Move the consumer off the child, then delete it: inventories, trait
	// and aggregate links go; the trait, the aggregate's other members and
	// the consumer stay.
	v.put(consumer, mkAlloc(other.UUID, placement.ClassVCPU, 1))
	checkNoErr(t, "delete child", v.e.DeleteProvider(v.ctx, child.UUID))
	_, err = v.e.Provider(v.ctx, child.UUID)
	checkErrIs(t, "Provider after delete", err, placement.ErrNotFound)
	_, err = v.e.Inventories(v.ctx, child.UUID)
	checkErrIs(t, "Inventories after delete", err, placement.ErrNotFound)
	err = v.store.View(v.ctx, func(tx placement.ReadTx) error {
		res, err := tx.Resources(child.UUID)
		if err != nil || len(res) != 0 {
			t.Errorf("Resources of a deleted provider = %v, %v; want none", res, err)
		}
		traits, err := tx.ProviderTraits(child.UUID)
		if err != nil || len(traits) != 0 {
			t.Errorf("ProviderTraits of a deleted provider = %v, %v; want none", traits, err)
		}
		aggs, err := tx.ProviderAggregates(child.UUID)
		if err != nil || len(aggs) != 0 {
			t.Errorf("ProviderAggregates of a deleted provider = %v, %v; want none", aggs, err)
		}
		assoc, err := tx.AssociatedTraits()
		if err != nil || slices.Contains(assoc, "CUSTOM_T") || slices.Contains(assoc, "HW_CPU_X86_AVX2") {
			t.Errorf("AssociatedTraits after delete = %v, %v", assoc, err)
		}
		return nil
	})
	checkNoErr(t, "View", err)
	if _, err := v.e.Trait(v.ctx, "CUSTOM_T"); err != nil {
		t.Errorf("custom trait deleted with the provider: %v", err)
	}
	if got, err := v.e.Providers(v.ctx, placement.ProviderFilter{MemberOf: [][]string{{agg}}}); err != nil || len(got) != 1 || got[0].UUID != other.UUID {
		t.Errorf("aggregate members after delete = %v, %v", got, err)
	}
	if g, ok := v.consumerGen(consumer); !ok || g != 2 {
		t.Errorf("consumer after deleting a provider: generation %d exists %v, want 2 true", g, ok)
	}
	// Now the root has no child and can go too; names are free again.
	checkNoErr(t, "delete root", v.e.DeleteProvider(v.ctx, root.UUID))
	if _, err := v.e.CreateProvider(v.ctx, placement.ProviderSpec{UUID: child.UUID, Name: "child"}); err != nil {
		t.Errorf("re-create with the deleted uuid and name: %v", err)
	}
	if inv, err := v.e.Inventories(v.ctx, child.UUID); err != nil || len(inv.Inventories) != 0 || inv.Generation != 0 {
		t.Errorf("re-created provider inventories = %+v, %v", inv, err)
	}
	if tr, _, err := v.e.ProviderTraits(v.ctx, child.UUID); err != nil || len(tr) != 0 {
		t.Errorf("re-created provider traits = %v, %v", tr, err)
	}
	v.audit()
}

// testResourceClasses checks standard and custom resource classes.
func testResourceClasses(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	std := placement.StandardResourceClasses()
	if len(std) != 21 {
		t.Errorf("%d standard resource classes, want 21", len(std))
	}
	list, err := v.e.ResourceClasses(v.ctx)
	checkNoErr(t, "ResourceClasses", err)
	var want []placement.ResourceClass
	for _, n := range std {
		want = append(want, placement.ResourceClass{Name: n, Standard: true})
	}
	if d := cmp.Diff(want, list); d != "" {
		t.Errorf("ResourceClasses on an empty store (-want +got):\n%s", d)
	}
	for _, n := range []string{"VCPU", "MEMORY_MB", "DISK_GB", "VGPU", "PCPU", "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"} {
		rc, err := v.e.ResourceClass(v.ctx, n)
		if err != nil || !rc.Standard || rc.Name != n {
			t.Errorf("ResourceClass(%s) = %+v, %v", n, rc, err)
		}
	}
	_, err = v.e.ResourceClass(v.ctx, "CUSTOM_NOPE")
	checkErrIs(t, "ResourceClass unknown", err, placement.ErrNotFound)
	_, err = v.e.ResourceClass(v.ctx, "NOPE")
	checkErrIs(t, "ResourceClass unknown non-custom", err, placement.ErrNotFound)

	rcB, err := v.e.CreateResourceClass(v.ctx, "CUSTOM_B")
	checkNoErr(t, "CreateResourceClass", err)
	if rcB.Name != "CUSTOM_B" || rcB.Standard || rcB.CreatedAt.IsZero() {
		t.Errorf("created class = %+v", rcB)
	}
	got, err := v.e.ResourceClass(v.ctx, "CUSTOM_B")
	checkNoErr(t, "ResourceClass custom", err)
	if d := cmp.Diff(rcB, got); d != "" {
		t.Errorf("ResourceClass differs from created (-created +read):\n%s", d)
	}
	before := v.dump()
	_, err = v.e.CreateResourceClass(v.ctx, "CUSTOM_B")
	checkErrIs(t, "CreateResourceClass duplicate", err, placement.ErrAlreadyExists)
	if err != nil {
		errAs[*placement.ExistsError](t, "CreateResourceClass duplicate", err)
	}
	for _, bad := range []string{"VCPU", "CUSTOM_", "CUSTOM_lower", "custom_x", "FOO", "", "CUSTOM_A-B", "CUSTOM_" + strings.Repeat("X", 249)} {
		_, err = v.e.CreateResourceClass(v.ctx, bad)
		checkErrIs(t, "CreateResourceClass("+bad+")", err, placement.ErrInvalid)
		_, _, err = v.e.EnsureResourceClass(v.ctx, bad)
		checkErrIs(t, "EnsureResourceClass("+bad+")", err, placement.ErrInvalid)
	}
	v.unchanged(before, "refused class creations")
	long := "CUSTOM_" + strings.Repeat("X", 248) // 255 characters
	if _, err := v.e.CreateResourceClass(v.ctx, long); err != nil {
		t.Errorf("CreateResourceClass(255 characters): %v", err)
	}

	rcA, created, err := v.e.EnsureResourceClass(v.ctx, "CUSTOM_A")
	checkNoErr(t, "EnsureResourceClass new", err)
	if !created || rcA.Name != "CUSTOM_A" {
		t.Errorf("EnsureResourceClass new = %+v, created %v", rcA, created)
	}
	rcA2, created, err := v.e.EnsureResourceClass(v.ctx, "CUSTOM_A")
	checkNoErr(t, "EnsureResourceClass existing", err)
	if created || !rcA2.CreatedAt.Equal(rcA.CreatedAt) {
		t.Errorf("EnsureResourceClass existing = %+v, created %v; want created false and the original record %+v", rcA2, created, rcA)
	}
	list, err = v.e.ResourceClasses(v.ctx)
	checkNoErr(t, "ResourceClasses", err)
	var names []string
	for _, rc := range list[len(std):] {
		names = append(names, rc.Name)
	}
	if d := cmp.Diff([]string{"CUSTOM_A", "CUSTOM_B", long}, names); d != "" || len(list) != len(std)+3 {
		t.Errorf("custom classes listed (-want +got):\n%s", d)
	}

	// Standard classes cannot be renamed or deleted.
	before = v.dump()
	_, err = v.e.RenameResourceClass(v.ctx, "VCPU", "CUSTOM_VCPU")
	checkErrIs(t, "rename standard", err, placement.ErrInvalid, placement.ErrStandardName)
	err = v.e.DeleteResourceClass(v.ctx, "MEMORY_MB")
	checkErrIs(t, "delete standard", err, placement.ErrInvalid, placement.ErrStandardName)
	_, err = v.e.RenameResourceClass(v.ctx, "CUSTOM_NOPE", "CUSTOM_NEW")
	checkErrIs(t, "rename unknown", err, placement.ErrNotFound)
	_, err = v.e.RenameResourceClass(v.ctx, "CUSTOM_A", "CUSTOM_B")
	checkErrIs(t, "rename onto an existing class", err, placement.ErrAlreadyExists)
	_, err = v.e.RenameResourceClass(v.ctx, "CUSTOM_A", "VCPU")
	checkErrIs(t, "rename to a standard name", err, placement.ErrInvalid)
	_, err = v.e.RenameResourceClass(v.ctx, "CUSTOM_A", "CUSTOM_bad")
	checkErrIs(t, "rename to a bad name", err, placement.ErrInvalid)
	err = v.e.DeleteResourceClass(v.ctx, "CUSTOM_NOPE")
	checkErrIs(t, "delete unknown", err, placement.ErrNotFound)
	v.unchanged(before, "refused resource class writes")

	// In use by an inventory.
	p := v.rp(1, "p")
	v.setInv(p.UUID, mkInv("CUSTOM_A", 5))
	err = v.e.DeleteResourceClass(v.ctx, "CUSTOM_A")
	checkErrIs(t, "delete a class in use", err, placement.ErrResourceClassInUse)
	if err != nil {
		errAs[*placement.InUseError](t, "delete a class in use", err)
	}
	v.setInv(p.UUID)
	checkNoErr(t, "delete unused class", v.e.DeleteResourceClass(v.ctx, "CUSTOM_A"))
	_, err = v.e.ResourceClass(v.ctx, "CUSTOM_A")
	checkErrIs(t, "ResourceClass after delete", err, placement.ErrNotFound)
	if _, err := v.e.CreateResourceClass(v.ctx, "CUSTOM_A"); err != nil {
		t.Errorf("re-create deleted class: %v", err)
	}
}

// testResourceClassRename checks that a renamed class carries its inventories
// and allocations.
func testResourceClassRename(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	old, err := v.e.CreateResourceClass(v.ctx, "CUSTOM_OLD")
	checkNoErr(t, "CreateResourceClass", err)
	p := v.rp(1, "p")
	q := v.rp(2, "q")
	big := mkInv("CUSTOM_OLD", 10)
	big.Reserved = 1
	big.StepSize = 1
	big.AllocationRatio = 2
	v.setInv(p.UUID, big, mkInv(placement.ClassVCPU, 4))
	v.setInv(q.UUID, mkInv("CUSTOM_OLD", 3))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	v.put(c1, mkAlloc(p.UUID, "CUSTOM_OLD", 5), mkAlloc(p.UUID, placement.ClassVCPU, 1))
	v.put(c2, mkAlloc(p.UUID, "CUSTOM_OLD", 2), mkAlloc(q.UUID, "CUSTOM_OLD", 3))
	genP, genQ := v.gen(p.UUID), v.gen(q.UUID)

	rc, err := v.e.RenameResourceClass(v.ctx, "CUSTOM_OLD", "CUSTOM_NEW")
	checkNoErr(t, "RenameResourceClass", err)
	if rc.Name != "CUSTOM_NEW" || rc.Standard || !rc.CreatedAt.Equal(old.CreatedAt) {
		t.Errorf("renamed class = %+v, want name CUSTOM_NEW and CreatedAt %v", rc, old.CreatedAt)
	}
	_, err = v.e.ResourceClass(v.ctx, "CUSTOM_OLD")
	checkErrIs(t, "old name after rename", err, placement.ErrNotFound)
	if got, err := v.e.ResourceClass(v.ctx, "CUSTOM_NEW"); err != nil || !got.CreatedAt.Equal(old.CreatedAt) {
		t.Errorf("ResourceClass(new name) = %+v, %v", got, err)
	}
	gotInv, _, err := v.e.Inventory(v.ctx, p.UUID, "CUSTOM_NEW")
	checkNoErr(t, "Inventory(new name)", err)
	if gotInv.Total != 10 || gotInv.Reserved != 1 || gotInv.AllocationRatio != 2 {
		t.Errorf("renamed inventory = %+v", gotInv)
	}
	_, _, err = v.e.Inventory(v.ctx, p.UUID, "CUSTOM_OLD")
	checkErrIs(t, "Inventory(old name)", err, placement.ErrNotFound)
	if u := v.usage(p.UUID, "CUSTOM_NEW"); u != 7 {
		t.Errorf("usage of the renamed class on p = %d, want 7", u)
	}
	if u := v.usage(q.UUID, "CUSTOM_NEW"); u != 3 {
		t.Errorf("usage of the renamed class on q = %d, want 3", u)
	}
	cs, err := v.e.ConsumerAllocations(v.ctx, c2)
	checkNoErr(t, "ConsumerAllocations", err)
	want := []placement.Allocation{mkAlloc(p.UUID, "CUSTOM_NEW", 2), mkAlloc(q.UUID, "CUSTOM_NEW", 3)}
	if d := cmp.Diff(want, cs.Allocations); d != "" {
		t.Errorf("allocations after rename (-want +got):\n%s", d)
	}
	if genP != v.gen(p.UUID) || genQ != v.gen(q.UUID) {
		t.Errorf("renaming a class changed provider generations")
	}
	// The renamed class is in use; allocation writes name it.
	err = v.e.DeleteResourceClass(v.ctx, "CUSTOM_NEW")
	checkErrIs(t, "delete renamed class in use", err, placement.ErrResourceClassInUse)
	v.put(c1, mkAlloc(p.UUID, "CUSTOM_NEW", 6))
	if u := v.usage(p.UUID, "CUSTOM_NEW"); u != 8 {
		t.Errorf("usage after rewriting with the new name = %d, want 8", u)
	}
	v.audit()
}

// testTraits checks standard and custom traits, filters and provider traits.
func testTraits(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	std := placement.StandardTraits()
	if len(std) != 345 {
		t.Errorf("%d standard traits, want 345", len(std))
	}
	all, err := v.e.Traits(v.ctx, placement.TraitFilter{})
	checkNoErr(t, "Traits", err)
	if len(all) != 345 {
		t.Errorf("Traits on an empty store lists %d, want 345", len(all))
	}
	for i, tr := range all {
		if !tr.Standard || (i > 0 && all[i-1].Name >= tr.Name) {
			t.Errorf("Traits[%d] = %+v: want standard traits sorted by name", i, tr)
			break
		}
	}

	created, err := v.e.EnsureTrait(v.ctx, "CUSTOM_B")
	checkNoErr(t, "EnsureTrait", err)
	if !created {
		t.Errorf("EnsureTrait new: created false")
	}
	created, err = v.e.EnsureTrait(v.ctx, "CUSTOM_B")
	checkNoErr(t, "EnsureTrait again", err)
	if created {
		t.Errorf("EnsureTrait existing: created true")
	}
	if created, err := v.e.EnsureTrait(v.ctx, "CUSTOM_A"); err != nil || !created {
		t.Errorf("EnsureTrait CUSTOM_A = %v, %v", created, err)
	}
	before := v.dump()
	for _, bad := range []string{"HW_CPU_X86_AVX2", "CUSTOM_", "CUSTOM_x", "", "FOO", "CUSTOM_" + strings.Repeat("Y", 249)} {
		_, err := v.e.EnsureTrait(v.ctx, bad)
		checkErrIs(t, "EnsureTrait("+bad+")", err, placement.ErrInvalid)
	}
	v.unchanged(before, "refused EnsureTrait calls")

	tr, err := v.e.Trait(v.ctx, "HW_CPU_X86_AVX2")
	if err != nil || !tr.Standard || tr.Name != "HW_CPU_X86_AVX2" {
		t.Errorf("Trait(standard) = %+v, %v", tr, err)
	}
	tr, err = v.e.Trait(v.ctx, "CUSTOM_B")
	if err != nil || tr.Standard || tr.Name != "CUSTOM_B" || tr.CreatedAt.IsZero() {
		t.Errorf("Trait(custom) = %+v, %v", tr, err)
	}
	_, err = v.e.Trait(v.ctx, "CUSTOM_NOPE")
	checkErrIs(t, "Trait unknown", err, placement.ErrNotFound)

	p := v.rp(1, "p")
	q := v.rp(2, "q")
	_, err = v.e.SetProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{"CUSTOM_B", "HW_CPU_X86_AVX2", "CUSTOM_B"})
	checkNoErr(t, "SetProviderTraits", err)
	_, err = v.e.SetProviderTraits(v.ctx, q.UUID, placement.SkipGenerationCheck(), []string{"STORAGE_DISK_SSD"})
	checkNoErr(t, "SetProviderTraits", err)
	got, _, err := v.e.ProviderTraits(v.ctx, p.UUID)
	checkNoErr(t, "ProviderTraits", err)
	if d := cmp.Diff([]string{"CUSTOM_B", "HW_CPU_X86_AVX2"}, got); d != "" {
		t.Errorf("ProviderTraits (-want +got):\n%s", d)
	}
	_, _, err = v.e.ProviderTraits(v.ctx, fixedUUID(99))
	checkErrIs(t, "ProviderTraits unknown provider", err, placement.ErrNotFound)
	before = v.dump()
	_, err = v.e.SetProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{"CUSTOM_B", "CUSTOM_NOPE"})
	checkErrIs(t, "SetProviderTraits unknown trait", err, placement.ErrNotFound)
	_, err = v.e.SetProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{""})
	checkErrIs(t, "SetProviderTraits empty name", err, placement.ErrInvalid)
	_, err = v.e.SetProviderTraits(v.ctx, fixedUUID(99), placement.SkipGenerationCheck(), []string{"CUSTOM_B"})
	checkErrIs(t, "SetProviderTraits unknown provider", err, placement.ErrNotFound)
	err = v.e.DeleteProviderTraits(v.ctx, fixedUUID(99), placement.SkipGenerationCheck())
	checkErrIs(t, "DeleteProviderTraits unknown provider", err, placement.ErrNotFound)
	v.unchanged(before, "refused trait writes")

	names := func(ts []placement.Trait) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	yes, no := true, false
	filters := []struct {
		name string
		f    placement.TraitFilter
		want []string
	}{
		{"names in", placement.TraitFilter{NamesIn: []string{"CUSTOM_B", "HW_CPU_X86_AVX2", "CUSTOM_NOPE"}}, []string{"CUSTOM_B", "HW_CPU_X86_AVX2"}},
		{"prefix", placement.TraitFilter{Prefix: "CUSTOM_"}, []string{"CUSTOM_A", "CUSTOM_B"}},
		{"prefix standard", placement.TraitFilter{Prefix: "HW_CPU_X86_AVX"}, namesWithPrefix(std, "HW_CPU_X86_AVX")},
		{"associated", placement.TraitFilter{Associated: &yes}, []string{"CUSTOM_B", "HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"}},
		{"associated custom", placement.TraitFilter{Associated: &yes, Prefix: "CUSTOM_"}, []string{"CUSTOM_B"}},
		{"not associated custom", placement.TraitFilter{Associated: &no, Prefix: "CUSTOM_"}, []string{"CUSTOM_A"}},
		{"names in and not associated", placement.TraitFilter{Associated: &no, NamesIn: []string{"CUSTOM_A", "CUSTOM_B", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE"}}, []string{"CUSTOM_A", "HW_CPU_X86_SSE"}},
	}
	for _, tc := range filters {
		got, err := v.e.Traits(v.ctx, tc.f)
		if err != nil {
			t.Errorf("Traits(%s): %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, names(got)); d != "" {
			t.Errorf("Traits(%s) (-want +got):\n%s", tc.name, d)
		}
	}
	notAssoc, err := v.e.Traits(v.ctx, placement.TraitFilter{Associated: &no})
	checkNoErr(t, "Traits not associated", err)
	if len(notAssoc) != 345+2-3 {
		t.Errorf("Traits(associated=false) lists %d, want %d", len(notAssoc), 345+2-3)
	}

	// Deleting.
	before = v.dump()
	err = v.e.DeleteTrait(v.ctx, "HW_CPU_X86_SSE")
	checkErrIs(t, "DeleteTrait standard", err, placement.ErrInvalid, placement.ErrStandardName)
	err = v.e.DeleteTrait(v.ctx, "CUSTOM_B")
	checkErrIs(t, "DeleteTrait in use", err, placement.ErrTraitInUse)
	if err != nil {
		errAs[*placement.InUseError](t, "DeleteTrait in use", err)
	}
	err = v.e.DeleteTrait(v.ctx, "CUSTOM_NOPE")
	checkErrIs(t, "DeleteTrait unknown", err, placement.ErrNotFound)
	v.unchanged(before, "refused DeleteTrait calls")
	checkNoErr(t, "DeleteTrait unused", v.e.DeleteTrait(v.ctx, "CUSTOM_A"))
	_, err = v.e.Trait(v.ctx, "CUSTOM_A")
	checkErrIs(t, "Trait after delete", err, placement.ErrNotFound)
	checkNoErr(t, "DeleteProviderTraits", v.e.DeleteProviderTraits(v.ctx, p.UUID, placement.SkipGenerationCheck()))
	if got, _, err := v.e.ProviderTraits(v.ctx, p.UUID); err != nil || len(got) != 0 {
		t.Errorf("ProviderTraits after DeleteProviderTraits = %v, %v", got, err)
	}
	checkNoErr(t, "DeleteTrait no longer in use", v.e.DeleteTrait(v.ctx, "CUSTOM_B"))
	custom, err := v.e.Traits(v.ctx, placement.TraitFilter{Prefix: "CUSTOM_"})
	if err != nil || len(custom) != 0 {
		t.Errorf("custom traits after deleting all = %v, %v", custom, err)
	}
}

// namesWithPrefix returns the names starting with prefix.
func namesWithPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// testAggregates checks provider aggregates.
func testAggregates(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	p := v.rp(1, "p")
	a1, a2, a3 := fixedUUID(0xa1), fixedUUID(0xa2), fixedUUID(0xa3)
	got, _, err := v.e.ProviderAggregates(v.ctx, p.UUID)
	if err != nil || len(got) != 0 {
		t.Errorf("ProviderAggregates of a new provider = %v, %v", got, err)
	}
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{a3, a1, a2})
	checkNoErr(t, "SetProviderAggregates", err)
	got, _, err = v.e.ProviderAggregates(v.ctx, p.UUID)
	checkNoErr(t, "ProviderAggregates", err)
	if d := cmp.Diff([]string{a1, a2, a3}, got); d != "" {
		t.Errorf("ProviderAggregates (-want +got):\n%s", d)
	}
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{a2})
	checkNoErr(t, "SetProviderAggregates replace", err)
	got, _, _ = v.e.ProviderAggregates(v.ctx, p.UUID)
	if d := cmp.Diff([]string{a2}, got); d != "" {
		t.Errorf("ProviderAggregates after replace (-want +got):\n%s", d)
	}
	before := v.dump()
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{a1, a1})
	checkErrIs(t, "duplicate aggregates", err, placement.ErrInvalid)
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{a1, "not-a-uuid"})
	checkErrIs(t, "non-uuid aggregate", err, placement.ErrInvalid)
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), []string{""})
	checkErrIs(t, "empty aggregate", err, placement.ErrInvalid)
	_, err = v.e.SetProviderAggregates(v.ctx, fixedUUID(99), placement.SkipGenerationCheck(), []string{a1})
	checkErrIs(t, "unknown provider", err, placement.ErrNotFound)
	_, _, err = v.e.ProviderAggregates(v.ctx, fixedUUID(99))
	checkErrIs(t, "ProviderAggregates unknown provider", err, placement.ErrNotFound)
	v.unchanged(before, "refused aggregate writes")
	_, err = v.e.SetProviderAggregates(v.ctx, p.UUID, placement.SkipGenerationCheck(), nil)
	checkNoErr(t, "SetProviderAggregates empty", err)
	if got, _, err := v.e.ProviderAggregates(v.ctx, p.UUID); err != nil || len(got) != 0 {
		t.Errorf("ProviderAggregates after clearing = %v, %v", got, err)
	}
}

// testInventoryValidate checks NewInventory and every limit of Inventory.Validate.
func testInventoryValidate(t *testing.T, _ NewStore) {
	want := placement.Inventory{ResourceClass: "VCPU", Total: 8, Reserved: 0, MinUnit: 1, MaxUnit: 2147483647, StepSize: 1, AllocationRatio: 1}
	if d := cmp.Diff(want, placement.NewInventory("VCPU", 8)); d != "" {
		t.Errorf("NewInventory defaults (-want +got):\n%s", d)
	}
	if placement.MaxInt != 2147483647 || placement.MaxAllocationRatio != 3.40282e38 {
		t.Errorf("limits MaxInt %d MaxAllocationRatio %g", placement.MaxInt, placement.MaxAllocationRatio)
	}
	vcpuWith := func(f func(*placement.Inventory)) placement.Inventory {
		i := placement.NewInventory("VCPU", 10)
		f(&i)
		return i
	}
	valid := []struct {
		name string
		inv  placement.Inventory
	}{
		{"defaults", vcpuWith(func(*placement.Inventory) {})},
		{"total 1", vcpuWith(func(i *placement.Inventory) { i.Total = 1 })},
		{"total max", vcpuWith(func(i *placement.Inventory) { i.Total = 2147483647 })},
		{"reserved 0", vcpuWith(func(i *placement.Inventory) { i.Reserved = 0 })},
		{"reserved == total", vcpuWith(func(i *placement.Inventory) { i.Reserved = 10 })},
		{"reserved max == total max", vcpuWith(func(i *placement.Inventory) { i.Total, i.Reserved = 2147483647, 2147483647 })},
		{"min_unit 1", vcpuWith(func(i *placement.Inventory) { i.MinUnit = 1 })},
		{"min_unit max", vcpuWith(func(i *placement.Inventory) { i.MinUnit = 2147483647 })},
		{"max_unit 1", vcpuWith(func(i *placement.Inventory) { i.MaxUnit = 1 })},
		{"min_unit > max_unit (not checked)", vcpuWith(func(i *placement.Inventory) { i.MinUnit, i.MaxUnit = 5, 2 })},
		{"max_unit > total (not checked)", vcpuWith(func(i *placement.Inventory) { i.MaxUnit = 100 })},
		{"step_size 1", vcpuWith(func(i *placement.Inventory) { i.StepSize = 1 })},
		{"step_size max", vcpuWith(func(i *placement.Inventory) { i.StepSize = 2147483647 })},
		{"ratio 0", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = 0 })},
		{"ratio 0.5", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = 0.5 })},
		{"ratio 16", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = 16 })},
		{"ratio max", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = 3.40282e38 })},
		{"custom class", vcpuWith(func(i *placement.Inventory) { i.ResourceClass = "CUSTOM_X" })},
	}
	for _, tc := range valid {
		if err := tc.inv.Validate(); err != nil {
			t.Errorf("Validate(%s): %v", tc.name, err)
		}
	}
	invalidCases := []struct {
		name string
		inv  placement.Inventory
	}{
		{"total 0", vcpuWith(func(i *placement.Inventory) { i.Total = 0 })},
		{"total -1", vcpuWith(func(i *placement.Inventory) { i.Total = -1 })},
		{"total max+1", vcpuWith(func(i *placement.Inventory) { i.Total = 2147483648 })},
		{"reserved -1", vcpuWith(func(i *placement.Inventory) { i.Reserved = -1 })},
		{"reserved max+1", vcpuWith(func(i *placement.Inventory) { i.Total, i.Reserved = 2147483647, 2147483648 })},
		{"reserved > total", vcpuWith(func(i *placement.Inventory) { i.Reserved = 11 })},
		{"reserved > total ratio 16", vcpuWith(func(i *placement.Inventory) { i.Reserved, i.AllocationRatio = 11, 16 })},
		{"min_unit 0", vcpuWith(func(i *placement.Inventory) { i.MinUnit = 0 })},
		{"min_unit max+1", vcpuWith(func(i *placement.Inventory) { i.MinUnit = 2147483648 })},
		{"max_unit 0", vcpuWith(func(i *placement.Inventory) { i.MaxUnit = 0 })},
		{"max_unit -5", vcpuWith(func(i *placement.Inventory) { i.MaxUnit = -5 })},
		{"max_unit max+1", vcpuWith(func(i *placement.Inventory) { i.MaxUnit = 2147483648 })},
		{"step_size 0", vcpuWith(func(i *placement.Inventory) { i.StepSize = 0 })},
		{"step_size max+1", vcpuWith(func(i *placement.Inventory) { i.StepSize = 2147483648 })},
		{"ratio negative", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = -0.5 })},
		{"ratio above max", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = 3.5e38 })},
		{"ratio +Inf", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = math.Inf(1) })},
		{"ratio -Inf", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = math.Inf(-1) })},
		{"ratio NaN", vcpuWith(func(i *placement.Inventory) { i.AllocationRatio = math.NaN() })},
		{"class empty", vcpuWith(func(i *placement.Inventory) { i.ResourceClass = "" })},
		{"class lower case", vcpuWith(func(i *placement.Inventory) { i.ResourceClass = "vcpu" })},
		{"class too long", vcpuWith(func(i *placement.Inventory) { i.ResourceClass = "CUSTOM_" + strings.Repeat("Z", 249) })},
		{"zero value", placement.Inventory{}},
	}
	for _, tc := range invalidCases {
		err := tc.inv.Validate()
		checkErrIs(t, "Validate("+tc.name+")", err, placement.ErrInvalid)
		if err != nil {
			errAs[*placement.ValidationError](t, "Validate("+tc.name+")", err)
		}
	}
}

// testInventories checks inventory reads and writes and their errors.
func testInventories(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	p := v.rp(1, "p")
	_, err := v.e.CreateResourceClass(v.ctx, "CUSTOM_X")
	checkNoErr(t, "CreateResourceClass", err)

	empty, err := v.e.Inventories(v.ctx, p.UUID)
	if err != nil || len(empty.Inventories) != 0 || empty.Generation != 0 {
		t.Errorf("Inventories of a new provider = %+v, %v", empty, err)
	}
	_, err = v.e.Inventories(v.ctx, fixedUUID(99))
	checkErrIs(t, "Inventories unknown provider", err, placement.ErrNotFound)

	mem := mkInv(placement.ClassMemoryMB, 4096)
	mem.Reserved, mem.MinUnit, mem.MaxUnit, mem.StepSize, mem.AllocationRatio = 512, 64, 2048, 64, 1.5
	x := mkInv("CUSTOM_X", 3)
	vcpu := mkInv(placement.ClassVCPU, 8)
	ch, err := v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{x, vcpu, mem})
	checkNoErr(t, "ReplaceInventories", err)
	ignoreTimes := cmp.FilterPath(func(pp cmp.Path) bool {
		n := pp.Last().String()
		return n == ".CreatedAt" || n == ".UpdatedAt"
	}, cmp.Ignore())
	wantInv := []placement.Inventory{x, mem, vcpu} // sorted by class
	if d := cmp.Diff(wantInv, ch.Inventories, ignoreTimes); d != "" || ch.Generation != 1 || len(ch.OverCapacity) != 0 {
		t.Errorf("ReplaceInventories result: generation %d over %v (-want +got):\n%s", ch.Generation, ch.OverCapacity, d)
	}
	for _, i := range ch.Inventories {
		if i.CreatedAt.IsZero() || i.UpdatedAt.IsZero() {
			t.Errorf("inventory %s has no timestamps: %+v", i.ResourceClass, i)
		}
	}
	read, err := v.e.Inventories(v.ctx, p.UUID)
	checkNoErr(t, "Inventories", err)
	if d := cmp.Diff(ch.ProviderInventories, read); d != "" {
		t.Errorf("Inventories differs from the write's result (-write +read):\n%s", d)
	}
	one, gen, err := v.e.Inventory(v.ctx, p.UUID, placement.ClassMemoryMB)
	checkNoErr(t, "Inventory", err)
	if d := cmp.Diff(mem, one, ignoreTimes); d != "" || gen != 1 {
		t.Errorf("Inventory(MEMORY_MB): generation %d (-want +got):\n%s", gen, d)
	}
	_, _, err = v.e.Inventory(v.ctx, p.UUID, placement.ClassDiskGB)
	checkErrIs(t, "Inventory of a class the provider lacks", err, placement.ErrNotFound)
	if err != nil {
		if nf := errAs[*placement.NotFoundError](t, "Inventory missing", err); nf.Resource != "inventory" {
			t.Errorf("NotFoundError.Resource = %q, want inventory", nf.Resource)
		}
	}
	_, _, err = v.e.Inventory(v.ctx, fixedUUID(99), placement.ClassVCPU)
	checkErrIs(t, "Inventory unknown provider", err, placement.ErrNotFound)

	before := v.dump()
	// Create: a class already present is ErrAlreadyExists; unknown class NotFound.
	_, err = v.e.CreateInventory(v.ctx, p.UUID, mkInv(placement.ClassVCPU, 4))
	checkErrIs(t, "CreateInventory duplicate", err, placement.ErrAlreadyExists)
	if err != nil {
		if ee := errAs[*placement.ExistsError](t, "CreateInventory duplicate", err); ee.Resource != "inventory" {
			t.Errorf("ExistsError = %+v, want Resource inventory", ee)
		}
	}
	_, err = v.e.CreateInventory(v.ctx, p.UUID, mkInv("CUSTOM_NOPE", 4))
	checkErrIs(t, "CreateInventory unknown class", err, placement.ErrNotFound)
	_, err = v.e.CreateInventory(v.ctx, fixedUUID(99), mkInv(placement.ClassDiskGB, 4))
	checkErrIs(t, "CreateInventory unknown provider", err, placement.ErrNotFound)
	_, err = v.e.CreateInventory(v.ctx, p.UUID, mkInv(placement.ClassDiskGB, 0))
	checkErrIs(t, "CreateInventory invalid", err, placement.ErrInvalid)
	// Update: class not on the provider vs class that does not exist.
	_, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(1), mkInv(placement.ClassDiskGB, 4))
	checkErrIs(t, "UpdateInventory class not on provider", err, placement.ErrNotFound)
	if err != nil {
		if nf := errAs[*placement.NotFoundError](t, "UpdateInventory class not on provider", err); nf.Resource != "inventory" {
			t.Errorf("NotFoundError.Resource = %q, want inventory", nf.Resource)
		}
	}
	_, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(1), mkInv("CUSTOM_NOPE", 4))
	checkErrIs(t, "UpdateInventory unknown class", err, placement.ErrNotFound)
	if err != nil {
		if nf := errAs[*placement.NotFoundError](t, "UpdateInventory unknown class", err); nf.Resource != "resource class" {
			t.Errorf("NotFoundError.Resource = %q, want resource class", nf.Resource)
		}
	}
	_, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(1), invWith(vcpu, func(i *placement.Inventory) { i.Reserved = 9 }))
	checkErrIs(t, "UpdateInventory reserved > total", err, placement.ErrInvalid)
	// Replace: unknown classes, duplicates, invalid records.
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(1), []placement.Inventory{vcpu, mkInv("CUSTOM_NOPE", 1)})
	checkErrIs(t, "ReplaceInventories unknown class", err, placement.ErrNotFound)
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(1), []placement.Inventory{vcpu, vcpu})
	checkErrIs(t, "ReplaceInventories duplicate class", err, placement.ErrInvalid)
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(1), []placement.Inventory{vcpu, invWith(mem, func(i *placement.Inventory) { i.StepSize = 0 })})
	checkErrIs(t, "ReplaceInventories invalid record", err, placement.ErrInvalid)
	_, err = v.e.ReplaceInventories(v.ctx, fixedUUID(99), placement.ExpectGeneration(0), []placement.Inventory{vcpu})
	checkErrIs(t, "ReplaceInventories unknown provider", err, placement.ErrNotFound)
	// Delete: class not on the provider.
	_, err = v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), placement.ClassDiskGB)
	checkErrIs(t, "DeleteInventory class not on provider", err, placement.ErrNotFound)
	_, err = v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), "CUSTOM_NOPE")
	checkErrIs(t, "DeleteInventory unknown class", err, placement.ErrNotFound)
	_, err = v.e.DeleteInventories(v.ctx, fixedUUID(99), placement.SkipGenerationCheck())
	checkErrIs(t, "DeleteInventories unknown provider", err, placement.ErrNotFound)
	v.unchanged(before, "refused inventory writes")

	// Successful single writes.
	disk := mkInv(placement.ClassDiskGB, 100)
	ch, err = v.e.CreateInventory(v.ctx, p.UUID, disk)
	checkNoErr(t, "CreateInventory", err)
	if len(ch.Inventories) != 4 || ch.Generation != 2 {
		t.Errorf("CreateInventory result = %+v", ch)
	}
	disk2 := invWith(disk, func(i *placement.Inventory) { i.Total, i.Reserved = 200, 200 }) // reserved == total
	ch, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(2), disk2)
	checkNoErr(t, "UpdateInventory reserved == total", err)
	got, _, err := v.e.Inventory(v.ctx, p.UUID, placement.ClassDiskGB)
	checkNoErr(t, "Inventory", err)
	if d := cmp.Diff(disk2, got, ignoreTimes); d != "" || ch.Generation != 3 {
		t.Errorf("after UpdateInventory: generation %d (-want +got):\n%s", ch.Generation, d)
	}
	ch, err = v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), placement.ClassDiskGB)
	checkNoErr(t, "DeleteInventory", err)
	if d := cmp.Diff(wantInv, ch.Inventories, ignoreTimes); d != "" || ch.Generation != 4 {
		t.Errorf("after DeleteInventory: generation %d (-want +got):\n%s", ch.Generation, d)
	}
	// Replace keeps, updates, adds and removes in one go.
	vcpu16 := invWith(vcpu, func(i *placement.Inventory) { i.AllocationRatio = 16 })
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(4), []placement.Inventory{vcpu16, disk})
	checkNoErr(t, "ReplaceInventories", err)
	if d := cmp.Diff([]placement.Inventory{disk, vcpu16}, ch.Inventories, ignoreTimes); d != "" {
		t.Errorf("after ReplaceInventories (-want +got):\n%s", d)
	}
	ch, err = v.e.DeleteInventories(v.ctx, p.UUID, placement.SkipGenerationCheck())
	checkNoErr(t, "DeleteInventories", err)
	if len(ch.Inventories) != 0 || ch.Generation != 6 {
		t.Errorf("after DeleteInventories: %+v", ch)
	}
	if read, err := v.e.Inventories(v.ctx, p.UUID); err != nil || len(read.Inventories) != 0 {
		t.Errorf("Inventories after DeleteInventories = %+v, %v", read, err)
	}
	v.audit()
}

// invWith returns a copy of inv changed by f.
func invWith(inv placement.Inventory, f func(*placement.Inventory)) placement.Inventory {
	f(&inv)
	return inv
}

// testInventoryInUse checks inventory removal refused while in use and
// shrinking below usage.
func testInventoryInUse(t *testing.T, newStore NewStore) {
	v := newTEnv(t, newStore)
	p := v.rp(1, "p")
	v.setInv(p.UUID, mkInv(placement.ClassVCPU, 8), mkInv(placement.ClassMemoryMB, 1024), mkInv(placement.ClassDiskGB, 100), mkInv(placement.ClassVGPU, 2))
	c1, c2 := fixedUUID(0xc1), fixedUUID(0xc2)
	v.put(c1, mkAlloc(p.UUID, placement.ClassVCPU, 4), mkAlloc(p.UUID, placement.ClassMemoryMB, 512))
	v.put(c2, mkAlloc(p.UUID, placement.ClassVCPU, 2), mkAlloc(p.UUID, placement.ClassDiskGB, 10))
	gen := v.gen(p.UUID)

	before := v.dump()
	_, err := v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), placement.ClassVCPU)
	checkErrIs(t, "DeleteInventory in use", err, placement.ErrInventoryInUse)
	if err != nil {
		if iu := errAs[*placement.InUseError](t, "DeleteInventory in use", err); !slices.Equal(iu.Classes, []string{"VCPU"}) {
			t.Errorf("InUseError.Classes = %v, want [VCPU]", iu.Classes)
		}
	}
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(gen), []placement.Inventory{mkInv(placement.ClassVGPU, 2)})
	checkErrIs(t, "ReplaceInventories removing used classes", err, placement.ErrInventoryInUse)
	if err != nil {
		if iu := errAs[*placement.InUseError](t, "ReplaceInventories in use", err); !slices.Equal(sortedCopy(iu.Classes), []string{"DISK_GB", "MEMORY_MB", "VCPU"}) {
			t.Errorf("InUseError.Classes = %v, want every used class removed: DISK_GB, MEMORY_MB, VCPU", iu.Classes)
		}
	}
	_, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(gen), []placement.Inventory{mkInv(placement.ClassVCPU, 8), mkInv(placement.ClassMemoryMB, 1024)})
	checkErrIs(t, "ReplaceInventories removing one used class", err, placement.ErrInventoryInUse)
	if err != nil {
		if iu := errAs[*placement.InUseError](t, "ReplaceInventories in use", err); !slices.Equal(sortedCopy(iu.Classes), []string{"DISK_GB"}) {
			t.Errorf("InUseError.Classes = %v, want [DISK_GB] (VGPU is unused)", iu.Classes)
		}
	}
	_, err = v.e.DeleteInventories(v.ctx, p.UUID, placement.SkipGenerationCheck())
	checkErrIs(t, "DeleteInventories in use", err, placement.ErrInventoryInUse)
	if err != nil {
		if iu := errAs[*placement.InUseError](t, "DeleteInventories in use", err); !slices.Equal(sortedCopy(iu.Classes), []string{"DISK_GB", "MEMORY_MB", "VCPU"}) {
			t.Errorf("InUseError.Classes = %v, want DISK_GB, MEMORY_MB, VCPU", iu.Classes)
		}
	}
	v.unchanged(before, "refused in-use inventory writes")

	// An unused class can go while others are used.
	ch, err := v.e.DeleteInventory(v.ctx, p.UUID, placement.SkipGenerationCheck(), placement.ClassVGPU)
	checkNoErr(t, "DeleteInventory unused", err)
	if len(ch.Inventories) != 3 {
		t.Errorf("inventories after deleting VGPU: %+v", ch.Inventories)
	}

	// Shrinking below usage succeeds and reports every class over capacity.
	vcpu := mkInv(placement.ClassVCPU, 5)
	vcpu.Reserved = 1 // capacity 4 < used 6
	mem := mkInv(placement.ClassMemoryMB, 1000)
	mem.AllocationRatio = 0.5                // capacity 500 < used 512
	disk := mkInv(placement.ClassDiskGB, 10) // capacity 10 == used 10: not over
	ch, err = v.e.ReplaceInventories(v.ctx, p.UUID, placement.ExpectGeneration(ch.Generation), []placement.Inventory{vcpu, mem, disk})
	checkNoErr(t, "ReplaceInventories shrinking below usage", err)
	wantOver := []placement.Excess{
		{ResourceClass: "MEMORY_MB", Used: 512, Capacity: 500},
		{ResourceClass: "VCPU", Used: 6, Capacity: 4},
	}
	gotOver := slices.Clone(ch.OverCapacity)
	slices.SortFunc(gotOver, func(a, b placement.Excess) int { return strings.Compare(a.ResourceClass, b.ResourceClass) })
	if d := cmp.Diff(wantOver, gotOver); d != "" {
		t.Errorf("OverCapacity (-want +got):\n%s", d)
	}
	ch, err = v.e.UpdateInventory(v.ctx, p.UUID, placement.ExpectGeneration(ch.Generation), mkInv(placement.ClassVCPU, 3))
	checkNoErr(t, "UpdateInventory shrinking below usage", err)
	wantOver = []placement.Excess{{ResourceClass: "MEMORY_MB", Used: 512, Capacity: 500}, {ResourceClass: "VCPU", Used: 6, Capacity: 3}}
	gotOver = slices.Clone(ch.OverCapacity)
	slices.SortFunc(gotOver, func(a, b placement.Excess) int { return strings.Compare(a.ResourceClass, b.ResourceClass) })
	if d := cmp.Diff(wantOver, gotOver); d != "" {
		t.Errorf("OverCapacity after UpdateInventory (-want +got):\n%s", d)
	}
	if u := v.usage(p.UUID, placement.ClassVCPU); u != 6 {
		t.Errorf("usage after shrinking = %d, want 6 (allocations kept)", u)
	}
	v.audit()
}
