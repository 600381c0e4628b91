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
// UpdateTransient (placement.TransientTxUpdater, which the Engine uses for
// its own writes) is Update for an fn that keeps nothing of its transaction:
// it hands every such fn the store's own transaction value instead of a new
// one. ProviderResources (placement.ProviderResourcesReader) reads one
// provider with its resources under the read lock, without a transaction.
//
// Values passed in are copied before they are stored, and values returned
// are fresh copies: neither side can change the other's state through a
// slice. The exceptions are two reads whose interfaces allow aliasing. The
// allocation candidates pushdown (placement.CandidateReader, which both
// transactions implement): in a View, Trees and ProvidersWithCapacity return
// the store's own TreeProviders and inventory slices (the read lock keeps
// them unchanged until View returns; the caller must not modify them); an
// Update's transaction returns copies there. And
// placement.FastReader.ProviderResourcesView returns the provider's own
// inventory slice, valid until the transaction's next write.
//
// The store is not durable: its state is lost with the process. Snapshot and
// Restore copy the whole state, for test harnesses.
//
// # Indexes
//
// Each provider is one object holding its record, its inventories with
// their usage (a slice sorted by class, so Resources is one copy), its traits
// and aggregates and the consumers holding allocations on it. Each consumer
// uuid with a record or allocations has one entry object holding both (its
// allocations sorted by provider and class, each pointing at its provider).
// Open-addressing tables, which keep each uuid's hash next to its object,
// index providers and consumer entries by uuid; maps index providers by
// name, parent, root, trait, aggregate and inventory class; each project
// lists its consumers. Providers and projects list their
// consumers in no order, each consumer knowing its index in the list, so a
// consumer joins or leaves one in constant time without hashing.
// ReplaceAllocations adjusts the usage of the classes it touches by the
// difference, so usage is never recounted on a read (RecountedUsages
// recounts it, for audits). A claim's data is laid out for few cache misses:
// a provider's first inventories and holders live in the provider object, a
// consumer's first allocations in its entry, dropped entries are reused, and
// an Update remembers the provider and consumer it found last (and the
// consumer it found missing). Providers starts from the smallest index its
// query allows. For the candidates pushdown, the providers without a parent
// are also kept in a list sorted by uuid (in chunks, so that an insert or
// delete moves at most a few hundred entries), each provider mirrors its
// data in a placement.TreeProvider, and each counts the providers whose root
// it is.
//
// The indexes keep few pointers per provider, since the garbage collector
// marks every one of them at each cycle (and a process that builds large
// answers runs many cycles): an index entry is a set of provider objects,
// not a map from uuid, and a root is not in its own tree's set, so a tree of
// one provider has none. A compute node with three inventories, a trait and
// an aggregate takes about 1.1 KB of heap (BenchmarkStoreGC in the
// placement package reports it, with the time of a full collection).
//
// # Layout
//
// The root providers are laid out in memory in uuid order, the order in
// which allocation candidates reads them: once about 1/8 of a chunk of the
// root list has changed (roots created, deleted or given a parent), the
// Update that commits moves the chunk's providers into one new array, in
// order. A query over every root then streams through memory instead of
// waiting for it at each provider, and the garbage collector marks the
// store faster. Moving is invisible to readers (it happens under the write
// lock, and every index follows); its cost falls on bulk loads: a root
// created is moved a few times on average while its chunk fills up
// (BenchmarkStoreBuild in the placement package reports the cost per
// provider). An array is freed when none of its providers is left in it;
// deletions count as changes, so a chunk is laid out again before they
// waste more than about 1/8 of it.
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
	// The running Update's undo log (guarded by mu held for writing), the
	// consumer records and allocations it refers to (kept aside to keep
	// entries small and to reuse their arrays), and ReplaceAllocations'
	// scratch buffer.
	log      []undoEntry
	consLog  []placement.Consumer
	allocLog []allocation
	scratch  []allocation
	// txSlab holds the transactions not handed out yet (guarded by mu held
	// for writing): each Update takes a fresh one, so that a transaction
	// used after its Update keeps failing with ErrTxClosed, but they are
	// allocated txSlabSize at a time.
	txSlab []writeTx
	// ownTx is the transaction of every UpdateTransient.
	ownTx writeTx
	// The running Update's lookup cache (see writeTx.lookupProvider): the
	// provider and consumer entry found last, and the consumer uuid last
	// found missing (when missed).
	lastP  *provider
	lastC  *consumerEntry
	missC  string
	missed bool
}

const txSlabSize = 32

// newTx returns a fresh write transaction bound to ctx.
func (s *Store) newTx(ctx context.Context) *writeTx {
	if len(s.txSlab) == 0 {
		s.txSlab = make([]writeTx, txSlabSize)
	}
	tx := &s.txSlab[0]
	s.txSlab = s.txSlab[1:]
	tx.st, tx.ctx, tx.done, tx.s = s.st, ctx, ctx.Done(), s
	return tx
}

var (
	_ placement.Store                   = (*Store)(nil)
	_ placement.ProviderResourcesReader = (*Store)(nil)
	_ placement.TransientTxUpdater      = (*Store)(nil)
)

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

