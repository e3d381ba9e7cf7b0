package pipeline

import (
	"context"
	"sync"

	"github.com/narrator-project/narrator/queue"
)

// ledger holds the billing records this process has not managed to store:
// NATS was away for longer than the queue retries a request.
type ledger struct {
	mu      sync.Mutex
	pending []queue.Billing
}

// bill stores the record of a billed request, with any this process still
// holds. Billed characters are read from these records, so one that cannot
// be stored now is kept and stored with the next, or when the process
// stops, rather than dropped.
func (p *Pipeline) bill(ctx context.Context, b queue.Billing) {
	p.ledger.mu.Lock()
	pending := append(p.ledger.pending, b)
	p.ledger.pending = nil
	p.ledger.mu.Unlock()
	p.storeBills(ctx, pending)
}

func (p *Pipeline) storeBills(ctx context.Context, bills []queue.Billing) {
	var failed []queue.Billing
	for _, b := range bills {
		if err := p.Queue.Jobs().Bill(ctx, b); err != nil {
			p.Logger.Warn("billing record not stored yet; kept to store later", "job_id", b.Job, "chunk", b.Chunk, "chars", b.Chars, "err", err)
			failed = append(failed, b)
		}
	}
	if len(failed) == 0 {
		return
	}
	p.ledger.mu.Lock()
	p.ledger.pending = append(p.ledger.pending, failed...)
	p.ledger.mu.Unlock()
}

// flushBills stores the records still held, when the stages stop. What
// cannot be stored is logged, record by record, for the operator.
func (p *Pipeline) flushBills(ctx context.Context) {
	p.ledger.mu.Lock()
	pending := p.ledger.pending
	p.ledger.pending = nil
	p.ledger.mu.Unlock()
	for _, b := range pending {
		if err := p.Queue.Jobs().Bill(ctx, b); err != nil {
			p.Logger.Error("billing record lost: add it by hand", "job_id", b.Job, "revision", b.Rev, "chunk", b.Chunk,
				"provider", b.Provider, "chars", b.Chars, "time", b.Time, "id", b.ID, "err", err)
		}
	}
}
