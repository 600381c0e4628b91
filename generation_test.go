package placement

// Internal tests: GenerationCheck's unexported validate/checkProvider/
// checkConsumer, and Retry's backoff through an injected sleep.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// genTestCmp compares ConflictErrors: GenerationCheck's fields are compared,
// ConflictError's own unexported bookkeeping is not.
var genTestCmp = cmp.Options{cmp.AllowUnexported(GenerationCheck{}), cmpopts.IgnoreUnexported(ConflictError{})}

// errGenTestOther is an error Retry must not retry by default.
var errGenTestOther = errors.New("some other failure")

func genTestConflict(n int) error {
	return &ConflictError{Kind: ProviderGeneration, UUID: fmt.Sprintf("rp-%d", n), Expected: ExpectGeneration(int64(n)), Actual: int64(n + 1), Exists: true}
}

// genTestSleeps records Retry's waits instead of sleeping.
func genTestSleeps(waits *[]time.Duration) RetryOption {
	return func(c *retryConfig) {
		c.sleep = func(ctx context.Context, d time.Duration) error {
			*waits = append(*waits, d)
			return ctx.Err()
		}
	}
}

func TestRetryStopsOnSuccess(t *testing.T) {
	calls := 0
	err := Retry(context.Background(), func(context.Context) error { calls++; return nil })
	if err != nil || calls != 1 {
		t.Fatalf("Retry = %v after %d calls, want nil after 1", err, calls)
	}
}

func TestRetryRetriesConflictsUntilSuccess(t *testing.T) {
	calls := 0
	err := Retry(context.Background(), func(context.Context) error {
		calls++
		if calls < 3 {
			return genTestConflict(calls)
		}
		return nil
	}, RetryBackoff(0, 0))
	if err != nil || calls != 3 {
		t.Fatalf("Retry = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestRetryDoesNotRetryOtherErrors(t *testing.T) {
	for _, e := range []error{errGenTestOther, ErrNotFound, ErrCapacityExceeded, &CapacityError{Problems: []Problem{{Reason: ReasonCapacity}}},
		context.Canceled, fmt.Errorf("wrapped: %w", ErrInvalid)} {
		calls := 0
		err := Retry(context.Background(), func(context.Context) error { calls++; return e }, RetryBackoff(0, 0))
		if err != e || calls != 1 {
			t.Errorf("Retry(%v) = %v after %d calls, want the same error after 1", e, err, calls)
		}
	}
}

func TestRetryWrappedConflict(t *testing.T) {
	var last error
	calls := 0
	err := Retry(context.Background(), func(context.Context) error {
		calls++
		last = fmt.Errorf("attempt %d: %w", calls, fmt.Errorf("write: %w", genTestConflict(calls)))
		return last
	}, RetryAttempts(3), RetryBackoff(0, 0))
	if calls != 3 {
		t.Fatalf("fn ran %d times, want 3 (wrapped conflicts are retried)", calls)
	}
	if err != last {
		t.Fatalf("Retry = %v, want the last error unchanged (%v)", err, last)
	}
	if !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("errors.Is(%v, ErrConcurrentUpdate) = false", err)
	}
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("errors.As(%v, *ConflictError) = false", err)
	}
	want := &ConflictError{Kind: ProviderGeneration, UUID: "rp-3", Expected: ExpectGeneration(3), Actual: 4, Exists: true}
	if diff := cmp.Diff(want, ce, genTestCmp); diff != "" {
		t.Errorf("ConflictError mismatch (-want +got):\n%s", diff)
	}
}

func TestRetryAttempts(t *testing.T) {
	tests := []struct {
		opts []RetryOption
		want int
	}{
		{nil, 5},
		{[]RetryOption{RetryAttempts(1)}, 1},
		{[]RetryOption{RetryAttempts(3)}, 3},
		{[]RetryOption{RetryAttempts(0)}, 1},
		{[]RetryOption{RetryAttempts(-7)}, 1},
		{[]RetryOption{RetryAttempts(12)}, 12},
		{[]RetryOption{RetryAttempts(2), RetryAttempts(4)}, 4}, // the last option wins
	}
	for _, tc := range tests {
		calls := 0
		var errs []error
		opts := append([]RetryOption{RetryBackoff(0, 0)}, tc.opts...)
		err := Retry(context.Background(), func(context.Context) error {
			calls++
			e := genTestConflict(calls)
			errs = append(errs, e)
			return e
		}, opts...)
		if calls != tc.want {
			t.Errorf("fn ran %d times, want %d", calls, tc.want)
		}
		if len(errs) == 0 || err != errs[len(errs)-1] {
			t.Errorf("Retry = %v, want the last attempt's error", err)
		}
	}
}

func TestRetryContextDoneBeforeFirstCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := Retry(ctx, func(context.Context) error { calls++; return nil })
	if calls != 0 || !errors.Is(err, context.Canceled) || err != ctx.Err() {
		t.Fatalf("Retry on a cancelled context = %v after %d calls, want ctx.Err() and no call", err, calls)
	}

	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	v, err := RetryValue(dctx, func(context.Context) (int, error) { calls++; return 7, nil })
	if calls != 0 || v != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RetryValue past the deadline = %d, %v after %d calls", v, err, calls)
	}
}

func TestRetryCancelDuringBackoff(t *testing.T) {
	// fn cancels the context and fails with a conflict: the backoff wait
	// (an hour) must end at once and Retry return fn's error, not ctx's.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	var last error
	start := time.Now()
	err := Retry(ctx, func(context.Context) error {
		calls++
		cancel()
		last = genTestConflict(calls)
		return last
	}, RetryBackoff(time.Hour, time.Hour))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Retry took %v after cancel", d)
	}
	if calls != 1 || err != last {
		t.Fatalf("Retry = %v after %d calls, want fn's conflict after 1", err, calls)
	}
	var ce *ConflictError
	if !errors.As(err, &ce) || errors.Is(err, context.Canceled) {
		t.Fatalf("Retry = %v, want the *ConflictError, not the context's error", err)
	}
}

func TestRetryTimeoutDuringBackoff(t *testing.T) {
	// The context ends (timer) while Retry waits between attempts.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	calls := 0
	start := time.Now()
	err := Retry(ctx, func(context.Context) error { calls++; return genTestConflict(calls) },
		RetryAttempts(1000), RetryBackoff(time.Hour, time.Hour))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Retry took %v, want about 30ms", d)
	}
	if calls != 1 || !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("Retry = %v after %d calls, want the conflict after 1", err, calls)
	}
}

func TestRetryNoBackoffStopsOnCancel(t *testing.T) {
	// RetryBackoff(0, 0) does not wait, but still stops when ctx is done.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	var last error
	err := Retry(ctx, func(context.Context) error {
		calls++
		if calls == 2 {
			cancel()
		}
		last = genTestConflict(calls)
		return last
	}, RetryAttempts(100), RetryBackoff(0, 0))
	if calls != 2 || err != last {
		t.Fatalf("Retry = %v after %d calls, want the 2nd conflict", err, calls)
	}
}

func TestRetryBackoffZeroDoesNotWait(t *testing.T) {
	var waits []time.Duration
	calls := 0
	start := time.Now()
	err := Retry(context.Background(), func(context.Context) error { calls++; return genTestConflict(calls) },
		RetryAttempts(50), RetryBackoff(0, 0), genTestSleeps(&waits))
	if calls != 50 || !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("Retry = %v after %d calls", err, calls)
	}
	if len(waits) != 0 {
		t.Fatalf("RetryBackoff(0, 0) waited %v", waits)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("50 attempts without backoff took %v", d)
	}
}

func TestRetryBackoffSchedule(t *testing.T) {
	var waits []time.Duration
	calls := 0
	_ = Retry(context.Background(), func(context.Context) error { calls++; return genTestConflict(calls) },
		RetryAttempts(7), RetryBackoff(8*time.Millisecond, 40*time.Millisecond), genTestSleeps(&waits))
	// 7 attempts, 6 waits; the delay doubles from 8ms, capped at 40ms, and
	// each wait is jittered within [delay/2, delay].
	delays := []time.Duration{8, 16, 32, 40, 40, 40}
	if len(waits) != len(delays) {
		t.Fatalf("waits %v, want %d of them", waits, len(delays))
	}
	for i, w := range waits {
		d := delays[i] * time.Millisecond
		if w < d/2 || w > d {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w, d/2, d)
		}
	}
}

