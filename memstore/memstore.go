// Package memstore is the in-memory placement.Store: every provider,
// inventory, trait and aggregate link, consumer and allocation lives in Go
// maps inside one process, with the indexes the Engine's hot paths need.
//
// # Concurrency model
//
// One sync.RWMutex guards the whole store. View takes the read lock, so reads
// run in parallel and each sees one consistent state; Update takes the write
// lock, so writes are serialised with respect to each other and to reads.
// Every operation is therefore linearizable: it takes effect at one instant
// between its call and its return.
//
// An Update applies its writes directly to the live maps and records, for
// each write, how to undo it. If fn returns an error, panics, or the context
// is done by the time fn returns, the undo log is replayed backwards before
// the lock is released, so no reader ever sees any of those writes (a panic
// is re-raised after the rollback). Otherwise the log is simply dropped: a
// commit costs nothing.
//
// A transaction is bound to the context given to View or Update: once that
// context is done its methods return the context's error, and once View or
// Update has returned they return ErrTxClosed. A View's transaction may be
// read from several goroutines at once, an Update's used by only one at a
// time; fn must not call View, Update, Snapshot or Restore on the same store
// (the mutex is not reentrant).
//
// Values passed in are copied before they are stored, and values returned
// are fresh copies: neither side can change the other's state through a
// slice. The one exception is the allocation candidates pushdown
// (placement.CandidateReader, which both transactions implement): in a View,
// Trees and ProvidersWithCapacity return the store's own TreeProviders and
// inventory slices, as that interface allows (the read lock keeps them
// unchanged until View returns; the caller must not modify them). An
// Update's transaction returns copies there too.
//
// The store is not durable: its state is lost with the process. Snapshot and
// Restore copy the whole state, for test harnesses.
//
// # Indexes
//
// Each provider is one object holding its record, its inventories with
// their usage (a slice sorted by class, so Resources is one copy), its traits
// and aggregates and the consumers holding allocations on it. Maps index
// providers by uuid, name, parent, root, trait, aggregate and inventory
// class; consumers by uuid and project; allocations by consumer (each
// pointing at its provider). ReplaceAllocations adjusts the usage of the
// classes it touches by the difference, so usage is never recounted on a
// read (RecountedUsages recounts it, for audits). Providers starts from the
// smallest index its query allows. For the candidates pushdown, the
// providers without a parent are also kept in a list sorted by uuid (in
// chunks, so that an insert or delete moves at most a few hundred entries),
// each provider mirrors its data in a placement.TreeProvider, and each
// counts the providers whose root it is.
//
// # Integrity
//
// Like a SQL backend's constraints, the store refuses writes that would leave
// dangling references, though the Engine never asks for them: a parent that
// does not exist (*placement.NotFoundError), deleting a provider that has
// children or allocations (*placement.InUseError), allocations on an unknown
// provider (*placement.NotFoundError), and allocation records naming another
// consumer, with an amount below 1, or twice for one provider and class (a
// plain error). Every write checks before it changes anything, so a write
// that fails changes nothing even if fn goes on and commits.
//
// Empty lists are returned as nil.
package memstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/goplacement/placement"
)

// ErrTxClosed is returned by the methods of a transaction used after the
// View or Update that created it has returned.
var ErrTxClosed = errors.New("memstore: transaction closed")

// Store is an in-memory placement.Store. The zero value is not usable: call
// New.
type Store struct {
	mu sync.RWMutex
	st *state
	// The running Update's undo log (guarded by mu held for writing), and
	// the consumer records it refers to (kept aside to keep entries small).
	log     []undoEntry
	consLog []placement.Consumer
}

var _ placement.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{st: newState()}
}

// View runs fn in a read-only transaction under the read lock: fn sees one
// consistent state, and other Views run concurrently. fn's error is
// returned unchanged.
func (s *Store) View(ctx context.Context, fn func(placement.ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	tx := &readTx{st: s.st, ctx: ctx, done: ctx.Done()}
	defer tx.closed.Store(true)
	return fn(tx)
}

// Update runs fn in a read-write transaction under the write lock. When fn
// returns nil and ctx is not done, its writes stay; otherwise (fn returned an
// error or panicked, or ctx is done) every write is undone before the lock is
// released. fn's error is returned unchanged; when only ctx ended, ctx.Err()
// is returned. fn is run exactly once.
func (s *Store) Update(ctx context.Context, fn func(placement.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &writeTx{readTx: readTx{st: s.st, ctx: ctx, done: ctx.Done()}, s: s}
	committed := false
	defer func() {
		tx.closed.Store(true)
		if !committed {
			s.rollback()
		}
		s.resetLog()
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	committed = true
	return nil
}

// readTx is the transaction handed to View (and embedded in writeTx).
type readTx struct {
	st     *state
	ctx    context.Context
	done   <-chan struct{}
	closed atomic.Bool
}

// check returns ErrTxClosed after the transaction ended and the context's
// error once it is done.
func (t *readTx) check() error {
	if t.closed.Load() {
		return ErrTxClosed
	}
	select {
	case <-t.done:
		return t.ctx.Err()
	default:
		return nil
	}
}

// writeTx is the transaction handed to Update.
type writeTx struct {
	readTx
	s *Store
}

var (
	_ placement.ReadTx = (*readTx)(nil)
	_ placement.Tx     = (*writeTx)(nil)
)

// undoKind tells how to undo one write. The writes of a claim have their own
// kinds, so that logging them allocates nothing; rarer writes log a closure.
type undoKind uint8

const (
	undoFunc           undoKind = iota // call fn
	undoGeneration                     // p.rec.Generation = n
	undoCreateConsumer                 // remove consumer s
	undoConsumer                       // store consumer record consLog[n] again
	undoAllocations                    // set consumer s's allocations back to allocs
)

type undoEntry struct {
	kind   undoKind
	p      *provider
	n      int64
	s      string
	allocs []allocation
	fn     func()
}

func (s *Store) push(e undoEntry) { s.log = append(s.log, e) }

func (s *Store) pushConsumer(c placement.Consumer) {
	s.log = append(s.log, undoEntry{kind: undoConsumer, n: int64(len(s.consLog))})
	s.consLog = append(s.consLog, c)
}

func (s *Store) pushFunc(fn func()) { s.log = append(s.log, undoEntry{kind: undoFunc, fn: fn}) }

// rollback undoes the logged writes, newest first.
func (s *Store) rollback() {
	st := s.st
	for i := len(s.log) - 1; i >= 0; i-- {
		e := &s.log[i]
		switch e.kind {
		case undoFunc:
			e.fn()
		case undoGeneration:
			e.p.rec.Generation = e.n
		case undoCreateConsumer:
			st.removeConsumer(e.s)
		case undoConsumer:
			st.putConsumer(s.consLog[e.n])
		case undoAllocations:
			st.setAllocations(e.s, e.allocs)
		}
	}
}

// resetLog empties the undo log, dropping its references, and keeps its
// array for the next Update unless it grew large.
func (s *Store) resetLog() {
	if cap(s.log) > 4096 {
		s.log = nil
	} else {
		clear(s.log)
		s.log = s.log[:0]
	}
	if cap(s.consLog) > 1024 {
		s.consLog = nil
	} else {
		clear(s.consLog)
		s.consLog = s.consLog[:0]
	}
}
