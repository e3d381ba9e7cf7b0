package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/backfill/fakesite"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// site serves a generated archive on a test server.
func site(t *testing.T, cfg fakesite.Config) (*fakesite.Site, string) {
	t.Helper()
	s := fakesite.New(cfg)
	srv := httptest.NewServer(nil)
	srv.Config.Handler = s.Handler(srv.URL)
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// TestBackfillDryRunPrintsThePlan plans a WordPress archive: nothing is
// submitted, and the plan names the articles, the characters, the cost
// with each provider and model, and the time the rate limit binds.
func TestBackfillDryRunPrintsThePlan(t *testing.T) {
	_, url := site(t, fakesite.Config{Articles: 4, MinChars: 400, MaxChars: 600, Seed: 5})
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	code := run(t.Context(), []string{"backfill", "--dry-run", "--wordpress", url, "--data-dir", dir, "--fetch-allow", "127.0.0.1",
		"--engine", "openai", "--openai-base-url", "http://127.0.0.1:9/v1", "--rpm", "50"}, stdio{Out: &out, Err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"articles listed      4", "to narrate           4", "billable", "bound by requests a minute",
		"openai   tts-1 ", "← configured", "polly    neural", "nothing was submitted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"backfill", "status", "--data-dir", dir}, stdio{Out: &out, Err: &errOut}); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), ": planned") || !strings.Contains(out.String(), "submitted 0") {
		t.Errorf("status after a dry run:\n%s", out.String())
	}
}

// TestBackfillResumesAfterSIGKILL runs narrator backfill from a sitemap as
// a process of its own, kills it with SIGKILL once it has submitted some
// articles, runs the same command again, and checks that every article
// was narrated once: one job each, at revision 1, no chunk synthesized
// more than its one try in flight at the kill.
func TestBackfillResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts narrator processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	const articles = 8
	s, url := site(t, fakesite.Config{Articles: articles, MinChars: 300, MaxChars: 600, Seed: 6})
	// Slow enough that narrations are in flight when the process dies.
	fake := faketts.Start(t, faketts.Config{APIKey: "sk-backfill", LatencyPerChar: 3 * time.Millisecond})
	env := []string{
		"NATS_URL=" + q.ClientURL(),
		"OPENAI_API_KEY=sk-backfill",
		"OPENAI_BASE_URL=" + fake.URL(),
		"NARRATOR_ENGINE=openai",
		"NARRATOR_ACK_WAIT=2s",
		"NARRATOR_SYNTH_CONCURRENCY=2",
		// Requests are counted per chunk below, and the generated stories
		// share sentences that short first chunks would make chunks alike.
		"NARRATOR_CHUNK_FIRST=0",
		"NARRATOR_FETCH_ALLOW=127.0.0.1",
		"NARRATOR_DATA_DIR=" + t.TempDir(),
	}
	args := []string{"backfill", "--sitemap", url + "/sitemap.xml", "--name", "killed", "--in-flight", "2",
		"--stages", "clean,chunk,synth,stitch,publish"}
	st, err := backfill.OpenStore(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	victim := startProcess(t, "backfill-1", env, args...)
	for {
		r, err := st.Get(ctx, "killed")
		if err == nil && r.Submitted >= 3 {
			break
		}
		select {
		case <-victim.done:
			t.Fatalf("the first backfill ended before it was killed:\n%s", victim.output())
		case <-ctx.Done():
			t.Fatalf("the first backfill never submitted 3 articles: %+v %v", r, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	killed, err := st.Get(ctx, "killed")
	if err != nil {
		t.Fatal(err)
	}
	if killed.Done >= articles {
		t.Fatalf("killed after every narration ended: %+v", killed)
	}

	again := startProcess(t, "backfill-2", env, args...)
	select {
	case <-again.done:
	case <-ctx.Done():
		t.Fatalf("the resumed backfill did not finish:\n%s", again.output())
	}
	if code := again.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("the resumed backfill exited %d:\n%s", code, again.output())
	}
	r, err := st.Get(ctx, "killed")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != backfill.StateDone || r.Submitted != articles || r.Done != articles || r.Failed != 0 {
		t.Errorf("after resuming: %+v (when killed: %d submitted)", r, killed.Submitted)
	}
	jobs, err := q.Jobs().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chunks := 0
	seen := map[string]bool{}
	for _, j := range jobs {
		if j.Revision != 1 || j.State != queue.Done || seen[j.ArticleID] {
			t.Errorf("job %s: revision %d, %s, seen before %v", j.ID, j.Revision, j.State, seen[j.ArticleID])
		}
		seen[j.ArticleID] = true
		chunks += j.Chunks
	}
	for _, p := range s.Posts() {
		if !seen[p.URL(url)] {
			t.Errorf("no narration of %s", p.URL(url))
		}
	}
	perInput := map[string]int{}
	for _, e := range fake.Log() {
		perInput[e.Input]++
	}
	repeats := 0
	for _, n := range perInput {
		repeats += n - 1
	}
	if len(perInput) != chunks || repeats > 2 {
		t.Errorf("the fake saw %d distinct chunks of %d, %d repeated; at most the 2 in flight at the kill may be", len(perInput), chunks, repeats)
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"1024", 1024, true}, {"500GB", 500e9, true}, {"500 G", 500e9, true},
		{"2T", 2e12, true}, {"512GiB", 512 << 30, true}, {"1.5MB", 1.5e6, true}, {"1mib", 1 << 20, true},
		{"lots", 0, false}, {"5XB", 0, false}, {"-1GB", 0, false},
	} {
		got, err := parseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// TestReindexPrintsCounts checks a store's job index and prints the count
// of jobs in each state.
func TestReindexPrintsCounts(t *testing.T) {
	dir := t.TempDir()
	q, err := queue.Open(t.Context(), queue.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := q.Jobs().Create(t.Context(), queue.Job{ID: id, State: queue.Done}); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"reindex", "--data-dir", dir}, stdio{Out: &out, Err: &errOut}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "done         2") || !strings.Contains(out.String(), "queued       0") {
		t.Errorf("reindex printed:\n%s", out.String())
	}
}
