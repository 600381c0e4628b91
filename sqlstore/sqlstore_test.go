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

// requireSQLite skips t when this test binary cannot use SQLite: it was
// built without cgo, which github.com/mattn/go-sqlite3 needs (OpenSQLite
// then returns sqlstore.ErrNoCgo). PostgreSQL tests still run.
func requireSQLite(t testing.TB) {
	t.Helper()
	if _, err := sqlstore.OpenSQLite(context.Background(), ""); errors.Is(err, sqlstore.ErrNoCgo) {
		t.Skip("SQLite tests skipped: this test binary was built with CGO_ENABLED=0, and SQLite " +
			"(github.com/mattn/go-sqlite3) needs cgo; build with CGO_ENABLED=1 (and a C compiler) to run them")
	}
}

// newSQLite opens a store on a new file in t.TempDir().
func newSQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	requireSQLite(t)
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "placement.db"), opts...)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) {
	requireSQLite(t)
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return newSQLite(t) })
}

// TestConformanceSQLiteNew runs the suite on stores made by New over a
// caller's handle: a pool of connections, with the default VFS and WAL
// checkpoints, whose transactions begin DEFERRED (Update begins its own
// with BEGIN IMMEDIATE).
func TestConformanceSQLiteNew(t *testing.T) {
	requireSQLite(t)
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store {
		path := filepath.Join(t.TempDir(), "placement.db")
		db, err := sqlx.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_stmt_cache_size=128")
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
