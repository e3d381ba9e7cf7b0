package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EventKind names what happened to a job.
type EventKind string

// Event kinds.
const (
	EventQueued      EventKind = "queued"
	EventStageStart  EventKind = "stage_started"
	EventStageDone   EventKind = "stage_done"
	EventChunkDone   EventKind = "chunk_done"
	EventFirstAudio  EventKind = "started_audio" // the first chunk is ready; Message is the stream's URL
	EventRetry       EventKind = "retry"
	EventDone        EventKind = "done"
	EventFailed      EventKind = "failed"
	EventUnpublished EventKind = "unpublished"
)

// Event is one step of a job's progress, published on the job's own
// subject so a CLI or a web page can follow it, from the start, live.
type Event struct {
	Job     string    `json:"job"`
	Rev     int       `json:"revision"`
	Time    time.Time `json:"time"`
	Kind    EventKind `json:"kind"`
	Stage   string    `json:"stage,omitempty"`
	Chunk   int       `json:"chunk,omitempty"`
	Chunks  int       `json:"chunks,omitempty"`
	Done    int       `json:"done,omitempty"` // chunks done so far
	Message string    `json:"message,omitempty"`
}

// Final reports whether the event ends the job.
func (e Event) Final() bool {
	return e.Kind == EventDone || e.Kind == EventFailed || e.Kind == EventUnpublished
}

// Emit publishes a progress event. Progress is informative: callers log a
// failure to emit rather than fail the stage.
func (q *Queue) Emit(ctx context.Context, e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	// The id lets a retry whose first try was stored be dropped as a copy.
	id := nonce()
	err = q.call(ctx, func(ctx context.Context) error {
		_, err := q.js.Publish(ctx, eventSubject+e.Job, data, jetstream.WithMsgID(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: emit %s event for job %s: %w", e.Kind, e.Job, err)
	}
	return nil
}

// Follow calls fn with each event of a job's revision (every revision
// when rev is 0), from its first, until fn returns false, an event ends the
// revision, or ctx is done. Events are published once, with retries, and
// one can still be lost while NATS fails over; so a revision that job state
// shows ended for a while without its final event gets one made from job
// state, and following never outlasts the job.
func (q *Queue) Follow(ctx context.Context, job string, rev int, fn func(Event) bool) error {
	if !ValidID(job) {
		return fmt.Errorf("%w: %q", ErrNoJob, job)
	}
	c, err := q.orderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventSubject + job},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("queue: follow job %s: %w", job, err)
	}
	defer q.release(c)
	events, stop := context.WithCancel(ctx)
	defer stop()
	var ended atomic.Pointer[Job]
	go func() {
		if j, ok := q.waitEnded(events, job, rev); ok {
			ended.Store(&j)
			stop()
		}
	}()
	done := false // fn has had the final event, or asked to stop
	err = consume(events, c, func(e Event) bool {
		if rev != 0 && e.Rev != rev {
			return true
		}
		more := fn(e) && !e.Final()
		done = !more
		return more
	})
	if j := ended.Load(); j != nil && !done && ctx.Err() == nil {
		fn(endEvent(*j))
		return nil
	}
	return err
}

// followCheck is how often Follow looks at job state for an end whose
// event did not come.
const followCheck = 5 * time.Second

// waitEnded returns the job once job state has shown its revision ended
// at two looks in a row, longer than its final event takes to arrive.
func (q *Queue) waitEnded(ctx context.Context, job string, rev int) (Job, bool) {
	t := time.NewTicker(followCheck)
	defer t.Stop()
	looks := 0
	for {
		select {
		case <-ctx.Done():
			return Job{}, false
		case <-t.C:
		}
		j, err := q.Jobs().Get(ctx, job)
		if err != nil || !j.Ended() || rev != 0 && j.Revision != rev {
			looks = 0
			continue
		}
		if looks++; looks == 2 {
			return j, true
		}
	}
}

// endEvent is the final event of a job's revision, from job state.
func endEvent(j Job) Event {
	e := Event{Job: j.ID, Rev: j.Revision, Time: j.Updated, Stage: j.FailedStage, Message: j.Error}
	switch j.State {
	case Done:
		e.Kind = EventDone
		if j.Output != nil {
			e.Message = j.Output.URL
		}
	case Failed:
		e.Kind = EventFailed
	default:
		e.Kind = EventUnpublished
	}
	return e
}

// consume feeds a consumer's events to fn until it returns false or ctx is
// done; events this version cannot read are skipped. Heartbeats every two
// seconds let the ordered consumer notice within seconds that the server
// holding it is gone, and start again on another.
func consume(ctx context.Context, c jetstream.Consumer, fn func(Event) bool) error {
	it, err := c.Messages(jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second))
	if err != nil {
		return fmt.Errorf("queue: events: %w", err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("queue: events: %w", err)
		}
		var e Event
		if err := json.Unmarshal(m.Data(), &e); err != nil {
			continue
		}
		if !fn(e) {
			return nil
		}
	}
}

// FollowAll calls fn with every job's events published since a time, in
// order, until fn returns false or ctx is done: one subscription for a
// page that shows every narration in progress.
func (q *Queue) FollowAll(ctx context.Context, since time.Time, fn func(Event) bool) error {
	c, err := q.orderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{eventSubject + ">"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &since,
	})
	if err != nil {
		return fmt.Errorf("queue: follow all jobs: %w", err)
	}
	defer q.release(c)
	return consume(ctx, c, fn)
}

// orderedConsumer reads the event stream from where cfg says; jetstream
// recreates it when a server or leader is lost, or when its heartbeats
// are late. A consumer recreated while its follower is being released
// outlives the release, so the server reaps consumers left without a pull
// request for followerIdle, rather than the five minutes jetstream sets.
func (q *Queue) orderedConsumer(ctx context.Context, cfg jetstream.OrderedConsumerConfig) (jetstream.Consumer, error) {
	cfg.InactiveThreshold = followerIdle
	var c jetstream.Consumer
	err := q.call(ctx, func(ctx context.Context) (err error) {
		c, err = q.js.OrderedConsumer(ctx, EventStream, cfg)
		return err
	})
	return c, err
}

// followerIdle is how long the server keeps a follower's consumer that no
// one pulls from: a follower re-pulls every PullExpiry (10 s) at most.
const followerIdle = 15 * time.Second

// release deletes a follower's consumer on the server as soon as it is
// done with it. The server would otherwise keep it, and its goroutines,
// until it had been inactive for five minutes: a page reloaded a few
// times a minute would hold hundreds.
func (q *Queue) release(c jetstream.Consumer) {
	info := c.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.js.DeleteConsumer(ctx, EventStream, info.Name) // if this fails, the server reaps it in time
}
