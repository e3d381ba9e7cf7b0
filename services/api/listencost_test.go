package api_test

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// TestRecognitionIsShownBesideSynthesis: with the listening check on, a
// narration's view has the seconds estimated and heard and their price
// at the listening check's own rate, the usage has today's and this
// month's seconds heard beside the providers' characters, and the
// dashboard shows them in minutes; the characters are not changed by it.
func TestRecognitionIsShownBesideSynthesis(t *testing.T) {
	e := startWith(t, faketts.Config{APIKey: "sk-test", LatencyPerChar: -1, TranscribeLatency: -1}, pipeline.Config{Listen: "check"},
		func(c *api.Config) { c.ListenPrice = 0.006 })
	status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "heard", "text": article("Harbour budget passes")})
	if status != http.StatusAccepted {
		t.Fatalf("%d %s", status, body)
	}
	n := e.wait("heard")
	if n.State != "done" {
		t.Fatalf("narration %s: %s", n.State, n.Error)
	}
	_, body = e.do("GET", "/api/narrations/heard", readerToken, nil)
	v := decode[struct {
		Billed        int      `json:"billed_chars"`
		Heard         int      `json:"heard_seconds"`
		EstimateHeard int      `json:"estimated_heard_seconds"`
		ListenUSD     *float64 `json:"listen_cost_usd"`
		ListenEstUSD  *float64 `json:"listen_estimated_cost_usd"`
	}](t, body)
	heard := 0.0
	for _, l := range e.fake.Log() {
		if l.Path == "/v1/audio/transcriptions" {
			heard += l.Seconds
		}
	}
	switch {
	case v.Heard < int(heard) || v.Heard > int(heard)+n.Chunks.Total:
		t.Errorf("heard_seconds %d; the fake heard %.1f s", v.Heard, heard)
	case v.EstimateHeard < n.Estimate/16 || v.EstimateHeard > n.Estimate/14+n.Chunks.Total:
		t.Errorf("estimated_heard_seconds %d for %d characters", v.EstimateHeard, n.Estimate)
	case v.ListenUSD == nil || math.Abs(*v.ListenUSD-float64(v.Heard)*0.0001) > 1e-9 || v.ListenEstUSD == nil:
		t.Errorf("listening costs %v and %v for %d s at $0.006 a minute", v.ListenUSD, v.ListenEstUSD, v.Heard)
	case v.Billed != n.Billed || v.Billed > n.Estimate:
		t.Errorf("billed %d characters of an estimated %d", v.Billed, n.Estimate)
	}

	_, body = e.do("GET", "/api/usage", readerToken, nil)
	u := decode[struct {
		Providers []struct {
			Today int `json:"today_chars"`
		}
		Listening *struct {
			Today     int      `json:"today_seconds"`
			Month     int      `json:"month_seconds"`
			TodayUSD  *float64 `json:"today_usd"`
			PerMinute *float64 `json:"usd_per_minute"`
		}
	}](t, body)
	if l := u.Listening; l == nil || l.Today != v.Heard || l.Month != v.Heard || l.TodayUSD == nil || *l.PerMinute != 0.006 || u.Providers[0].Today != v.Billed {
		t.Errorf("usage %s; want %d s heard beside %d characters", body, v.Heard, v.Billed)
	}

	c := withCookie(e.signIn(readerToken))
	want := fmt.Sprintf("%.1f min", float64(v.Heard)/60)
	if _, page := get(t, c, e.srv.URL+"/dashboard/"); !strings.Contains(page, "Heard by the listening check") || !strings.Contains(page, want) {
		t.Errorf("the dashboard does not show %s heard:\n%s", want, page)
	}
	if _, page := get(t, c, e.srv.URL+"/dashboard/narrations/heard"); !strings.Contains(page, `<dd id="heard">`+want+" heard · $") {
		t.Errorf("the narration's cost does not show %s heard and its price:\n%s", want, page)
	}
}
