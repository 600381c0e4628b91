package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
	"github.com/goplacement/placement/sqlstore/internal/faultdriver"
)

var (
	faults       faultdriver.Faults
	registerOnce sync.Once
)

func registerFaulty() {
	registerOnce.Do(func() {
		sql.Register("sqlite3_faulty", faultdriver.Driver{Inner: &sqlite3.SQLiteDriver{}, Faults: &faults})
		sql.Register("pgx_faulty", faultdriver.Driver{Inner: stdlib.GetDefaultDriver(), Faults: &faults})
	})
}

// faultyStore opens a store whose every begin, statement and commit is
// counted by faults.
func faultyStore(t *testing.T, dialect string) *sqlstore.Store {
	t.Helper()
	registerFaulty()
	var db *sqlx.DB
	if dialect == "postgres" {
		raw, err := sql.Open("pgx_faulty", freshSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		db = sqlx.NewDb(raw, "pgx")
	} else {
		requireSQLite(t)
		raw, err := sql.Open("sqlite3_faulty", "file:"+filepath.Join(t.TempDir(), "faulty.db")+"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_txlock=immediate&_stmt_cache_size=128")
		if err != nil {
			t.Fatal(err)
		}
		db = sqlx.NewDb(raw, "sqlite3")
	}
	t.Cleanup(func() { db.Close() })
	s, err := sqlstore.New(context.Background(), db, sqlstore.WithImmediateTransactions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFaultInjection makes the Nth database operation of an Engine write
// fail, for every N until the write succeeds, and checks that a failed
// write left nothing behind.
func TestFaultInjection(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			if d == "postgres" {
				postgresDSN(t)
			}
			s := faultyStore(t, d)
			ctx := context.Background()
			e := placementtest.NewEngine(t, s)
			var ps []string
			for i := range 3 {
				p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: fmt.Sprintf("f%d", i)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{
					placement.NewInventory(placement.ClassVCPU, 100), placement.NewInventory(placement.ClassMemoryMB, 100000)}); err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p.UUID)
			}
			if _, err := e.CreateResourceClass(ctx, "CUSTOM_FAULT"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.EnsureTrait(ctx, "CUSTOM_FAULTY"); err != nil {
				t.Fatal(err)
			}
			mover := placement.NewUUID()
			claimOn := func(c string, gen placement.GenerationCheck, p ...string) error {
				var allocs []placement.Allocation
				for _, u := range p {
					allocs = append(allocs, placement.Allocation{ProviderUUID: u, ResourceClass: placement.ClassVCPU, Used: 1},
						placement.Allocation{ProviderUUID: u, ResourceClass: placement.ClassMemoryMB, Used: 512})
				}
				return e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: gen, ProjectID: "p", UserID: "u", Allocations: allocs})
			}
			if err := claimOn(mover, placement.ExpectNewConsumer(), ps[0]); err != nil {
				t.Fatal(err)
			}
			gen := func(p string) placement.GenerationCheck {
				pr, err := e.Provider(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return placement.ExpectGeneration(pr.Generation)
			}
			renamed := 0
			var victim string
			var g placement.GenerationCheck
			ops := []struct {
				name  string
				setup func()
				run   func() error
			}{
				{"claim two providers", nil, func() error { return claimOn(placement.NewUUID(), placement.ExpectNewConsumer(), ps[1], ps[2]) }},
				{"move a consumer", nil, func() error {
					ca, err := e.ConsumerAllocations(ctx, mover)
					if err != nil {
						return err
					}
					i := rand.IntN(3)
					return claimOn(mover, placement.ExpectGeneration(ca.Consumer.Generation), ps[i], ps[(i+1+rand.IntN(2))%3])
				}},
				{"delete allocations", func() {
					victim = placement.NewUUID()
					if err := claimOn(victim, placement.ExpectNewConsumer(), ps[0]); err != nil {
						t.Fatal(err)
					}
				}, func() error { return e.DeleteAllocations(ctx, victim) }},
				{"replace inventories", func() { g = gen(ps[1]) }, func() error {
					_, err := e.ReplaceInventories(ctx, ps[1], g, []placement.Inventory{
						placement.NewInventory(placement.ClassVCPU, int64(100+rand.IntN(10))), placement.NewInventory(placement.ClassMemoryMB, 100000),
						placement.NewInventory("CUSTOM_FAULT", 5)})
					return err
				}},
				{"set traits", func() { g = gen(ps[2]) }, func() error {
					_, err := e.SetProviderTraits(ctx, ps[2], g, []string{"CUSTOM_FAULTY", "HW_CPU_X86_AVX2"}[:1+rand.IntN(2)])
					return err
				}},
				{"create provider", nil, func() error {
					_, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: placement.NewUUID(), ParentUUID: ps[0]})
					return err
				}},
				{"rename class", nil, func() error {
					from, to := "CUSTOM_FAULT", "CUSTOM_FAULT2"
					if renamed%2 == 1 {
						from, to = to, from
					}
					_, err := e.RenameResourceClass(ctx, from, to)
					if err == nil {
						renamed++
					}
					return err
				}},
			}
			for _, op := range ops {
				for n := int64(1); ; n++ {
					if n > 100 {
						t.Fatalf("%s: never succeeded", op.name)
					}
					if op.setup != nil {
						op.setup()
					}
					before := placementtest.Dump(t, s)
					faults.Arm(n)
					err := op.run()
					faults.Disarm()
					if err == nil {
						t.Logf("%s: succeeded once %d operations could run", op.name, n-1)
						break
					}
					if !errors.Is(err, faultdriver.ErrInjected) {
						t.Fatalf("%s, fault at %d: unexpected error %v", op.name, n, err)
					}
					assertState(t, fmt.Sprintf("%s, fault at operation %d", op.name, n), before, placementtest.Dump(t, s))
				}
			}
			if rep, err := e.Audit(ctx); err != nil || !rep.OK() {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		})
	}
}

