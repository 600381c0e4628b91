package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// hostile are strings that break naive SQL: quotes, comment and statement
// separators, LIKE wildcards, backslashes, placeholders, unicode, control
// characters and NULs (stored on PostgreSQL through sqlstore's encoding).
var hostile = []string{
	`'`, `''`, `"`, `;--`, `'); DROP TABLE resource_providers; --`, `%`, `_`, `a%b`, `a_b`,
	`\`, `\\'`, `\'; --`, `$1`, `?`, `:name`, `NULL`, "名前 ü 🚀", " ", "\t\n\r", "\u2028",
	"\x00", "a\x00b", "\x00\x01\x02", "\x01", "\x01\x01", "end\x00", "'\x00;--",
}

// hostileStore makes sure every hostile string and 255-character names go
// through every string field of the SPI unchanged, that lookups are exact
// (no LIKE, no truncation at NUL) and that nothing else changes.
func TestHostileStrings(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			open := d.open(t)
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			testHostileEngine(t, s)
			testHostileSPI(t, s)
			testInvalidUTF8(t, s)
		})
	}
}

func testHostileEngine(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	e := placementtest.NewEngine(t, s)
	names := append([]string{strings.Repeat("n", 200), strings.Repeat("名", 200)}, hostile...)
	created := map[string]string{} // name -> uuid
	for _, name := range names {
		before := placementtest.Dump(t, s)
		p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: name})
		if err != nil {
			t.Fatalf("CreateProvider(%q): %v", name, err)
		}
		created[name] = p.UUID
		after := placementtest.Dump(t, s)
		if len(after.Providers) != len(before.Providers)+1 {
			t.Fatalf("creating %q: %d providers, had %d", name, len(after.Providers), len(before.Providers))
		}
	}
	for name, uuid := range created {
		got, err := e.Provider(ctx, uuid)
		if err != nil || got.Name != name {
			t.Fatalf("provider %s: name %q, %v; want %q", uuid, got.Name, err, name)
		}
		list, err := e.Providers(ctx, placement.ProviderFilter{Name: name})
		if err != nil || len(list) != 1 || list[0].UUID != uuid {
			t.Fatalf("Providers(Name: %q) = %v, %v; want exactly %s", name, list, err, uuid)
		}
	}
	// Exact matching: no wildcard, prefix or NUL-truncated matches.
	for _, probe := range []string{"a", "ab", "a\x00", "end", "名前", "\x00\x01", "%%", "__", "'; --"} {
		if _, ok := created[probe]; ok {
			continue
		}
		list, err := e.Providers(ctx, placement.ProviderFilter{Name: probe})
		if err != nil || len(list) != 0 {
			t.Fatalf("Providers(Name: %q) matched %v, %v", probe, list, err)
		}
	}
	// Project and user ids (1 to 255 characters, any content).
	p := created["%"]
	if _, err := e.ReplaceInventories(ctx, p, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 1000)}); err != nil {
		t.Fatal(err)
	}
	ids := append([]string{strings.Repeat("p", 255), strings.Repeat("é", 127)}, hostile...)
	for i, id := range ids {
		c := placement.NewUUID()
		err := e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: placement.ExpectNewConsumer(),
			ProjectID: id, UserID: ids[len(ids)-1-i], ConsumerType: "HOSTILE_" + fmt.Sprint(i),
			Allocations: []placement.Allocation{{ProviderUUID: p, ResourceClass: placement.ClassVCPU, Used: 1}}})
		if err != nil {
			t.Fatalf("SetAllocations project %q: %v", id, err)
		}
		got, err := e.ConsumerAllocations(ctx, c)
		if err != nil || got.Consumer.ProjectID != id || got.Consumer.UserID != ids[len(ids)-1-i] {
			t.Fatalf("consumer %s: project %q user %q, %v", c, got.Consumer.ProjectID, got.Consumer.UserID, err)
		}
		u, err := e.Usages(ctx, placement.UsageQuery{ProjectID: id, UserID: ids[len(ids)-1-i]})
		if err != nil || len(u) != 1 || u["HOSTILE_"+fmt.Sprint(i)].Usages[placement.ClassVCPU] != 1 {
			t.Fatalf("Usages(%q) = %v, %v", id, u, err)
		}
	}
	for _, probe := range []string{"a", "%%", "'", "\x00\x00"} {
		if u, err := e.Usages(ctx, placement.UsageQuery{ProjectID: probe + "x"}); err != nil || len(u) != 0 {
			t.Fatalf("Usages(%q) = %v, %v; want none", probe+"x", u, err)
		}
	}
	if rep, err := e.Audit(ctx); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// testHostileSPI pushes hostile strings through the fields the Engine
