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

// dialectCase opens stores of one dialect on one database (reopen returns
// another store on the same database).
type dialectCase struct {
	name string
	open func(t *testing.T) (reopen func(opts ...sqlstore.Option) (*sqlstore.Store, error))
}

func dialects() []dialectCase {
	return []dialectCase{
		{"SQLite", func(t *testing.T) func(...sqlstore.Option) (*sqlstore.Store, error) {
			requireSQLite(t)
			path := filepath.Join(t.TempDir(), "placement.db")
			return func(opts ...sqlstore.Option) (*sqlstore.Store, error) {
				return sqlstore.OpenSQLite(context.Background(), path, opts...)
			}
		}},
		{"Postgres", func(t *testing.T) func(...sqlstore.Option) (*sqlstore.Store, error) {
			dsn := freshSchema(t)
			return func(opts ...sqlstore.Option) (*sqlstore.Store, error) {
				return sqlstore.OpenPostgres(context.Background(), dsn, opts...)
			}
		}},
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			open := d.open(t)
			// Without migrations, an empty database is refused.
			if s, err := open(sqlstore.WithoutMigrations()); err == nil {
				s.Close()
				t.Fatal("WithoutMigrations opened an empty database")
			}
			// Migrate the empty database, write something.
			s, err := open()
			if err != nil {
				t.Fatalf("migrating an empty database: %v", err)
			}
			e := placementtest.NewEngine(t, s)
			p, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "kept"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.CreateResourceClass(ctx, "CUSTOM_KEPT"); err != nil {
				t.Fatal(err)
			}
			before := placementtest.Dump(t, s)
			var v int
			if err := s.DB().QueryRowxContext(ctx, "SELECT MAX(version) FROM sqlstore_migrations").Scan(&v); err != nil || v != sqlstore.SchemaVersion {
				t.Fatalf("schema version %d, %v; want %d", v, err, sqlstore.SchemaVersion)
			}
			s.Close()

			// Twice (and a third time with WithoutMigrations): nothing changes.
			for _, opts := range [][]sqlstore.Option{nil, {sqlstore.WithoutMigrations()}} {
				s, err = open(opts...)
				if err != nil {
					t.Fatalf("reopening: %v", err)
				}
				assertState(t, "state after reopening", before, placementtest.Dump(t, s))
				if _, err := placementtest.NewEngine(t, s).Provider(ctx, p.UUID); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := s.DB().QueryRowxContext(ctx, "SELECT COUNT(*) FROM sqlstore_migrations").Scan(&n); err != nil || n != sqlstore.SchemaVersion {
					t.Fatalf("%d migration rows, %v", n, err)
				}
				s.Close()
			}

			// A database written by a newer program is refused, clearly.
			s, err = open()
			if err != nil {
				t.Fatal(err)
			}
			db := s.DB()
			if _, err := db.ExecContext(ctx, db.Rebind("INSERT INTO sqlstore_migrations (version, applied_at) VALUES (?, 0)"), sqlstore.SchemaVersion+1); err != nil {
				t.Fatal(err)
			}
			s.Close()
			for _, opts := range [][]sqlstore.Option{nil, {sqlstore.WithoutMigrations()}} {
				s, err = open(opts...)
				if err == nil {
					s.Close()
					t.Fatal("opened a database newer than the code")
				}
				if !errors.Is(err, sqlstore.ErrSchemaTooNew) {
					t.Fatalf("newer database: got %v, want ErrSchemaTooNew", err)
				}
				t.Logf("newer database refused: %v", err)
			}
		})
	}
}

// TestNewFromHandle opens stores with New over handles the caller made.
func TestNewFromHandle(t *testing.T) {
	requireSQLite(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "handle.db")
	db, err := sqlx.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if s.Dialect() != sqlstore.SQLite {
		t.Fatalf("dialect %v", s.Dialect())
	}
	e := placementtest.NewEngine(t, s)
	if _, err := e.CreateProvider(ctx, placement.ProviderSpec{Name: "via New"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("Close closed the caller's handle: %v", err)
	}
	other, _ := sqlx.Open("sqlite3", path)
	defer other.Close()
	if _, err := sqlstore.New(ctx, sqlx.NewDb(other.DB, "mysql")); !errors.Is(err, sqlstore.ErrUnsupportedDriver) {
		t.Fatalf("unsupported driver: %v", err)
	}
}
