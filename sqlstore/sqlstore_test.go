package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// Options with values out of range are refused with an error naming them,
// before anything is opened.
func TestOptionsRefuseBadValues(t *testing.T) {
	requireSQLite(t)
	for name, opt := range map[string]sqlstore.Option{
		"readers":      sqlstore.WithReaders(0),
		"max conns":    sqlstore.WithMaxConns(0),
		"retries":      sqlstore.WithRetries(0),
		"busy timeout": sqlstore.WithBusyTimeout(-1),
		"tree cache":   sqlstore.WithTreeCache(-1),
	} {
		path := filepath.Join(t.TempDir(), "placement.db")
		s, err := sqlstore.OpenSQLite(context.Background(), path, opt)
		if err == nil {
			s.Close()
			t.Errorf("%s: an out-of-range value was accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %q does not name the option", name, err)
		}
		if _, statErr := os.Stat(path); statErr == nil {
			t.Errorf("%s: refused, but the database file was created", name)
		}
	}
}
