package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
)

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL such
// as postgres://user:pass@host:5432/db?sslmode=disable, or key=value
// pairs, as pgx accepts) and returns a Store on it with a pool of up to
// WithMaxConns connections. Many processes on many hosts may share the
// database. Writes run at READ COMMITTED with the generation
// compare-and-swap; serialization failures and deadlocks are retried.
func OpenPostgres(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening PostgreSQL: %w", err)
	}
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlstore: connecting to PostgreSQL: %w", err)
	}
	return newStore(ctx, PostgreSQL, cfg, db, db, []*sqlx.DB{db})
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgRetryable: serialization_failure, deadlock_detected,
// lock_not_available (a NOWAIT lock, see txn.Provider).
func pgRetryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01" || c == "55P03"
}

// pgUnique: unique_violation.
func pgUnique(err error) bool { return pgCode(err) == "23505" }
