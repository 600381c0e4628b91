//go:build sqlitebench

package placement_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/goplacement/placement"
	"github.com/goplacement/placement/sqlstore"
)

// The candidates benchmarks on SQLite (sqlstore), through sqlstore's
// CandidateReader (indexed SQL; see sqlstore/candidates.go). They share
// runCandidatesOn and the workloads with the memstore benchmarks. Built only with -tags
// sqlitebench, so that the root package's tests do not depend on cgo:
//
//	go test -tags sqlitebench -run '^$' -bench BenchmarkCandidatesSQLite -benchmem .

var (
	sqliteBenchMu     sync.Mutex
	sqliteBenchStores = map[string]*sqlstore.Store{}
	sqliteBenchDir    string
)

// TestMain removes the benchmarks' databases when the benchmarks are done.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range sqliteBenchStores {
		s.Close()
	}
	if sqliteBenchDir != "" {
		os.RemoveAll(sqliteBenchDir)
	}
	os.Exit(code)
}

// sqliteBenchStore builds (once per process: a benchmark function runs
// several times) an SQLite store with a named topology, writing through the
// SPI in large transactions.
func sqliteBenchStore(b *testing.B, name string, build func(tx placement.Tx, i int) error, n int) placement.Store {
	b.Helper()
	sqliteBenchMu.Lock()
	defer sqliteBenchMu.Unlock()
	if s, ok := sqliteBenchStores[name]; ok {
		return s
	}
	if sqliteBenchDir == "" {
		dir, err := os.MkdirTemp("", "placement-sqlitebench-")
		if err != nil {
			b.Fatal(err)
		}
		sqliteBenchDir = dir
	}
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(sqliteBenchDir, name+".db"))
	if err != nil {
		b.Skip(err)
	}
	if err := fillStore(s, build, n); err != nil {
		s.Close()
		b.Fatal(err)
	}
	sqliteBenchStores[name] = s
	return s
}

// runCandidatesSQLite benchmarks req on s two ways, as runCandidates does
// on memstore: "sqlite", a new answer each time, and "sqlite-buffer", every
// answer built in one placement.CandidateBuffer.
func runCandidatesSQLite(b *testing.B, s placement.Store, req placement.CandidateRequest, want int) {
	b.Run("sqlite", func(b *testing.B) { runCandidatesOn(b, s, req, want, nil) })
	b.Run("sqlite-buffer", func(b *testing.B) { runCandidatesOn(b, s, req, want, new(placement.CandidateBuffer)) })
}

func BenchmarkCandidatesSQLiteFlat1000(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "flat1000", flatCompute, 1000), perfloadRequest(), 1000)
}

func BenchmarkCandidatesSQLiteFlat10000(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "flat10000", flatCompute, 10000), perfloadRequest(), 10000)
}

func BenchmarkCandidatesSQLiteFlat100000Limit50(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "flat100000", flatCompute, 100000), limit50Request(false), 50)
}

func BenchmarkCandidatesSQLiteFlat100000Limit50Random(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "flat100000", flatCompute, 100000), limit50Request(true), 50)
}

func BenchmarkCandidatesSQLiteNested1000(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "nested1000", nestedTree, 1000), nestedRequest(), 2000)
}

func BenchmarkCandidatesSQLiteWideTree(b *testing.B) {
	runCandidatesSQLite(b, sqliteBenchStore(b, "wide", wideTree, 9), wideRequest(), 1000)
}
