package backfill

import (
	"context"
	"time"
)

// pace is a token bucket of two budgets over a window (requests and
// characters a minute, pages a second): full at first, refilled
// continuously, at most one window's worth. A zero budget is no limit.
type pace struct {
	window     time.Duration
	limA, limB float64
	a, b       float64
	at         time.Time
}

func newPace(window time.Duration, a, b float64) *pace {
	return &pace{window: window, limA: a, limB: b, a: a, b: b, at: time.Now()}
}

func (p *pace) refill() {
	now := time.Now()
	f := float64(now.Sub(p.at)) / float64(p.window)
	p.at = now
	p.a = min(p.limA, p.a+f*p.limA)
	p.b = min(p.limB, p.b+f*p.limB)
}

// wait returns once a and b fit (or the bucket is full: a cost over the
// whole window's budget goes when the bucket is full rather than never).
func (p *pace) wait(ctx context.Context, a, b float64) error {
	for {
		p.refill()
		short := 0.0
		if p.limA > 0 && p.a < min(a, p.limA) {
			short = max(short, (min(a, p.limA)-p.a)/p.limA)
		}
		if p.limB > 0 && p.b < min(b, p.limB) {
			short = max(short, (min(b, p.limB)-p.b)/p.limB)
		}
		if short == 0 {
			return nil
		}
		if err := sleep(ctx, time.Duration(short*float64(p.window))+time.Millisecond); err != nil {
			return err
		}
	}
}

// take spends a and b.
func (p *pace) take(a, b float64) {
	p.refill()
	p.a -= a
	p.b -= b
}
