package player_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/narrator-project/narrator/services/internal/axetest"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/services/stitch"
)

// liveStream serves a narration's frames as GET /listen/{id} does: the
// first part at once, the rest once released, as a chunk still being
// synthesized would come.
type liveStream struct {
	frames  []byte
	cut     int
	release chan struct{}
	sent    chan struct{} // closed once the rest is written
}

func (l *liveStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(l.frames[:l.cut])
	rc.Flush()
	select {
	case <-l.release:
	case <-r.Context().Done():
		return
	}
	w.Write(l.frames[l.cut:])
	rc.Flush()
	select {
	case <-l.sent:
	default:
		close(l.sent)
	}
}

type livePage struct {
	Src      string  `json:"src"`
	T        float64 `json:"t"`
	Paused   bool    `json:"paused"`
	Ended    bool    `json:"ended"`
	Duration float64 `json:"duration"`
	Live     bool    `json:"live"`
	Notice   bool    `json:"notice"`
	Label    string  `json:"label"`
	Count    int     `json:"count"`
	Audios   int     `json:"audios"`
}

const livePageJS = `(() => {
  const a = document.getElementById("audio"), n = document.getElementById("live");
  return {src: a.currentSrc || a.src, t: a.currentTime, paused: a.paused, ended: a.ended, duration: isFinite(a.duration) ? a.duration : -1,
    live: document.documentElement.hasAttribute("data-live"), notice: !!n && n.getBoundingClientRect().height > 0,
    label: document.getElementById("disclosure").textContent.trim(),
    count: document.querySelectorAll(".transcript .s").length, audios: document.querySelectorAll("audio").length};
})()`

// TestLivePagePlaysTheStreamThenThePublishedFile opens the player of a
// narration still being made: it plays the live stream from the start
// while the rest is still to come, says it is still being narrated beside
// the AI label, and once the narration is published moves to the
// published file without pausing, with its transcript, and plays to the
// file's full duration.
func TestLivePagePlaysTheStreamThenThePublishedFile(t *testing.T) {
	b := newBrowser(t)
	n, audio := publishtest.Narration(t, publishtest.Options{Key: "live-story", Title: "Bridge to close"})
	var head int64 = -1
	s := mp3.NewScanner(bytes.NewReader(audio))
	for head < 0 && s.Scan() {
		if it := s.Item(); it.Kind == mp3.KindFrame {
			head = it.Offset
		}
	}
	stream := &liveStream{frames: audio[head:], release: make(chan struct{}), sent: make(chan struct{})}
	stream.cut = len(stream.frames) / 3
	var e *env
	e = newEnv(t, player.Config{Live: func(_ context.Context, key string) (player.Live, bool) {
		return player.Live{Title: "Bridge to close", Language: "en", StreamURL: e.srv.URL + "/listen/" + key}, key == n.Key
	}})
	e.mux.Handle("GET /listen/{id}", stream)
	want := trueDuration(t, audio)

	page := func() livePage { return eval[livePage](t, b, livePageJS) }
	wait := func(what string, ok func(livePage) bool) livePage {
		t.Helper()
		var p livePage
		for range 600 { // 30 s
			if p = page(); ok(p) {
				return p
			}
			b.run(t, chromedp.Sleep(50e6))
		}
		t.Fatalf("timed out waiting for %s: %+v", what, p)
		return p
	}

	b.run(t, chromedp.Navigate(e.srv.URL+"/player/"+n.Key), chromedp.WaitVisible(chromedp.ID("disclosure")))
	b.do(t, `document.getElementById("audio").play()`)
	p := wait("the stream to play", func(p livePage) bool { return !p.Paused && p.T > 0.5 })
	if !p.Live || !p.Notice || !strings.HasSuffix(p.Label, stitch.DefaultDisclosure) || !strings.Contains(p.Src, "/listen/"+n.Key) {
		t.Errorf("live page %+v: want the stream playing, the notice and the AI label shown", p)
	}
	select {
	case <-stream.sent:
		t.Fatal("the rest of the stream went out before the test released it")
	default:
	}
	b.screenshot(t, "player-live")
	axetest.Check(t, b.ctx, "live player")

	if _, err := e.pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	close(stream.release)
	before := page().T
	p = wait("the switch to the published file", func(p livePage) bool { return !p.Live && p.Duration > 0 && p.Audios == 1 })
	if p.Paused || p.T < before || strings.Contains(p.Src, "/listen/") || p.Notice || p.Count == 0 {
		t.Errorf("after the switch %+v (at %.2f s before it): want the published file playing on, with its transcript", p, before)
	}
	t.Logf("switched at %.2f s of the stream to %s at %.2f s", before, p.Src, p.T)
	if d := p.Duration - want; d > 0.1 || d < -0.1 {
		t.Errorf("the published file's duration is %.3f s, the MP3 plays %.3f s", p.Duration, want)
	}
	b.do(t, `document.getElementById("audio").playbackRate = 8`)
	p = wait("the end", func(p livePage) bool { return p.Ended })
	if d := p.T - want; d > 0.1 || d < -0.1 {
		t.Errorf("playback ended at %.3f s, the narration plays %.3f s", p.T, want)
	}
	b.clean(t)
}
