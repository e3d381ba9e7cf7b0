package synth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Limiter paces requests to one provider so that its rate limits are not
// hit. Implementations must be safe for concurrent use; a cluster-wide one
// (kept in NATS) shares one budget between every synth worker.
type Limiter interface {
	// Acquire waits until a request of chars characters fits the budget and
	// a concurrency slot is free, or ctx ends. The caller must call release
	// exactly once when the request is over.
	Acquire(ctx context.Context, chars int) (release func(), err error)
	// Throttled reports that the provider answered 429 and asked to wait d
	// (zero: it did not say). Every caller holds off at least that long, so
	// that the whole fleet backs off, not just the unlucky worker.
	Throttled(ctx context.Context, d time.Duration) error
}

// TokenBucketConfig sets a limiter's budgets: an in-process one's, or
// (embedded in queue.RateConfig) a cluster's.
type TokenBucketConfig struct {
	RPM            int           // requests per Window; 0: unlimited
	CharsPerMinute int           // characters per Window; 0: unlimited
	Window         time.Duration // default a minute; budgets refill continuously over it
	// Burst is how many requests may go at once after an idle spell;
	// default RPM (a whole window's worth, as OpenAI allows). Characters
	// burst to CharsPerMinute in the same proportion.
	Burst       int
	Concurrency int           // requests in flight at once; 0: unlimited
	Backoff     time.Duration // hold-off after a 429 that names no wait; default 1s
}

// SetDefaults fills in the window, burst and back-off left unset.
func (c *TokenBucketConfig) SetDefaults() {
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.Burst == 0 {
		c.Burst = c.RPM
	}
	if c.Backoff == 0 {
		c.Backoff = time.Second
	}
}

// Validate reports budgets that make no sense.
func (c TokenBucketConfig) Validate() error {
	if c.RPM < 0 || c.CharsPerMinute < 0 || c.Concurrency < 0 || c.Window < 0 || c.Burst < 0 || c.Backoff < 0 {
		return errors.New("synth: rate limits must not be negative")
	}
	if c.RPM > 0 && c.Burst > c.RPM {
		return fmt.Errorf("synth: burst %d exceeds the %d requests a window allows", c.Burst, c.RPM)
	}
	return nil
}

// TokenBucket is the in-process Limiter: token buckets for requests and
// characters that refill continuously, and a concurrency limit. It is the
// single-process default and what tests use.
type TokenBucket struct {
	cfg  TokenBucketConfig
	slot chan struct{} // nil when concurrency is unlimited

	buckets Buckets

	mu       sync.Mutex
	tokens   Tokens
	last     time.Time // when tokens were last refilled
	pausedTo time.Time
	rng      *rand.Rand
}

// NewTokenBucket returns a limiter with full buckets.
func NewTokenBucket(cfg TokenBucketConfig) (*TokenBucket, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &TokenBucket{cfg: cfg, last: time.Now(), rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))}
	if cfg.Concurrency > 0 {
		b.slot = make(chan struct{}, cfg.Concurrency)
	}
	b.buckets = NewBuckets(cfg.RPM, cfg.CharsPerMinute, cfg.Burst, cfg.Window)
	b.tokens = b.buckets.Full()
	return b, nil
}

// Acquire implements Limiter. A request longer than the character budget
// goes when the bucket is full, rather than never.
func (b *TokenBucket) Acquire(ctx context.Context, chars int) (func(), error) {
	if b.slot != nil {
		select {
		case b.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("synth: limiter: %w", ctx.Err())
		}
	}
	release := sync.OnceFunc(func() {
		if b.slot != nil {
			<-b.slot
		}
	})
	for {
		wait := b.take(time.Now(), float64(chars))
		if wait == 0 {
			return release, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, fmt.Errorf("synth: limiter: %w", ctx.Err())
		}
	}
}

// take spends the budget for one request if it is there, else returns how
// long to wait before trying again.
func (b *TokenBucket) take(now time.Time, chars float64) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.pausedTo) {
		// Wake the waiters spread over a tenth of the pause, not all at once.
		d := b.pausedTo.Sub(now)
		return d + time.Duration(b.rng.Int64N(int64(d/10)+1))
	}
	b.buckets.Refill(&b.tokens, now.Sub(b.last))
	b.last = now
	return b.buckets.Take(&b.tokens, chars)
}

// Throttled implements Limiter. The buckets are emptied too: the provider
// says its budget is spent, so after the pause requests trickle back at
// the refill rate instead of bursting into another 429.
func (b *TokenBucket) Throttled(_ context.Context, d time.Duration) error {
	if d <= 0 {
		d = b.cfg.Backoff
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := time.Now().Add(d); until.After(b.pausedTo) {
		b.pausedTo = until
	}
	b.tokens.Drain()
	b.last = b.pausedTo // refilling starts when the pause ends
	return nil
}
