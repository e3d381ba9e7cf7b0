package queue

import (
	"context"
	"fmt"
)

// Backlog returns how many tasks of one priority lane of the stages wait,
// not yet taken by any worker, and how many are under way: what a
// backfill watches so that it submits only as fast as the workers take
// its articles. A stage no worker has started yet has no consumer and
// counts nothing; a banded stage's lane counts all its bands. The
// stream's consumers are listed once, whatever the number of stages.
func (q *Queue) Backlog(ctx context.Context, p Priority, stages ...string) (waiting, working int, err error) {
	names := map[string]bool{}
	for _, st := range stages {
		for _, b := range bands {
			names[queueOf{lane: p, band: b}.consumer(st)] = true
		}
	}
	list := q.tasks.ListConsumers(ctx)
	for info := range list.Info() {
		if names[info.Name] {
			waiting += int(info.NumPending)
			working += info.NumAckPending
		}
	}
	if err := list.Err(); err != nil {
		return 0, 0, fmt.Errorf("queue: backlog of %v: %w", stages, err)
	}
	return waiting, working, nil
}
