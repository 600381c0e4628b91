package placementtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/memstore"
)

// TestDiffPlacement replays random cases answered by a real Placement 8.0.0
// (scripts/diff-candidates-placement.py) on memstore and compares the
// candidates and summaries. It runs only when PLACEMENT_DIFF_JSON names the
// script's output:
//
//	FIXBUGS=1 /usr/bin/python3 scripts/diff-candidates-placement.py 1500 2 /tmp/diff.json
//	PLACEMENT_DIFF_JSON=/tmp/diff.json go test -run TestDiffPlacement -v ./placementtest/
//
// With FIXBUGS=1 the script patches two Placement bugs first (see
// Engine.AllocationCandidates); the differences left are the documented
// deliberate ones (summaries of mapping-only trees) and Placement's internal
// errors on sharing providers that have a parent.
func TestDiffPlacement(t *testing.T) {
	path := os.Getenv("PLACEMENT_DIFF_JSON")
	if path == "" {
		t.Skip("PLACEMENT_DIFF_JSON not set")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Provs []struct {
			UUID, Name string
			Parent     *string
			Invs       []struct {
				RC              string  `json:"rc"`
				Total           int64   `json:"total"`
				Reserved        int64   `json:"reserved"`
				MinUnit         int64   `json:"min_unit"`
				MaxUnit         int64   `json:"max_unit"`
				StepSize        int64   `json:"step_size"`
				AllocationRatio float64 `json:"allocation_ratio"`
			}
			Traits, Aggs []string
		}
		Claims []struct {
			RP, RC string
			Used   int64
		}
		Query                 string
		Status                int
		Candidates, Summaries []string
		Error                 string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	differ := 0
	for i, c := range cases {
		e := NewEngine(t, memstore.New())
		for _, p := range c.Provs {
			spec := placement.ProviderSpec{UUID: p.UUID, Name: p.Name}
			if p.Parent != nil {
				spec.ParentUUID = *p.Parent
			}
			_, err := e.CreateProvider(ctx, spec)
			checkNoErrAC(t, err)
			var invs []placement.Inventory
			for _, v := range p.Invs {
				invs = append(invs, placement.Inventory{ResourceClass: v.RC, Total: v.Total, Reserved: v.Reserved, MinUnit: v.MinUnit, MaxUnit: v.MaxUnit, StepSize: v.StepSize, AllocationRatio: v.AllocationRatio})
			}
			if len(invs) > 0 {
				_, err := e.ReplaceInventories(ctx, p.UUID, placement.SkipGenerationCheck(), invs)
				checkNoErrAC(t, err)
			}
			if len(p.Traits) > 0 {
				_, err := e.SetProviderTraits(ctx, p.UUID, placement.SkipGenerationCheck(), p.Traits)
				checkNoErrAC(t, err)
			}
			if len(p.Aggs) > 0 {
				_, err := e.SetProviderAggregates(ctx, p.UUID, placement.SkipGenerationCheck(), p.Aggs)
				checkNoErrAC(t, err)
			}
		}
		for k, cl := range c.Claims {
			err := e.SetAllocations(ctx, placement.ConsumerAllocations{
				ConsumerUUID: fmt.Sprintf("c9000000-0000-4000-8000-%012x", k), Generation: placement.SkipGenerationCheck(), ProjectID: "p", UserID: "u",
				Allocations: []placement.Allocation{{ProviderUUID: cl.RP, ResourceClass: cl.RC, Used: cl.Used}}})
			if err != nil {
				t.Errorf("case %d: a claim Placement accepted is refused: %v", i, err)
			}
		}
		nm := func(x string) string {
			for _, p := range c.Provs {
				x = strings.ReplaceAll(x, p.UUID, p.Name)
			}
			return x
		}
		req, err := parseACQuery(c.Query, "1.39", nil)
		checkNoErrAC(t, err)
		got, err := e.AllocationCandidates(ctx, req)
		if c.Status != 200 || err != nil {
			if (c.Status == 200) != (err == nil) {
				differ++
				t.Errorf("case %d %s: Placement %d %s, Engine error %v", i, nm(c.Query), c.Status, c.Error, err)
			}
			continue
		}
		var list, sums []string
		for _, ar := range got.AllocationRequests {
			list = append(list, acCanonical(ar))
		}
		sort.Strings(list)
		for _, s := range got.ProviderSummaries {
			sums = append(sums, s.UUID)
		}
		dSums := gocmp.Diff(acSortedCopy(c.Summaries), acSortedCopy(sums))
		var lines []string
		for _, x := range c.Candidates {
			if !slices.Contains(list, x) {
				lines = append(lines, "  Placement only: "+nm(x))
			}
		}
		for _, x := range list {
			if !slices.Contains(c.Candidates, x) {
				lines = append(lines, "  Engine only:    "+nm(x))
			}
		}
		if len(lines) > 0 || dSums != "" {
			differ++
			t.Errorf("case %d %s:\n%s\nsummaries (-Placement +Engine): %s", i, nm(c.Query), strings.Join(lines, "\n"), nm(dSums))
		}
	}
	t.Logf("%d cases, %d differ", len(cases), differ)
}

func checkNoErrAC(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
