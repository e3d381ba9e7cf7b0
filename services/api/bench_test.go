package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/queue/queuetest"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/pipeline"
)

func TestMain(m *testing.M) {
	queuetest.ServeIfAsked()
	os.Exit(m.Run())
}

// benchSizes are the job counts BenchmarkListNarrations runs at; set
// NARRATOR_BENCH_JOBS (comma-separated) to change them.
func benchSizes() []int {
	var out []int
	for _, f := range splitComma(os.Getenv("NARRATOR_BENCH_JOBS")) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return []int{1000, 100_000}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != ',' {
			i++
		}
		out = append(out, s[:i])
		s = s[min(i+1, len(s)):]
	}
	return out
}

// benchAPI is the API over a NATS server in a process of its own holding n
// jobs made through the queue; no stage runs.
func benchAPI(b *testing.B, n int) http.Handler {
	b.Helper()
	ctx := context.Background()
	q, err := queue.Open(ctx, queue.Config{URL: queuetest.Server(b, filepath.Join(b.TempDir(), "nats"))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	start := time.Now()
	counts, err := queuetest.Populate(ctx, q, n)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d jobs made through the queue in %s: %v", n, time.Since(start).Round(time.Second), counts)
	p, err := pipeline.New(pipeline.Deps{Queue: q}, pipeline.Config{})
	if err != nil {
		b.Fatal(err)
	}
	toks, err := api.ParseTokens("stats:read:" + readerToken)
	if err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Deps{Pipeline: p}, api.Config{Tokens: toks, Options: queue.Options{Provider: "openai"}, Prices: map[string]float64{"openai": 15}})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// benchSession signs in to the dashboard served by h and returns the
// session cookie.
func benchSession(b *testing.B, h http.Handler) *http.Cookie {
	req := httptest.NewRequest("POST", "/dashboard/login", strings.NewReader(url.Values{"token": {readerToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == "narrator_session" && w.Code == http.StatusSeeOther {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	b.Fatalf("sign in: %d %s", w.Code, w.Body)
	return nil
}

// serveGet serves one request, with the session cookie if one is given
// and the reader's token otherwise, and returns its body.
func serveGet(b *testing.B, h http.Handler, path string, session *http.Cookie) []byte {
	req := httptest.NewRequest("GET", path, nil)
	if session != nil {
		req.AddCookie(session)
	} else {
		req.Header.Set("Authorization", "Bearer "+readerToken)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	return w.Body.Bytes()
}

// BenchmarkListNarrations times GET /api/narrations and the dashboard's
// list over a job store of 1,000 and of 100,000 jobs made through the
// queue, walking every page of each filter (back to the first after the
// last), and reports the 50th and 95th percentiles, and the API process's
// heap after the run: the same at either size if listing reads a page's
// worth whatever the number of jobs.
func BenchmarkListNarrations(b *testing.B) {
	queries := []string{
		"",
		"state=failed",
		"state=queued,running",
		"section=sport",
		"state=done&section=obituaries",
		"state=done,failed&since=2000-01-01",
	}
	for _, n := range benchSizes() {
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			h := benchAPI(b, n)
			for _, q := range queries {
				name := q
				if name == "" {
					name = "all"
				}
				b.Run("api/"+name, func(b *testing.B) {
					var lat []time.Duration
					cursor := ""
					for b.Loop() {
						t := time.Now()
						body := serveGet(b, h, "/api/narrations?limit=50&"+q+cursor, nil)
						lat = append(lat, time.Since(t))
						var p struct {
							Narrations []json.RawMessage
							NextCursor string `json:"next_cursor"`
						}
						if err := json.Unmarshal(body, &p); err != nil {
							b.Fatal(err)
						}
						cursor = ""
						if p.NextCursor != "" {
							cursor = "&cursor=" + p.NextCursor
						}
					}
					report(b, lat)
				})
			}
			b.Run("dashboard", func(b *testing.B) {
				session := benchSession(b, h)
				var lat []time.Duration
				for b.Loop() {
					t := time.Now()
					serveGet(b, h, "/dashboard/", session)
					lat = append(lat, time.Since(t))
				}
				report(b, lat)
			})
		})
	}
}

// report adds percentiles and the live heap (after a collection) to the
// benchmark's line.
func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heap-MiB")
}
