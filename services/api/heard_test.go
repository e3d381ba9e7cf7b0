package api_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// heardEnv narrates with a speech service that leaves out the middle
// sentence of every chunk and a recognizer that fails the first chunk's
// three requests, chunks made one at a time: chunk 0 is published
// unchecked, the others misheard. Chunk audio is kept in the object
// storage.
func heardEnv(t *testing.T, listen synth.ListenPolicy, pubs map[string]pipeline.Voice) *envConfig {
	t.Helper()
	return &envConfig{
		tts: faketts.Config{APIKey: "sk-test", LatencyPerChar: -1, TranscribeLatency: -1, Faults: faketts.Faults{Drop: 1},
			TranscribeScript: map[int]faketts.Fault{1: faketts.Fail500, 2: faketts.Fail503, 3: faketts.Fail500}},
		pipeline: pipeline.Config{Concurrency: map[string]int{pipeline.StageSynth: 1}, Publications: pubs},
		listen:   listen,
		audioDir: t.TempDir(),
	}
}

// heardAnswer mirrors GET /api/narrations/{id}/heard.
type heardAnswer struct {
	ID       string `json:"id"`
	AudioURL string `json:"audio_url"`
	Chunks   []struct {
		Index int      `json:"index"`
		Code  string   `json:"code"`
		Text  string   `json:"text"`
		Start *float64 `json:"start_seconds"`
		Spot  *float64 `json:"spot_seconds"`
		Heard *struct {
			Checked bool    `json:"checked"`
			Error   string  `json:"error"`
			Text    string  `json:"text"`
			WER     float64 `json:"wer"`
			Spans   []struct {
				Kind string `json:"kind"`
				Ref  [2]int `json:"ref"`
				Text string `json:"text"`
			} `json:"spans"`
			Words []struct {
				To float64 `json:"to"`
			} `json:"words"`
		} `json:"heard"`
	} `json:"chunks"`
}

// TestHeardBesideText: a narration published with misheard and unchecked
// chunks shows each chunk's text beside what was heard, through the JSON
// API and the dashboard, the same from an API process with no speech keys
// reading chunk audio from the object storage; in Chromium, "Play this
// spot" plays the published narration from where the chunk's first
// difference is heard.
func TestHeardBesideText(t *testing.T) {
	c := heardEnv(t, synth.ListenCheck, nil)
	e := startEnv(t, *c)
	status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "heard", "text": article("Council budget")})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	n := e.wait("heard")
	if n.State != "done" || n.Chunks.Total < 2 {
		t.Fatalf("narration %s with %d chunks: %s", n.State, n.Chunks.Total, n.Error)
	}

	// An API process without speech keys, reading chunk audio from the
	// same object storage.
	p, err := pipeline.New(pipeline.Deps{Queue: e.q, Audio: storeAudio(t, e.q, c.audioDir)}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := api.ParseTokens("stats:read:" + readerToken)
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := api.New(api.Deps{Pipeline: p}, api.Config{Options: queue.Options{Provider: "openai"}, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/narrations/heard/heard", nil)
	req.Header.Set("Authorization", "Bearer "+readerToken)
	keyless.ServeHTTP(other, req)
	status, body = e.do("GET", "/api/narrations/heard/heard", readerToken, nil)
	if status != http.StatusOK || other.Code != http.StatusOK || !bytes.Equal(body, other.Body.Bytes()) {
		t.Fatalf("GET heard: %d %s\nfrom the keyless process: %d %s", status, body, other.Code, other.Body.Bytes())
	}
	h := decode[heardAnswer](t, body)
	if h.AudioURL != n.Audio.URL || len(h.Chunks) != n.Chunks.Total {
		t.Fatalf("heard: audio %q, %d chunks; want %q and every one of %d chunks", h.AudioURL, len(h.Chunks), n.Audio.URL, n.Chunks.Total)
	}
	var spot float64
	for _, ch := range h.Chunks {
		if ch.Heard == nil || ch.Start == nil || ch.Spot == nil {
			t.Fatalf("chunk %d: record %v, start %v, spot %v", ch.Index, ch.Heard, ch.Start, ch.Spot)
		}
		if ch.Index == 0 {
			if ch.Code != synth.FindingUnchecked || ch.Heard.Checked || !strings.Contains(ch.Heard.Error, "500") || *ch.Spot != *ch.Start {
				t.Errorf("chunk 0: %s, checked %v (%q), spot %v of start %v; want unchecked, played from its start", ch.Code, ch.Heard.Checked, ch.Heard.Error, *ch.Spot, *ch.Start)
			}
			continue
		}
		if ch.Code != synth.FindingMisheard || !ch.Heard.Checked || len(ch.Heard.Spans) == 0 || ch.Heard.Spans[0].Kind != "omitted" {
			t.Fatalf("chunk %d: %s, checked %v, spans %+v; want misheard, a sentence omitted", ch.Index, ch.Code, ch.Heard.Checked, ch.Heard.Spans)
		}
		// The spot is a second before the end of the last word heard
		// before the sentence left out, in the published file.
		sp := ch.Heard.Spans[0]
		want := *ch.Start + ch.Heard.Words[sp.Ref[0]-1].To - 1
		if math.Abs(*ch.Spot-want) > 0.001 || *ch.Spot <= *ch.Start || *ch.Spot >= n.Audio.Duration {
			t.Errorf("chunk %d: spot %.3f s, want %.3f (start %.3f, file %.1f s)", ch.Index, *ch.Spot, want, *ch.Start, n.Audio.Duration)
		}
		if spot == 0 {
			spot = *ch.Spot
		}
	}

	// The dashboard marks the words left out, and has a button per spot.
	ctx := browser(t)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start Chromium: %v", err)
	}
	do(t, ctx, time.Minute,
		chromedp.Navigate(e.srv.URL+"/dashboard/narrations/heard"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), readerToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("heard")),
	)
	omitted := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#heard-1 .text del")].map(d => d.textContent)`))
	want := strings.Join(strings.Fields(h.Chunks[1].Heard.Spans[0].Text), " ")
	if len(omitted) == 0 || !strings.Contains(strings.ToLower(strings.Join(omitted, " ")), strings.Fields(want)[0]) {
		t.Errorf("chunk 1's text marks %q as left out; the check omitted %q", omitted, want)
	}
	if unchecked := run(t, ctx, chromedp.Text(chromedp.CSS("#heard-0 h3"))); !strings.Contains(unchecked, "not checked") {
		t.Errorf("chunk 0 is headed %q", unchecked)
	}
	do(t, ctx, time.Minute, chromedp.Click(chromedp.CSS("#heard-1 button.play-spot")))
	from := run(t, ctx, chromedp.Poll[float64](`(() => { const a = document.getElementById("preview");
		return !a.paused && a.currentTime > 0 ? a.currentTime : false })()`, chromedp.WithPollingTimeout(30*time.Second)))
	// and it goes on playing from there.
	to := run(t, ctx, chromedp.Poll[float64](fmt.Sprintf(`(() => { const a = document.getElementById("preview");
		return !a.paused && a.currentTime > %f ? a.currentTime : false })()`, from+0.3), chromedp.WithPollingTimeout(30*time.Second)))
	t.Logf("chunk 1's spot is at %.2f s; the preview played from %.2f s to %.2f s", spot, from, to)
	if from < spot-0.05 || from > spot+0.5 || to > spot+3 {
		t.Errorf("Play this spot played from %.2f s to %.2f s; want from %.2f s", from, to, spot)
	}
	do(t, ctx, time.Minute, shot(screenshots(t), "heard"))
}
