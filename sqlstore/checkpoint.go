package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// In WAL mode SQLite appends every commit to the -wal file; a checkpoint
// copies the WAL's pages back into the database file and fsyncs both
// (with synchronous=NORMAL those are the only fsyncs). By default the
// connection whose commit takes the WAL past wal_autocheckpoint pages (1000)
// runs the checkpoint itself, inside its commit: with writes spread over
// many pages that was a third of a write's cost (the fsyncs of a few hundred
// pages, every hundred writes or so), paid by one unlucky write.
//
// A store opened by OpenSQLite therefore also runs checkpoints in the
// background, on a connection of its own: a PASSIVE checkpoint (which
// never blocks readers or writers, nor waits for them) after every
// checkpointEvery commits of the store, and within a second after writes
// stop. The writer keeps the automatic checkpoint, at
// sqliteConnSetup's 16000 pages, as the bound on the WAL's size: when it
// triggers, the background has already copied most pages, so the writer
// only finishes the remainder, and the next write starts the WAL again from
// its beginning (the file, up to about 16 MB, is reused, not grown).
// Durability is unchanged: commits are in the WAL either way, and
// checkpoints only make the database file catch up.

const sqliteCheckpoint = `PRAGMA wal_checkpoint(PASSIVE)`

// checkpointEvery: commits between background checkpoints (about 10,000
// WAL pages of 1 KiB for small writes such as claims). A hot page (a
// provider's usage, the end of an index) is written to the WAL by every
// commit but copied to the database once per checkpoint, so checkpoints
// far apart copy less: 1024 rather than 128 took about 4% off a claim's
// time on SQLite.
const checkpointEvery = 1024

type checkpointer struct {
	db      *sqlx.DB
	pending atomic.Int64 // commits since the last checkpoint began
	kick    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

// startCheckpointer runs checkpoints on db (one connection).
func startCheckpointer(db *sqlx.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	ctx := context.Background()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-idle.C:
			if c.pending.Load() == 0 {
				continue
			}
		}
		c.pending.Store(0)
		var busy, log, done int64
		// Errors are not fatal: the writer's automatic checkpoint still
		// bounds the WAL.
		_ = c.db.QueryRowContext(ctx, sqliteCheckpoint).Scan(&busy, &log, &done)
	}
}

// wrote tells the checkpointer that a write was committed.
func (c *checkpointer) wrote() {
	if c == nil {
		return
	}
	if c.pending.Add(1) == checkpointEvery {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// close stops the checkpointer (its handle is closed by the store).
func (c *checkpointer) close() {
	if c == nil {
		return
	}
	close(c.stop)
	c.wg.Wait()
}
