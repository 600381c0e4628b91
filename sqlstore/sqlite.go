//go:build cgo

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
)

// sqliteDriver is go-sqlite3 with the per-connection settings OpenSQLite
// needs beyond what its DSN parameters can say.
const sqliteDriver = "sqlstore-sqlite3"

// sqliteConnSetup runs on every connection OpenSQLite opens. A database
// it creates gets 1 KiB pages (page_size only applies to a database with no
// content yet, so it is set before WAL mode): a claim dirties a handful of
// pages of different b-trees (consumers, their uuid index, allocations,
// usages, the provider's row) and its commit writes and checksums each
// whole page into the WAL, so smaller pages are less work per commit
// (5-10% of a claim's CPU time), at no measurable cost to reads. Then:
// checkpoint inside a commit only when the WAL has grown past 16000 pages
// (the background checkpointer does most of the work; see checkpoint.go).
// Reads map up to 1 GiB of the database file into memory (mmap_size), so
// that a page missing from a connection's cache costs a memory access rather
// than a pread system call: provider reads 108,000/s -> 118,000-129,000/s,
// and large candidates queries over 10,000 flat providers 11-13 ms -> 8.5 ms.
// (Writes still go through the VFS; an I/O error while reading a mapped
// page would be a SIGBUS: another reason for a local disk.)
const sqliteConnSetup = `PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 16000; PRAGMA mmap_size = 1073741824`

func init() {
	sql.Register(sqliteDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(sqliteConnSetup, nil)
		return err
	}})
}

// OpenSQLite opens (creating it if needed) the SQLite database file at path
// and returns a Store on it: one writer connection that begins every write
// transaction with BEGIN IMMEDIATE and a pool of reader connections
// (WithReaders), all in WAL mode with foreign keys on, a busy timeout
// (WithBusyTimeout) and synchronous=NORMAL (or FULL with
// WithSynchronousFull). Several processes may open the same file; their
// writes are serialised by SQLite's lock. Use a file on a local disk (WAL
// needs shared memory: not a network file system). SQLite's page caches
// take up to 32 MiB for the writer and 8 MiB per reader; each connection
// maps up to 1 GiB of the file (address space, not memory: see
// sqliteConnSetup).
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlstore: OpenSQLite needs a file path, not %q", path)
	}
	// The VFS that gathers WAL writes (sqlite_vfs.go); without it (an
	// SQLite older than 3.32 linked with the libsqlite3 build tag) the
	// default one.
	vfs := registerVFS()
	sync := "NORMAL"
	if cfg.synchronousFull {
		sync = "FULL"
	}
	dsn := func(txlock string, readonly bool, cacheKiB int) string {
		q := url.Values{}
		// SQLite's page cache per connection (default 2 MiB): a writer whose
		// cache is smaller than the b-tree pages its claims touch (random
		// consumer uuids reach every page of their index) reads pages back
		// from the operating system, a system call each (about one per
		// claim at 2 MiB once the database has grown).
		q.Set("_cache_size", strconv.Itoa(-cacheKiB))
		q.Set("_busy_timeout", strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10))
		q.Set("_foreign_keys", "on")
		// Each connection is used by one goroutine at a time (database/sql
		// hands it out exclusively), so SQLite's per-connection mutex is
		// not needed: 5% of a claim's instructions.
		q.Set("_mutex", "no")
		q.Set("_synchronous", sync)
		q.Set("_txlock", txlock)
		if vfs != "" {
			q.Set("vfs", vfs)
		}
		// Keep every statement of the package prepared on each connection.
		q.Set("_stmt_cache_size", strconv.Itoa(2*int(numStmts)))
		if readonly {
			q.Set("_query_only", "true")
		}
		return "file:" + url.PathEscape(path) + "?" + q.Encode()
	}
	w, err := sqlx.Open(sqliteDriver, dsn("immediate", false, 32<<10))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	r, err := sqlx.Open(sqliteDriver, dsn("deferred", true, 8<<10))
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	r.SetConnMaxLifetime(0)
	r.SetConnMaxIdleTime(0)
	// The background checkpointer's connection (see checkpoint.go).
	c, err := sqlx.Open(sqliteDriver, dsn("deferred", false, 2<<10))
	if err != nil {
		_ = w.Close()
		_ = r.Close()
		return nil, fmt.Errorf("sqlstore: opening %s: %w", path, err)
	}
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	c.SetConnMaxIdleTime(0)
	s, err := newStore(ctx, SQLite, cfg, w, r, []*sqlx.DB{w, r, c})
	if err != nil {
		return nil, err
	}
	s.ckpt = startCheckpointer(c)
	return s, nil
}

// sqliteBusy reports whether err is SQLite's BUSY or LOCKED.
func sqliteBusy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked
	}
	return false
}

// sqliteUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func sqliteUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	return false
}
