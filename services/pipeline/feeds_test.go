package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

// slowListing is a store whose listing of the narrations takes as long as
// an archive's, and which records when each listing (each rebuild) began.
type slowListing struct {
	storage.Store
	delay  time.Duration
	began  chan struct{} // closed when the next rebuild begins (reset)
	mu     sync.Mutex
	starts []time.Time
}

func (s *slowListing) List(ctx context.Context, prefix string) ([]storage.Object, error) {
	if prefix == publish.DefaultPrefix+"/" {
		s.mu.Lock()
		s.starts = append(s.starts, time.Now())
		if s.began != nil {
			close(s.began)
			s.began = nil
		}
		s.mu.Unlock()
		time.Sleep(s.delay)
	}
	return s.Store.List(ctx, prefix)
}

// reset forgets the rebuilds so far and returns a channel closed when the
// next one begins.
func (s *slowListing) reset() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts = nil
	s.began = make(chan struct{})
	return s.began
}

func (s *slowListing) rebuilds() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.starts...)
}

// Feed tasks that queue while the feeds are being rebuilt are covered by
// the next rebuild, and rebuilds are spaced by three times their length,
// so a backfill publishing faster than the feeds rebuild does not queue a
// rebuild per article.
func TestFeedRebuildsCoalesce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	dir := t.TempDir()
	q, err := queue.Open(ctx, queue.Config{DataDir: dir, AckWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := storage.NewFS(filepath.Join(dir, "media"), "http://media.test")
	if err != nil {
		t.Fatal(err)
	}
	const delay = 200 * time.Millisecond
	store := &slowListing{Store: fs, delay: delay}
	pub, err := publish.New(store, publish.Config{Settings: pipeline.Feeds(q)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Deps{Queue: q, Publisher: pub}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Twenty changes (not of the title, whose cover is slow to draw) queue while no feed worker runs, as they do behind a
	// rebuild that is under way.
	for i := range 20 {
		if _, err := p.SaveFeedSettings(ctx, "", publish.Feed{Title: "Desk", Copyright: fmt.Sprintf("Desk %d", i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Draw the cover once, outside the stage, so that the stage's rebuilds
	// take about the listing's delay.
	if _, err := pub.RebuildFeeds(ctx); err != nil {
		t.Fatal(err)
	}
	began := store.reset()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, []string{pipeline.StageFeed}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		q.Close()
	})
	idle := func() {
		t.Helper()
		if err := q.WaitIdle(ctx, pipeline.Consumers(pipeline.StageFeed)); err != nil {
			t.Fatal(err)
		}
	}
	// The stage's consumers exist once it takes its first task.
	select {
	case <-began:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	idle()
	if n := len(store.rebuilds()); n != 1 {
		t.Fatalf("20 feed tasks queued together made %d rebuilds, want 1", n)
	}
	if c := feedCopyright(t, fs); c != "Desk 19" {
		t.Fatalf("the one rebuild wrote the copyright %q, want the last one saved, %q", c, "Desk 19")
	}

	// A change after that rebuild is not covered by it: it is rebuilt, but
	// only once three times the last rebuild's length has passed.
	if _, err := p.SaveFeedSettings(ctx, "", publish.Feed{Title: "Desk", Copyright: "Desk 20"}, nil); err != nil {
		t.Fatal(err)
	}
	idle()
	starts := store.rebuilds()
	if len(starts) != 2 {
		t.Fatalf("a change after the rebuild made %d rebuilds in all, want 2", len(starts))
	}
	// The first rebuild took at least delay and the second began at least
	// three of its lengths after the first ended.
	if gap := starts[1].Sub(starts[0]); gap < 4*delay {
		t.Errorf("the second rebuild began %s after the first began; want at least %s", gap, 4*delay)
	}
	if c := feedCopyright(t, fs); c != "Desk 20" {
		t.Fatalf("feed copyright %q, want %q", c, "Desk 20")
	}
}

// feedCopyright returns the publication feed's copyright line.
func feedCopyright(t *testing.T, store storage.Store) string {
	t.Helper()
	r, _, err := store.Get(t.Context(), publish.FeedKey)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(body), "<copyright>")
	c, _, _ := strings.Cut(after, "</copyright>")
	return c
}
