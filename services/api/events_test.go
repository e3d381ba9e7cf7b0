package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
)

// followers counts the consumers of the event stream, one per follower.
func (e *env) followers() int {
	e.t.Helper()
	nc, err := nats.Connect(e.q.ClientURL())
	if err != nil {
		e.t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), queue.EventStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Consumers
}

// openEvents opens GET /api/events as the token and returns the response.
func (e *env) openEvents(token string) *http.Response {
	e.t.Helper()
	return e.request("GET", "/api/events", token, nil, nil)
}

// waitFollowers waits until the event stream has n consumers.
func (e *env) waitFollowers(n int, why string) {
	e.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); e.followers() != n; {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %d consumers of the event stream, want %d", why, e.followers(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClosedEventStreamsReleaseTheirConsumers: a stream the client closes
// gives back its consumer at once, not when the server reaps it minutes
// later.
func TestClosedEventStreamsReleaseTheirConsumers(t *testing.T) {
	e := start(t)
	base := e.followers()
	var open []*http.Response
	for range 10 {
		resp := e.openEvents(readerToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("open a stream: %d", resp.StatusCode)
		}
		open = append(open, resp)
	}
	e.waitFollowers(base+10, "10 streams open")
	for _, resp := range open {
		resp.Body.Close()
	}
	e.waitFollowers(base, "every stream closed")
}

// TestEventStreamsPerTokenAreCapped: a token may hold only so many streams
// open; closing one lets another open.
func TestEventStreamsPerTokenAreCapped(t *testing.T) {
	e := start(t, func(c *api.Config) { c.StreamsPerToken = 3 })
	var open []*http.Response
	for range 3 {
		resp := e.openEvents(readerToken)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream within the cap: %d", resp.StatusCode)
		}
		open = append(open, resp)
	}
	resp := e.openEvents(readerToken)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a fourth stream: %d, want 429 with Retry-After", resp.StatusCode)
	}
	// Another token has its own streams.
	other := e.openEvents(editorToken)
	other.Body.Close()
	if other.StatusCode != http.StatusOK {
		t.Errorf("another token's stream: %d, want 200", other.StatusCode)
	}
	// Closing one frees its place, once the server has seen it go.
	open[0].Body.Close()
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp := e.openEvents(readerToken)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing the streams: %d, want 200", resp.StatusCode)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
