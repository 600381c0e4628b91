package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/goplacement/placement"
)

// Dialect is the SQL flavour a Store speaks.
type Dialect uint8

const (
	// SQLite is SQLite 3 through github.com/mattn/go-sqlite3 (driver "sqlite3").
	SQLite Dialect = iota + 1
	// PostgreSQL is PostgreSQL (12 or later) through
	// github.com/jackc/pgx/v5/stdlib (driver "pgx").
	PostgreSQL
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case PostgreSQL:
		return "postgres"
	}
	return "unknown"
}

// Errors of this package (the Engine's own errors come from package
// placement).
var (
	// ErrNoCgo: this binary was built without cgo, so SQLite is not available.
	ErrNoCgo = errors.New("sqlstore: SQLite needs cgo (build with CGO_ENABLED=1)")
	// ErrSchemaTooNew: the database has schema migrations this code does
	// not know (it was written by a newer version of the program).
	ErrSchemaTooNew = errors.New("sqlstore: database schema is newer than this program")
	// ErrUnsupportedDriver: New was given a handle whose driver is neither
	// "sqlite3" nor "pgx" (or "postgres").
	ErrUnsupportedDriver = errors.New("sqlstore: unsupported database driver")
	// ErrBusy: the database stayed locked by other connections or
	// processes for longer than the busy timeout (SQLite), or serialization
	// failures and deadlocks persisted through every retry (PostgreSQL).
	// The write did not happen.
	ErrBusy = errors.New("sqlstore: database busy")
	// ErrUnstorableText: a string to be stored is not valid UTF-8, which
	// PostgreSQL text cannot hold (SQLite stores any string; NUL characters
	// are stored on both, see the package doc). Such a write fails with a
	// *placement.ValidationError matching both placement.ErrInvalid and
	// ErrUnstorableText; lookups of such strings simply find nothing. The
	// Engine already requires valid UTF-8 for provider names; project and
	// user ids are the fields where it can happen.
	ErrUnstorableText = errors.New("sqlstore: PostgreSQL text must be valid UTF-8")
)

// Option configures a Store.
type Option func(*config) error

type config struct {
	synchronousFull bool
	busyTimeout     time.Duration
	readers         int
	maxConns        int
	retries         int
	migrate         bool
	treeCache       int
}

func defaultConfig() config {
	return config{busyTimeout: 10 * time.Second, readers: 4, maxConns: 16, retries: 10, migrate: true, treeCache: defaultTreeCacheSize}
}

// WithSynchronousFull makes OpenSQLite use synchronous=FULL: every commit
// is fsynced, so commits survive power loss too (at the cost of one fsync
// per write transaction). The default, synchronous=NORMAL with WAL,
// survives a killed process but may lose the last commits on power loss.
func WithSynchronousFull() Option {
	return func(c *config) error { c.synchronousFull = true; return nil }
}

// WithBusyTimeout sets how long an SQLite connection waits for another
// process's lock before failing with ErrBusy (default 10s).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("sqlstore: busy timeout %v must not be negative", d)
		}
		c.busyTimeout = d
		return nil
	}
}

// WithReaders sets the number of SQLite reader connections (default 4).
// Writes always use one dedicated writer connection.
func WithReaders(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sqlstore: readers %d must be at least 1", n)
		}
		c.readers = n
		return nil
	}
}

// WithMaxConns sets the size of OpenPostgres's connection pool (default 16).
func WithMaxConns(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sqlstore: max conns %d must be at least 1", n)
		}
		c.maxConns = n
		return nil
	}
}

// WithRetries bounds how many times a write transaction is run when the
// database reports a serialization failure or deadlock (PostgreSQL 40001,
// 40P01) or stays busy (SQLite) (default 10, at least 1). The transaction is
// rolled back and run again from the start each time.
func WithRetries(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sqlstore: retries %d must be at least 1", n)
		}
		c.retries = n
		return nil
	}
}

