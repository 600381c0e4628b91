//go:build !cgo

package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/goplacement/placement/sqlstore"
)

// TestNoCgo: without cgo, SQLite is refused with a clear error.
func TestNoCgo(t *testing.T) {
	_, err := sqlstore.OpenSQLite(context.Background(), t.TempDir()+"/x.db")
	if !errors.Is(err, sqlstore.ErrNoCgo) {
		t.Fatalf("OpenSQLite without cgo: %v", err)
	}
	t.Log(err)
}
