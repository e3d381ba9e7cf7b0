package backfill_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/backfill/fakesite"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/storage"
)

// env is a whole narrator in this process (embedded NATS, every stage,
// OpenAI faked with no latency) and a newsroom's site on a test server.
type env struct {
	q    *queue.Queue
	p    *pipeline.Pipeline
	deps backfill.Deps
	site *fakesite.Site
	url  string
	fake *faketts.Server
}

func start(t *testing.T, site fakesite.Config) *env {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	q, err := queue.Open(ctx, queue.Config{DataDir: filepath.Join(dir, "data"), AckWait: 5 * time.Second, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.NewFS(filepath.Join(dir, "media"), "http://media.test")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := clean.New(clean.Config{})
	if err != nil {
		t.Fatal(err)
	}
	fake := faketts.Start(t, faketts.Config{APIKey: "sk-test", LatencyPerChar: -1})
	prov, err := synth.NewOpenAI(synth.OpenAIConfig{APIKey: "sk-test", BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	sy, err := synth.New(prov, pipeline.AudioCache(q), synth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(store, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The site runs on loopback, which the guard refuses unless allowed.
	guard := ingest.MustGuard(ingest.GuardConfig{Allow: []string{"127.0.0.1"}})
	fetcher := ingest.New(ingest.Config{Timeout: 5 * time.Second, Guard: guard})
	p, err := pipeline.New(pipeline.Deps{Queue: q, Publisher: pub, Fetcher: fetcher, Cleaner: cl,
		Synths: map[string]*synth.Synthesizer{"openai": sy}}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, []string{"clean", "chunk", "synth", "stitch", "publish", "feed"}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		q.Close()
	})
	st, err := backfill.OpenStore(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{q: q, p: p, site: fakesite.New(site), fake: fake}
	srv := httptest.NewServer(nil)
	srv.Config.Handler = e.site.Handler(srv.URL)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.deps = backfill.Deps{Pipeline: p, Store: st, Cleaner: cl, Fetcher: fetcher, Getter: backfill.NewGetter(guard)}
	return e
}

func (e *env) run(t *testing.T, cfg backfill.Config) backfill.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if cfg.Options.Provider == "" {
		cfg.Options.Provider = "openai"
	}
	r, err := backfill.Start(ctx, e.deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx)
	if err != nil {
		t.Fatalf("run %s: %v", run.Name, err)
	}
	return run
}

// jobs returns every job, by article id.
func (e *env) jobs(t *testing.T) map[string]queue.Job {
	t.Helper()
	all, err := e.q.Jobs().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]queue.Job{}
	for _, j := range all {
		out[j.ArticleID] = j
	}
	return out
}

// TestBackfillFromSitemap narrates an archive from its sitemap index (a
// gzipped monthly sitemap among them) end to end: every article once, at
// low priority, with the section its page states; then runs it again and
// finds nothing to do without fetching a single page.
func TestBackfillFromSitemap(t *testing.T) {
	e := start(t, fakesite.Config{Articles: 5, MinChars: 300, MaxChars: 700, Seed: 1, Newest: time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)})
	src := backfill.Spec{Kind: backfill.KindSitemap, URL: e.url + "/sitemap.xml"}
	run := e.run(t, backfill.Config{Source: src})
	if run.State != backfill.StateDone || run.Total != 5 || run.Seen != 5 || run.Submitted != 5 || run.Done != 5 || run.Failed != 0 || run.Chars == 0 {
		t.Fatalf("first run: %+v", run)
	}
	jobs := e.jobs(t)
	for _, p := range e.site.Posts() {
		j, ok := jobs[p.URL(e.url)]
		if !ok {
			t.Fatalf("no job for %s; jobs %v", p.URL(e.url), jobs)
		}
		if j.State != queue.Done || j.Revision != 1 || j.Priority != queue.Low || j.Options.Section != p.Section {
			t.Errorf("%s: %s revision %d priority %s section %q, want done, 1, low, %q", p.Slug, j.State, j.Revision, j.Priority, j.Options.Section, p.Section)
		}
	}
	if len(jobs) != 5 {
		t.Errorf("%d jobs for 5 articles", len(jobs))
	}
	pages := e.site.Hits("/2025/")
	again := e.run(t, backfill.Config{Source: src})
	if again.Name != run.Name || again.State != backfill.StateDone || again.Submitted != 5 || again.Seen != 5 {
		t.Errorf("second run: %+v", again)
	}
	if n := e.site.Hits("/2025/"); n != pages {
		t.Errorf("the second run fetched %d article pages; every article was read before", n-pages)
	}
	for id, j := range e.jobs(t) {
		if j.Revision != 1 {
			t.Errorf("%s narrated again: revision %d", id, j.Revision)
		}
	}
}

// TestBackfillFromWordPress reads a WordPress-shaped API, a page at a time,
// with the filters done by the API; stops cleanly at its budget; and, run
// again with a larger one, goes on where it stopped.
func TestBackfillFromWordPress(t *testing.T) {
	e := start(t, fakesite.Config{Articles: 12, MinChars: 300, MaxChars: 500, Seed: 2, Sections: []string{"News", "Sport"}})
	since := time.Date(2025, 3, 22, 0, 0, 0, 0, time.UTC) // the newest ten
	cfg := backfill.Config{Name: "wp", Source: backfill.Spec{Kind: backfill.KindWordPress, URL: e.url},
		Filter: backfill.Filter{Since: since, Sections: []string{"sport"}}}
	var want []string
	for _, p := range e.site.Posts() {
		if !p.Date.Before(since) && p.Section == "Sport" {
			want = append(want, "wp-"+itoa(p.ID))
		}
	}
	if len(want) < 3 {
		t.Fatalf("the archive has %d sport articles since %s; the test needs 3", len(want), since)
	}
	plan, err := backfill.MakePlan(context.Background(), e.deps, withProvider(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if plan.Listed != len(want) || plan.Articles != len(want) || plan.Estimated || plan.Chars == 0 {
		t.Fatalf("plan: %+v, want %d articles", plan, len(want))
	}
	// A budget of a little more than two articles' characters.
	cfg.Budget.Chars = plan.Chars * 2 / len(want) * 5 / 4
	run := e.run(t, cfg)
	if run.State != backfill.StateBudget || run.Submitted < 1 || run.Submitted >= len(want) || run.Chars > cfg.Budget.Chars {
		t.Fatalf("budget run: %+v (budget %d)", run, cfg.Budget.Chars)
	}
	first := run.Submitted
	cfg.Budget.Chars = 0
	run = e.run(t, cfg)
	if run.State != backfill.StateDone || run.Submitted != len(want) || run.Done != len(want) || run.Chars != plan.Chars {
		t.Fatalf("resumed run: %+v, want %d submitted of %d characters", run, len(want), plan.Chars)
	}
	jobs := e.jobs(t)
	var got []string
	for id, j := range jobs {
		got = append(got, id)
		if j.Revision != 1 || j.State != queue.Done || j.Options.Section != "Sport" || j.Options.Author == "" || j.Title == "" {
			t.Errorf("%s: %+v", id, j)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("jobs %v, want %v (%d before the budget stopped the run)", got, want, first)
	}
}

// TestUnchangedArticlesAreSkipped: an article the CMS webhook narrated
// already, with the same text, is not narrated again, and one edited
// since is.
func TestUnchangedArticlesAreSkipped(t *testing.T) {
	e := start(t, fakesite.Config{Articles: 3, MinChars: 300, MaxChars: 400, Seed: 3})
	posts := e.site.Posts()
	ctx := context.Background()
	narrate := func(p fakesite.Post, body string) {
		t.Helper()
		st := e.site.Story(p)
		j, err := e.p.Submit(ctx, pipeline.Request{ArticleID: "wp-" + itoa(p.ID), Body: []byte(body), Kind: "html",
			Options: queue.Options{Provider: "openai", Title: st.Title}})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	narrate(posts[0], e.site.Story(posts[0]).Body)                              // as published
	narrate(posts[1], "<p>An earlier draft that was edited before it ran.</p>") // since edited
	run := e.run(t, backfill.Config{Source: backfill.Spec{Kind: backfill.KindWordPress, URL: e.url}})
	if run.Unchanged != 1 || run.Submitted != 2 || run.Done != 2 {
		t.Errorf("run: %+v, want 1 unchanged, 2 submitted", run)
	}
	jobs := e.jobs(t)
	if r := jobs["wp-"+itoa(posts[0].ID)].Revision; r != 1 {
		t.Errorf("the unchanged article is at revision %d", r)
	}
	if r := jobs["wp-"+itoa(posts[1].ID)].Revision; r != 2 {
		t.Errorf("the edited article is at revision %d, want 2", r)
	}
}

func TestRunRefusesBadSettings(t *testing.T) {
	e := start(t, fakesite.Config{Articles: 1})
	ctx := context.Background()
	for name, cfg := range map[string]backfill.Config{
		"no source":     {Options: queue.Options{Provider: "openai"}},
		"ftp":           {Source: backfill.Spec{Kind: backfill.KindSitemap, URL: "ftp://x/s.xml"}, Options: queue.Options{Provider: "openai"}},
		"ghost no key":  {Source: backfill.Spec{Kind: backfill.KindGhost, URL: e.url}, Options: queue.Options{Provider: "openai"}},
		"bad name":      {Name: "a b", Source: backfill.Spec{Kind: backfill.KindSitemap, URL: e.url}, Options: queue.Options{Provider: "openai"}},
		"dates":         {Source: backfill.Spec{Kind: backfill.KindSitemap, URL: e.url}, Filter: backfill.Filter{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, Options: queue.Options{Provider: "openai"}},
		"usd for local": {Source: backfill.Spec{Kind: backfill.KindSitemap, URL: e.url}, Budget: backfill.Budget{USD: 5}, Options: queue.Options{Provider: "local"}},
	} {
		if _, err := backfill.Start(ctx, e.deps, cfg); err == nil {
			t.Errorf("%s: started", name)
		}
	}
	// A source that is not one fails the run with the reason.
	r, err := backfill.Start(ctx, e.deps, backfill.Config{Name: "notasitemap", Source: backfill.Spec{Kind: backfill.KindSitemap, URL: e.url + "/2025/03/story-1001/"}, Options: queue.Options{Provider: "openai"}})
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx)
	if !errors.Is(err, backfill.ErrFetch) || run.State != backfill.StateFailed || !strings.Contains(run.Reason, "not a sitemap") {
		t.Errorf("run of a page as a sitemap: %v, %+v", err, run)
	}
}

func withProvider(c backfill.Config) backfill.Config {
	c.Options.Provider = "openai"
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }
