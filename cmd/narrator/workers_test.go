package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds the narrator command once per test run.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "narrator-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "narrator")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = &buildError{out: string(out), err: err}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// process is a narrator process started by a test.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedWriter
	done chan struct{}
}

// output returns what the process has written so far.
func (p *process) output() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.w.(*bytes.Buffer).String()
}

func startProcess(t *testing.T, name string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out := &lockedWriter{w: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// TestWorkersSurviveAKilledSynthWorker runs every stage as its own process
// against one NATS server, kills a synth worker while it holds a chunk, and
// checks that the job completes with each chunk synthesized once (plus at
// most one repeat of the chunk that was in flight) and one MP3 published.
func TestWorkersSurviveAKilledSynthWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	// Slow enough that a chunk is surely in flight when the worker dies.
	fake := faketts.Start(t, faketts.Config{APIKey: "sk-workers", LatencyPerChar: 2 * time.Millisecond})
	media := t.TempDir()
	env := []string{
		"NATS_URL=" + q.ClientURL(),
		"OPENAI_API_KEY=sk-workers",
		"OPENAI_BASE_URL=" + fake.URL(),
		"NARRATOR_ENGINE=openai",
		"NARRATOR_ACK_WAIT=3s",
		"NARRATOR_SYNTH_CONCURRENCY=1",
		"NARRATOR_CHUNK_TARGET=800",
		"NARRATOR_DATA_DIR=" + media,
		"NARRATOR_LOG_LEVEL=debug",
	}
	for _, st := range []string{"clean", "chunk", "stitch", "publish"} {
		startProcess(t, st, env, "worker", "--stages", st)
	}
	victim := startProcess(t, "synth-1", env, "worker", "--stages", "synth")
	startProcess(t, "synth-2", env, "worker", "--stages", "synth")

	p, err := pipeline.New(pipeline.Deps{Queue: q}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../../testdata/sample-article.html")
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Submit(ctx, pipeline.Request{ArticleID: "killed-worker", Body: body, Kind: "html", Options: queue.Options{Provider: "openai"}})
	if err != nil {
		t.Fatal(err)
	}

	// Both synth workers hold a chunk once two requests are in flight.
	for deadline := time.Now().Add(2 * time.Minute); ; {
		inFlight := 0
		for _, e := range fake.Log() {
			if e.Status == 0 {
				inFlight++
			}
		}
		if inFlight >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw two chunks in flight; log: %+v", fake.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done

	if err := q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
		t.Fatal(err)
	}
	j, err = q.Jobs().Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != queue.Done {
		t.Fatalf("job ended %s: %s", j.State, j.Error)
	}

	perInput := map[string]int{}
	for _, e := range fake.Log() {
		perInput[e.Input]++
	}
	if len(perInput) != j.Chunks {
		t.Errorf("the fake saw %d distinct chunks, the job has %d", len(perInput), j.Chunks)
	}
	repeats := 0
	for in, n := range perInput {
		if n > 2 {
			t.Errorf("chunk %.40q synthesized %d times", in, n)
		}
		if n == 2 {
			repeats++
		}
	}
	if repeats > 1 {
		t.Errorf("%d chunks synthesized twice; only the one in flight may be", repeats)
	}
	published, err := filepath.Glob(filepath.Join(media, "media", "objects", "narrations", j.ID, "*.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	if len(published) != 1 {
		t.Fatalf("published %d MP3s, want 1: %v", len(published), published)
	}
	if !strings.HasSuffix(j.Output.Key, filepath.Base(published[0])) {
		t.Errorf("job output %s is not the published file %s", j.Output.Key, published[0])
	}
}