func TestRetryDefaultBackoffIsShort(t *testing.T) {
	// Defaults: 5 attempts, 1ms first delay capped at 100ms: at most
	// 1+2+4+8 = 15ms of waiting in total.
	var waits []time.Duration
	_ = Retry(context.Background(), func(context.Context) error { return genTestConflict(0) }, genTestSleeps(&waits))
	var total time.Duration
	for _, w := range waits {
		total += w
	}
	if len(waits) != 4 || total > 15*time.Millisecond {
		t.Fatalf("default waits %v (total %v), want 4 waits of at most 15ms in all", waits, total)
	}
}

func TestRetryIf(t *testing.T) {
	errFlaky := errors.New("flaky")
	calls := 0
	err := Retry(context.Background(), func(context.Context) error {
		calls++
		if calls < 4 {
			return fmt.Errorf("try %d: %w", calls, errFlaky)
		}
		return nil
	}, RetryIf(func(err error) bool { return errors.Is(err, errFlaky) }), RetryBackoff(0, 0))
	if err != nil || calls != 4 {
		t.Fatalf("Retry with RetryIf = %v after %d calls, want nil after 4", err, calls)
	}

	// A custom predicate replaces the default: conflicts are no longer retried.
	calls = 0
	err = Retry(context.Background(), func(context.Context) error { calls++; return genTestConflict(calls) },
		RetryIf(func(err error) bool { return errors.Is(err, errFlaky) }), RetryBackoff(0, 0))
	if calls != 1 || !errors.Is(err, ErrConcurrentUpdate) {
		t.Fatalf("Retry = %v after %d calls, want the conflict after 1", err, calls)
	}

	// The predicate sees fn's error itself.
	var seen []error
	e := errors.New("x")
	_ = Retry(context.Background(), func(context.Context) error { return e },
		RetryIf(func(err error) bool { seen = append(seen, err); return true }), RetryAttempts(3), RetryBackoff(0, 0))
	if len(seen) != 3 || seen[0] != e {
		t.Fatalf("predicate saw %v, want e three times", seen)
	}
}

func TestRetryValue(t *testing.T) {
	calls := 0
	v, err := RetryValue(context.Background(), func(context.Context) (string, error) {
		calls++
		if calls < 2 {
			return "stale", genTestConflict(calls)
		}
		return "fresh", nil
	}, RetryBackoff(0, 0))
	if v != "fresh" || err != nil || calls != 2 {
		t.Fatalf("RetryValue = %q, %v after %d calls", v, err, calls)
	}

	// Exhausted: the last error unchanged.
	calls = 0
	var last error
	_, err = RetryValue(context.Background(), func(context.Context) (int, error) {
		calls++
		last = genTestConflict(calls)
		return calls, last
	}, RetryAttempts(2), RetryBackoff(0, 0))
	if err != last || calls != 2 {
		t.Fatalf("RetryValue = %v after %d calls, want the last conflict after 2", err, calls)
	}

	// fn gets the caller's context.
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	_, _ = RetryValue(ctx, func(c context.Context) (int, error) {
		if c.Value(key{}) != "v" {
			t.Errorf("fn did not get the caller's context")
		}
		return 0, nil
	})
}

