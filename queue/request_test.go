package queue

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// natsServer runs an embedded NATS server on a fixed address and store, which
// the test stops and starts again as an operator restarts nats-server.
type natsServer struct {
	t         *testing.T
	dir, addr string
	q         *Queue
}

func startServer(t *testing.T, dir, addr string) *natsServer {
	t.Helper()
	s := &natsServer{t: t, dir: dir, addr: addr}
	s.start()
	t.Cleanup(func() {
		if s.q != nil {
			s.q.Close()
		}
	})
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := Open(ctx, Config{DataDir: s.dir, Listen: s.addr})
	if err != nil {
		s.t.Fatal(err)
	}
	s.q = q
}

func (s *natsServer) stop() {
	s.q.Close()
	s.q = nil
}

func (s *natsServer) url() string { return "nats://" + s.addr }

func TestRequestsRideOutARestart(t *testing.T) {
	srv := startServer(t, t.TempDir(), freeAddr(t))
	q := newQueue(t, Config{URL: srv.url(), RequestTimeout: 500 * time.Millisecond, RetryFor: 20 * time.Second})
	ctx := context.Background()
	if err := q.Jobs().Create(ctx, Job{ID: "restart", State: Queued}); err != nil {
		t.Fatal(err)
	}

	srv.stop()
	// A stage's attempt has ten minutes; a request must not wait them out.
	attempt, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	got := make(chan error, 1)
	go func() {
		_, err := q.Jobs().Update(attempt, "restart", func(j *Job) error { j.State = Running; return nil })
		got <- err
	}()
	// The update is retried while the server is away: started again on the
	// same store, it finds the job and the update goes through once.
	waitUntil(t, "the client to see the server gone", func() bool { return !q.nc.IsConnected() })
	srv.start()
	if err := <-got; err != nil {
		t.Fatalf("update across a restart: %v", err)
	}
	j, err := q.Jobs().Get(ctx, "restart")
	if err != nil || j.State != Running {
		t.Fatalf("job after the restart: %s, %v", j.State, err)
	}
}

func TestRequestsGiveUpWhenNATSStaysAway(t *testing.T) {
	srv := startServer(t, t.TempDir(), freeAddr(t))
	q := newQueue(t, Config{URL: srv.url(), RequestTimeout: 200 * time.Millisecond, RetryFor: time.Second})
	srv.stop()
	attempt, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err := q.Jobs().Get(attempt, "anything")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("get with NATS away: %v, want ErrUnavailable", err)
	}
	if attempt.Err() != nil {
		t.Fatal("the request waited out the attempt's deadline")
	}
}

