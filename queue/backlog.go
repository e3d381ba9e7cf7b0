package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Backlog returns how many tasks of one priority lane of the stages wait,
// not yet taken by any worker, and how many are under way: what a
// backfill watches so that it submits only as fast as the workers take
// its articles. A stage no worker has started yet has no consumer and
// counts nothing; a banded stage's lane counts all its bands.
func (q *Queue) Backlog(ctx context.Context, p Priority, stages ...string) (waiting, working int, err error) {
	for _, st := range stages {
		w, k, err := q.laneBacklog(ctx, p, st)
		if err != nil {
			return 0, 0, err
		}
		waiting, working = waiting+w, working+k
	}
	return waiting, working, nil
}

func (q *Queue) laneBacklog(ctx context.Context, p Priority, st string) (waiting, working int, err error) {
	for _, b := range bands {
		c, err := q.js.Consumer(ctx, TaskStream, queueOf{lane: p, band: b}.consumer(st))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("queue: stage %s: %w", st, err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("queue: stage %s: %w", st, err)
		}
		waiting += int(info.NumPending)
		working += info.NumAckPending
	}
	return waiting, working, nil
}
