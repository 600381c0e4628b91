package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
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
	dsn := postgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "placement_test_" + hex.EncodeToString(b[:])
	admin, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The schema name is generated above from hex digits only.
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		t.Fatalf("%s must be a postgres:// URL", postgresEnv)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
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

func TestConformancePostgres(t *testing.T) {
	postgresDSN(t)
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return newPostgres(t) })
}
