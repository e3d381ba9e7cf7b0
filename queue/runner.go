package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/fault"
)

// Message is a task for a stage.
type Message struct {
	Stage    string   // the stage's name: the task goes to narrator.task.<Stage>
	ID       string   // Nats-Msg-Id: republishing the same id is dropped by JetStream
	Data     any      // encoded as JSON
	Priority Priority // the lane the task waits in; empty is Normal
	Band     Band     // how soon the task is needed, within its lane; a stage with Banded set reads it
}

// Priority orders a stage's tasks: a worker takes the High tasks waiting
// before the Normal ones, and those before the Low ones. Each priority is
// a lane of its own, a subject and a durable consumer per stage
// (narrator.task.<stage>.high, narrator.task.<stage>,
// narrator.task.<stage>.low), so a backlog in one lane never stands in
// front of a task in a higher one.
type Priority string

// Priorities, in the order workers take them.
const (
	High   Priority = "high"
	Normal Priority = "normal"
	Low    Priority = "low"
)

var lanes = []Priority{High, Normal, Low}

// ParsePriority reads "high", "normal" or "low"; empty is Normal.
func ParsePriority(s string) (Priority, error) {
	switch p := Priority(s); p {
	case "":
		return Normal, nil
	case High, Normal, Low:
		return p, nil
	}
	return "", fmt.Errorf("priority %q: want high, normal or low", s)
}

// lane is the suffix of the lane's subject and consumer: none for Normal,
// so that a stage's normal lane is simply the stage.
func (p Priority) lane() string {
	if p == High || p == Low {
		return "." + string(p)
	}
	return ""
}

func laneSubject(stage string, p Priority) string { return taskSubject + stage + p.lane() }

// Band orders the tasks of one lane of a Banded stage by how soon they are
// needed: a worker takes the lane's First tasks, then its Soon ones, then
// the rest. Each band is a subject and consumer of its own, the lane's
// suffixed with ".first" or ".soon"; Later, the zero value, is the lane's
// own. Narration bands its synthesis tasks by where the chunk falls in
// the listening, so the opening of a story submitted now is synthesized
// before the later chunks of stories submitted earlier at the same
// priority, and playback started on the first chunks does not catch up
// with synthesis.
type Band int

// Bands, later first; a worker takes them in the reverse order.
const (
	Later Band = iota
	Soon
	First
)

var bands = []Band{First, Soon, Later}

func (b Band) suffix() string {
	switch b {
	case First:
		return ".first"
	case Soon:
		return ".soon"
	}
	return ""
}

func (b Band) String() string { return cmp.Or(strings.TrimPrefix(b.suffix(), "."), "later") }

// queueOf is one consumer of a stage: a lane, and a band of it.
type queueOf struct {
	lane Priority
	band Band
}

func (c queueOf) subject(stage string) string { return laneSubject(stage, c.lane) + c.band.suffix() }
func (c queueOf) consumer(stage string) string {
	return consumerName(stage + c.lane.lane() + c.band.suffix())
}

// queuesOf lists a stage's consumers in the order a worker takes tasks
// from them: by lane, highest first, and within a lane (of a banded stage)
// by band, First first.
func queuesOf(banded bool) []queueOf {
	var out []queueOf
	for _, p := range lanes {
		if !banded {
			out = append(out, queueOf{lane: p})
			continue
		}
		for _, b := range bands {
			out = append(out, queueOf{lane: p, band: b})
		}
	}
	return out
}

// WakeSubject is the plain NATS subject a stage's idle workers listen on
// to hear of new tasks at once; some worker of the stage is running while
// it has a subscriber.
func WakeSubject(stage string) string { return wakeSubject + stage }

// Consumers returns the names of a stage's durable consumers, one per
// priority lane, highest first, and for a banded stage one per band of
// each lane, First first: what an autoscaler watches for lag.
func Consumers(stage string, banded bool) []string {
	var out []string
	for _, c := range queuesOf(banded) {
		out = append(out, c.consumer(stage))
	}
	return out
}

