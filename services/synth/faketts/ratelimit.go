package faketts

import "time"

// bucket is a token bucket that refills continuously, holding at most a
// window's worth of tokens: the way OpenAI enforces per-minute limits
// (a limit of 60 a minute is in effect one a second after a burst).
type bucket struct {
	capacity float64
	tokens   float64
	perSec   float64
	last     time.Time
}

func newBucket(perWindow int, window time.Duration) *bucket {
	return &bucket{capacity: float64(perWindow), tokens: float64(perWindow), perSec: float64(perWindow) / window.Seconds()}
}

func (b *bucket) refill(now time.Time) {
	if !b.last.IsZero() {
		b.tokens = min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.perSec)
	}
	b.last = now
}

// need refills the bucket and returns how long until n tokens are there,
// zero if they are.
func (b *bucket) need(now time.Time, n float64) time.Duration {
	b.refill(now)
	if b.tokens >= n {
		return 0
	}
	return max(time.Duration((n-b.tokens)/b.perSec*float64(time.Second)), time.Millisecond)
}

func (b *bucket) take(n float64) { b.tokens -= n }

// untilFull is what x-ratelimit-reset-* reports.
func (b *bucket) untilFull() time.Duration {
	return time.Duration((b.capacity - b.tokens) / b.perSec * float64(time.Second)).Round(time.Millisecond)
}
