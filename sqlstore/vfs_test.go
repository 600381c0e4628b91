package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// TestSQLiteWALVisibility: every write acknowledged by a store opened with
// OpenSQLite (whose VFS gathers WAL writes) is visible at once to another
// connection using SQLite's default VFS, and the file stays consistent, with
// synchronous NORMAL and FULL.
func TestSQLiteWALVisibility(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprintf("full=%v", full), func(t *testing.T) {
			requireSQLite(t)
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "vis.db")
			var opts []sqlstore.Option
			if full {
				opts = append(opts, sqlstore.WithSynchronousFull())
			}
			s, err := sqlstore.OpenSQLite(ctx, path, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			other, err := sqlx.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			e := placementtest.NewEngine(t, s)
			p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "vis"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ReplaceInventories(ctx, p.UUID, placement.ExpectGeneration(0), []placement.Inventory{placement.NewInventory(placement.ClassVCPU, 1_000_000)}); err != nil {
				t.Fatal(err)
			}
			for i := 1; i <= 1500; i++ { // past background checkpoints and WAL restarts
				if err := e.SetAllocations(ctx, placement.ConsumerAllocations{ConsumerUUID: placement.NewUUID(), Generation: placement.ExpectNewConsumer(),
					ProjectID: "p", UserID: "u", Allocations: []placement.Allocation{{ProviderUUID: p.UUID, ResourceClass: placement.ClassVCPU, Used: 1}}}); err != nil {
					t.Fatal(err)
				}
				var n, used int64
				if err := other.QueryRowxContext(ctx, "SELECT (SELECT COUNT(*) FROM allocations), (SELECT SUM(used) FROM usages)").Scan(&n, &used); err != nil {
					t.Fatal(err)
				}
				if n != int64(i) || used != int64(i) {
					t.Fatalf("after %d acknowledged claims another connection sees %d allocations, usage %d", i, n, used)
				}
			}
			var check string
			if err := other.QueryRowxContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check: %q, %v", check, err)
			}
			if rep, err := e.Audit(ctx); err != nil || !rep.OK() {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		})
	}
}

// TestSQLiteLargeTransaction: a transaction whose WAL frames exceed what
// one write of the VFS may carry (the unix VFS truncates writes of 128 KiB
// or more) commits, and all of it is there.
func TestSQLiteLargeTransaction(t *testing.T) {
	s := newSQLite(t)
	ctx := context.Background()
	const n = 2000
	err := s.Update(ctx, func(tx placement.Tx) error {
		for i := range n {
			u := placement.NewUUID()
			if err := tx.CreateProvider(placement.ResourceProvider{UUID: u, Name: fmt.Sprintf("large-%d", i), RootUUID: u}); err != nil {
				return err
			}
			if err := tx.PutInventory(u, placement.NewInventory(placement.ClassVCPU, 64)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("large transaction: %v", err)
	}
	var got []placement.ResourceProvider
	err = s.View(ctx, func(tx placement.ReadTx) error {
		got, err = tx.Providers(placement.ProviderQuery{})
		return err
	})
	if err != nil || len(got) != n {
		t.Fatalf("%d providers, %v; want %d", len(got), err, n)
	}
}