// WithImmediateTransactions is accepted for compatibility and has no
// effect: Update begins every SQLite write with BEGIN IMMEDIATE itself,
// whatever the handle's _txlock.
func WithImmediateTransactions() Option {
	return func(*config) error { return nil }
}

// WithTreeCache sets how many providers an SQLite Store keeps in memory
// for the allocation candidates' reads (default 200,000; 0 turns the cache
// off, and the cache of the roots with it). Entries are checked against the
// database at every read, so the cache never changes an answer, only its
// cost: a query reads one row per provider plus the details of the
// providers changed since they were cached. Each entry costs roughly 100
// bytes plus its inventories, traits and aggregates. PostgreSQL Stores have
// no such cache.
func WithTreeCache(providers int) Option {
	return func(c *config) error {
		if providers < 0 {
			return fmt.Errorf("sqlstore: tree cache size %d must not be negative", providers)
		}
		c.treeCache = providers
		return nil
	}
}

// WithoutMigrations makes the constructors check the schema version instead
// of migrating: a database that is not exactly at this program's version is
// refused. Use it when migrations are run by a separate deployment step.
func WithoutMigrations() Option {
	return func(c *config) error { c.migrate = false; return nil }
}

// Store is a placement.Store on SQLite or PostgreSQL. It is safe for
// concurrent use; make one per database and process, and Close it.
type Store struct {
	dialect Dialect
	cfg     config
	// wdb runs write transactions, rdb read transactions (the same handle
	// except for OpenSQLite's reader pool).
	wdb, rdb *sqlx.DB
	owned    []*sqlx.DB // closed by Close
	// SQLite: one write transaction of this process at a time, queued here
	// rather than in SQLite's busy handler, which polls with sleeps; other
	// processes' writers meet the busy timeout.
	writer writeQueue
	// ckpt runs WAL checkpoints in the background (OpenSQLite), nil otherwise.
	ckpt *checkpointer
	// classIDs maps the standard resource classes to their ids (immutable).
	classIDs map[string]int64
	// trees caches the allocation candidates' tree reads (SQLite; nil when
	// off), see treecache.go.
	trees *treeCache

	closeOnce sync.Once
}

var _ placement.Store = (*Store)(nil)

// New returns a Store over an open handle, detecting the dialect from its
// driver name ("sqlite3"; "pgx" or "postgres"), applying the schema
// migrations (unless WithoutMigrations) and seeding the standard resource
// classes. The caller keeps ownership of db: Close does not close it.
//
// For SQLite, open the handle with _journal_mode=WAL, _busy_timeout,
// _foreign_keys=on and _stmt_cache_size=128 (go-sqlite3's per-connection
// statement cache: without it every statement is prepared anew at every
// run); OpenSQLite does all of that, and also runs WAL checkpoints in the
// background and gathers WAL writes (see the package documentation). For
// PostgreSQL, any pgx handle (sqlx.NewDb(db, "pgx")).
func New(ctx context.Context, db *sqlx.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlstore: nil database handle")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	var d Dialect
	switch db.DriverName() {
	case "sqlite3":
		d = SQLite
	case "pgx", "pgx/v5", "postgres":
		d = PostgreSQL
	default:
		return nil, fmt.Errorf("%w %q (want \"sqlite3\" or \"pgx\")", ErrUnsupportedDriver, db.DriverName())
	}
	return newStore(ctx, d, cfg, db, db, nil)
}

