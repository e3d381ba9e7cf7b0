package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// Watch calls fn with the job and with each chunk status of its revision
// rev, as they are now and then as they change, one of the two set per
// call, until fn returns false or ctx is done. A value seen again (the
// watch starts over after NATS fails over) is passed again, so fn must
// take a value it has seen. Watch returns ctx's error, or nil when fn
// stopped it.
func (s *Jobs) Watch(ctx context.Context, id string, rev int, fn func(j *Job, c *Chunk) bool) error {
	if !ValidID(id) {
		return fmt.Errorf("%w: %q", ErrNoJob, id)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.kv.WatchFiltered(ctx, []string{jobKey(id), "chunk." + id + "." + strconv.Itoa(rev) + ".*"})
	if err != nil {
		return fmt.Errorf("queue: watch job %s: %w", id, err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("queue: watch job %s: the watch ended", id)
			}
			if e == nil || e.Operation() != jetstream.KeyValuePut {
				continue // nil: the values there were at the start have all come
			}
			var j *Job
			var c *Chunk
			if e.Key() == jobKey(id) {
				j = new(Job)
				err = json.Unmarshal(e.Value(), j)
			} else {
				c = new(Chunk)
				err = json.Unmarshal(e.Value(), c)
			}
			if err != nil {
				return fmt.Errorf("queue: watch job %s: key %s: %w", id, e.Key(), err)
			}
			if !fn(j, c) {
				return nil
			}
		}
	}
}
