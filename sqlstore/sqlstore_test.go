package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/placementtest"
	"github.com/goplacement/placement/sqlstore"
)

// newSQLite opens a store on a new file in t.TempDir().
func newSQLite(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "placement.db"), opts...)
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceSQLite(t *testing.T) {
	placementtest.RunStoreTests(t, func(t testing.TB) placement.Store { return newSQLite(t) })
}
