package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// newSQLite opens a store on a new file in t.TempDir().
func newSQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "placement.db"), opts...)
	if errors.Is(err, sqlstore.ErrNoCgo) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) {
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return newSQLite(t) })
}

// TestConformanceSQLiteNew runs the suite on stores made by New over a
// caller's handle: a pool of connections whose transactions begin DEFERRED
// (Update then takes the write lock with its first statement).
func TestConformanceSQLiteNew(t *testing.T) {
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store {
		path := filepath.Join(t.TempDir(), "placement.db")
		db, err := sqlx.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(context.Background(), db)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
