// Package sqlstore is the SQL backend of placement: a placement.Store on
// SQLite (the embedded default: one host, one or many processes) or
// PostgreSQL (many processes on many hosts), both passing the whole
// placementtest conformance suite.
//
// # Opening
//
//	s, err := sqlstore.OpenSQLite(ctx, "/var/lib/placement/placement.db")
//	s, err := sqlstore.OpenPostgres(ctx, "postgres://user:pass@host:5432/placement?sslmode=require")
//	s, err := sqlstore.New(ctx, db) // an open *sqlx.DB ("sqlite3" or "pgx" driver; see New)
//	defer s.Close()
//	engine, err := placement.New(s, ...)
//
// Every constructor applies the embedded schema migrations (one transaction
// each, recorded in the table sqlstore_migrations; safe to run from several
// processes at once) and refuses a database whose schema is newer than the
// program (ErrSchemaTooNew). WithoutMigrations only checks the version.
//
// SQLite needs cgo (github.com/mattn/go-sqlite3). A binary built with
// CGO_ENABLED=0 still compiles; OpenSQLite then returns ErrNoCgo.
// PostgreSQL uses github.com/jackc/pgx/v5/stdlib, pure Go.
//
// # Durability
//
// SQLite runs in WAL mode with synchronous=NORMAL by default: a commit is
// durable against a crash or kill of the process (the tests SIGKILL
// writers and find every acknowledged write), but the last commits may be
// lost on power loss or an operating-system crash, because the WAL is
// fsynced at checkpoints, not at every commit. WithSynchronousFull fsyncs
// every commit (power-loss durable, about one fsync per write). Keep the
// file on a local file system. A store opened by OpenSQLite runs WAL
// checkpoints in the background (see checkpoint.go): the WAL file grows to
// about 16 MB under sustained writes and is then reused. PostgreSQL's
// durability is the server's (synchronous_commit).
//
// # Concurrency
//
// Every Store.Update is one database transaction; Store.View one read-only
// snapshot. Writes are guarded by compare-and-swaps on generations
// (UPDATE ... SET generation = generation + 1 WHERE uuid = ? AND
// generation = ?, exactly one row, else a *placement.ConflictError), with
// the generation read in the same transaction as the usage it protects.
//
// SQLite: one write transaction of the Store at a time (on one writer
// connection with OpenSQLite), begun with BEGIN IMMEDIATE whatever the
// handle's _txlock (so a write never fails half-way for a lock), a pool of
// reader connections (WithReaders) that are never blocked by the writer,
// foreign keys on, and a busy timeout (WithBusyTimeout) for other
// processes' writes. Writes of all processes are serialised by SQLite.
//
// PostgreSQL: writes run at READ COMMITTED. Reading a provider in a write
// transaction locks its row (SELECT ... FOR NO KEY UPDATE, then reads it
// and its usage by a second statement, in the function
// sqlstore_lock_provider: one round trip), so writers of one provider queue
// instead of failing their compare-and-swap; such locks are waited for only
// in ascending uuid order and before the transaction writes, else taken
// with NOWAIT. Usage rows are locked in one global order before allocations
// change. A serialization failure, deadlock or busy NOWAIT lock (40001,
// 40P01, 55P03) rolls the transaction back and runs it again from the
// start, first locking (in order) the providers the failed attempt needed,
// at most WithRetries times (then ErrBusy). Reads run at REPEATABLE READ
// READ ONLY, one snapshot per View.
//
// A context bounds every statement of a transaction; once fn has returned
// nil and the context is still live, the commit itself is not interrupted,
// so a write reported as failed did not happen (except when the connection
// to the server is lost during the commit, when the outcome is unknown, as
// with any database).
//
// # Data
//
// The schema keeps internal integer ids (names in the SPI, ids inside).
// Resource classes have ids (standard ones below 10000, seeded when a store
// opens; custom ones from 10000, as in Placement), so renaming a class
// renames it everywhere at once. Usage per provider and class is kept in
// the usages table by triggers on the allocation rows (on PostgreSQL, in
// the statement that replaces a consumer's rows), in the same transaction,
// so reading usage never scans allocations; placement.Engine.Audit
// recounts it from the rows. On SQLite allocation rows refer to consumers by
// integer id (schema version 2; see migrations/sqlite/0002).
//
// # Performance
//
// Transactions run on the driver connections themselves, with statements
// kept prepared per connection (conn.go). SQLite statements write compared
// parameters as +? so that go-sqlite3's clearing of bindings does not make
// SQLite plan them again at every run (queries.go). OpenSQLite's SQLite VFS
// hands a commit's WAL frames to the operating system in one write
// (sqlite_vfs.go), and its checkpoints run in the background
// (checkpoint.go).
//
// An SQLite Store keeps in memory what the allocation candidates read of
// each provider (inventories with usage, traits, aggregates, parent),
// checked at every query against a version per provider that every
// process's writes change (schema version 3; treecache.go): a query over
// many providers reads one row of integers per provider, from an index
// (schema version 5), and the details of only those changed since. The
// roots in uuid order are cached too (every root, which the random order
// reads at every query, or the first pages of the ordered walk), checked
// against a version of the set of roots (schema version 4). WithTreeCache
// sizes the cache or turns both off.
//
// SQL is static text with bound parameters only; lists are bound as one
// JSON parameter (json_each on SQLite, jsonb_array_elements on
// PostgreSQL). Strings round-trip exactly, including quotes, backslashes,
// LIKE wildcards, unicode and NUL characters: PostgreSQL text cannot hold
// NUL, so strings containing 0x00 or 0x01 are stored in an
// order-preserving escape (0x00 as 0x01 0x01, 0x01 as 0x01 0x02) that
// keeps uniqueness and sorting. PostgreSQL text must be valid UTF-8: a
// write of an invalid UTF-8 string (possible only in project and user ids;
// the Engine validates names) fails with ErrUnstorableText, which also
// matches placement.ErrInvalid. Text sorts bytewise on both dialects
// (COLLATE "C" on PostgreSQL), as Go compares strings.
package sqlstore