func TestGenerationCheck(t *testing.T) {
	type view struct {
		String string
		Gen    int64
		IsGen  bool
		IsNew  bool
		IsSkip bool
		Valid  bool
	}
	see := func(c GenerationCheck) view {
		g, ok := c.Generation()
		return view{c.String(), g, ok, c.IsNew(), c.IsSkip(), c.validate("generation") == nil}
	}
	tests := []struct {
		name string
		c    GenerationCheck
		want view
	}{
		{"zero value", GenerationCheck{}, view{String: "unset"}},
		{"expect 0", ExpectGeneration(0), view{String: "0", Gen: 0, IsGen: true, Valid: true}},
		{"expect 42", ExpectGeneration(42), view{String: "42", Gen: 42, IsGen: true, Valid: true}},
		{"expect max", ExpectGeneration(1<<63 - 1), view{String: "9223372036854775807", Gen: 1<<63 - 1, IsGen: true, Valid: true}},
		{"expect negative", ExpectGeneration(-1), view{String: "-1", Gen: -1, IsGen: true}},
		{"new consumer", ExpectNewConsumer(), view{String: "none", IsNew: true, Valid: true}},
		{"skip", SkipGenerationCheck(), view{String: "any", IsSkip: true, Valid: true}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, see(tc.c)); diff != "" {
			t.Errorf("%s: mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestGenerationCheckValidateErrors(t *testing.T) {
	for _, c := range []GenerationCheck{{}, ExpectGeneration(-1), ExpectGeneration(-1 << 63)} {
		err := c.validate("consumer_generation")
		var ve *ValidationError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &ve) || ve.Field != "consumer_generation" {
			t.Errorf("validate(%v) = %#v, want ErrInvalid naming consumer_generation", c, err)
		}
	}
}

func TestGenerationCheckCompare(t *testing.T) {
	const u = "rp"
	opt := genTestCmp
	provider := []struct {
		c      GenerationCheck
		actual int64
		ok     bool
	}{
		{SkipGenerationCheck(), 5, true},
		{ExpectGeneration(5), 5, true},
		{ExpectGeneration(4), 5, false},
		{ExpectNewConsumer(), 0, false},
		{GenerationCheck{}, 0, false},
	}
	for _, tc := range provider {
		err := tc.c.checkProvider(u, tc.actual)
		if tc.ok {
			if err != nil {
				t.Errorf("checkProvider(%v, %d) = %v", tc.c, tc.actual, err)
			}
			continue
		}
		var ce *ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConcurrentUpdate) {
			t.Fatalf("checkProvider(%v, %d) = %v, want a *ConflictError", tc.c, tc.actual, err)
		}
		want := &ConflictError{Kind: ProviderGeneration, UUID: u, Expected: tc.c, Actual: tc.actual, Exists: true}
		if diff := cmp.Diff(want, ce, opt); diff != "" {
			t.Errorf("checkProvider(%v, %d) mismatch (-want +got):\n%s", tc.c, tc.actual, diff)
		}
	}

	consumer := []struct {
		c      GenerationCheck
		actual int64
		exists bool
		ok     bool
	}{
		{SkipGenerationCheck(), 3, true, true},
		{SkipGenerationCheck(), 0, false, true},
		{ExpectNewConsumer(), 0, false, true},
		{ExpectNewConsumer(), 0, true, false},
		{ExpectGeneration(3), 3, true, true},
		{ExpectGeneration(2), 3, true, false},
		{ExpectGeneration(0), 0, false, false}, // a generation for a consumer that does not exist
		{GenerationCheck{}, 0, false, false},
	}
	for _, tc := range consumer {
		err := tc.c.checkConsumer(u, tc.actual, tc.exists)
		if tc.ok {
			if err != nil {
				t.Errorf("checkConsumer(%v, %d, %v) = %v", tc.c, tc.actual, tc.exists, err)
			}
			continue
		}
		var ce *ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("checkConsumer(%v, %d, %v) = %v, want a *ConflictError", tc.c, tc.actual, tc.exists, err)
		}
		want := &ConflictError{Kind: ConsumerGeneration, UUID: u, Expected: tc.c, Actual: tc.actual, Exists: tc.exists}
		if diff := cmp.Diff(want, ce, opt); diff != "" {
			t.Errorf("checkConsumer mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestConflictErrorMessage(t *testing.T) {
	tests := []struct {
		err  *ConflictError
		want string
	}{
		{&ConflictError{Kind: ProviderGeneration, UUID: "p1", Expected: ExpectGeneration(1), Actual: 2, Exists: true},
			"placement: resource provider p1 generation conflict: expected 1, actual 2"},
		{&ConflictError{Kind: ConsumerGeneration, UUID: "c1", Expected: ExpectGeneration(0), Exists: false},
			"placement: consumer c1 generation conflict: expected 0, actual none"},
		{&ConflictError{Kind: ConsumerGeneration, UUID: "c1", Expected: ExpectNewConsumer(), Actual: 4, Exists: true},
			"placement: consumer c1 generation conflict: expected none, actual 4"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if ConflictKind(0).String() != "unknown" {
		t.Errorf("ConflictKind(0) = %q", ConflictKind(0).String())
	}
}

func TestRetryBackoffCapAndOverflow(t *testing.T) {
	// A cap of MaxInt64 ("no cap"): the doubling delay must saturate, not
	// wrap around to a negative delay that silently stops the backoff.
	var waits []time.Duration
	_ = Retry(context.Background(), func(context.Context) error { return genTestConflict(0) },
		RetryAttempts(4), RetryBackoff(1<<62, 1<<63-1), genTestSleeps(&waits))
	if len(waits) != 3 {
		t.Fatalf("waits %v, want 3 (one between each pair of attempts)", waits)
	}
}