// TestCancelMidTransaction cancels contexts inside and around writes:
// nothing partial is ever visible, every acknowledged write is.
func TestCancelMidTransaction(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			open := d.open(t)
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			e := placementtest.NewEngine(t, s)
			bg := context.Background()
			p, err := e.CreateProvider(bg, placement.ProviderSpec{Name: "cancel"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ReplaceInventories(bg, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 1_000_000)}); err != nil {
				t.Fatal(err)
			}
			// Canceled after writes, before fn returns nil: nothing stays.
			before := placementtest.Dump(t, s)
			ctx, cancel := context.WithCancel(bg)
			err = s.Update(ctx, func(tx placement.Tx) error {
				now := time.Now().UTC().Truncate(time.Microsecond)
				if err := tx.CreateProvider(placement.ResourceProvider{UUID: placement.NewUUID(), Name: "partial", RootUUID: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
				if err := tx.BumpProviderGeneration(p.UUID, 1); err != nil {
					return err
				}
				cancel()
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Update with ctx canceled inside fn: %v", err)
			}
			assertState(t, "after a canceled Update", before, placementtest.Dump(t, s))
			// Claims with deadlines that expire at random points.
			acked, failed := map[string]bool{}, map[string]bool{}
			for i := range 300 {
				c := placement.NewUUID()
				limit := 3000
				if s.Dialect() == sqlstore.PostgreSQL {
					limit = 15000
				}
				ctx, cancel := context.WithTimeout(bg, time.Duration(rand.IntN(limit))*time.Microsecond)
				err := e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: c, Generation: placement.ExpectNewConsumer(), ProjectID: "p", UserID: "u",
					Allocations: []placement.Allocation{{ProviderUUID: p.UUID, ResourceClass: placement.ClassVCPU, Used: int64(1 + i%7)}}})
				cancel()
				if err == nil {
					acked[c] = true
				} else {
					failed[c] = true
				}
			}
			t.Logf("%d acknowledged, %d canceled", len(acked), len(failed))
			st := placementtest.Dump(t, s)
			present := map[string]bool{}
			for _, a := range st.Allocations {
				present[a.ConsumerUUID] = true
			}
			for c := range acked {
				if !present[c] {
					t.Errorf("acknowledged claim %s missing", c)
				}
			}
			for c := range failed {
				if present[c] {
					t.Errorf("claim %s failed but is stored", c)
				}
			}
			if len(st.Consumers) != len(present) {
				t.Errorf("%d consumer records for %d consumers with allocations", len(st.Consumers), len(present))
			}
			if rep, err := e.Audit(bg); err != nil || !rep.OK() {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		})
	}
}
