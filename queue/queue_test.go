package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
)

// newQueue starts an embedded server with its store in a temporary directory.
func newQueue(t *testing.T, cfg Config) *Queue {
	t.Helper()
	if cfg.DataDir == "" && cfg.URL == "" {
		cfg.DataDir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

type task struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

// runStage runs a stage until the test ends.
func runStage[In, Out any](t *testing.T, q *Queue, s Stage[In, Out]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, q, s) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stage %s: %v", s.Name, err)
		}
	})
}

func TestOpenIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	q := newQueue(t, Config{DataDir: dir})
	if err := q.Jobs().Create(context.Background(), Job{ID: "j1", State: Queued}); err != nil {
		t.Fatal(err)
	}
	q.Close()
	// A second start on the same store finds the job: declarations update
	// rather than replace, and writes reached the disk.
	q2 := newQueue(t, Config{DataDir: dir})
	j, err := q2.Jobs().Get(context.Background(), "j1")
	if err != nil {
		t.Fatalf("job after restart: %v", err)
	}
	if j.State != Queued {
		t.Errorf("state = %s, want queued", j.State)
	}
}

func TestUpdateIsCompareAndSwap(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	if err := jobs.Create(ctx, Job{ID: "cas"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := jobs.Update(ctx, "cas", func(j *Job) error { j.BilledChars++; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	j, err := jobs.Get(ctx, "cas")
	if err != nil {
		t.Fatal(err)
	}
	if j.BilledChars != 20 {
		t.Errorf("20 concurrent increments gave %d: an update was lost", j.BilledChars)
	}
	if _, err := jobs.Get(ctx, "missing"); !errors.Is(err, ErrNoJob) {
		t.Errorf("missing job: err = %v, want ErrNoJob", err)
	}
}

func TestChunksListsOneRevision(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	for i := range 3 {
		if err := jobs.PutChunk(ctx, "j", 1, Chunk{Index: 2 - i, State: ChunkDone}); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs.PutChunk(ctx, "j", 2, Chunk{Index: 0}); err != nil {
		t.Fatal(err)
	}
	cs, err := jobs.Chunks(ctx, "j", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 || cs[0].Index != 0 || cs[2].Index != 2 {
		t.Errorf("chunks = %+v, want indexes 0,1,2", cs)
	}
	none, err := jobs.Chunks(ctx, "j", 9)
	if err != nil || len(none) != 0 {
		t.Errorf("revision without chunks: %v, %v", none, err)
	}
}

func TestRunnerMapsErrorsToAcks(t *testing.T) {
	q := newQueue(t, Config{MaxDeliver: 3})
	ctx := context.Background()
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
		failed   = make(chan string, 10)
		nexts    = make(chan task, 10)
	)
	runStage(t, q, Stage[task, int]{
		Name:        "work",
		Concurrency: 2,
		Do: func(ctx context.Context, in task) (int, error) {
			mu.Lock()
			attempts[in.ID]++
			n := attempts[in.ID]
			mu.Unlock()
			if Delivery(ctx) != n {
				return 0, fault.Permanent(fmt.Errorf("delivery %d on attempt %d", Delivery(ctx), n))
			}
			switch in.ID {
			case "ok":
				return in.N * 2, nil
			case "permanent":
				return 0, fault.Permanent(errors.New("bad input"))
			case "flaky":
				if n < 2 {
					return 0, fault.Retry(errors.New("busy"), 10*time.Millisecond)
				}
				return in.N, nil
			default: // "broken": always temporary, never succeeds
				return 0, fault.Retry(errors.New("down"), 10*time.Millisecond)
			}
		},
		Next: func(in task, out int) []Message {
			return []Message{{Stage: "after", ID: "after-" + in.ID, Data: task{ID: in.ID, N: out}}}
		},
		Fail: func(ctx context.Context, in task, err error) error {
			failed <- in.ID + ": " + err.Error()
			return nil
		},
	})
	runStage(t, q, Stage[task, struct{}]{
		Name: "after",
		Do: func(ctx context.Context, in task) (struct{}, error) {
			nexts <- in
			return struct{}{}, nil
		},
		Fail: func(context.Context, task, error) error { return nil },
	})
	for _, id := range []string{"ok", "permanent", "flaky", "broken"} {
		if err := q.Publish(ctx, Message{Stage: "work", ID: id, Data: task{ID: id, N: 21}}); err != nil {
			t.Fatal(err)
		}
	}
	// A duplicate publish with the same id is dropped.
	if err := q.Publish(ctx, Message{Stage: "work", ID: "ok", Data: task{ID: "ok", N: 21}}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for range 2 {
		select {
		case n := <-nexts:
			got[n.ID] = n.N
		case <-time.After(20 * time.Second):
			t.Fatal("next stage did not receive both successes")
		}
	}
	if got["ok"] != 42 || got["flaky"] != 21 {
		t.Errorf("next stage got %v, want ok=42 flaky=21", got)
	}
	fails := map[string]string{}
	for range 2 {
		select {
		case f := <-failed:
			fails[f[:len("broken")]] = f
		case <-time.After(20 * time.Second):
			t.Fatal("failures not recorded")
		}
	}
	if f := fails["perman"]; f != "permanent: bad input" {
		t.Errorf("permanent failure recorded as %q", f)
	}
	if f := fails["broken"]; f != "broken: down (gave up after 3 attempts)" {
		t.Errorf("exhausted failure recorded as %q", f)
	}
	mu.Lock()
	defer mu.Unlock()
	if attempts["ok"] != 1 || attempts["permanent"] != 1 || attempts["flaky"] != 2 || attempts["broken"] != 3 {
		t.Errorf("attempts = %v, want ok=1 permanent=1 flaky=2 broken=3", attempts)
	}
}

func TestHigherPriorityGoesFirst(t *testing.T) {
	var tasks []Message
	for i := range 2 {
		tasks = append(tasks, Message{ID: fmt.Sprint("low", i), Priority: Low},
			Message{ID: fmt.Sprint("normal", i), Priority: Normal}, Message{ID: fmt.Sprint("high", i), Priority: High})
	}
	// A task republished in another lane is the same task: dropped.
	tasks = append(tasks, Message{ID: "normal0", Priority: High})
	checkOrder(t, false, tasks, "high0 high1 normal0 normal1 low0 low1")
}

// TestBandsOrderALane: in a banded stage the First tasks of a lane go
// before its Soon ones and those before the rest, whenever each was
// published; a higher lane still goes before every band of a lower one.
func TestBandsOrderALane(t *testing.T) {
	checkOrder(t, true, []Message{
		{ID: "old-later0"}, {ID: "old-later1"}, {ID: "old-soon", Band: Soon},
		{ID: "low-first", Priority: Low, Band: First},
		{ID: "new-first", Band: First}, {ID: "new-soon", Band: Soon}, {ID: "new-later"},
		{ID: "high-later", Priority: High},
	}, "high-later new-first old-soon new-soon old-later0 old-later1 new-later low-first")
}

// checkOrder queues tasks while a stage's only worker is busy, then checks
// the order it runs them in, and that each runs once.
func checkOrder(t *testing.T, banded bool, tasks []Message, want string) {
	t.Helper()
	q := newQueue(t, Config{})
	ctx := context.Background()
	var (
		started = make(chan struct{})
		release = make(chan struct{})
		ran     = make(chan string, 20)
	)
	runStage(t, q, Stage[task, struct{}]{
		Name:   "ordered",
		Banded: banded,
		Do: func(ctx context.Context, in task) (struct{}, error) {
			if in.ID == "busy" {
				close(started)
				<-release
			}
			ran <- in.ID
			return struct{}{}, nil
		},
		Fail: func(context.Context, task, error) error { return nil },
	})
	publish := func(m Message) {
		t.Helper()
		m.Stage, m.Data = "ordered", task{ID: m.ID}
		if err := q.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// While the only worker is busy, the tasks queue up.
	publish(Message{ID: "busy"})
	<-started
	for _, m := range tasks {
		publish(m)
	}
	close(release)
	order := []string{<-ran}
	for range strings.Fields(want) {
		select {
		case id := <-ran:
			order = append(order, id)
		case <-time.After(20 * time.Second):
			t.Fatalf("ran %v, then nothing", order)
		}
	}
	if got := strings.Join(order, " "); got != "busy "+want {
		t.Errorf("ran %s, want busy %s", got, want)
	}
	if err := q.WaitIdle(ctx, Consumers("ordered", banded)); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-ran:
		t.Errorf("%s ran twice", id)
	default:
	}
}

// TestLowTasksLeaveASlot fills a worker with Low tasks: they take three of
// its four slots, and a High task published then starts at once in the
// fourth, while the Low ones still run.
func TestLowTasksLeaveASlot(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	var (
		running = make(chan string, 20)
		release = make(chan struct{})
	)
	runStage(t, q, Stage[task, struct{}]{
		Name:        "slots",
		Concurrency: 4,
		Do: func(ctx context.Context, in task) (struct{}, error) {
			running <- in.ID
			if strings.HasPrefix(in.ID, "low") {
				<-release
			}
			return struct{}{}, nil
		},
		Fail: func(context.Context, task, error) error { return nil },
	})
	t.Cleanup(func() { close(release) })
	publish := func(id string, p Priority) {
		t.Helper()
		if err := q.Publish(ctx, Message{Stage: "slots", ID: id, Priority: p, Data: task{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	next := func() string {
		t.Helper()
		select {
		case id := <-running:
			return id
		case <-time.After(20 * time.Second):
			t.Fatal("no task started")
		}
		return ""
	}
	for i := range 6 {
		publish(fmt.Sprint("low", i), Low)
	}
	for range 3 {
		if id := next(); !strings.HasPrefix(id, "low") {
			t.Fatalf("%s started", id)
		}
	}
	publish("high", High)
	if id := next(); id != "high" {
		t.Errorf("with three Low tasks running, %s started; want the High task in the free slot", id)
	}
	select {
	case id := <-running:
		t.Errorf("%s started while three Low tasks held their slots", id)
	default:
	}
}

func TestTaskOfDeadWorkersFailsTheJob(t *testing.T) {
	// Workers that die holding a task send no heartbeats and never answer.
	// The task is redelivered after AckWait; when its last delivery dies
	// too, the server's advisory reaches a live worker, which fails the job.
	srv := newQueue(t, Config{Listen: "127.0.0.1:0", MaxDeliver: 2, AckWait: time.Second})
	url := srv.ClientURL()
	ctx := context.Background()
	held := make(chan *Queue, 2)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	failed := make(chan error, 2)
	worker := func() *Queue {
		q := newQueue(t, Config{URL: url, MaxDeliver: 2, AckWait: time.Second})
		runStage(t, q, Stage[task, int]{
			Name:  "fragile",
			Drain: time.Millisecond,
			Do: func(ctx context.Context, in task) (int, error) {
				held <- q
				select { // a dead worker never returns; stop at the test's end
				case <-release:
				case <-ctx.Done():
				}
				return 0, errors.New("released")
			},
			Fail: func(ctx context.Context, in task, err error) error {
				failed <- err
				return nil
			},
		})
		return q
	}
	if err := srv.Publish(ctx, Message{Stage: "fragile", ID: "t1", Data: task{ID: "t1"}}); err != nil {
		t.Fatal(err)
	}
	worker()
	for delivery := 1; delivery <= 2; delivery++ {
		select {
		case q := <-held:
			q.nc.Close() // the worker dies: no heartbeat, no answer
		case <-time.After(20 * time.Second):
			t.Fatalf("delivery %d never reached a worker", delivery)
		}
		worker() // a fresh worker takes the redelivery, or hears the advisory
	}
	select {
	case err := <-failed:
		if want := "no worker finished the task in 2 deliveries"; !strings.Contains(err.Error(), want) {
			t.Errorf("failure reason %q does not say %q", err, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the job of a task whose workers all died was never failed")
	}
	// The failure is recorded before the task is removed, so that a crash
	// in between loses nothing; wait for the removal.
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, err := srv.tasks.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks left in the stream after the failure was recorded", info.State.Msgs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHaltStopsTheStage(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	var calls atomic.Int32
	failed := make(chan string, 4)
	runStage(t, q, Stage[task, int]{
		Name:        "halting",
		Concurrency: 1,
		Do: func(ctx context.Context, in task) (int, error) {
			calls.Add(1)
			return 0, fault.Halt(errors.New("provider refused the credentials"))
		},
		Fail: func(ctx context.Context, in task, err error) error {
			failed <- in.ID
			return nil
		},
	})
	for _, id := range []string{"first", "second", "third"} {
		if err := q.Publish(ctx, Message{Stage: "halting", ID: id, Data: task{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case id := <-failed:
		if id != "first" {
			t.Errorf("failed %s first", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first task was not failed")
	}
	// The other tasks wait in the stream for a worker with a working
	// configuration instead of failing one after another.
	cons, err := q.js.Consumer(ctx, TaskStream, "halting")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumAckPending == 0 && info.NumPending == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer: %d pending, %d unacked; want 2 waiting", info.NumPending, info.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the halted stage ran %d tasks, want 1", n)
	}
	select {
	case id := <-failed:
		t.Errorf("task %s failed after the stage halted", id)
	default:
	}
}

func TestUsageCountsEveryIncrement(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	day := time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := jobs.AddUsage(ctx, day, 100, "provider.openai", "publication.daily"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, c := range []string{"provider.openai", "publication.daily"} {
		n, err := jobs.Usage(ctx, day, c)
		if err != nil || n != 1000 {
			t.Errorf("%s: %d, %v; want 1000", c, n, err)
		}
	}
	if n, err := jobs.Usage(ctx, day.Add(2*time.Hour), "provider.openai"); err != nil || n != 0 {
		t.Errorf("the next day starts at %d, %v", n, err)
	}
}

func TestReservationsNeverPassTheLimit(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	day := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var (
		wg      sync.WaitGroup
		granted atomic.Int32
	)
	// Twenty chunks of 100 characters at once against a budget of 1,050.
	for range 20 {
		wg.Go(func() {
			_, ok, err := jobs.ReserveUsage(ctx, day, "publication.daily", 100, 1050)
			if err != nil {
				t.Error(err)
			}
			if ok {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if n, err := jobs.Usage(ctx, day, "publication.daily"); granted.Load() != 10 || n != 1000 || err != nil {
		t.Errorf("%d reservations granted, counter %d (%v); want 10 and 1000", granted.Load(), n, err)
	}
	// A settled reservation gives back what was not billed.
	if err := jobs.AddUsage(ctx, day, -100, "publication.daily"); err != nil {
		t.Fatal(err)
	}
	used, ok, err := jobs.ReserveUsage(ctx, day, "publication.daily", 150, 1050)
	if !ok || used != 900 || err != nil {
		t.Errorf("after giving back 100: reserve 150 = %d, %v, %v; want granted at 900", used, ok, err)
	}
}

func TestDocsUpdateLosesNoEdit(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	docs := q.Lexicons()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, err := docs.Update(ctx, "daily", func(old []byte) ([]byte, error) {
				return append(old, byte('a'+i)), nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := docs.Get(ctx, "daily")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 {
		t.Errorf("20 concurrent edits left %q (%d): an edit was lost", got, len(got))
	}
	if _, err := docs.Get(ctx, "weekly"); !errors.Is(err, ErrNoDoc) {
		t.Errorf("missing document: %v", err)
	}
}

func TestFollowAllSeesEveryJobSince(t *testing.T) {
	q := newQueue(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.Emit(ctx, Event{Job: "old", Rev: 1, Kind: EventQueued}); err != nil {
		t.Fatal(err)
	}
	since := time.Now()
	for _, id := range []string{"a", "b"} {
		if err := q.Emit(ctx, Event{Job: id, Rev: 1, Kind: EventQueued}); err != nil {
			t.Fatal(err)
		}
		if err := q.Emit(ctx, Event{Job: id, Rev: 1, Kind: EventDone}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := q.FollowAll(ctx, since, func(e Event) bool {
		got = append(got, e.Job+":"+string(e.Kind))
		return len(got) < 4
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a:queued a:done b:queued b:done"; strings.Join(got, " ") != want {
		t.Errorf("got %v, want %s (and nothing from before)", got, want)
	}
}

func TestOnceHoldsAcrossConnections(t *testing.T) {
	srv := newQueue(t, Config{Listen: "127.0.0.1:0"})
	other := newQueue(t, Config{URL: srv.ClientURL()})
	ctx := context.Background()
	once := func(q *Queue, want bool) {
		t.Helper()
		first, err := q.Once(ctx, "cms.abc")
		if err != nil || first != want {
			t.Fatalf("Once = %v, %v; want %v", first, err, want)
		}
	}
	once(srv, true)
	once(other, false) // another server sees the key taken
	once(srv, false)
	if err := other.Forget(ctx, "cms.abc"); err != nil {
		t.Fatal(err)
	}
	once(srv, true) // forgotten: usable once more
	once(other, false)
}

// TestOpenChangesNothingThatExists guards against a race in nats-server:
// rewriting a stream's configuration while another process adds a
// consumer to it. A second process opening the queue must not update any
// stream whose settings are unchanged.
func TestOpenChangesNothingThatExists(t *testing.T) {
	first := newQueue(t, Config{Listen: "127.0.0.1:0"})
	if _, err := first.RateLimiter(context.Background(), "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 60}}); err != nil {
		t.Fatal(err)
	}
	updated := make(chan string, 100)
	sub, err := first.nc.Subscribe("$JS.EVENT.ADVISORY.STREAM.UPDATED.>", func(m *nats.Msg) { updated <- m.Subject })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := first.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	second := newQueue(t, Config{URL: first.ClientURL()})
	if _, err := second.RateLimiter(context.Background(), "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 60}}); err != nil {
		t.Fatal(err)
	}
	// A stream changed on purpose is announced, and the announcement
	// comes after any from the second open.
	if _, err := second.js.UpdateStream(context.Background(), jetstream.StreamConfig{
		Name: EventStream, Description: "changed", Subjects: []string{eventSubject + ">"}, MaxAge: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case subj := <-updated:
		if subj != "$JS.EVENT.ADVISORY.STREAM.UPDATED."+EventStream {
			t.Errorf("opening the queue again updated %s", subj)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no update advisory at all: the test cannot see updates")
	}
}

// TestBacklogCountsEveryBand: a backfill paces itself on the Low lane's
// backlog, which in a banded stage is spread over the lane's bands.
func TestBacklogCountsEveryBand(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	release := make(chan struct{})
	defer close(release)
	runStage(t, q, Stage[task, struct{}]{
		Name: "held", Banded: true, Concurrency: 3,
		Do: func(ctx context.Context, in task) (struct{}, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return struct{}{}, nil
		},
		Fail: func(context.Context, task, error) error { return nil },
	})
	for i, b := range []Band{First, Soon, Later, Later} {
		id := fmt.Sprint("low", i)
		if err := q.Publish(ctx, Message{Stage: "held", ID: id, Priority: Low, Band: b, Data: task{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	// Three slots, so three under way, one in each band, and one waiting.
	deadline := time.Now().Add(20 * time.Second)
	for {
		waiting, working, err := q.Backlog(ctx, Low, "held")
		if err != nil {
			t.Fatal(err)
		}
		if waiting == 1 && working == 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog: %d waiting, %d under way; want 1 and 3", waiting, working)
		}
		<-time.After(20 * time.Millisecond) // polled, like a backfill does
	}
}
