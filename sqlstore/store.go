package sqlstore

import (
	"context"
	"database/sql"
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
	immediate       bool // New: the SQLite handle begins transactions IMMEDIATE
	migrate         bool
}

func defaultConfig() config {
	return config{busyTimeout: 10 * time.Second, readers: 4, maxConns: 16, retries: 10, migrate: true}
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

// WithImmediateTransactions tells New that its SQLite handle already begins
// transactions with BEGIN IMMEDIATE (DSN parameter _txlock=immediate), so
// Update need not take the write lock with an extra statement.
func WithImmediateTransactions() Option {
	return func(c *config) error { c.immediate = true; return nil }
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
	text    *[numStmts]string
	// wdb runs write transactions, rdb read transactions (the same handle
	// except for OpenSQLite's reader pool).
	wdb, rdb *sqlx.DB
	owned    []*sqlx.DB // closed by Close
	// SQLite: statements prepared on wdb and rdb (database/sql prepares
	// them once per connection and reuses them in every transaction).
	wstmt, rstmt []*sql.Stmt
	prepMu       sync.Mutex
	// lockWrites: an Update starts with a statement taking SQLite's write
	// lock (the handle's transactions are DEFERRED).
	lockWrites bool
	// classIDs maps the standard resource classes to their ids (immutable).
	classIDs map[string]int64

	closeOnce sync.Once
}

var _ placement.Store = (*Store)(nil)

// New returns a Store over an open handle, detecting the dialect from its
// driver name ("sqlite3"; "pgx" or "postgres"), applying the schema
// migrations (unless WithoutMigrations) and seeding the standard resource
// classes. The caller keeps ownership of db: Close does not close it.
//
// For SQLite, open the handle with _journal_mode=WAL, _busy_timeout,
// _foreign_keys=on and preferably _txlock=immediate (then pass
// WithImmediateTransactions); OpenSQLite does all of that.
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
	return newStore(ctx, d, cfg, db, db, nil, d == SQLite && !cfg.immediate)
}

// newStore finishes opening: migrate, prepare, seed.
func newStore(ctx context.Context, d Dialect, cfg config, wdb, rdb *sqlx.DB, owned []*sqlx.DB, lockWrites bool) (*Store, error) {
	s := &Store{dialect: d, cfg: cfg, wdb: wdb, rdb: rdb, owned: owned, lockWrites: lockWrites}
	if d == SQLite {
		s.text = &sqliteText
	} else {
		s.text = &postgresText
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
	if d == SQLite {
		if err := s.prepare(ctx); err != nil {
			return fail(err)
		}
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

// Close releases the prepared statements and closes the handles the store
// opened itself (not one given to New). It is safe to call more than once.
func (s *Store) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		s.prepMu.Lock()
		for _, set := range [][]*sql.Stmt{s.wstmt, s.rstmt} {
			for i, st := range set {
				if st != nil {
					errs = append(errs, st.Close())
				}
				set[i] = nil
			}
		}
		s.wstmt, s.rstmt = nil, nil
		s.prepMu.Unlock()
		for _, db := range s.owned {
			errs = append(errs, db.Close())
		}
	})
	return errors.Join(errs...)
}

// prepare prepares every statement on the write and read handles (SQLite).
// It runs while no transaction holds a connection: database/sql prepares a
// statement on a free connection, and later re-prepares it on any other
// connection a transaction uses (Tx.StmtContext), then keeps it there.
func (s *Store) prepare(ctx context.Context) error {
	s.wstmt = make([]*sql.Stmt, numStmts)
	s.rstmt = make([]*sql.Stmt, numStmts)
	for i := range numStmts {
		var err error
		if s.wstmt[i], err = s.wdb.PrepareContext(ctx, s.text[i]); err != nil {
			return fmt.Errorf("sqlstore: preparing statement %d: %w", i, err)
		}
		if s.rdb == s.wdb {
			s.rstmt[i] = s.wstmt[i]
			continue
		}
		if s.rstmt[i], err = s.rdb.PrepareContext(ctx, s.text[i]); err != nil {
			return fmt.Errorf("sqlstore: preparing statement %d: %w", i, err)
		}
	}
	return nil
}

