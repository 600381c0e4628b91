package placement

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Engine is the placement service: it validates, authorizes, checks capacity
// and generations, and runs every operation as one Store transaction. It is
// safe for concurrent use.
type Engine struct {
	store             Store
	allowAll          bool                                        // authz is AllowAll's: every action is allowed
	runUpdate         func(context.Context, func(Tx) error) error // store.Update, or UpdateTransient
	resReader         ProviderResourcesReader                     // the store's, or nil
	authz             Authorizer
	log               *slog.Logger
	events            func(context.Context, Event)
	allocationRetries int
	now               func() time.Time
	incompleteProject string
	incompleteUser    string
	maxCandidates     int
}

// Option configures an Engine.
type Option func(*Engine) error

// DefaultIncompleteConsumerID is the project and user recorded for consumers
// written without them (Placement before microversion 1.8), Placement's
// default for [placement]incomplete_consumer_{project,user}_id.
const DefaultIncompleteConsumerID = "00000000-0000-0000-0000-000000000000"

// New returns an Engine over store. By default it authorizes with
// DefaultPolicy (a context without an Identity is denied: use
// WithAuthorizer(AllowAll()) for trusted embedding), logs nothing, and
// retries allocation writes 10 times on provider generation conflicts.
func New(store Store, opts ...Option) (*Engine, error) {
	if store == nil {
		return nil, invalid("store", "", "must not be nil")
	}
	e := &Engine{
		store:             store,
		runUpdate:         store.Update,
		authz:             DefaultPolicy(),
		log:               slog.New(slog.DiscardHandler),
		allocationRetries: 10,
		now:               time.Now,
		incompleteProject: DefaultIncompleteConsumerID,
		incompleteUser:    DefaultIncompleteConsumerID,
		maxCandidates:     DefaultMaxCandidates,
	}
	if u, ok := store.(TransientTxUpdater); ok && UsesOptional(store, u) {
		e.runUpdate = u.UpdateTransient // the Engine's functions keep no Tx
	}
	if r, ok := store.(ProviderResourcesReader); ok && UsesOptional(store, r) {
		e.resReader = r
	}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	_, e.allowAll = e.authz.(allowAll)
	return e, nil
}

// WithAuthorizer sets the Authorizer asked before every operation.
func WithAuthorizer(a Authorizer) Option {
	return func(e *Engine) error {
		if a == nil {
			return invalid("authorizer", "", "must not be nil")
		}
		e.authz = a
		return nil
	}
}

// WithLogger sets the logger for conflicts, internal retries, over-capacity
// results and refused writes (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) error {
		if l == nil {
			return invalid("logger", "", "must not be nil")
		}
		e.log = l
		return nil
	}
}

// WithEventHook sets a function called synchronously for every Event, for
// metrics and alerts. It must be fast and must not call the Engine.
func WithEventHook(fn func(context.Context, Event)) Option {
	return func(e *Engine) error {
		e.events = fn
		return nil
	}
}

// WithAllocationRetries sets how many times an allocation write is attempted
// when a provider generation changes under it (Placement's
// allocation_conflict_retry_count; default 10, at least 1).
func WithAllocationRetries(n int) Option {
	return func(e *Engine) error {
		if n < 1 {
			return invalid("allocation retries", fmt.Sprint(n), "must be at least 1")
		}
		e.allocationRetries = n
		return nil
	}
}

// WithClock sets the source of the created/updated timestamps (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(e *Engine) error {
		if now == nil {
			return invalid("clock", "", "must not be nil")
		}
		e.now = now
		return nil
	}
}

// WithIncompleteConsumer sets the project and user recorded for allocation
// writes that give none (default DefaultIncompleteConsumerID for both).
func WithIncompleteConsumer(project, user string) Option {
	return func(e *Engine) error {
		if err := validateExternalID("project_id", project); err != nil {
			return err
		}
		if err := validateExternalID("user_id", user); err != nil {
			return err
		}
		e.incompleteProject, e.incompleteUser = project, user
		return nil
	}
}

// EventKind classifies an Event.
type EventKind uint8

const (
	// EventConflict: a write met a stale generation (Provider or Consumer set).
	EventConflict EventKind = iota + 1
	// EventRetry: an allocation write is retried after a provider conflict.
	EventRetry
	// EventRetriesExhausted: an allocation write gave up after its retries.
	EventRetriesExhausted
	// EventOverCapacity: an inventory write left usage above capacity.
	EventOverCapacity
	// EventRefused: an allocation write was refused (capacity, units, inventory).
	EventRefused
)

func (k EventKind) String() string {
	switch k {
	case EventConflict:
		return "conflict"
	case EventRetry:
		return "retry"
	case EventRetriesExhausted:
		return "retries exhausted"
	case EventOverCapacity:
		return "over capacity"
	case EventRefused:
		return "refused"
	}
	return "unknown"
}

// Event describes something an operator may want to count or alert on.
type Event struct {
	Kind     EventKind
	Provider string
	Consumer string
	Class    string
	// Expected and Actual are generations (conflicts), or for
	// EventOverCapacity the capacity and the usage.
	Expected int64
	Actual   int64
	Attempt  int
	Err      error
}

