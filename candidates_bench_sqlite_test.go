//go:build sqlitebench

package placement_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// The candidates benchmarks on SQLite (sqlstore), through sqlstore's
// CandidateReader (indexed SQL; see sqlstore/candidates.go). They share
// runCandidatesOn with the memstore benchmarks. Built only with -tags
// sqlitebench, so that the root package's tests do not depend on cgo:
//
//	go test -tags sqlitebench -run '^$' -bench BenchmarkCandidatesSQLite -benchmem .

func sqliteBenchStore(b *testing.B, build func(tx placement.Tx, i int) error, n int) placement.Store {
	b.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "placement.db"))
	if err != nil {
		b.Skip(err)
	}
	b.Cleanup(func() { s.Close() })
	for lo := 0; lo < n; lo += 1000 {
		err := s.Update(context.Background(), func(tx placement.Tx) error {
			for i := lo; i < min(lo+1000, n); i++ {
				if err := build(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkCandidatesSQLiteFlat1000(b *testing.B) {
	runCandidatesOn(b, sqliteBenchStore(b, flatCompute, 1000), perfloadRequest(), 1000)
}

func BenchmarkCandidatesSQLiteNested1000(b *testing.B) {
	runCandidatesOn(b, sqliteBenchStore(b, nestedTree, 1000), nestedRequest(), 2000)
}

func BenchmarkCandidatesSQLiteWideTree(b *testing.B) {
	runCandidatesOn(b, sqliteBenchStore(b, wideTree, 9), wideRequest(), 1000)
}
