package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// postgresEnv names the variable holding the DSN of a PostgreSQL database
// the tests may use (they create and drop their own schemas in it).
const postgresEnv = "PLACEMENT_TEST_POSTGRES_DSN"

// postgresDSN returns the test database's DSN or skips t.
func postgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set " + postgresEnv + " to a database URL, e.g. " +
			"postgres://placement:placement@127.0.0.1:5432/placement_test?sslmode=disable " +
			"(each test creates and drops its own schema)")
	}
	return dsn
}

// freshSchema creates a uniquely named schema, dropped when t ends, and
// returns the DSN that makes it the connections' search_path.
func freshSchema(t testing.TB) string {
	t.Helper()
	dsn, schema, err := createSchema(postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dropSchema(dsn, schema); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

// createSchema creates a uniquely named schema in the database of dsn and
// returns the DSN that makes it the connections' search_path, and its name.
func createSchema(dsn string) (string, string, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "placement_test_" + hex.EncodeToString(b[:])
	// The schema name is generated above from hex digits only.
	if err := adminExec(dsn, "CREATE SCHEMA "+schema); err != nil {
		return "", "", fmt.Errorf("creating schema: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return "", "", fmt.Errorf("%s must be a postgres:// URL", postgresEnv)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

func dropSchema(dsn, schema string) error {
	if err := adminExec(dsn, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
		return fmt.Errorf("dropping schema %s: %w", schema, err)
	}
	return nil
}

// adminExec runs statements (test code: schema names are generated).
func adminExec(dsn, stmts string) error {
	admin, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.ExecContext(context.Background(), stmts)
	return err
}

// newPostgres opens a store on a fresh schema.
func newPostgres(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenPostgres(context.Background(), freshSchema(t), opts...)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// schemaPool hands out empty migrated schemas to the conformance suite,
// whose many short-lived stores (over 500) would otherwise each create,
// migrate and drop a schema (about 45 ms): a store's schema is emptied
// when the store is done and reused, and every schema is dropped when the
// whole test ends.
type schemaPool struct {
	dsn  string
	mu   sync.Mutex
	free []pooledSchema
	all  []pooledSchema
}

type pooledSchema struct{ dsn, name string }

func newSchemaPool(t *testing.T) *schemaPool {
	p := &schemaPool{dsn: postgresDSN(t)}
	t.Cleanup(func() {
		for _, s := range p.all {
			if err := dropSchema(p.dsn, s.name); err != nil {
				t.Error(err)
			}
		}
	})
	return p
}

func (p *schemaPool) store(t testing.TB) *sqlstore.Store {
	t.Helper()
	p.mu.Lock()
	var sc pooledSchema
	if n := len(p.free); n > 0 {
		sc, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()
	if sc.dsn == "" {
		dsn, name, err := createSchema(p.dsn)
		if err != nil {
			t.Fatal(err)
		}
		sc = pooledSchema{dsn, name}
		p.mu.Lock()
		p.all = append(p.all, sc)
		p.mu.Unlock()
	}
	s, err := sqlstore.OpenPostgres(context.Background(), sc.dsn)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		// Empty it (the migrations stay; the store reseeds the standard
		// resource classes when it opens).
		n := sc.name
		if adminExec(p.dsn, "DELETE FROM "+n+".allocations; DELETE FROM "+n+".usages; DELETE FROM "+n+".consumers; "+
			"DELETE FROM "+n+".provider_aggregates; DELETE FROM "+n+".provider_traits; DELETE FROM "+n+".traits; "+
			"DELETE FROM "+n+".inventories; DELETE FROM "+n+".resource_providers; DELETE FROM "+n+".resource_classes") == nil {
			p.mu.Lock()
			p.free = append(p.free, sc)
			p.mu.Unlock()
		}
	})
	return s
}

func TestConformancePostgres(t *testing.T) {
	postgresDSN(t)
	pool := newSchemaPool(t)
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return pool.store(t) })
}
