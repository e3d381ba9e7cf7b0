package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Backlog returns how many tasks wait, not yet taken by any worker, in one
// priority lane of the stages: what a backfill watches so that it submits
// only as fast as the workers take its articles. A stage no worker has
// started yet has no consumer and counts nothing.
func (q *Queue) Backlog(ctx context.Context, p Priority, stages ...string) (int, error) {
	n := 0
	for _, st := range stages {
		c, err := q.js.Consumer(ctx, TaskStream, consumerName(st+p.lane()))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("queue: stage %s: %w", st, err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("queue: stage %s: %w", st, err)
		}
		n += int(info.NumPending)
	}
	return n, nil
}
