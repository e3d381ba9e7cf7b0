package main

import (
	"bytes"
	"encoding/json"
	"github.com/narrator-project/narrator/services/race"
	"math"
	"os/exec"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/clean"
)

// TestBenchReportIsConsistent runs the bench tiny, through the command and
// its JSON, and checks that its counts agree with each other: without
// faults every chunk is one API call, billed characters are the spoken
// ones, and both ways of narrating finish every article.
func TestBenchReportIsConsistent(t *testing.T) {
	skipUnderRace(t, "TestBenchReportIsConsistent")
	if _, err := exec.LookPath("lame"); err != nil {
		t.Fatal("lame not found in PATH: install it (Debian: apt-get install lame)")
	}
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"bench", "--json", "--articles", "2", "--min-chars", "300", "--max-chars", "700",
		"--latency-per-char", "200us", "--single", "800", "--chunk-target", "300", "--urgent", "400", "--live", "1500"}, stdio{Out: &out, Err: &errOut})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	type run struct {
		Articles []struct {
			Chars, SpokenChars, Chunks int
			TimeToAudio                float64 `json:"time_to_audio"`
			Error                      string
		}
		ArticleChars int     `json:"article_chars"`
		SpokenChars  int     `json:"spoken_chars"`
		BilledChars  int     `json:"billed_chars"`
		Chunks       int     `json:"chunks"`
		Calls        int     `json:"api_calls"`
		RateLimited  int     `json:"rate_limited"`
		CacheHits    int     `json:"cache_hits"`
		Failed       int     `json:"failed"`
		PerMinute    float64 `json:"articles_per_minute"`
		Buckets      []struct{ Articles int }
	}
	var rep struct {
		Pipeline, Baseline run
		Speedup            struct {
			Throughput float64 `json:"throughput"`
			P50        float64 `json:"time_to_audio_p50"`
		}
		Single struct {
			Chars, Chunks               int
			Pipeline, Sequential, Limit float64
			VsSequential                float64 `json:"vs_sequential"`
			VsLimit                     float64 `json:"vs_limit"`
		}
		Priority struct {
			Chars        int
			High, Normal float64
			Ratio        float64 `json:"normal_over_high"`
		}
		Live []struct {
			Chars, Chunks   int
			Published       float64
			FirstAudio      float64 `json:"first_audio"`
			Stall           float64
			StreamPublished float64 `json:"stream_published"`
			StreamChunks    int     `json:"stream_chunks"`
		} `json:"live"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for name, r := range map[string]run{"pipeline": rep.Pipeline, "baseline": rep.Baseline} {
		if r.Failed != 0 || len(r.Articles) != 2 {
			t.Errorf("%s: %d articles, %d failed: %+v", name, len(r.Articles), r.Failed, r.Articles)
		}
		if r.ArticleChars < 2*300*9/10 || r.SpokenChars < r.ArticleChars*9/10 {
			t.Errorf("%s: article %d, spoken %d characters for 2 articles of 300 to 700", name, r.ArticleChars, r.SpokenChars)
		}
		if r.BilledChars != r.SpokenChars || r.Calls != r.Chunks || r.RateLimited != 0 || r.CacheHits != 0 {
			t.Errorf("%s: billed %d of %d spoken characters, %d calls for %d chunks, %d 429s, %d cache hits; want billed = spoken, calls = chunks, none",
				name, r.BilledChars, r.SpokenChars, r.Calls, r.Chunks, r.RateLimited, r.CacheHits)
		}
		n := 0
		for _, b := range r.Buckets {
			n += b.Articles
		}
		if n != 2 || r.PerMinute <= 0 {
			t.Errorf("%s: %d articles in the size buckets, %.2f a minute", name, n, r.PerMinute)
		}
	}
	if rep.Speedup.Throughput <= 0 || rep.Speedup.P50 <= 0 {
		t.Errorf("speed-up %+v", rep.Speedup)
	}
	if p := rep.Priority; p.Chars < 300 || p.High <= 0 || p.Normal <= 0 || math.Abs(p.Ratio-p.Normal/p.High) > 0.05*p.Ratio {
		t.Errorf("priority pair: %+v", p)
	}
	// The live stream's first audio comes before its file is published,
	// from more, smaller chunks than before.
	if len(rep.Live) != 1 {
		t.Fatalf("live: %+v", rep.Live)
	}
	if l := rep.Live[0]; l.Chars < 1300 || l.FirstAudio <= 0 || l.FirstAudio >= l.StreamPublished || l.Published <= 0 || l.Stall < 0 || l.StreamChunks <= l.Chunks {
		t.Errorf("live: %+v", l)
	}
	s := rep.Single
	if s.Chunks < 2 || s.Pipeline <= 0 || s.Sequential <= 0 || s.Limit <= 0 || s.Pipeline < s.Limit || s.VsLimit < 1 {
		t.Errorf("single article: %+v", s)
	}
}

// TestBenchArticlesCleanToTheirSize checks the generator: articles are the
// same for the same seed, and the cleaner finds about the text generated
// in them, not the page's navigation or footer.
func TestBenchArticlesCleanToTheirSize(t *testing.T) {
	a, b := benchArticles(7, 3, 2000, 9000), benchArticles(7, 3, 2000, 9000)
	cl, err := clean.New(clean.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].HTML, b[i].HTML) {
			t.Fatalf("article %d differs between runs with one seed", i)
		}
		s, err := cl.Clean(t.Context(), clean.Input{Body: a[i].HTML, ContentType: "text/html; charset=utf-8"})
		if err != nil {
			t.Fatal(err)
		}
		got := s.Chars()
		if got < a[i].Chars*9/10 || got > a[i].Chars*11/10+200 {
			t.Errorf("article %d: cleaned to %d characters, generated %d", i, got, a[i].Chars)
		}
		text := strings.Join(s.Paragraphs(), "\n")
		for _, junk := range []string{"All rights reserved", "Most read", "Subscribe"} {
			if strings.Contains(text, junk) {
				t.Errorf("article %d: the script keeps %q", i, junk)
			}
		}
	}
}

// skipUnderRace skips a test that runs whole pipelines or corpora in
// process: minutes under the race detector, where the other tests already
// run the same code's concurrency. make test runs it in its last step,
// without -race.
func skipUnderRace(t *testing.T, name string) {
	t.Helper()
	if race.Enabled {
		t.Skipf("runs without -race: go test -run %s ./cmd/narrator (make test does)", name)
	}
}
