package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var servingAt = regexp.MustCompile(`msg=serving http=(http://\S+)`)

// TestServeMetricsAndReadiness runs narrator serve against a NATS server the
// test stops and restarts: /readyz fails while NATS is away and recovers,
// and /metrics shows the pipeline's work after a job.
func TestServeMetricsAndReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	natsDir := t.TempDir()
	q, err := queue.Open(ctx, queue.Config{DataDir: natsDir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	natsURL := q.ClientURL()
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	srv := startProcess(t, "serve", []string{"NATS_URL=" + natsURL, "NARRATOR_ENGINE=local", "OPENAI_API_KEY=", "NARRATOR_DATA_DIR=" + t.TempDir()},
		"serve", "--http", "127.0.0.1:0")
	var base string
	waitFor(t, "serve to listen", time.Minute, func() bool {
		m := servingAt.FindStringSubmatch(srv.output())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with NATS up: %d %s", code, body)
	}

	p, err := pipeline.New(pipeline.Deps{Queue: q}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Submit(ctx, pipeline.Request{ArticleID: "metrics", Body: []byte("Metrics\n\nThe council met on Tuesday. It voted to fund the flood wall."), Kind: "text", Options: queue.Options{Provider: "local"}})
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := q.Follow(fctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if j, err = q.Jobs().Get(ctx, j.ID); err != nil || j.State != queue.Done {
		t.Fatalf("job %s: %v %s", j.State, err, j.Error)
	}
	// A stage's latency is observed once its task is acknowledged, just
	// after the job's last event.
	var metrics string
	waitFor(t, "the publish stage in /metrics", 30*time.Second, func() bool {
		_, metrics = get(t, base+"/metrics")
		return strings.Contains(metrics, `narrator_stage_duration_seconds_count{outcome="ok",stage="feed"} 1`)
	})
	for _, want := range []string{
		`narrator_stage_duration_seconds_count{outcome="ok",stage="publish"} 1`,
		`narrator_tts_request_duration_seconds_count{provider="local",status="ok"}`,
		`narrator_cache_lookups_total{provider="local",result="miss"}`,
		`narrator_jobs{state="done"} 1`,
		`narrator_queue_pending{consumer="synth-local"} 0`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	q.Close()
	waitFor(t, "/readyz to fail without NATS", time.Minute, func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	q, err = queue.Open(ctx, queue.Config{DataDir: natsDir, Listen: u.Host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	waitFor(t, "/readyz to recover with NATS back", time.Minute, func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	})
}
