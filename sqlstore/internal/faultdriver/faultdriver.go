// Package faultdriver wraps a database/sql driver so that tests can make
// the Nth statement (or begin, or commit) fail.
package faultdriver

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// ErrInjected is the error an injected fault returns.
var ErrInjected = errors.New("faultdriver: injected fault")

// Faults counts the operations of every connection of a wrapped driver and
// fails the one numbered At (1-based; 0 disables).
type Faults struct {
	count atomic.Int64
	at    atomic.Int64
}

// Arm makes the nth operation from now fail (n >= 1).
func (f *Faults) Arm(n int64) { f.count.Store(0); f.at.Store(n) }

// Disarm stops injecting faults.
func (f *Faults) Disarm() { f.at.Store(0) }

// Count returns the operations counted since the last Arm.
func (f *Faults) Count() int64 { return f.count.Load() }

func (f *Faults) tick() error {
	n := f.count.Add(1)
	if at := f.at.Load(); at > 0 && n == at {
		return ErrInjected
	}
	return nil
}

// Driver wraps Inner (whose connections must support contexts).
type Driver struct {
	Inner  driver.Driver
	Faults *Faults
}

// Open opens a wrapped connection.
func (d Driver) Open(name string) (driver.Conn, error) {
	c, err := d.Inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, f: d.Faults}, nil
}

type conn struct {
	c driver.Conn
	f *Faults
}

func (c *conn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *conn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	var s driver.Stmt
	var err error
	if p, ok := c.c.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, q)
	} else {
		s, err = c.c.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{s: s, f: c.f}, nil
}

func (c *conn) Close() error { return c.c.Close() }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.f.tick(); err != nil {
		return nil, err
	}
	tx, err := c.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &txw{tx: tx, f: c.f}, nil
}

func (c *conn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.c.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.f.tick(); err != nil {
		return nil, err
	}
	return e.ExecContext(ctx, q, args)
}

func (c *conn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.c.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	if err := c.f.tick(); err != nil {
		return nil, err
	}
	return qc.QueryContext(ctx, q, args)
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

type stmt struct {
	s driver.Stmt
	f *Faults
}

func (s *stmt) Close() error  { return s.s.Close() }
func (s *stmt) NumInput() int { return s.s.NumInput() }

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return nil, errors.New("faultdriver: Exec without context")
}

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return nil, errors.New("faultdriver: Query without context")
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.f.tick(); err != nil {
		return nil, err
	}
	return s.s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.f.tick(); err != nil {
		return nil, err
	}
	return s.s.(driver.StmtQueryContext).QueryContext(ctx, args)
}

type txw struct {
	tx driver.Tx
	f  *Faults
}

// Commit fails (after rolling back) when its turn is the injected one.
func (t *txw) Commit() error {
	if err := t.f.tick(); err != nil {
		_ = t.tx.Rollback()
		return err
	}
	return t.tx.Commit()
}

func (t *txw) Rollback() error { return t.tx.Rollback() }
