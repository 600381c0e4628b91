package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/goplacement/placement/sqlstore"
)

// TestSQLitePragmas checks OpenSQLite's connection settings (and the page
// size of a database it creates).
func TestSQLitePragmas(t *testing.T) {
	s := newSQLite(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "10000", "wal_autocheckpoint": "16000", "page_size": "1024", "mmap_size": "1073741824"} {
		var got string
		if err := s.DB().QueryRowxContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}

// TestSQLiteKeepsPageSize: a database created elsewhere keeps its page size
// when OpenSQLite opens it (and is put in WAL mode).
func TestSQLiteKeepsPageSize(t *testing.T) {
	requireSQLite(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := sqlx.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	db.MustExec("PRAGMA page_size = 4096")
	db.MustExec("CREATE TABLE unrelated (x INTEGER)")
	db.Close()
	s, err := sqlstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for pragma, want := range map[string]string{"journal_mode": "wal", "page_size": "4096"} {
		var got string
		if err := s.DB().QueryRowxContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}
