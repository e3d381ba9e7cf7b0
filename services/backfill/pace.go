package backfill

import (
	"context"
	"time"
)

// pace is a token bucket of two budgets (requests and characters a
// minute, pages a second): refilled continuously at its rates, holding at
// most burst's worth, and starting with that. A zero rate is no limit.
type pace struct {
	window     time.Duration
	rateA      float64 // per window
	rateB      float64
	capA, capB float64
	a, b       float64
	at         time.Time
}

func newPace(window time.Duration, a, b float64, burst time.Duration) *pace {
	f := float64(burst) / float64(window)
	p := &pace{window: window, rateA: a, rateB: b, capA: a * f, capB: b * f, at: time.Now()}
	p.a, p.b = p.capA, p.capB
	return p
}

func (p *pace) refill() {
	now := time.Now()
	f := float64(now.Sub(p.at)) / float64(p.window)
	p.at = now
	p.a = min(p.capA, p.a+f*p.rateA)
	p.b = min(p.capB, p.b+f*p.rateB)
}

// wait returns once a and b fit (a cost over the bucket goes when the
// bucket is full, rather than never).
func (p *pace) wait(ctx context.Context, a, b float64) error {
	for {
		p.refill()
		short := time.Duration(0)
		if p.rateA > 0 && p.a < min(a, p.capA) {
			short = max(short, time.Duration((min(a, p.capA)-p.a)/p.rateA*float64(p.window)))
		}
		if p.rateB > 0 && p.b < min(b, p.capB) {
			short = max(short, time.Duration((min(b, p.capB)-p.b)/p.rateB*float64(p.window)))
		}
		if short == 0 {
			return nil
		}
		if err := sleep(ctx, short+time.Millisecond); err != nil {
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
