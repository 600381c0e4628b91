//go:build cgo

package sqlstore

import (
	"context"
	"database/sql/driver"
	"io"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSQLiteNoReprepare: no SQLite statement is re-compiled when it is run
// again with new arguments. mattn/go-sqlite3 clears the bindings before
// every execution, and SQLite expires a statement whose plan depends on a
// bound value (a "col = ?" term the planner looks at, LIKE ?, LIMIT ?)
// whenever its bindings are cleared: such a statement is parsed and planned
// again on every run (a 3-table join then costs 3x). The SQLite texts write
// compared parameters as +? (the same value, but not a bare parameter the
// planner could specialise on).
func TestSQLiteNoReprepare(t *testing.T) {
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c := dc.(driver.Conn)
		if _, err := c.(driver.ExecerContext).ExecContext(ctx, "BEGIN", nil); err != nil {
			return err
		}
		defer c.(driver.ExecerContext).ExecContext(ctx, "ROLLBACK", nil)
		// Providers, consumers and classes for the foreign keys of the
		// statements' arguments.
		if _, err := c.(driver.ExecerContext).ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO resource_providers (id, uuid, name, generation, root_uuid, created_at, updated_at) SELECT i, i, 'n' || i, 0, i, 0, 0 FROM n`, nil); err != nil {
			return err
		}
		if _, err := c.(driver.ExecerContext).ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT INTO consumers (id, uuid, project_id, user_id, consumer_type, generation, created_at, updated_at) SELECT i, 'c' || i, '', '', '', 0, 0, 0 FROM n`, nil); err != nil {
			return err
		}
		if _, err := c.(driver.ExecerContext).ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
INSERT OR IGNORE INTO resource_classes (id, name, created_at, updated_at) SELECT i, 'CUSTOM_' || i, 0, 0 FROM n`, nil); err != nil {
			return err
		}
		for id, text := range sqliteText[:qBeginWrite] {
			st, err := c.Prepare(text)
			if err != nil {
				t.Errorf("statement %d: %v", id, err)
				continue
			}
			f := reflect.ValueOf(st).Elem().FieldByName("repreps")
			if !f.IsValid() {
				st.Close()
				t.Skip("mattn/go-sqlite3 no longer exposes its re-prepare count")
			}
			if _, err := c.(driver.ExecerContext).ExecContext(ctx, "SAVEPOINT s", nil); err != nil {
				return err
			}
			// The kinds of argument the statements take, tried in turn:
			// integers, JSON lists ("[]"), the candidates' JSON demands.
			// Every statement must run 3 times with one of them, its
			// re-prepare count unchanged.
			ran := false
			for _, kind := range []func(run, i int) driver.Value{
				func(run, i int) driver.Value { return int64(run*10 + i + 2) },
				func(int, int) driver.Value { return "[]" },
				func(int, int) driver.Value { return `[["VCPU",1]]` },
			} {
				var counts []int64
				for run := range 3 {
					args := make([]driver.NamedValue, st.NumInput())
					for i := range args {
						args[i] = driver.NamedValue{Ordinal: i + 1, Value: kind(run, i)}
					}
					rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
					if err != nil {
						if run > 0 {
							t.Errorf("statement %d run %d: %v", id, run, err)
						}
						break
					}
					dest := make([]driver.Value, len(rows.Columns()))
					for rows.Next(dest) != io.EOF {
					}
					rows.Close()
					counts = append(counts, f.Int())
				}
				if len(counts) == 3 {
					ran = true
					if counts[2] != counts[0] {
						t.Errorf("statement %d is re-prepared at every run (%v):\n%s", id, counts, text)
					}
					break
				}
			}
			if !ran {
				t.Errorf("statement %d runs with none of the kinds of arguments:\n%s", id, text)
			}
			if _, err := c.(driver.ExecerContext).ExecContext(ctx, "ROLLBACK TO s", nil); err != nil {
				return err
			}
			st.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
