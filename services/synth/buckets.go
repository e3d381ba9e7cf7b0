package synth

import "time"

// Buckets is the arithmetic of a limiter's two token buckets, one of
// requests and one of characters, which refill continuously over a window.
// It holds no tokens: TokenBucket keeps them in memory and the cluster-wide
// limiter in package queue keeps them in shared state, so both spend by the
// same rules.
type Buckets struct {
	reqRate, charRate float64 // tokens a second; 0: that bucket is unlimited
	reqCap, charCap   float64
}

// NewBuckets returns the buckets of a budget of rpm requests and
// charsPerMinute characters a window (0: unlimited), that bursts to burst
// requests and to the same share of its characters.
func NewBuckets(rpm, charsPerMinute, burst int, window time.Duration) Buckets {
	b := Buckets{
		reqRate:  float64(rpm) / window.Seconds(),
		charRate: float64(charsPerMinute) / window.Seconds(),
		reqCap:   float64(burst),
		charCap:  float64(charsPerMinute),
	}
	if rpm > 0 {
		b.charCap = float64(charsPerMinute) * float64(burst) / float64(rpm)
	}
	return b
}

// Tokens is what the buckets hold at one moment. Characters go below zero
// when a request longer than the character bucket was let through.
type Tokens struct {
	Reqs  float64 `json:"reqs"`
	Chars float64 `json:"chars"`
}

// Full returns full buckets.
func (b Buckets) Full() Tokens { return Tokens{Reqs: b.reqCap, Chars: b.charCap} }

// Refill adds what the buckets earn in elapsed, if it is positive, and caps
// them, so that a smaller budget configured later wins.
func (b Buckets) Refill(t *Tokens, elapsed time.Duration) {
	if dt := elapsed.Seconds(); dt > 0 {
		t.Reqs += dt * b.reqRate
		t.Chars += dt * b.charRate
	}
	t.Reqs, t.Chars = min(t.Reqs, b.reqCap), min(t.Chars, b.charCap)
}

// Take spends a request of chars characters and returns zero if the
// buckets hold it; else it spends nothing and returns how long until they
// will, at least a millisecond. A request longer than the character bucket
// goes when the bucket is full, rather than never.
func (b Buckets) Take(t *Tokens, chars float64) time.Duration {
	var wait float64 // seconds until both buckets hold enough
	if b.reqRate > 0 && t.Reqs < 1 {
		wait = (1 - t.Reqs) / b.reqRate
	}
	if b.charRate > 0 {
		if need := min(chars, b.charCap); t.Chars < need {
			wait = max(wait, (need-t.Chars)/b.charRate)
		}
	}
	if wait > 0 {
		return max(time.Duration(wait*float64(time.Second)), time.Millisecond)
	}
	if b.reqRate > 0 {
		t.Reqs--
	}
	if b.charRate > 0 {
		t.Chars -= chars
	}
	return 0
}

// Drain empties the buckets, keeping any debt: after a 429 the provider's
// budget is spent, so requests come back at the refill rate, not as a burst.
func (t *Tokens) Drain() {
	t.Reqs, t.Chars = min(t.Reqs, 0), min(t.Chars, 0)
}