// ProviderResources returns the provider with this uuid and a copy of its
// inventories with their usage, sorted by class, under the read lock: what
// a View reading Provider then Resources returns, without its transaction
// (placement.ProviderResourcesReader). An unknown provider is a
// *placement.NotFoundError.
func (s *Store) ProviderResources(ctx context.Context, uuid string) (placement.ResourceProvider, []placement.ProviderResource, error) {
	if err := ctx.Err(); err != nil {
		return placement.ResourceProvider{}, nil, err
	}
	s.mu.RLock()
	p := s.st.provider(uuid)
	if p == nil {
		s.mu.RUnlock()
		return placement.ResourceProvider{}, nil, providerNotFound(uuid)
	}
	rec := p.rec
	var res []placement.ProviderResource
	if len(p.res) > 0 {
		res = make([]placement.ProviderResource, len(p.res))
		copy(res, p.res)
	}
	s.mu.RUnlock()
	return rec, res, nil
}

// Update runs fn in a read-write transaction under the write lock. When fn
// returns nil and ctx is not done, its writes stay; otherwise (fn returned an
// error or panicked, or ctx is done) every write is undone before the lock is
// released. fn's error is returned unchanged; when only ctx ended, ctx.Err()
// is returned. fn is run exactly once.
func (s *Store) Update(ctx context.Context, fn func(placement.Tx) error) error {
	return s.update(ctx, fn, false)
}

// Self returns s (placement.ProviderResourcesReader, TransientTxUpdater).
func (s *Store) Self() placement.Store { return s }

// UpdateTransient is Update for an fn that neither uses nor keeps its
// transaction once it returns (placement.TransientTxUpdater): every
// UpdateTransient hands fn the same transaction value, the store's own, so
// none is made. (A transaction kept anyway fails with ErrTxClosed between
// transactions, but works again during a later UpdateTransient.)
func (s *Store) UpdateTransient(ctx context.Context, fn func(placement.Tx) error) error {
	return s.update(ctx, fn, true)
}

// update is Update, with the store's own transaction when reuse is true.
func (s *Store) update(ctx context.Context, fn func(placement.Tx) error, reuse bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var tx *writeTx
	if reuse {
		tx = &s.ownTx
		tx.st, tx.ctx, tx.done, tx.s = s.st, ctx, ctx.Done(), s
		tx.closed.Store(false)
	} else {
		tx = s.newTx(ctx)
	}
	committed := false
	defer func() {
		tx.closed.Store(true)
		s.lastP, s.lastC, s.missC, s.missed = nil, nil, "", false
		if !committed {
			s.rollback()
		}
		s.resetLog()
		if committed {
			s.st.cluster()
		}
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
	if t.done == nil { // a context that is never done
		return nil
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
	_ placement.ReadTx     = (*readTx)(nil)
	_ placement.Tx         = (*writeTx)(nil)
	_ placement.FastReader = (*readTx)(nil)
	_ placement.FastReader = (*writeTx)(nil)
)

// undoKind tells how to undo one write. The writes of a claim have their own
// kinds, so that logging them allocates nothing; rarer writes log a closure.
type undoKind uint8

const (
	undoFunc           undoKind = iota // call fn
	undoGeneration                     // p.rec.Generation = n
	undoCreateConsumer                 // remove consumer s
	undoConsumer                       // store consumer record consLog[n] again
	undoAllocations                    // set consumer s's allocations back to allocs (in allocLog)
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

// pushAllocations logs a consumer's allocations, copied (the entry's array
// is reused by the write that follows).
func (s *Store) pushAllocations(consumer string, old []allocation) {
	start := len(s.allocLog)
	s.allocLog = append(s.allocLog, old...)
	// Should a later append move allocLog, this slice keeps the array it
	// was copied into, which nothing writes again.
	s.log = append(s.log, undoEntry{kind: undoAllocations, s: consumer, allocs: s.allocLog[start:len(s.allocLog):len(s.allocLog)]})
}

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
			st.removeRecord(st.consumers.get(e.s))
		case undoConsumer:
			st.putConsumer(s.consLog[e.n])
		case undoAllocations:
			if len(e.allocs) > 0 {
				st.setAllocations(st.entry(e.s), e.allocs)
			} else if c := st.consumers.get(e.s); c != nil {
				st.setAllocations(c, nil)
			}
		}
	}
}

// resetLog empties the undo log, dropping its references, and keeps its
// array for the next Update unless it grew large.
func (s *Store) resetLog() {
	s.log = emptied(s.log, 4096)
	s.consLog = emptied(s.consLog, 1024)
	s.allocLog = emptied(s.allocLog, 4096)
	if cap(s.scratch) > 1024 {
		s.scratch = nil
	} else {
		clear(s.scratch[:cap(s.scratch)])
	}
}

// emptied returns log emptied of its references: its array, unless its
// capacity grew past max.
func emptied[T any](log []T, max int) []T {
	if cap(log) > max {
		return nil
	}
	clear(log)
	return log[:0]
}