// stmt returns statement id prepared on the write or read handle (SQLite).
func (s *Store) stmt(write bool, id stmtID) (*sql.Stmt, error) {
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	set := s.rstmt
	if write {
		set = s.wstmt
	}
	if set == nil || set[id] == nil {
		return nil, errors.New("sqlstore: store closed")
	}
	return set[id], nil
}

// seedClasses inserts the standard resource classes the database lacks and
// loads their ids.
func (s *Store) seedClasses(ctx context.Context) error {
	load := func() (map[string]int64, error) {
		rows, err := s.wdb.QueryContext(ctx, s.text[qStandardClasses])
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
	have, err := load()
	if err != nil {
		return fmt.Errorf("sqlstore: reading resource classes: %w", err)
	}
	std := placement.StandardResourceClasses()
	missing := false
	for _, n := range std {
		if _, ok := have[n]; !ok {
			missing = true
		}
	}
	if missing {
		tx, err := s.beginWrite(ctx)
		if err != nil {
			return fmt.Errorf("sqlstore: seeding resource classes: %w", err)
		}
		used := map[int64]bool{}
		for _, id := range have {
			used[id] = true
		}
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
			if _, err := tx.ExecContext(ctx, s.text[qSeedClass], id, n); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("sqlstore: seeding resource classes: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: seeding resource classes: %w", err)
		}
		if have, err = load(); err != nil {
			return fmt.Errorf("sqlstore: reading resource classes: %w", err)
		}
	}
	s.classIDs = have
	return nil
}

// beginWrite starts a write transaction on the write handle.
//
// The transaction itself is begun with a context that is never canceled:
// ctx bounds every statement (a canceled statement fails and the
// transaction is rolled back), but once Update has decided to commit, the
// commit is not interrupted. Otherwise a commit the server carried out
// could be reported as canceled (pgx cancels a commit in flight when the
// transaction's context ends), and a caller would think a write that
// happened did not.
func (s *Store) beginWrite(ctx context.Context) (*sqlx.Tx, error) {
	var opts *sql.TxOptions
	if s.dialect == PostgreSQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tx, err := s.wdb.BeginTxx(context.WithoutCancel(ctx), opts)
	if err != nil {
		return nil, err
	}
	if s.lockWrites {
		if _, err := tx.ExecContext(ctx, s.text[qSQLiteWriteLock]); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
	}
	return tx, nil
}

// View runs fn in a read-only transaction on one snapshot: SQLite's WAL
// snapshot (taken at the first read) on a reader connection, PostgreSQL's
// REPEATABLE READ READ ONLY. fn's error is returned unchanged.
func (s *Store) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var opts *sql.TxOptions
	if s.dialect == PostgreSQL {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.rdb.BeginTxx(ctx, opts)
	if err != nil {
		return s.wrap("begin", err)
	}
	t := &txn{s: s, ctx: ctx, tx: tx}
	err = fn(t)
	t.close()
	_ = tx.Rollback()
	return err
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
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return nil, s.wrap("begin", err)
	}
	t := &txn{s: s, ctx: ctx, tx: tx, write: true}
	if len(prelock) > 0 && s.dialect == PostgreSQL {
		if _, err := tx.ExecContext(ctx, s.text[qLockProviders], s.listArg(prelock)); err != nil {
			_ = tx.Rollback()
			return nil, s.wrap("lock providers", err)
		}
		t.prelocked = prelock
		t.locked = prelock[len(prelock)-1]
	}
	err = fn(t)
	t.close()
	if err != nil {
		_ = tx.Rollback()
		if s.retryable(err) {
			return t.asked, err
		}
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return t.asked, s.wrap("commit", err)
	}
	return nil, nil
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
