package placement

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// GenerationCheck is a write's precondition on a generation: the generation
// the caller read (ExpectGeneration), "the consumer does not exist yet"
// (ExpectNewConsumer), or no check at all (SkipGenerationCheck, what
// Placement's older microversions do). The zero value is not a valid check:
// a write given it fails with ErrInvalid, so forgetting the precondition is
// an error rather than a silent unchecked write.
type GenerationCheck struct {
	mode checkMode
	gen  int64
}

type checkMode uint8

const (
	checkUnset checkMode = iota
	checkEqual
	checkNew
	checkSkip
)

// ExpectGeneration makes a write succeed only if the generation still equals gen.
func ExpectGeneration(gen int64) GenerationCheck { return GenerationCheck{mode: checkEqual, gen: gen} }

// ExpectNewConsumer makes an allocation write succeed only if the consumer
// has no record yet (Placement's `"consumer_generation": null`).
func ExpectNewConsumer() GenerationCheck { return GenerationCheck{mode: checkNew} }

// SkipGenerationCheck makes a write ignore the generation. It is what
// Placement does before microversion 1.28 for consumers and for the writes
// that take no generation; prefer a real check.
func SkipGenerationCheck() GenerationCheck { return GenerationCheck{mode: checkSkip} }

// Generation returns the expected generation and true for ExpectGeneration.
func (c GenerationCheck) Generation() (int64, bool) { return c.gen, c.mode == checkEqual }

// IsNew reports whether c is ExpectNewConsumer.
func (c GenerationCheck) IsNew() bool { return c.mode == checkNew }

// IsSkip reports whether c is SkipGenerationCheck.
func (c GenerationCheck) IsSkip() bool { return c.mode == checkSkip }

func (c GenerationCheck) String() string {
	switch c.mode {
	case checkEqual:
		return fmt.Sprint(c.gen)
	case checkNew:
		return "none"
	case checkSkip:
		return "any"
	}
	return "unset"
}

func (c GenerationCheck) validate(field string) error {
	if c.mode == checkUnset {
		return invalid(field, "", "a generation check is required (ExpectGeneration, ExpectNewConsumer or SkipGenerationCheck)")
	}
	if c.mode == checkEqual && c.gen < 0 {
		return invalid(field, fmt.Sprint(c.gen), "must not be negative")
	}
	return nil
}

// checkProvider compares c with a provider's stored generation.
func (c GenerationCheck) checkProvider(uuid string, actual int64) error {
	switch c.mode {
	case checkSkip:
		return nil
	case checkEqual:
		if c.gen == actual {
			return nil
		}
	}
	return &ConflictError{Kind: ProviderGeneration, UUID: uuid, Expected: c, Actual: actual, Exists: true}
}

// checkConsumer compares c with a consumer's stored generation (exists false
// when there is no record).
func (c GenerationCheck) checkConsumer(uuid string, actual int64, exists bool) error {
	switch {
	case c.mode == checkSkip:
		return nil
	case c.mode == checkNew && !exists:
		return nil
	case c.mode == checkEqual && exists && c.gen == actual:
		return nil
	}
	return &ConflictError{Kind: ConsumerGeneration, UUID: uuid, Expected: c, Actual: actual, Exists: exists}
}

// RetryOption configures Retry and RetryValue.
type RetryOption func(*retryConfig)

type retryConfig struct {
	attempts  int
	base, max time.Duration
	retryable func(error) bool
	sleep     func(context.Context, time.Duration) error
}

// RetryAttempts sets how many times fn runs at most (default 5; values below 1 mean 1).
func RetryAttempts(n int) RetryOption { return func(c *retryConfig) { c.attempts = max(n, 1) } }

// RetryBackoff sets the first delay and the cap of the jittered exponential
// backoff between attempts (defaults 1ms and 100ms). A zero base means no wait.
func RetryBackoff(base, maxDelay time.Duration) RetryOption {
	return func(c *retryConfig) { c.base, c.max = base, maxDelay }
}

// RetryIf sets which errors are retried (default: errors.Is(err, ErrConcurrentUpdate)).
func RetryIf(retryable func(error) bool) RetryOption {
	return func(c *retryConfig) { c.retryable = retryable }
}

// Retry runs fn until it succeeds, returns an error the predicate does not
// retry, the attempts run out, or ctx is done. fn must re-read whatever state
// it depends on (its generations) on every call. Between attempts it waits a
// jittered, exponentially growing delay. It returns fn's last error
// unchanged, so errors.Is and errors.As still work (also when ctx ends during
// a wait); ctx's error only if ctx was done before fn ever ran. It starts no
// goroutines.
func Retry(ctx context.Context, fn func(ctx context.Context) error, opts ...RetryOption) error {
	_, err := RetryValue(ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) }, opts...)
	return err
}

// RetryValue is Retry for a function that returns a value.
func RetryValue[T any](ctx context.Context, fn func(ctx context.Context) (T, error), opts ...RetryOption) (T, error) {
	cfg := retryConfig{
		attempts:  5,
		base:      time.Millisecond,
		max:       100 * time.Millisecond,
		retryable: func(err error) bool { return errors.Is(err, ErrConcurrentUpdate) },
		sleep:     sleepCtx,
	}
	for _, o := range opts {
		o(&cfg)
	}
	var zero T
	delay := min(cfg.base, cfg.max)
	for attempt := 1; ; attempt++ {
		if attempt == 1 {
			if err := ctx.Err(); err != nil {
				return zero, err
			}
		}
		v, err := fn(ctx)
		if err == nil || !cfg.retryable(err) || attempt >= cfg.attempts {
			return v, err
		}
		if delay > 0 {
			// Jitter: wait a uniform time in [delay/2, delay].
			wait := delay/2 + rand.N(delay-delay/2+1)
			if cfg.sleep(ctx, wait) != nil {
				return zero, err
			}
			if delay > cfg.max/2 {
				delay = cfg.max
			} else {
				delay *= 2
			}
		} else if ctx.Err() != nil {
			return zero, err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