func (e *Engine) emit(ctx context.Context, ev Event) {
	attrs := []slog.Attr{slog.String("event", ev.Kind.String())}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("provider", ev.Provider)
	add("consumer", ev.Consumer)
	add("class", ev.Class)
	switch ev.Kind {
	case EventConflict:
		attrs = append(attrs, slog.Int64("expected", ev.Expected), slog.Int64("actual", ev.Actual))
	case EventOverCapacity:
		attrs = append(attrs, slog.Int64("capacity", ev.Expected), slog.Int64("used", ev.Actual))
	case EventRetry, EventRetriesExhausted:
		attrs = append(attrs, slog.Int("attempt", ev.Attempt))
	}
	if ev.Err != nil {
		attrs = append(attrs, slog.String("error", ev.Err.Error()))
	}
	level := slog.LevelInfo
	if ev.Kind == EventRetriesExhausted || ev.Kind == EventOverCapacity {
		level = slog.LevelWarn
	}
	e.log.LogAttrs(ctx, level, "placement "+ev.Kind.String(), attrs...)
	if e.events != nil {
		e.events(ctx, ev)
	}
}

// emitConflict reports a conflict error as an event (no-op for other errors).
func (e *Engine) emitConflict(ctx context.Context, err error) {
	var ce *ConflictError
	if !errors.As(err, &ce) {
		return
	}
	ev := Event{Kind: EventConflict, Actual: ce.Actual, Err: err}
	ev.Expected, _ = ce.Expected.Generation()
	if ce.Kind == ProviderGeneration {
		ev.Provider = ce.UUID
	} else {
		ev.Consumer = ce.UUID
	}
	e.emit(ctx, ev)
}

// view authorizes action and runs fn in a read transaction.
func (e *Engine) view(ctx context.Context, action Action, target Target, fn func(ReadTx) error) error {
	if err := e.Authorize(ctx, action, target); err != nil {
		return err
	}
	return e.store.View(ctx, fn)
}

// update authorizes action and runs fn in a write transaction.
func (e *Engine) update(ctx context.Context, action Action, fn func(Tx) error) error {
	if err := e.Authorize(ctx, action, Target{}); err != nil {
		return err
	}
	return e.write(ctx, fn)
}

// write runs fn in a write transaction (the caller has authorized it),
// reporting generation conflicts as events.
func (e *Engine) write(ctx context.Context, fn func(Tx) error) error {
	err := e.runUpdate(ctx, fn)
	if err != nil {
		e.emitConflict(ctx, err)
	}
	return err
}

// timestamp returns the clock's time in UTC, truncated to microseconds (what
// every backend can store).
func (e *Engine) timestamp() time.Time {
	t := e.now()
	// t.UTC().Truncate(time.Microsecond), the same value built directly:
	// a microsecond divides a second, so truncating drops the nanoseconds
	// below it, and a time made by Unix has no monotonic reading.
	return time.Unix(t.Unix(), int64(t.Nanosecond()/1000*1000)).UTC()
}

// NewUUID returns a random (version 4) UUID in canonical form.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b[:])
}

func formatUUID(b []byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
	return string(s[:])
}

// CanonicalUUID returns s in canonical form (lowercase, dashed) if it is
// "uuid-like" exactly as Placement (oslo's is_uuid_like) accepts it: after
// removing every "urn:" and "uuid:", the braces around it and all dashes,
// 32 hexadecimal digits in any case.
func CanonicalUUID(s string) (string, bool) {
	if IsCanonicalUUID(s) {
		return s, true
	}
	t := strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	t = strings.ReplaceAll(strings.Trim(t, "{}"), "-", "")
	if len(t) != 32 {
		return "", false
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		return "", false
	}
	return formatUUID(b), true
}

// IsCanonicalUUID reports whether s is a UUID in canonical form
// (lowercase hexadecimal, dashed 8-4-4-4-12).
func IsCanonicalUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	// Eight bytes at a time, the dashes (checked above) turned into '0'.
	const dash = '-' ^ '0'
	return lowerHex8(le64(s, 0)) &&
		lowerHex8(le64(s, 8)^(dash|dash<<40)) &&
		lowerHex8(le64(s, 16)^(dash<<16|dash<<56)) &&
		lowerHex8(le64(s, 24)) && lowerHex8(le64(s, 28))
}

// le64 returns the 8 bytes of s at i as a little-endian word.
func le64(s string, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// lowerHex8 reports whether every byte of x is 0-9 or a-f.
func lowerHex8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	if x&hi != 0 {
		return false
	}
	// With each byte's top bit set, subtracting k < 0x80 from every byte
	// borrows from none, and leaves the top bit set where the byte is >= k.
	y := x | hi
	ge := func(k uint64) uint64 { return (y - k*lo) & hi }
	return (ge('0')&^ge('9'+1))|(ge('a')&^ge('f'+1)) == hi
}

func validateExternalID(field, v string) error {
	if v == "" || len(v) > 255 {
		return invalid(field, v, "must be 1 to 255 characters")
	}
	return nil
}
