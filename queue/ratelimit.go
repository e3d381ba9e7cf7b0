package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/synth"
)

// RateBucket is the key-value bucket holding the cluster's rate limits, one
// key per provider and model. It is in memory: losing it when every server
// restarts only refills the budgets, which a restart takes anyway.
const RateBucket = "narrator-ratelimits"

// RateConfig sets one cluster-wide rate limit: what every synth worker of
// the cluster, together, may send to one provider and model. The budgets
// are the cluster's (a burst a little under the provider's leaves room
// for other clients of the same account); Concurrency is each process's
// own, its share of the cluster.
type RateConfig struct {
	synth.TokenBucketConfig
	// Spread is how long after a hold-off the waiting workers take to come
	// back, each at a random moment within it; default a tenth of the
	// hold-off, at least 100 ms.
	Spread time.Duration
}

// Validate reports budgets that make no sense.
func (c RateConfig) Validate() error {
	errs := []error{c.TokenBucketConfig.Validate()}
	if c.Spread < 0 {
		errs = append(errs, errors.New("spread must not be negative"))
	}
	if c.Window > 0 && c.Window < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("window %s is too short to share through NATS", c.Window))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("queue: rate limit: %w", err)
	}
	return nil
}

// rateKey is what a key of RateBucket may be.
var rateKey = regexp.MustCompile(`^[A-Za-z0-9_=.-]+$`)

// RateLimiter is a cluster-wide limiter of one provider and model: token
// buckets for requests and characters whose state is one key of
// RateBucket, spent with compare-and-swap, so every process using the same
// name shares one budget; and a concurrency limit of its own process. It
// implements synth's Limiter and is safe for concurrent use.
type RateLimiter struct {
	kv   kv
	key  string
	cfg  RateConfig
	slot chan struct{} // nil when concurrency is unlimited

	buckets synth.Buckets

	mu  sync.Mutex
	rng *rand.Rand

	conflicts, waits atomic.Int64
}

// rateState is the shared state: the buckets' tokens as of At, and the
// hold-off a 429 imposed. Times are Unix nanoseconds, so workers compare
// their clocks: keep the cluster's hosts on NTP.
type rateState struct {
	synth.Tokens       // JSON "reqs" and "chars"
	At           int64 `json:"at"`
	NotBefore    int64 `json:"not_before,omitempty"`
}

// RateLimiter returns the cluster-wide limiter called name (such as
// "openai.tts-1"), declaring RateBucket if it is not there yet. Every
// process that asks for the same name shares one budget, so they should
// ask with the same budgets; Concurrency is each process's own.
func (q *Queue) RateLimiter(ctx context.Context, name string, cfg RateConfig) (*RateLimiter, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !rateKey.MatchString(name) {
		return nil, fmt.Errorf("queue: rate limit name %q: use letters, digits and - _ = .", name)
	}
	kv, err := q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      RateBucket,
		Description: "narrator cluster-wide rate limits of speech providers",
		Storage:     jetstream.MemoryStorage,
		Replicas:    q.cfg.Replicas,
		History:     1,
	})
	if err != nil {
		return nil, q.declareErr("key-value bucket "+RateBucket, err)
	}
	l := &RateLimiter{kv: q.kv(kv), key: name, cfg: cfg, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	if cfg.Concurrency > 0 {
		l.slot = make(chan struct{}, cfg.Concurrency)
	}
	l.buckets = synth.NewBuckets(cfg.RPM, cfg.CharsPerMinute, cfg.Burst, cfg.Window)
	return l, nil
}

// Acquire waits until a request of chars characters fits the cluster's
// budget and this process has a free slot, or ctx ends; the caller calls
// release once when the request is over. A request longer than the
// character budget goes when the bucket is full, rather than never.
func (l *RateLimiter) Acquire(ctx context.Context, chars int) (release func(), err error) {
	if l.slot != nil {
		select {
		case l.slot <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("queue: rate limit %s: %w", l.key, ctx.Err())
		}
	}
	release = sync.OnceFunc(func() {
		if l.slot != nil {
			<-l.slot
		}
	})
	if l.cfg.RPM == 0 && l.cfg.CharsPerMinute == 0 {
		return release, nil
	}
	for {
		wait, err := l.take(ctx, float64(chars))
		if err != nil {
			release()
			return nil, err
		}
		if wait == 0 {
			return release, nil
		}
		l.waits.Add(1)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, fmt.Errorf("queue: rate limit %s: %w", l.key, ctx.Err())
		}
	}
}

