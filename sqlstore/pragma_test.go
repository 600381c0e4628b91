package sqlstore_test

import (
	"context"
	"testing"
)

// TestSQLitePragmas checks OpenSQLite's connection settings.
func TestSQLitePragmas(t *testing.T) {
	s := newSQLite(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "10000", "wal_autocheckpoint": "4000"} {
		var got string
		if err := s.DB().QueryRowxContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}
