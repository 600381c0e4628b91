//go:build !cgo

package sqlstore

import "context"

// OpenSQLite would open an SQLite database file, but this binary was built
// without cgo, which SQLite (github.com/mattn/go-sqlite3) needs: it returns
// ErrNoCgo. Build with CGO_ENABLED=1, or use OpenPostgres.
func OpenSQLite(ctx context.Context, path string, opts ...Option) (*Store, error) {
	return nil, ErrNoCgo
}

func sqliteBusy(error) bool   { return false }
func sqliteUnique(error) bool { return false }