// take spends one request's budget if the shared buckets hold it, else
// returns how long to wait before looking again.
func (l *RateLimiter) take(ctx context.Context, chars float64) (time.Duration, error) {
	var wait time.Duration
	err := l.update(ctx, func(s *rateState, now int64) bool {
		if now < s.NotBefore {
			// Held off by a 429: come back at a random moment of the
			// spread after it ends, not all at once.
			d := time.Duration(s.NotBefore - now)
			wait = d + l.jitter(l.spread(d))
			return false
		}
		l.refill(s, now)
		if d := l.buckets.Take(&s.Tokens, chars); d > 0 {
			// Waiters for the same tokens wake a little apart, so the one
			// that is first takes them and the rest find the next refill.
			wait = d + l.jitter(min(d/4, 20*time.Millisecond))
			return false
		}
		wait = 0
		return true
	})
	return wait, err
}

// Throttled reports that the provider answered 429 and asked for d (zero:
// it did not say). Every worker of the cluster holds off until then, and
// the buckets are emptied: the provider says its budget is spent, so after
// the hold-off requests come back at the refill rate instead of as a burst
// that earns the next 429.
func (l *RateLimiter) Throttled(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		d = l.cfg.Backoff
	}
	return l.update(ctx, func(s *rateState, now int64) bool {
		until := now + int64(d)
		if until <= s.NotBefore {
			return false // a longer hold-off is already in force
		}
		l.refill(s, now)
		s.NotBefore = until
		s.Drain()
		s.At = until // refilling starts when the hold-off ends
		return true
	})
}

// HoldOff returns when the cluster may send again after a 429 (zero when
// no hold-off is in force), for status pages and tests.
func (l *RateLimiter) HoldOff(ctx context.Context) (time.Time, error) {
	s, _, err := l.get(ctx)
	if err != nil || s.NotBefore <= time.Now().UnixNano() {
		return time.Time{}, err
	}
	return time.Unix(0, s.NotBefore), nil
}

// RateStats are what one process's limiter has done.
type RateStats struct {
	Waits     int64 // times a request waited for the budget or a hold-off
	Conflicts int64 // compare-and-swap retries: other workers spent first
}

// Stats returns the counters.
func (l *RateLimiter) Stats() RateStats {
	return RateStats{Waits: l.waits.Load(), Conflicts: l.conflicts.Load()}
}

// update applies fn to the shared state with compare-and-swap, retrying
// when another worker wrote first. fn returns false to write nothing.
func (l *RateLimiter) update(ctx context.Context, fn func(s *rateState, now int64) bool) error {
	for {
		s, rev, err := l.get(ctx)
		if err != nil {
			return err
		}
		if !fn(&s, time.Now().UnixNano()) {
			return nil
		}
		data, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("queue: rate limit %s: %w", l.key, err)
		}
		if rev == 0 {
			err = l.kv.create(ctx, l.key, data)
		} else {
			err = l.kv.update(ctx, l.key, data, rev)
		}
		if err == nil {
			return nil
		}
		if !isWrongRevision(err) {
			return fmt.Errorf("queue: rate limit %s: %w", l.key, err)
		}
		l.conflicts.Add(1)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("queue: rate limit %s: %w", l.key, err)
		}
	}
}

// get reads the shared state; a limit nobody has used yet has full
// buckets, and revision 0.
func (l *RateLimiter) get(ctx context.Context) (rateState, uint64, error) {
	e, err := l.kv.get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rateState{Tokens: l.buckets.Full(), At: time.Now().UnixNano()}, 0, nil
	}
	if err != nil {
		return rateState{}, 0, fmt.Errorf("queue: rate limit %s: %w", l.key, err)
	}
	var s rateState
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		// A value this version cannot read is replaced, not fatal: the
		// worst it costs is one full burst.
		s = rateState{Tokens: l.buckets.Full(), At: time.Now().UnixNano()}
	}
	return s, e.Revision(), nil
}

// refill adds what the buckets earned since the state's time, capped at
// this process's capacities. A state time ahead of now (another host's
// clock, or the end of a hold-off) is kept until now passes it.
func (l *RateLimiter) refill(s *rateState, now int64) {
	elapsed := time.Duration(now - s.At)
	l.buckets.Refill(&s.Tokens, elapsed)
	if elapsed > 0 {
		s.At = now
	}
}

func (l *RateLimiter) spread(holdOff time.Duration) time.Duration {
	if l.cfg.Spread > 0 {
		return l.cfg.Spread
	}
	return max(holdOff/10, 100*time.Millisecond)
}

// jitter returns a random duration in [0, d).
func (l *RateLimiter) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.rng.Int64N(int64(d)))
}
