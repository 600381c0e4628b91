package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The schema is a sequence of migrations per dialect, embedded files named
// NNNN_description.sql; migration N brings the schema to version N. The
// version table sqlstore_migrations records every applied version.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the dialect's migrations in version order, checking
// that versions are 1, 2, 3, ... without gaps.
func migrations(d Dialect) ([]migration, error) {
	dir := "migrations/sqlite"
	if d == PostgreSQL {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: bad migration file name %s", e.Name())
		}
		b, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: migrations of %s: expected version %d, found %s", d, i+1, m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the schema version this code writes (the number of
// migrations of each dialect).
const SchemaVersion = 5

// migrate applies the missing migrations, each in its own transaction, and
// refuses a database whose version is newer than the code. It is safe to
// run concurrently from several processes: SQLite's write lock (BEGIN
// IMMEDIATE) or a PostgreSQL advisory lock serialises them, and each
// transaction re-reads the version.
func migrate(ctx context.Context, db *sqlx.DB, d Dialect) error {
	ms, err := migrations(d)
	if err != nil {
		return err
	}
	if len(ms) != SchemaVersion {
		return fmt.Errorf("sqlstore: %d %s migrations embedded, SchemaVersion is %d", len(ms), d, SchemaVersion)
	}
	if _, err := db.ExecContext(ctx, sqlCreateMigrations); err != nil {
		return fmt.Errorf("sqlstore: creating the version table: %w", err)
	}
	if err := checkNotNewer(ctx, db, d); err != nil {
		return err
	}
	for _, m := range ms {
		if err := applyMigration(ctx, db, d, m); err != nil {
			return err
		}
	}
	return nil
}

// applyMigration runs one migration in its own transaction unless the
// database already has it.
func applyMigration(ctx context.Context, db *sqlx.DB, d Dialect, m migration) (err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d == PostgreSQL {
		if _, err := tx.ExecContext(ctx, postgresMigrateLock); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	} else {
		// Take the write lock before reading the version (the handle may
		// begin DEFERRED).
		if _, err := tx.ExecContext(ctx, sqliteWriteLock); err != nil {
			return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
		}
	}
	var v int
	if err := tx.QueryRowxContext(ctx, sqlSchemaVersion).Scan(&v); err != nil {
		return fmt.Errorf("sqlstore: migration %s: reading the schema version: %w", m.name, err)
	}
	if v >= m.version {
		return tx.Rollback()
	}
	if v != m.version-1 {
		return fmt.Errorf("sqlstore: migration %s: database is at version %d", m.name, v)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(sqlRecordMigration), m.version, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlstore: migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migration %s: commit: %w", m.name, err)
	}
	return nil
}

// schemaVersion reads the database's schema version (0 when it has none).
func schemaVersion(ctx context.Context, db *sqlx.DB) (int, error) {
	var v int
	err := db.QueryRowxContext(ctx, sqlSchemaVersion).Scan(&v)
	return v, err
}

func checkNotNewer(ctx context.Context, db *sqlx.DB, d Dialect) error {
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("sqlstore: reading the schema version: %w", err)
	}
	if v > SchemaVersion {
		return fmt.Errorf("%w: the %s database is at schema version %d, this program knows versions up to %d; upgrade the program", ErrSchemaTooNew, d, v, SchemaVersion)
	}
	return nil
}

// checkVersion (WithoutMigrations) requires the database to be exactly at
// SchemaVersion.
func checkVersion(ctx context.Context, db *sqlx.DB, d Dialect) error {
	v, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("sqlstore: reading the schema version (is the database migrated?): %w", err)
	}
	switch {
	case v > SchemaVersion:
		return fmt.Errorf("%w: the %s database is at schema version %d, this program knows versions up to %d; upgrade the program", ErrSchemaTooNew, d, v, SchemaVersion)
	case v < SchemaVersion:
		return fmt.Errorf("sqlstore: the %s database is at schema version %d, this program needs %d: run the migrations", d, v, SchemaVersion)
	}
	return nil
}

var errNoMatch = errors.New("sqlstore: no stored value can match") // internal
