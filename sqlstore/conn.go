package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
)

// Transactions run on the driver connection itself (database/sql's
// Conn.Raw), not through database/sql's Tx and Stmt: those cost a goroutine
// per query (to watch the transaction's context), locks and reflection per
// value, which on SQLite was as much time again as the statements
// themselves, and on PostgreSQL a good part of the client's share of a
// claim. Statements are kept prepared per connection by the drivers:
// go-sqlite3's cache (OpenSQLite sets _stmt_cache_size; a handle given to
// New should too) and pgx's statement cache. A transaction is begun and
// ended by statements (BEGIN IMMEDIATE or BEGIN DEFERRED on SQLite,
// whatever the handle's _txlock; BEGIN ISOLATION LEVEL ... on PostgreSQL),
// and always ended before the connection goes back to the pool.
//
// Only database/sql/driver interfaces are used, so this file needs no cgo
// (and works over drivers wrapping go-sqlite3 or pgx, like the tests' fault
// injector).

// rawConn is one driver connection for the length of a transaction.
type rawConn struct {
	ex   driver.ExecerContext
	qu   driver.QueryerContext
	text *[numStmts]string
	pg   bool // PostgreSQL: strings are stored encoded (pgEncode)
	// scratch for arguments and for one open result set at a time
	args  [16]driver.NamedValue
	rows  rawRows
	inUse bool
}

// errDriver: the connection cannot run statements directly (go-sqlite3's
// and pgx's can; so can wrappers that pass ExecContext and QueryContext
// through).
var errDriver = errors.New("sqlstore: the driver connection must implement driver.ExecerContext and driver.QueryerContext")

func newRawConn(dc any, d Dialect) (*rawConn, error) {
	ex, ok1 := dc.(driver.ExecerContext)
	qu, ok2 := dc.(driver.QueryerContext)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w (%T)", errDriver, dc)
	}
	c := &rawConn{ex: ex, qu: qu, text: &sqliteText}
	if d == PostgreSQL {
		c.text, c.pg = &postgresText, true
	}
	return c, nil
}