// Publish sends a task to its stage, in the lane of its priority, and
// wakes the stage's idle workers.
func (q *Queue) Publish(ctx context.Context, m Message) error {
	data, err := json.Marshal(m.Data)
	if err != nil {
		return fmt.Errorf("queue: encode %s task: %w", m.Stage, err)
	}
	// Every task has a de-duplication id, so that a retry whose first try
	// was stored without its answer arriving is dropped as a copy.
	id := m.ID
	if id == "" {
		id = nonce()
	}
	msg := &nats.Msg{Subject: queueOf{lane: m.Priority, band: m.Band}.subject(m.Stage), Data: data}
	injectTrace(ctx, msg)
	err = q.call(ctx, func(ctx context.Context) error {
		_, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: publish %s task: %w", m.Stage, err)
	}
	// Only a hint: a worker that misses it finds the task on its next look.
	_ = q.nc.Publish(WakeSubject(m.Stage), nil)
	return nil
}

// Stage adapts a plain function to a durable pull consumer shared by every
// worker of the stage, wherever it runs.
type Stage[In, Out any] struct {
	// Name is the stage's name, a subject token or two ("clean", "synth.openai").
	Name string
	// Do does the work. Its error decides what happens to the task: nil acks
	// it after Next's messages are published; a fault.Permanent error fails the
	// job at once; a fault.Halt error also stops this process taking the
	// stage's tasks until it restarts; any other error retries after
	// fault.RetryAfter or backoff, and fails the job when the task's
	// deliveries run out.
	Do func(ctx context.Context, in In) (Out, error)
	// Next returns the tasks that follow a success; may be nil.
	Next func(in In, out Out) []Message
	// Fail records that the task failed for good, so its job ends failed with
	// the reason. If it returns an error the task is kept for a retry.
	Fail func(ctx context.Context, in In, err error) error
	// Retrying, when set, hears of each attempt that failed and will be
	// retried, for progress reports.
	Retrying func(ctx context.Context, in In, err error, delay time.Duration)
	// Concurrency is how many tasks this process works on at once (default 1).
	Concurrency int
	// MaxDeliver overrides the queue's deliveries per task for this stage.
	MaxDeliver int
	// MaxAckPending bounds the stage's tasks in flight across every worker
	// of the cluster (default 10,000), in each priority lane; 1 runs the
	// tasks of a lane one at a time.
	MaxAckPending int
	// Timeout bounds one attempt (default 10m): heartbeats keep a task alive
	// while Do runs, so a call that hangs must be cut off here.
	Timeout time.Duration
	// Drain is how long in-flight tasks may run on after shutdown begins
	// before they are handed back to the stream (default 20s).
	Drain time.Duration
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger
	// Banded splits each lane into bands (see Band), taken First first.
	// Its publishers set Message.Band; tasks of an unbanded stage must
	// leave it Later.
	Banded bool
}

func (s *Stage[In, Out]) setDefaults(q *Queue) {
	if s.Concurrency <= 0 {
		s.Concurrency = 1
	}
	if s.MaxDeliver <= 0 {
		s.MaxDeliver = q.cfg.MaxDeliver
	}
	if s.MaxAckPending <= 0 {
		s.MaxAckPending = 10000
	}
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Minute
	}
	if s.Drain <= 0 {
		s.Drain = 20 * time.Second
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Next == nil {
		s.Next = func(In, Out) []Message { return nil }
	}
}

// consumerName turns a stage name into a durable consumer name.
func consumerName(stage string) string { return strings.ReplaceAll(stage, ".", "-") }

type deliveryKey struct{}

// delivery is what Do may know of its task's message.
type delivery struct {
	count int
	seq   uint64
}

// Delivery is a task's delivery count, 1 on the first, as seen by Do.
func Delivery(ctx context.Context) int {
	d, _ := ctx.Value(deliveryKey{}).(delivery)
	return d.count
}

// Sequence is the task's place in the task stream, as seen by Do: a task
// with a sequence at or below LastSequence's answer at some moment was
// published before that moment.
func Sequence(ctx context.Context) uint64 {
	d, _ := ctx.Value(deliveryKey{}).(delivery)
	return d.seq
}

// LastSequence returns the sequence of the last task published to any
// stage (see Sequence).
func (q *Queue) LastSequence(ctx context.Context) (uint64, error) {
	var seq uint64
	err := q.call(ctx, func(ctx context.Context) error {
		s, err := q.js.Stream(ctx, TaskStream)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err == nil {
			seq = info.State.LastSeq
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue: task stream: %w", err)
	}
	return seq, nil
}

// Run works on the stage's tasks until ctx is done, then stops fetching,
// lets in-flight tasks finish for up to the stage's Drain time and hands
// back those that do not.
func Run[In, Out any](ctx context.Context, q *Queue, s Stage[In, Out]) error {
	s.setDefaults(q)
	if s.Do == nil || s.Fail == nil || s.Name == "" {
		return errors.New("queue: a stage needs a Name, Do and Fail")
	}
	for _, suffix := range []string{High.lane(), Low.lane(), First.suffix(), Soon.suffix()} {
		if strings.HasSuffix(s.Name, suffix) {
			return fmt.Errorf("queue: stage name %q ends in %q, a lane's or band's name", s.Name, suffix)
		}
	}
	r := &runner[In, Out]{q: q, s: s, log: s.Logger.With("stage", s.Name), halted: make(chan struct{})}
	queues := queuesOf(s.Banded)
	cons := make([]jetstream.Consumer, len(queues))
	for i, qu := range queues {
		name := qu.consumer(s.Name)
		desc := fmt.Sprintf("narrator %s workers, %s priority", s.Name, qu.lane)
		if s.Banded {
			desc += ", " + qu.band.String() + " band"
		}
		var c jetstream.Consumer
		err := q.await(ctx, func(ctx context.Context) (err error) {
			c, err = q.js.CreateOrUpdateConsumer(ctx, TaskStream, jetstream.ConsumerConfig{
				Durable:       name,
				Description:   desc,
				FilterSubject: qu.subject(s.Name),
				AckPolicy:     jetstream.AckExplicitPolicy,
				AckWait:       q.cfg.AckWait,
				MaxDeliver:    s.MaxDeliver,
				MaxAckPending: s.MaxAckPending,
			})
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil // shut down before the stage started: nothing to hand back
			}
			return fmt.Errorf("queue: consumer for stage %s: %w", s.Name, err)
		}
		cons[i] = c
		// The last delivery of a task whose worker died is never seen by
		// any worker: the server announces it instead, and the job is
		// failed here.
		sub, err := q.nc.QueueSubscribe(
			"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+TaskStream+"."+name,
			"narrator-advisory-"+name,
			func(m *nats.Msg) { r.exhausted(ctx, m.Data) })
		if err != nil {
			return fmt.Errorf("queue: stage %s advisories: %w", s.Name, err)
		}
		defer sub.Unsubscribe()
	}
	wake := make(chan struct{}, 1)
	sub, err := q.nc.Subscribe(WakeSubject(s.Name), func(*nats.Msg) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("queue: stage %s: %w", s.Name, err)
	}
	defer sub.Unsubscribe()

	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(s.Drain, cancelWork)
		context.AfterFunc(work, func() { t.Stop() })
	})
	defer stopDrain()

	// Tasks are fetched one at a time, and only when a worker is free, so
	// a process never holds tasks it has not started: a killed worker
	// delays only the tasks it was working on, and a High task that
	// arrives while every worker is busy goes to the first one free.
	var wg sync.WaitGroup
	free := make(chan struct{}, s.Concurrency)
	// Low tasks fill at most three quarters of the slots (all of them when
	// there are fewer than four), so that a High task arriving during a
	// backfill finds a slot free at once rather than after a Low one.
	lowCap := s.Concurrency - s.Concurrency/4
	var low atomic.Int32
	for {
		select {
		case free <- struct{}{}:
		case <-ctx.Done():
		}
		msg, lane := r.next(ctx, queues, cons, wake, func() bool { return int(low.Load()) < lowCap })
		if msg == nil {
			break
		}
		if lane == Low {
			low.Add(1)
		}
		wg.Go(func() {
			defer func() {
				if lane == Low {
					low.Add(-1)
					select { // a Low task may be waiting for this slot
					case wake <- struct{}{}:
					default:
					}
				}
				<-free
			}()
			r.handle(work, msg)
		})
	}
	wg.Wait()
	return nil
}

type runner[In, Out any] struct {
	q      *Queue
	s      Stage[In, Out]
	log    *slog.Logger
	halt   sync.Once
	halted chan struct{} // closed when the stage stops taking work

	fetchFailing bool // fetches have failed since the last one that worked
}

// idlePoll is how often an idle stage looks for tasks no publish announced:
// retries whose delay has passed and tasks of workers that died.
const idlePoll = time.Second

// next returns the first task of the first of queues that has one (those of
// the Low lane only while lowOK), and its lane, waiting until a task is
// published or idlePoll passes; nil once the stage stops.
func (r *runner[In, Out]) next(ctx context.Context, queues []queueOf, cons []jetstream.Consumer, wake <-chan struct{}, lowOK func() bool) (jetstream.Msg, Priority) {
	for {
		select {
		case <-ctx.Done():
			return nil, ""
		case <-r.halted:
			return nil, ""
		default:
		}
		var errs []error
		for i, c := range cons {
			if queues[i].lane == Low && !lowOK() {
				continue
			}
			msg, err := fetch(c)
			if msg != nil {
				if ctx.Err() != nil {
					r.settle(msg.Nak()) // fetched as shutdown began: hand it back
					return nil, ""
				}
				return msg, queues[i].lane
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		// NATS away makes every look fail: say so once, and once when it
		// answers again, rather than every second.
		switch {
		case len(errs) > 0 && !r.fetchFailing && ctx.Err() == nil:
			r.fetchFailing = true
			r.log.Warn("cannot fetch tasks; retrying every second", "err", errors.Join(errs...))
		case len(errs) == 0 && r.fetchFailing:
			r.fetchFailing = false
			r.log.Info("fetching tasks again")
		}
		t := time.NewTimer(idlePoll)
		select {
		case <-ctx.Done():
		case <-r.halted:
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// fetch takes the consumer's next task if one is waiting, without waiting.
func fetch(c jetstream.Consumer) (jetstream.Msg, error) {
	b, err := c.FetchNoWait(1)
	if err != nil {
		return nil, err
	}
	for msg := range b.Messages() {
		return msg, nil
	}
	return nil, b.Error()
}

func (r *runner[In, Out]) handle(ctx context.Context, msg jetstream.Msg) {
	// CPU profiles tell the stages apart by this label (narrator bench).
	ctx = pprof.WithLabels(ctx, pprof.Labels("stage", r.s.Name))
	pprof.SetGoroutineLabels(ctx)
	delivered, seq := 1, uint64(0)
	if meta, err := msg.Metadata(); err == nil {
		delivered, seq = int(meta.NumDelivered), meta.Sequence.Stream
	}
	var in In
	if err := json.Unmarshal(msg.Data(), &in); err != nil {
		r.log.Error("undecodable task dropped", "subject", msg.Subject(), "err", err)
		r.settle(msg.TermWithReason("undecodable task: " + err.Error()))
		return
	}
	log := r.log.With(taskAttrs(in)...)
	start := time.Now()
	ctx, span := startSpan(ctx, r.s.Name, msg.Headers(), delivered)
	outcome := "ok"
	defer func() {
		stageSeconds.WithLabelValues(r.s.Name, outcome).Observe(time.Since(start).Seconds())
	}()

	out, err := r.do(context.WithValue(ctx, deliveryKey{}, delivery{delivered, seq}), msg, in)
	if err == nil {
		for _, m := range r.s.Next(in, out) {
			if err = r.q.Publish(ctx, m); err != nil {
				break
			}
		}
	}
	switch {
	case err == nil:
		endSpan(span, outcome, nil)
		r.settle(r.q.call(ctx, msg.DoubleAck))
	case ctx.Err() != nil:
		// Shutting down: hand the task back at once for another worker.
		outcome = "handed_back"
		endSpan(span, outcome, err)
		log.Info("task handed back on shutdown")
		r.settle(msg.Nak())
	case fault.IsPermanent(err) || delivered >= r.s.MaxDeliver:
		outcome = "failed"
		endSpan(span, outcome, err)
		if !fault.IsPermanent(err) {
			err = fmt.Errorf("%w (gave up after %d attempts)", err, delivered)
		}
		log.Warn("task failed", "err", err, "attempt", delivered)
		if ferr := r.s.Fail(ctx, in, err); ferr != nil {
			log.Error("record failure", "err", ferr)
			r.settle(msg.NakWithDelay(backoff(delivered)))
			return
		}
		r.settle(msg.TermWithReason(truncate(err.Error(), 200)))
		if fault.IsHalt(err) {
			r.halt.Do(func() {
				log.Error("stage stopped taking work until an operator fixes the configuration and restarts this process", "err", err)
				close(r.halted)
			})
		}
	default:
		outcome = "retry"
		endSpan(span, outcome, err)
		delay := fault.RetryAfter(err)
		if delay <= 0 {
			delay = backoff(delivered)
		}
		log.Info("task will be retried", "err", err, "attempt", delivered, "delay", delay)
		r.settle(msg.NakWithDelay(delay))
		if r.s.Retrying != nil {
			r.s.Retrying(ctx, in, err, delay)
		}
	}
}

// do runs the stage function, telling the server the task is in progress
// while it runs so that AckWait only catches workers that died.
func (r *runner[In, Out]) do(ctx context.Context, msg jetstream.Msg, in In) (out Out, err error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(r.q.cfg.AckWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := msg.InProgress(); err != nil {
					r.log.Warn("progress heartbeat", "err", err)
				}
			}
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			err = fault.Permanent(fmt.Errorf("%s: internal error: %v", r.s.Name, p))
		}
	}()
	ctx, cancel := context.WithTimeoutCause(ctx, r.s.Timeout, fault.Retry(fmt.Errorf("%s: attempt timed out after %s", r.s.Name, r.s.Timeout), 0))
	defer cancel()
	out, err = r.s.Do(ctx, in)
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	return out, err
}

// exhausted fails the job of a task whose last delivery went unanswered.
func (r *runner[In, Out]) exhausted(ctx context.Context, data []byte) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries int    `json:"deliveries"`
	}
	if err := json.Unmarshal(data, &adv); err != nil || adv.StreamSeq == 0 {
		return
	}
	var raw *jetstream.RawStreamMsg
	err := r.q.call(ctx, func(ctx context.Context) (err error) {
		raw, err = r.q.tasks.GetMsg(ctx, adv.StreamSeq)
		return err
	})
	if err != nil {
		return // acked or removed meanwhile: nothing is lost
	}
	var in In
	if err := json.Unmarshal(raw.Data, &in); err != nil {
		return
	}
	err = fmt.Errorf("%s: no worker finished the task in %d deliveries (workers crashed or timed out)", r.s.Name, adv.Deliveries)
	if ferr := r.s.Fail(ctx, in, err); ferr != nil {
		r.log.Error("record failure", "err", ferr)
		return
	}
	err = r.q.call(ctx, func(ctx context.Context) error {
		err := r.q.tasks.DeleteMsg(ctx, adv.StreamSeq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil // a try whose answer was lost took
		}
		return err
	})
	if err != nil {
		r.log.Warn("delete exhausted task", "err", err)
	}
}

func (r *runner[In, Out]) settle(err error) {
	if err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
		r.log.Warn("acknowledge task", "err", err)
	}
}

// backoff is the delay before delivery n+1: exponential from one second,
// capped at a minute, with jitter so that retries do not arrive in step.
func backoff(n int) time.Duration {
	d := time.Second << min(max(n-1, 0), 6)
	d = min(d, time.Minute)
	return d/2 + rand.N(d/2+1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// taskAttrs returns the log attributes a task names about itself.
func taskAttrs(in any) []any {
	if a, ok := in.(interface{ LogAttrs() []any }); ok {
		return a.LogAttrs()
	}
	return nil
}

// WaitIdle waits until the named consumers (Consumers) have no task
// waiting or in progress, or ctx is done: a command that ran stages itself
// lets their last tasks finish.
func (q *Queue) WaitIdle(ctx context.Context, consumers []string) error {
	for {
		busy := false
		for _, name := range consumers {
			var info *jetstream.ConsumerInfo
			err := q.call(ctx, func(ctx context.Context) error {
				cons, err := q.js.Consumer(ctx, TaskStream, name)
				if err == nil {
					info, err = cons.Info(ctx)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("queue: consumer %s: %w", name, err)
			}
			busy = busy || info.NumPending > 0 || info.NumAckPending > 0
			if !busy {
				// The consumer learns of a task a moment after the stream
				// stored it, so its counts can miss one just published:
				// the stream says whether its subject holds a task the
				// consumer has not yet been handed.
				undelivered, err := q.undelivered(ctx, info)
				if err != nil {
					return err
				}
				busy = undelivered
			}
		}
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// undelivered reports whether the task stream holds a task on the
// consumer's subject past the last one it delivered.
func (q *Queue) undelivered(ctx context.Context, info *jetstream.ConsumerInfo) (bool, error) {
	if info.Config.FilterSubject == "" {
		return false, nil
	}
	var last *jetstream.RawStreamMsg
	err := q.call(ctx, func(ctx context.Context) (err error) {
		last, err = q.tasks.GetLastMsgForSubject(ctx, info.Config.FilterSubject)
		return err
	})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue: consumer %s: %w", info.Name, err)
	}
	return last.Sequence > info.Delivered.Stream, nil
}