// newStore finishes opening: migrate, seed.
func newStore(ctx context.Context, d Dialect, cfg config, wdb, rdb *sqlx.DB, owned []*sqlx.DB) (*Store, error) {
	s := &Store{dialect: d, cfg: cfg, wdb: wdb, rdb: rdb, owned: owned}
	if d == SQLite {
		s.trees = newTreeCache(cfg.treeCache)
	}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	if cfg.migrate {
		if err := migrate(ctx, wdb, d); err != nil {
			return fail(err)
		}
	} else if err := checkVersion(ctx, wdb, d); err != nil {
		return fail(err)
	}
	if err := s.seedClasses(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// Dialect returns the store's SQL dialect.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the handle write transactions use (for tests and tools; do not
// write placement data through it).
func (s *Store) DB() *sqlx.DB { return s.wdb }

// Close closes the handles the store opened itself (not one given to New).
// It is safe to call more than once.
func (s *Store) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		s.ckpt.close()
		for _, db := range s.owned {
			errs = append(errs, db.Close())
		}
	})
	return errors.Join(errs...)
}

// seedClasses inserts the standard resource classes the database lacks and
// loads their ids.
func (s *Store) seedClasses(ctx context.Context) error {
	load := func(t *txn) (map[string]int64, error) {
		rows, err := t.query(qStandardClasses)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		m := map[string]int64{}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return nil, err
			}
			m[name] = id
		}
		return m, rows.Err()
	}
	std := placement.StandardResourceClasses()
	var have map[string]int64
	missing := func() bool {
		for _, n := range std {
			if _, ok := have[n]; !ok {
				return true
			}
		}
		return false
	}
	err := s.View(ctx, func(tx placement.ReadTx) (err error) {
		have, err = load(tx.(*txn))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: reading resource classes: %w", err)
	}
	if !missing() {
		s.classIDs = have
		return nil
	}
	err = s.Update(ctx, func(tx placement.Tx) (err error) {
		t := tx.(*txn)
		if have, err = load(t); err != nil { // again, in the write transaction
			return err
		}
		used := map[int64]bool{}
		for _, id := range have {
			used[id] = true
		}
		var seed []classSeed
		next := int64(0)
		for i, n := range std {
			if _, ok := have[n]; ok {
				continue
			}
			id := int64(i)
			if used[id] {
				for used[next] {
					next++
				}
				id = next
			}
			used[id] = true
			seed = append(seed, classSeed{id, n})
		}
		if _, err := t.exec(qSeedClasses, s.seedArg(seed)); err != nil {
			return err
		}
		have, err = load(t)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: seeding resource classes: %w", err)
	}
	s.classIDs = have
	return nil
}

// View runs fn in a read-only transaction on one snapshot: SQLite's WAL
// snapshot (taken at the first read) on a reader connection, PostgreSQL's
// REPEATABLE READ READ ONLY. fn's error is returned unchanged.
func (s *Store) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.onConn(ctx, s.rdb, func(c *rawConn) (error, bool) {
		if err := c.control(qBeginRead); err != nil {
			return s.wrap("begin", err), true
		}
		t := &txn{s: s, ctx: ctx, c: c}
		err := fn(t)
		t.close()
		return err, c.control(qRollback) != nil
	})
}