// named converts arguments into driver values (as database/sql would).
func (c *rawConn) named(args []any) ([]driver.NamedValue, error) {
	var nv []driver.NamedValue
	if len(args) <= len(c.args) {
		nv = c.args[:len(args)]
	} else {
		nv = make([]driver.NamedValue, len(args))
	}
	for i, a := range args {
		switch v := a.(type) {
		case string, int64, float64, bool, []byte, nil:
		case int:
			a = int64(v)
		default:
			return nil, fmt.Errorf("sqlstore: unsupported argument type %T", a)
		}
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv, nil
}

func skipped(err error) error {
	if err == driver.ErrSkip {
		return errDriver
	}
	return err
}

// exec runs statement id and returns the number of rows it changed.
//
// go-sqlite3 runs a statement in a new goroutine (to interrupt it) when
// its context can be canceled; these are short point writes, so on SQLite
// they get no context and the transaction checks its context between
// statements instead.
func (c *rawConn) exec(ctx context.Context, id stmtID, args []any) (int64, error) {
	nv, err := c.named(args)
	if err != nil {
		return 0, err
	}
	if !c.pg {
		ctx = context.Background()
	}
	res, err := c.ex.ExecContext(ctx, c.text[id], nv)
	if err != nil {
		return 0, skipped(err)
	}
	return res.RowsAffected()
}

// insert runs insert statement id (SQLite) and returns the number of rows
// it inserted and the row id of the last one (SQLite's last_insert_rowid:
// unlike RETURNING, it needs no temporary table).
func (c *rawConn) insert(id stmtID, args []any) (n, rowID int64, err error) {
	nv, err := c.named(args)
	if err != nil {
		return 0, 0, err
	}
	res, err := c.ex.ExecContext(context.Background(), c.text[id], nv)
	if err != nil {
		return 0, 0, skipped(err)
	}
	if n, err = res.RowsAffected(); err != nil || n == 0 {
		return n, 0, err
	}
	rowID, err = res.LastInsertId()
	return n, rowID, err
}

// control runs a transaction-control statement (qBeginWrite, qBeginRead,
// qCommit, qRollback). It is not interrupted by a context: a commit that
// the database carries out is reported as such. (On SQLite it runs as a
// query: go-sqlite3 keeps queries prepared, and the statement is carried
// out at the first step.)
func (c *rawConn) control(id stmtID) error {
	if c.pg {
		_, err := c.ex.ExecContext(context.Background(), c.text[id], nil)
		return skipped(err)
	}
	rows, err := c.qu.QueryContext(context.Background(), c.text[id], nil)
	if err != nil {
		return skipped(err)
	}
	return rows.Close()
}

// query runs statement id; the rows must be closed before the next query
// (else the next one allocates its own). A long query is interrupted when
// ctx ends.
func (c *rawConn) query(ctx context.Context, id stmtID, args []any) (*rawRows, error) {
	nv, err := c.named(args)
	if err != nil {
		return nil, err
	}
	rows, err := c.qu.QueryContext(ctx, c.text[id], nv)
	if err != nil {
		return nil, skipped(err)
	}
	r := &c.rows
	if c.inUse {
		r = new(rawRows)
	} else {
		c.inUse = true
	}
	*r = rawRows{c: c, rows: rows, vals: r.vals[:0]}
	return r, nil
}

// rawRows iterates a driver result set.
type rawRows struct {
	c    *rawConn
	rows driver.Rows
	vals []driver.Value
	err  error
	serr error
	done bool
}

func (r *rawRows) Next() bool {
	if r.done {
		return false
	}
	if len(r.vals) == 0 {
		n := len(r.rows.Columns())
		if cap(r.vals) < n {
			r.vals = make([]driver.Value, n)
		}
		r.vals = r.vals[:n]
	}
	if err := r.rows.Next(r.vals); err != nil {
		r.done = true
		if err != io.EOF {
			r.err = err
		}
		return false
	}
	return true
}

func (r *rawRows) Err() error { return r.err }

func (r *rawRows) Close() error {
	if r.rows == nil {
		return nil
	}
	err := r.rows.Close()
	r.rows = nil
	if r == &r.c.rows {
		r.c.inUse = false
	}
	return err
}

// text, int and real read column i of the current row (the hot paths'
// scanning, which allocates nothing); a value of another type is reported
// by scanErr.
func (r *rawRows) text(i int) string {
	switch v := r.vals[i].(type) {
	case string:
		if r.c.pg {
			return pgDecode(v)
		}
		return v
	case []byte:
		if r.c.pg {
			return pgDecode(string(v))
		}
		return string(v)
	}
	r.bad(i, "string")
	return ""
}

func (r *rawRows) int(i int) int64 {
	if v, ok := toInt(r.vals[i]); ok {
		return v
	}
	r.bad(i, "int64")
	return 0
}

func (r *rawRows) real(i int) float64 {
	if v, ok := toReal(r.vals[i]); ok {
		return v
	}
	r.bad(i, "float64")
	return 0
}

// toInt and toReal convert a driver value as assign does (without its
// interface argument, which made every call allocate).
func toInt(v driver.Value) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if float64(int64(v)) == v {
			return int64(v), true
		}
	}
	return 0, false
}

func toReal(v driver.Value) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	}
	return 0, false
}

func (r *rawRows) bad(i int, want string) {
	if r.serr == nil {
		r.serr = fmt.Errorf("sqlstore: column %d: cannot store %T in %s", i, r.vals[i], want)
	}
}

// scanErr returns (and forgets) the first error of text, int and real.
func (r *rawRows) scanErr() error {
	err := r.serr
	r.serr = nil
	return err
}

// Scan copies the current row into dest (pointers to string, int64,
// float64 or bool), as database/sql's Rows.Scan would for these types.
func (r *rawRows) Scan(dest ...any) error {
	if len(dest) != len(r.vals) {
		return fmt.Errorf("sqlstore: %d scan destinations for %d columns", len(dest), len(r.vals))
	}
	for i, d := range dest {
		if err := assign(d, r.vals[i]); err != nil {
			return fmt.Errorf("sqlstore: column %d: %w", i, err)
		}
		if p, ok := d.(*string); ok && r.c.pg {
			*p = pgDecode(*p)
		}
	}
	return nil
}

func assign(dest any, v driver.Value) error {
	switch d := dest.(type) {
	case *string:
		switch v := v.(type) {
		case string:
			*d = v
			return nil
		case []byte:
			*d = string(v)
			return nil
		}
	case *int64:
		if x, ok := toInt(v); ok {
			*d = x
			return nil
		}
	case *float64:
		if x, ok := toReal(v); ok {
			*d = x
			return nil
		}
	case *bool:
		if v, ok := v.(int64); ok {
			*d = v != 0
			return nil
		}
	}
	return fmt.Errorf("cannot store %T in %T", v, dest)
}
