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

// logged waits for a process to log a line matching re and returns the
// line's first group.
func logged(t *testing.T, p *process, re *regexp.Regexp) string {
	t.Helper()
	var got string
	waitFor(t, p.name+" to log "+re.String(), time.Minute, func() bool {
		m := re.FindStringSubmatch(p.output())
		if m != nil {
			got = m[1]
		}
		return m != nil
	})
	return got
}

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
	const token = "reader-secret-0123456789"
	srv := startProcess(t, "serve", []string{"NATS_URL=" + natsURL, "NARRATOR_ENGINE=local", "OPENAI_API_KEY=", "NARRATOR_DATA_DIR=" + t.TempDir(),
		"NARRATOR_API_TOKENS=stats:read:" + token},
		"serve", "--http", "127.0.0.1:0")
	base := logged(t, srv, servingAt)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || body != "nats: ok\nstorage: ok\n" {
		t.Fatalf("/readyz with NATS up: %d %q", code, body)
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
	// The probe says which dependency is down; the API answers 503 with
	// Retry-After rather than an internal error.
	if _, body := get(t, base+"/readyz"); !strings.HasPrefix(body, "nats: down: ") || !strings.Contains(body, "\nstorage: ok\n") {
		t.Errorf("/readyz without NATS: %q, want nats down and storage ok", body)
	}
	req, _ := http.NewRequest("GET", base+"/api/narrations/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(b), "NATS") {
		t.Errorf("API without NATS: %d, Retry-After %q, %s; want 503 with Retry-After naming NATS", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
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

// TestServeOpsAddrKeepsProbesOffThePublicListener: with --ops-addr, the
// probes and metrics are served there and not on the public listener.
func TestServeOpsAddrKeepsProbesOffThePublicListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv := startProcess(t, "serve", []string{"NARRATOR_ENGINE=local", "OPENAI_API_KEY=", "NATS_URL=", "NARRATOR_DATA_DIR=" + t.TempDir()},
		"serve", "--stages", "none", "--http", "127.0.0.1:0", "--ops-addr", "127.0.0.1:0")
	ops := logged(t, srv, regexp.MustCompile(`msg="serving probes and metrics" ops=(http://\S+)`))
	base := logged(t, srv, servingAt)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, code)
		}
		if code, body := get(t, ops+path); code != http.StatusOK {
			t.Errorf("ops %s: %d %.200s, want 200", path, code, body)
		}
	}
	if code, _ := get(t, base+"/dashboard/login"); code != http.StatusOK {
		t.Errorf("public /dashboard/login: %d, want 200", code)
	}
}
