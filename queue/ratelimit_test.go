package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

var _ synth.Limiter = (*RateLimiter)(nil)

// workerEnv carries a rate-limit worker's orders to a re-executed test
// binary.
const workerEnv = "NARRATOR_RATELIMIT_WORKER"

// workerOrders is what one worker process does: n requests of chars
// characters through one cluster-wide limiter.
type workerOrders struct {
	NATS, Fake string
	ID, N      int
	Chars      int
	Parallel   int // goroutines sending; more than the concurrency limit
	Rate       RateConfig
}

// TestRateLimitWorker is the worker process of the tests below; run
// directly it does nothing.
func TestRateLimitWorker(t *testing.T) {
	raw := os.Getenv(workerEnv)
	if raw == "" {
		t.Skip("runs as a worker process of TestRateLimit* only")
	}
	var o workerOrders
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	q, err := Open(ctx, Config{URL: o.NATS, Name: fmt.Sprintf("ratelimit-worker-%d", o.ID)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	l, err := q.RateLimiter(ctx, "openai.tts-1", o.Rate)
	if err != nil {
		t.Fatal(err)
	}
	p, err := synth.NewOpenAI(synth.OpenAIConfig{APIKey: "sk-ratelimit", BaseURL: o.Fake})
	if err != nil {
		t.Fatal(err)
	}
	sy, err := synth.New(p, nil, synth.Config{Limiter: l})
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range o.N {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.Parallel {
		wg.Go(func() {
			for i := range next {
				text := fmt.Sprintf("Worker %d, request %d. ", o.ID, i)
				text += strings.Repeat("The council met again. ", o.Chars/23+1)
				text = strings.TrimSpace(text[:o.Chars])
				// A 429 is retried at once: the limiter, told by the
				// Synthesizer, holds this request (and the cluster) off.
				for {
					_, err := sy.Synthesize(ctx, synth.Request{Text: text})
					if err == nil {
						break
					}
					if !errors.Is(err, synth.ErrRateLimited) {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("worker %d: %+v, limiter %+v", o.ID, sy.Stats(), l.Stats())
}

// runWorkers starts one process per orders, each with its own NATS
// connection to q's server, and waits for them all.
func runWorkers(t *testing.T, q *Queue, fake *faketts.Server, orders ...workerOrders) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i, o := range orders {
		o.NATS, o.Fake, o.ID = q.ClientURL(), fake.URL(), i
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRateLimitWorker$", "-test.v")
		cmd.Env = append(os.Environ(), workerEnv+"="+string(b))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			err := cmd.Wait()
			if err != nil || t.Failed() || testing.Verbose() {
				t.Logf("worker %d (%v):\n%s", i, err, out.String())
			}
			if err != nil {
				t.Errorf("worker %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// newListeningQueue starts an embedded server that other processes reach.
func newListeningQueue(t *testing.T) *Queue {
	t.Helper()
	return newQueue(t, Config{Listen: "127.0.0.1:0"})
}

func startFake(t *testing.T, cfg faketts.Config) *faketts.Server {
	t.Helper()
	if err := exec.Command("lame", "--version").Run(); err != nil {
		t.Fatal("lame not found in PATH: install it (Debian: apt-get install lame)")
	}
	cfg.APIKey = "sk-ratelimit"
	if cfg.LatencyPerChar == 0 {
		cfg.LatencyPerChar = -1
	}
	return faketts.Start(t, cfg)
}

// TestRateLimitIsSharedByProcesses runs two worker processes against one
// fake whose own limits equal the cluster's: together they must stay
// within them, so the fake refuses nothing. Each alone would, at twice the
// rate, had each kept a budget of its own.
func TestRateLimitIsSharedByProcesses(t *testing.T) {
	const (
		window = time.Second
		rpm    = 20   // a window
		cpm    = 2000 // a window: 13 requests of 150 characters, so characters bind
		chars  = 150
		burst  = 5
	)
	q := newListeningQueue(t)
	fake := startFake(t, faketts.Config{RPM: rpm, CharsPerMinute: cpm, RateWindow: window})
	rate := RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: rpm, CharsPerMinute: cpm, Window: window, Burst: burst, Concurrency: 2}}
	o := workerOrders{N: 20, Chars: chars, Parallel: 4, Rate: rate}
	runWorkers(t, q, fake, o, o)

	log := fake.Log()
	ok, refused := 0, 0
	for _, e := range log {
		switch e.Status {
		case 200:
			ok++
		case 429:
			refused++
		}
	}
	if ok != 2*o.N || refused != 0 {
		t.Errorf("the fake answered %d requests 200 and %d 429, want %d and 0", ok, refused, 2*o.N)
	}
	// In any window the cluster sends at most a burst plus a window's
	// refill (the characters bind); one request of slack for arrival order.
	most := float64(cpm)*burst/rpm + cpm + chars
	for i, e := range log {
		sum := 0
		for _, f := range log[i:] {
			if f.Time.Sub(e.Time) < window {
				sum += f.Chars
			}
		}
		if float64(sum) > most {
			t.Errorf("%d characters in the window from request %d, want at most %.0f", sum, e.N, most)
			break
		}
	}
	t.Logf("%d requests in %v", len(log), log[len(log)-1].Time.Sub(log[0].Time))
}

// TestRateLimit429HoldsTheClusterOff has the fake answer 429 to three
// requests: both processes hold off for the Retry-After, not only the one
// that got the 429, then come back at the refill rate, not in a burst.
func TestRateLimit429HoldsTheClusterOff(t *testing.T) {
	const (
		rpm, burst = 20, 10 // a second
		retryAfter = time.Second
		perProcess = 2 // concurrency
	)
	q := newListeningQueue(t)
	fake := startFake(t, faketts.Config{
		Script:     map[int]faketts.Fault{6: faketts.RateLimit, 7: faketts.RateLimit, 8: faketts.RateLimit},
		RetryAfter: retryAfter,
	})
	rate := RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: rpm, Window: time.Second, Burst: burst, Concurrency: perProcess}}
	o := workerOrders{N: 25, Chars: 60, Parallel: 4, Rate: rate}
	runWorkers(t, q, fake, o, o)

	log := fake.Log()
	var first, holdEnd time.Time
	ok := 0
	for _, e := range log {
		switch e.Status {
		case 200:
			ok++
		case 429:
			answered := e.Time.Add(e.Elapsed)
			if first.IsZero() || answered.Before(first) {
				first = answered
			}
			if end := answered.Add(retryAfter); end.After(holdEnd) {
				holdEnd = end
			}
		}
	}
	if ok != 2*o.N {
		t.Fatalf("%d requests succeeded, want %d: the cluster did not recover", ok, 2*o.N)
	}
	if first.IsZero() {
		t.Fatal("the fake answered no 429")
	}
	// During a hold-off only requests already on their way when its
	// first 429 was answered: at most one per slot but the refused one's.
	var after []int
	for _, e := range log {
		if !e.Time.Before(holdEnd) && e.Time.Sub(holdEnd) < 500*time.Millisecond {
			after = append(after, e.N)
		}
		if e.Status != 429 {
			continue
		}
		answered := e.Time.Add(e.Elapsed)
		var during []int
		for _, f := range log {
			if f.Time.After(answered) && f.Time.Before(answered.Add(retryAfter)) {
				during = append(during, f.N)
			}
		}
		if len(during) > 2*perProcess-1 {
			t.Errorf("requests %v arrived during the hold-off after request %d's 429", during, e.N)
		}
	}
	// The buckets were emptied: half a second after the hold-off brings
	// half a second's refill (10), not the burst of 10 on top of it.
	if most := rpm/2 + 2; len(after) > most {
		t.Errorf("%d requests in the first 500 ms after the hold-off, want at most %d: %v", len(after), most, after)
	}
	t.Logf("first 429 answered at %v, last hold-off ended at %v; %d requests in the 500 ms after",
		first.Format("15:04:05.000"), holdEnd.Format("15:04:05.000"), len(after))
}

// TestRateLimiterConfig covers what RateLimiter refuses.
func TestRateLimiterConfig(t *testing.T) {
	q := newQueue(t, Config{})
	for _, tc := range []struct {
		name string
		key  string
		cfg  RateConfig
	}{
		{"negative", "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: -1}}},
		{"burst over rpm", "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 10, Burst: 11}}},
		{"bad name", "openai/tts 1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 10}}},
		{"tiny window", "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 10, Window: time.Millisecond}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := q.RateLimiter(t.Context(), tc.key, tc.cfg); err == nil {
				t.Errorf("RateLimiter(%q, %+v) accepted", tc.key, tc.cfg)
			}
		})
	}
	// Declaring the bucket again, as every worker does at start, is fine.
	for range 2 {
		if _, err := q.RateLimiter(t.Context(), "openai.tts-1", RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: 10}}); err != nil {
			t.Fatal(err)
		}
	}
}