// Update runs fn in a read-write transaction: SQLite BEGIN IMMEDIATE on the
// writer connection, PostgreSQL READ COMMITTED (with the generation
// compare-and-swap and provider rows locked as they are read). fn's error
// is returned unchanged and then nothing of it is visible. When the
// database reports a serialization failure or a deadlock (PostgreSQL) or
// stays busy (SQLite), the transaction is rolled back and fn run again from
// the start, at most WithRetries times.
func (s *Store) Update(ctx context.Context, fn func(placement.Tx) error) error {
	delay := 500 * time.Microsecond
	var prelock []string
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		asked, err := s.update(ctx, fn, prelock)
		if len(asked) > 0 {
			prelock = append(prelock, asked...)
			slices.Sort(prelock)
			prelock = slices.Compact(prelock)
		}
		if err == nil || !s.retryable(err) || attempt >= s.cfg.retries {
			if err != nil && s.retryable(err) && !errors.Is(err, ErrBusy) {
				return fmt.Errorf("%w after %d attempts: %w", ErrBusy, attempt, err)
			}
			return err
		}
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// update runs fn once. On PostgreSQL it first locks the providers in
// prelock (sorted), and it returns the providers fn asked for when the
// attempt failed in a way worth retrying.
func (s *Store) update(ctx context.Context, fn func(placement.Tx) error, prelock []string) ([]string, error) {
	if s.dialect == SQLite {
		if err := s.writer.acquire(ctx); err != nil {
			return nil, err
		}
		defer s.writer.release()
	}
	var asked []string
	err := s.onConn(ctx, s.wdb, func(c *rawConn) (error, bool) {
		if err := c.control(qBeginWrite); err != nil {
			return s.wrap("begin", err), !s.retryable(err)
		}
		t := &txn{s: s, ctx: ctx, c: c, write: true}
		var err error
		if len(prelock) > 0 && s.dialect == PostgreSQL {
			if _, err = t.exec(qLockProviders, s.listArg(prelock)); err != nil {
				err = s.wrap("lock providers", err)
			}
			t.prelocked, t.locked = prelock, prelock[len(prelock)-1]
		}
		if err == nil {
			err = fn(t)
		}
		if err == nil {
			err = t.bumpVersions()
		}
		t.close()
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			if err = c.control(qCommit); err == nil {
				s.ckpt.wrote()
				return nil, false
			}
			err = s.wrap("commit", err)
		}
		if s.retryable(err) {
			asked = t.asked
		}
		return err, c.control(qRollback) != nil
	})
	return asked, err
}

// onConn runs body with a driver connection of db. When body reports the
// connection unusable (it may still be in a transaction), the connection
// is closed instead of going back to the pool.
func (s *Store) onConn(ctx context.Context, db *sqlx.DB, body func(*rawConn) (err error, bad bool)) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return s.wrap("connect", err)
	}
	defer conn.Close()
	bad := false
	err = conn.Raw(func(dc any) error {
		c, err := newRawConn(dc, s.dialect)
		if err != nil {
			return err
		}
		err, bad = body(c)
		return err
	})
	if bad {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// writeQueue admits one writer at a time. When the writer leaves, the next
// one is chosen at random among those waiting, as database/sql hands out a
// connection: not in order of arrival, which would always put a writer
// whose caller has just read a generation behind every write queued before
// it (each of which may change that generation).
type writeQueue struct {
	mu      sync.Mutex
	busy    bool
	waiters []chan struct{}
}

func (q *writeQueue) acquire(ctx context.Context) error {
	q.mu.Lock()
	if !q.busy {
		q.busy = true
		q.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q.waiters = append(q.waiters, ch)
	q.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		if i := slices.Index(q.waiters, ch); i >= 0 {
			q.waiters = slices.Delete(q.waiters, i, i+1)
			q.mu.Unlock()
			return ctx.Err()
		}
		q.mu.Unlock()
		q.release() // it was handed over meanwhile
		return ctx.Err()
	}
}

func (q *writeQueue) release() {
	q.mu.Lock()
	n := len(q.waiters)
	if n == 0 {
		q.busy = false
		q.mu.Unlock()
		return
	}
	i := rand.IntN(n)
	ch := q.waiters[i]
	q.waiters[i] = q.waiters[n-1]
	q.waiters = q.waiters[:n-1]
	q.mu.Unlock()
	close(ch)
}

// retryable reports whether a failed write may be run again from scratch.
func (s *Store) retryable(err error) bool {
	if errors.Is(err, ErrBusy) {
		return true
	}
	if s.dialect == PostgreSQL {
		return pgRetryable(err)
	}
	return sqliteBusy(err)
}

// wrap annotates a database error with the operation and classifies it.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if s.dialect == SQLite && sqliteBusy(err) {
		return fmt.Errorf("sqlstore: %s: %w: %w", op, ErrBusy, err)
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}

// uniqueViolation reports whether err is a unique-constraint violation.
func (s *Store) uniqueViolation(err error) bool {
	if s.dialect == PostgreSQL {
		return pgUnique(err)
	}
	return sqliteUnique(err)
}