// validates strictly (class and trait names, aggregates, consumer uuids and
// types, inventory classes), directly through the SPI.
func testHostileSPI(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	long := strings.Repeat("L", 255)
	names := append([]string{long}, hostile...)
	for i, name := range names {
		before := placementtest.Dump(t, s)
		provider := placement.ResourceProvider{UUID: "uuid " + name, Name: "spi " + name, RootUUID: "uuid " + name, CreatedAt: now, UpdatedAt: now}
		consumer := placement.Consumer{UUID: "consumer " + name, ProjectID: name, UserID: name, ConsumerType: name, Generation: 1, CreatedAt: now, UpdatedAt: now}
		err := s.Update(ctx, func(tx placement.Tx) error {
			steps := []func() error{
				func() error { return tx.CreateProvider(provider) },
				func() error {
					return tx.CreateResourceClass(placement.ResourceClass{Name: "class " + name, CreatedAt: now, UpdatedAt: now})
				},
				func() error {
					return tx.CreateTrait(placement.Trait{Name: "trait " + name, CreatedAt: now, UpdatedAt: now})
				},
				func() error {
					inv := placement.NewInventory("class "+name, 10)
					inv.CreatedAt, inv.UpdatedAt = now, now
					return tx.PutInventory(provider.UUID, inv)
				},
				func() error { return tx.SetProviderTraits(provider.UUID, []string{"trait " + name, name}) },
				func() error { return tx.SetProviderAggregates(provider.UUID, []string{"agg " + name, name}) },
				func() error { return tx.CreateConsumer(consumer) },
				func() error {
					return tx.ReplaceAllocations(consumer.UUID, []placement.AllocationRecord{{ConsumerUUID: consumer.UUID, ProviderUUID: provider.UUID, ResourceClass: "class " + name, Used: 3}})
				},
			}
			for j, step := range steps {
				if err := step(); err != nil {
					return fmt.Errorf("step %d: %w", j, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("name %d %q: %v", i, name, err)
		}
		err = s.View(ctx, func(tx placement.ReadTx) error {
			p, err := tx.Provider(provider.UUID)
			if err != nil || p != provider {
				return fmt.Errorf("provider %+v, %v; want %+v", p, err, provider)
			}
			if p, err := tx.ProviderByName(provider.Name); err != nil || p.UUID != provider.UUID {
				return fmt.Errorf("provider by name: %+v, %v", p, err)
			}
			if rc, err := tx.ResourceClass("class " + name); err != nil || rc.Name != "class "+name {
				return fmt.Errorf("class: %+v, %v", rc, err)
			}
			if tr, err := tx.Trait("trait " + name); err != nil || tr.Name != "trait "+name {
				return fmt.Errorf("trait: %+v, %v", tr, err)
			}
			res, err := tx.Resources(provider.UUID)
			if err != nil || len(res) != 1 || res[0].ResourceClass != "class "+name || res[0].Used != 3 {
				return fmt.Errorf("resources %+v, %v", res, err)
			}
			traits, err := tx.ProviderTraits(provider.UUID)
			if err != nil || !equalSet(traits, []string{"trait " + name, name}) {
				return fmt.Errorf("traits %q, %v", traits, err)
			}
			aggs, err := tx.ProviderAggregates(provider.UUID)
			if err != nil || !equalSet(aggs, []string{"agg " + name, name}) {
				return fmt.Errorf("aggregates %q, %v", aggs, err)
			}
			c, err := tx.Consumer(consumer.UUID)
			if err != nil || c != consumer {
				return fmt.Errorf("consumer %+v, %v; want %+v", c, err, consumer)
			}
			allocs, err := tx.ConsumerAllocations(consumer.UUID)
			if err != nil || len(allocs) != 1 || allocs[0].ProviderUUID != provider.UUID || allocs[0].ResourceClass != "class "+name {
				return fmt.Errorf("allocations %+v, %v", allocs, err)
			}
			for _, q := range []placement.ProviderQuery{
				{Required: [][]string{{name}}}, {MemberOf: [][]string{{name}}}, {Required: [][]string{{"trait " + name}}, MemberOf: [][]string{{"agg " + name}}},
			} {
				ps, err := tx.Providers(q)
				if err != nil || len(ps) != 1 || ps[0].UUID != provider.UUID {
					return fmt.Errorf("Providers(%+v) = %+v, %v", q, ps, err)
				}
			}
			ps, err := tx.Providers(placement.ProviderQuery{Forbidden: []string{name}, NotMemberOf: []string{"x"}})
			if err != nil {
				return err
			}
			for _, p := range ps {
				if p.UUID == provider.UUID {
					return fmt.Errorf("forbidden trait %q did not exclude its provider", name)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("name %d %q: %v", i, name, err)
		}
		// Nothing but the new things changed.
		after := placementtest.Dump(t, s)
		if len(after.Providers) != len(before.Providers)+1 || len(after.Consumers) != len(before.Consumers)+1 ||
			len(after.ResourceClasses) != len(before.ResourceClasses)+1 || len(after.CustomTraits) != len(before.CustomTraits)+1 ||
			len(after.Allocations) != len(before.Allocations)+1 {
			t.Fatalf("name %q: unexpected changes", name)
		}
		for _, p := range before.Providers {
			assertEqualValue(t, "resources of "+p.UUID, before.Resources[p.UUID], after.Resources[p.UUID])
			assertEqualValue(t, "traits of "+p.UUID, before.Traits[p.UUID], after.Traits[p.UUID])
		}
	}
	// Renaming a class to a hostile name keeps its inventories and allocations.
	err := s.Update(ctx, func(tx placement.Tx) error {
		return tx.RenameResourceClass("class ;--", placement.ResourceClass{Name: "renamed '\x00%", UpdatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.View(ctx, func(tx placement.ReadTx) error {
		res, err := tx.Resources("uuid ;--")
		if err != nil || len(res) != 1 || res[0].ResourceClass != "renamed '\x00%" || res[0].Used != 3 {
			t.Fatalf("after rename: %+v, %v", res, err)
		}
		return nil
	})
	st := placementtest.Dump(t, s)
	if rep, err := placementtest.NewEngine(t, s).Audit(ctx); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v (state %d providers)", rep, err, len(st.Providers))
	}
}

// testInvalidUTF8: SQLite stores any string; PostgreSQL refuses invalid
// UTF-8 with a clear error, and lookups of it find nothing.
func testInvalidUTF8(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	e := placementtest.NewEngine(t, s)
	p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "utf8 target"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 10)}); err != nil {
		t.Fatal(err)
	}
	before := placementtest.Dump(t, s)
	bad := "bad \xff\xfe utf-8"
	c := placement.NewUUID()
	err = e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: placement.ExpectNewConsumer(), ProjectID: bad, UserID: "u",
		Allocations: []placement.Allocation{{ProviderUUID: p.UUID, ResourceClass: placement.ClassVCPU, Used: 1}}})
	if s.Dialect() == sqlstore.PostgreSQL {
		if !errors.Is(err, placement.ErrInvalid) || !errors.Is(err, sqlstore.ErrUnstorableText) {
			t.Fatalf("invalid UTF-8 project on PostgreSQL: %v", err)
		}
		t.Logf("PostgreSQL refuses invalid UTF-8: %v", err)
		assertState(t, "after a refused write", before, placementtest.Dump(t, s))
		if u, err := e.Usages(ctx, placement.UsageQuery{ProjectID: bad}); err != nil || len(u) != 0 {
			t.Fatalf("Usages(invalid UTF-8) = %v, %v", u, err)
		}
		if _, err := e.Provider(ctx, bad); !errors.Is(err, placement.ErrNotFound) {
			t.Fatalf("Provider(invalid UTF-8): %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.ConsumerAllocations(ctx, c)
	if err != nil || got.Consumer.ProjectID != bad {
		t.Fatalf("project %q, %v", got.Consumer.ProjectID, err)
	}
}

func equalSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[string]int{}
	for _, w := range want {
		m[w]++
	}
	for _, g := range got {
		if m[g] == 0 {
			return false
		}
		m[g]--
	}
	return true
}

func assertEqualValue[T any](t *testing.T, what string, want, got T) {
	t.Helper()
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("%s changed: %v -> %v", what, want, got)
	}
}