func TestOpenWaitsForNATS(t *testing.T) {
	addr := freeAddr(t)
	opened := make(chan error, 1)
	var q *Queue
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		q, err = Open(ctx, Config{URL: "nats://" + addr, RequestTimeout: 500 * time.Millisecond})
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("Open returned before NATS was there: %v", err)
	case <-time.After(time.Second):
	}
	startServer(t, t.TempDir(), addr)
	if err := <-opened; err != nil {
		t.Fatalf("Open once NATS came: %v", err)
	}
	defer q.Close()
	if err := q.Jobs().Create(context.Background(), Job{ID: "late"}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteWhoseAnswerWasLostTakesOnce(t *testing.T) {
	q := newQueue(t, Config{RetryFor: time.Second})
	ctx := context.Background()
	b := q.kv(q.jobs)
	first, err := b.kv.Create(ctx, "lost.update", []byte("0 first"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key   string
		write func(ctx context.Context, val []byte) error
	}{
		{"lost.create", func(ctx context.Context, val []byte) error {
			_, err := b.kv.Create(ctx, "lost.create", val)
			return err
		}},
		{"lost.update", func(ctx context.Context, val []byte) error {
			_, err := b.kv.Update(ctx, "lost.update", val, first)
			return err
		}},
	} {
		t.Run(tc.key, func(t *testing.T) {
			val := []byte("1 " + nonce())
			tries := 0
			err := b.write(ctx, tc.key, val, func(ctx context.Context) error {
				tries++
				err := tc.write(ctx, val)
				if err == nil && tries == 1 {
					return context.DeadlineExceeded // stored, but the answer never came
				}
				return err
			})
			if err != nil || tries != 2 {
				t.Fatalf("write: %v after %d tries; want success on the second", err, tries)
			}
			e, err := b.kv.Get(ctx, tc.key)
			if err != nil || string(e.Value()) != string(val) {
				t.Fatalf("stored %q, %v", e.Value(), err)
			}
			// Someone else's value in the way is a conflict, not a success.
			tries = 0
			err = b.write(ctx, tc.key, []byte("2 "+nonce()), func(ctx context.Context) error {
				tries++
				if tries == 1 {
					return context.DeadlineExceeded
				}
				return tc.write(ctx, []byte("2 "+nonce()))
			})
			if !isWrongRevision(err) {
				t.Errorf("a write that never took: %v, want a conflict", err)
			}
		})
	}
}

func TestBillingRecordsCountEachRequestOnce(t *testing.T) {
	q := newQueue(t, Config{})
	ctx := context.Background()
	jobs := q.Jobs()
	day := time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC)
	bills := []Billing{
		{ID: NewBillingID(), Provider: "openai", Job: "j1", Rev: 1, Chunk: 0, Chars: 900, Time: day},
		{ID: NewBillingID(), Provider: "openai", Job: "j1", Rev: 1, Chunk: 1, Chars: 400, Time: day},
		{ID: NewBillingID(), Provider: "openai", Job: "j1", Rev: 1, Chunk: 1, Chars: 400, Time: day.Add(time.Hour)}, // a retry, the next day
		{ID: NewBillingID(), Provider: "openai", Job: "j1", Rev: 2, Chunk: 0, Chars: 50, Time: day.Add(time.Hour)},
		{ID: NewBillingID(), Provider: "polly", Job: "j2", Rev: 1, Chunk: 0, Chars: 70, Time: day},
	}
	for _, b := range append(bills, bills[0], bills[1]) { // stored again, as a retried request would be
		if err := jobs.Bill(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	byDay, err := jobs.Billed(ctx, "openai", day)
	if err != nil {
		t.Fatal(err)
	}
	if byDay[4] != 1300 || byDay[5] != 450 || len(byDay) != 2 {
		t.Errorf("openai billed by day %v, want 4: 1300, 5: 450", byDay)
	}
	for rev, want := range map[int]int{1: 1700, 2: 50} {
		if n, err := jobs.JobBilled(ctx, "openai", "j1", rev); err != nil || n != want {
			t.Errorf("job j1 revision %d billed %d, %v; want %d", rev, n, err, want)
		}
	}
	if err := jobs.Bill(ctx, Billing{ID: "x", Provider: "openai", Job: "j1"}); err == nil {
		t.Error("a record of no characters was stored")
	}
}

// waitUntil polls cond until it holds, or fails the test after a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestFollowEndsWithTheJob checks that following a job whose final event
// was lost (NATS failing over as it was published) ends anyway, with a
// final event made from job state.
func TestFollowEndsWithTheJob(t *testing.T) {
	q := newQueue(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Jobs().Create(ctx, Job{ID: "lost-end", Revision: 1, State: Running}); err != nil {
		t.Fatal(err)
	}
	if err := q.Emit(ctx, Event{Job: "lost-end", Rev: 1, Kind: EventStageStart, Stage: "publish"}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Jobs().Update(ctx, "lost-end", func(j *Job) error {
		j.State, j.Output = Done, &Output{URL: "http://media.test/lost-end.mp3"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var got []Event
	if err := q.Follow(ctx, "lost-end", 1, func(e Event) bool { got = append(got, e); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != EventStageStart || got[1].Kind != EventDone || got[1].Message != "http://media.test/lost-end.mp3" {
		t.Fatalf("events %+v; want the stage start, then done from job state", got)
	}
}
