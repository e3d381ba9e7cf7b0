package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/pipeline"
)

// benchAPI is the API over a queue holding n finished jobs; no stage runs.
func benchAPI(b *testing.B, n int) http.Handler {
	b.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{DataDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	for i := range n {
		j := queue.Job{ID: fmt.Sprintf("job-%05d", i), ArticleID: fmt.Sprintf("job-%05d", i), Revision: 1, State: queue.Done, Stage: "publish",
			Title: "Council approves the budget", Chunks: 6, Chars: 9000, BilledChars: 9000,
			Options: queue.Options{Provider: "openai", Section: []string{"Politics", "Sport", "Culture"}[i%3]},
			Output:  &queue.Output{Key: "narrations/x.mp3", URL: "https://media.example/narrations/x.mp3", Bytes: 5 << 20, Duration: 10 * time.Minute}}
		if err := q.Jobs().Create(ctx, j); err != nil {
			b.Fatal(err)
		}
	}
	p, err := pipeline.New(pipeline.Deps{Queue: q}, pipeline.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Deps{Pipeline: p}, api.Config{Tokens: mustTokensB(b), Options: queue.Options{Provider: "openai"}})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func mustTokensB(b *testing.B) []api.Token {
	toks, err := api.ParseTokens("stats:read:" + readerToken)
	if err != nil {
		b.Fatal(err)
	}
	return toks
}

func serve(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
}

// BenchmarkListNarrations measures GET /api/narrations (a page of 50) over
// job state holding n jobs: the listing reads every job key.
func BenchmarkListNarrations(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			h := benchAPI(b, n)
			for b.Loop() {
				serve(b, h, "/api/narrations?limit=50")
			}
		})
		b.Run(fmt.Sprintf("jobs=%d/filtered", n), func(b *testing.B) {
			h := benchAPI(b, n)
			for b.Loop() {
				serve(b, h, "/api/narrations?state=done&section=sport&limit=50")
			}
		})
	}
}

// BenchmarkGetNarration measures GET /api/narrations/{id}, which reads the
// job and its chunks.
func BenchmarkGetNarration(b *testing.B) {
	h := benchAPI(b, 1000)
	for b.Loop() {
		serve(b, h, "/api/narrations/job-00500")
	}
}
