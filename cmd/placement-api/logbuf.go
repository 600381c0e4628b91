package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// The access log writes a record per request. Written one by one, each is
// a write system call, which costs more than formatting the record; so
// records are gathered and written together: when logBufferSize bytes are
// waiting, at most logFlushDelay after a record, at once for warnings and
// errors, and at shutdown.
const (
	logBufferSize = 32 << 10
	logFlushDelay = 100 * time.Millisecond
)

type logBuffer struct {
	mu      sync.Mutex
	out     io.Writer
	buf     []byte
	timer   *time.Timer
	pending bool // the timer is set
	closed  bool
}

func newLogBuffer(out io.Writer) *logBuffer {
	b := &logBuffer{out: out, buf: make([]byte, 0, logBufferSize)}
	b.timer = time.AfterFunc(time.Hour, b.Flush)
	b.timer.Stop()
	return b
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.out.Write(p)
	}
	if len(b.buf)+len(p) > logBufferSize {
		b.flushLocked()
		if len(p) > logBufferSize {
			return b.out.Write(p)
		}
	}
	b.buf = append(b.buf, p...)
	if !b.pending {
		b.pending = true
		b.timer.Reset(logFlushDelay)
	}
	return len(p), nil
}

// Flush writes what is waiting.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
}

func (b *logBuffer) flushLocked() {
	if b.pending {
		b.timer.Stop()
		b.pending = false
	}
	if len(b.buf) > 0 {
		_, _ = b.out.Write(b.buf) // as slog's handlers, nothing to do on failure
		b.buf = b.buf[:0]
	}
}

// Close flushes and makes later writes go straight through.
func (b *logBuffer) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushLocked()
	b.closed = true
}

// flushHandler flushes the buffer after each record at warning level or
// above, so that problems show at once.
type flushHandler struct {
	slog.Handler
	b *logBuffer
}

func (h flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.b.Flush()
	}
	return err
}

func (h flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushHandler{h.Handler.WithAttrs(attrs), h.b}
}

func (h flushHandler) WithGroup(name string) slog.Handler {
	return flushHandler{h.Handler.WithGroup(name), h.b}
}
