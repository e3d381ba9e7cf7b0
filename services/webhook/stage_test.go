package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/webhook"
)

// task is what a webhook stage's message would carry.
type task struct {
	Endpoint string        `json:"endpoint"`
	Event    webhook.Event `json:"event"`
}

// TestDeliveredByTheQueueRunner runs the Sender as a stage of the real
// queue runner (embedded NATS): the receiver answers 503 twice, the runner
// naks with the delay the receiver asked for, and the third delivery
// succeeds. This is the shape of the pipeline's webhook stage.
func TestDeliveredByTheQueueRunner(t *testing.T) {
	const secret = "whsec-0123456789abcdef"
	var mu sync.Mutex
	var attempts []time.Time
	delivered := make(chan webhook.Event, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		attempts = append(attempts, time.Now())
		n := len(attempts)
		mu.Unlock()
		if n <= 2 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "receiver is restarting", http.StatusServiceUnavailable)
			return
		}
		var e webhook.Event
		json.Unmarshal(body, &e)
		delivered <- e
	}))
	t.Cleanup(rc.Close)

	ctx, cancel := context.WithCancel(context.Background())
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), AckWait: 5 * time.Second, MaxDeliver: 5})
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhook.New(webhook.Config{URLs: []string{rc.URL}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	var recMu sync.Mutex
	var records []webhook.Delivery
	recorded := make(chan struct{}, 1)
	record := func(d webhook.Delivery) {
		recMu.Lock()
		records = append(records, d)
		recMu.Unlock()
		if d.State == webhook.StateDelivered {
			recorded <- struct{}{}
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- queue.Run(ctx, q, queue.Stage[task, struct{}]{
			Name: "webhook",
			Do: func(ctx context.Context, tk task) (struct{}, error) {
				err := s.Send(ctx, tk.Endpoint, tk.Event)
				record(webhook.Record(tk.Event, tk.Endpoint, queue.Delivery(ctx), err, time.Now()))
				return struct{}{}, err
			},
			Fail: func(ctx context.Context, tk task, err error) error {
				d := webhook.Record(tk.Event, tk.Endpoint, queue.Delivery(ctx), err, time.Now())
				d.State = webhook.StateFailed
				record(d)
				return nil
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		q.Close()
	})

	e := webhook.NewEvent(webhook.Failed, webhook.Narration{ID: "j1", ArticleID: "j1", Revision: 1, State: "failed", Error: "clean: the page has no article text", FailedStage: "clean"}, time.Now())
	if err := q.Publish(ctx, queue.Message{Stage: "webhook", ID: "webhook-" + e.ID, Data: task{Endpoint: rc.URL, Event: e}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-delivered:
		if got.ID != e.ID || got.Narration.Error != e.Narration.Error {
			t.Errorf("delivered %+v, want %+v", got, e)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the event was not delivered within a minute")
	}
	select {
	case <-recorded:
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery was not recorded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 3 {
		t.Fatalf("%d attempts, want 3", len(attempts))
	}
	for i := 1; i < len(attempts); i++ {
		if gap := attempts[i].Sub(attempts[i-1]); gap < 900*time.Millisecond {
			t.Errorf("attempt %d came %s after the previous; the receiver asked for 1s", i+1, gap)
		}
	}
	recMu.Lock()
	defer recMu.Unlock()
	if len(records) != 3 || records[0].State != webhook.StateRetrying || records[0].Status != 503 || records[2].State != webhook.StateDelivered || records[2].Attempts != 3 {
		t.Errorf("delivery records %+v", records)
	}
}
