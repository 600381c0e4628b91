package placementtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
)

// The provider-list filters (REFERENCE §8.6): resources (capacity with
// min_unit, max_unit and step_size), required and forbidden traits incl.
// any-of, member_of incl. forbidden, in_tree; on the plain store and through
// the pushdown (WithCandidateIndex). The resources expectations are
// Placement 8.0.0's answers on its AllocationFixture (GET
// /resource_providers?resources=...).

func init() {
	register("Candidates/ProviderFilters", testCandidateProviderFilters)
}

func testCandidateProviderFilters(t *testing.T, newStore NewStore) {
	s := newStore(t)
	f := &acFixture{t: t, ctx: context.Background(), e: NewEngine(t, s),
		names: map[string]string{}, uuids: map[string]string{}, env: map[string]string{}}
	// AllocationFixture: rp with DISK_GB 2048 (min 10, max 1000, step 10)
	// and VCPU 10 (max 10); 1020 DISK_GB and 7 VCPU used.
	agg1, agg2 := f.agg("AGG1"), f.agg("AGG2")
	f.provider("rp", "", agg1)
	f.inv("rp", "DISK_GB", 2048, stepSize(10), minUnit(10), maxUnit(1000))
	f.inv("rp", "VCPU", 10, maxUnit(10))
	f.use("rp", "DISK_GB", 1000)
	f.use("rp", "VCPU", 6)
	f.use("rp", "DISK_GB", 20)
	f.use("rp", "VCPU", 1)
	f.traits("rp", "HW_CPU_X86_AVX2")
	// A second tree: root with VCPU 4, child with DISK_GB 100.
	f.provider("root2", "", agg2)
	f.inv("root2", "VCPU", 4)
	f.traits("root2", "HW_CPU_X86_SSE")
	f.provider("child2", "root2", agg1)
	f.inv("child2", "DISK_GB", 100)

	r := func(spec string) []placement.ResourceAmount {
		var out []placement.ResourceAmount
		for _, item := range strings.Split(spec, ",") {
			var n int64
			c, amount, _ := strings.Cut(item, ":")
			fmt.Sscan(amount, &n)
			out = append(out, placement.ResourceAmount{Class: c, Amount: n})
		}
		return out
	}
	cases := []struct {
		name   string
		filter placement.ProviderFilter
		want   []string // names
		err    error
	}{
		{"VCPU:3", placement.ProviderFilter{Resources: r("VCPU:3")}, []string{"rp", "root2"}, nil},
		{"VCPU:4", placement.ProviderFilter{Resources: r("VCPU:4")}, []string{"root2"}, nil},
		{"DISK_GB:10", placement.ProviderFilter{Resources: r("DISK_GB:10")}, []string{"child2", "rp"}, nil},
		{"below min_unit", placement.ProviderFilter{Resources: r("DISK_GB:5")}, []string{"child2"}, nil},
		{"not a step", placement.ProviderFilter{Resources: r("DISK_GB:15")}, []string{"child2"}, nil},
		{"above max_unit", placement.ProviderFilter{Resources: r("DISK_GB:1010")}, nil, nil},
		{"at max_unit", placement.ProviderFilter{Resources: r("DISK_GB:1000")}, []string{"rp"}, nil},
		{"over capacity", placement.ProviderFilter{Resources: r("DISK_GB:1030")}, nil, nil},
		{"two classes", placement.ProviderFilter{Resources: r("VCPU:1,DISK_GB:10")}, []string{"rp"}, nil},
		{"no inventory", placement.ProviderFilter{Resources: r("MEMORY_MB:1")}, nil, nil},
		{"with trait", placement.ProviderFilter{Resources: r("VCPU:1"), Required: [][]string{{"HW_CPU_X86_SSE", "HW_CPU_X86_MMX"}}}, []string{"root2"}, nil},
		{"with forbidden trait", placement.ProviderFilter{Resources: r("VCPU:1"), Forbidden: []string{"HW_CPU_X86_SSE"}}, []string{"rp"}, nil},
		{"with member_of", placement.ProviderFilter{Resources: r("DISK_GB:10"), MemberOf: [][]string{{agg1}}}, []string{"child2", "rp"}, nil},
		{"member_of is direct", placement.ProviderFilter{Resources: r("DISK_GB:10"), MemberOf: [][]string{{agg2}}}, nil, nil},
		{"with forbidden aggregate", placement.ProviderFilter{Resources: r("DISK_GB:10"), NotMemberOf: []string{agg1}}, nil, nil},
		{"with in_tree", placement.ProviderFilter{Resources: r("DISK_GB:10"), InTree: f.uuids["root2"]}, []string{"child2"}, nil},
		{"unknown in_tree", placement.ProviderFilter{Resources: r("DISK_GB:10"), InTree: "99999999-9999-4999-8999-999999999999"}, nil, nil},
		{"unknown class", placement.ProviderFilter{Resources: r("CUSTOM_NOPE:1")}, nil, placement.ErrNotFound},
		{"zero amount", placement.ProviderFilter{Resources: r("VCPU:0")}, nil, placement.ErrInvalid},
		{"class twice", placement.ProviderFilter{Resources: r("VCPU:1,VCPU:2")}, nil, placement.ErrInvalid},
	}
	for _, path := range []string{"fallback", "pushdown"} {
		e := f.e
		if path == "pushdown" {
			e = NewEngine(t, WithCandidateIndex(s))
		}
		for _, c := range cases {
			got, err := e.Providers(f.ctx, c.filter)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Errorf("%s %s: error %v, want %v", path, c.name, err, c.err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s %s: %v", path, c.name, err)
				continue
			}
			var names []string
			for _, p := range got {
				names = append(names, f.names[p.UUID])
			}
			// Providers are sorted by uuid; fixture uuids follow creation
			// order, so compare sorted names.
			if d := gocmp.Diff(acSortedCopy(c.want), acSortedCopy(names)); d != "" {
				t.Errorf("%s %s: (-want +got):\n%s", path, c.name, d)
			}
		}
	}
}
