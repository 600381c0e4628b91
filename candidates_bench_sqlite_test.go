//go:build sqlitebench

package placement_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// The candidates benchmarks on SQLite (sqlstore), through the Engine's
// generic fallback (sqlstore does not implement CandidateReader yet). Built
// only with -tags sqlitebench, so that the root package's tests do not
// depend on cgo:
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

func runCandidatesOn(b *testing.B, s placement.Store, req placement.CandidateRequest, want int) {
	ctx := context.Background()
	e, err := placement.New(s, placement.WithAuthorizer(placement.AllowAll()))
	if err != nil {
		b.Fatal(err)
	}
	got, err := e.AllocationCandidates(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	if len(got.AllocationRequests) != want {
		b.Fatalf("%d candidates, want %d", len(got.AllocationRequests), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := e.AllocationCandidates(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
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
