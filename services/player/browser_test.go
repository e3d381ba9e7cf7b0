package player_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/narrator-project/narrator/services/internal/axetest"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/services/stitch"
)

// hostileTitle must show as written and never run.
const hostileTitle = `Council & "Mayor" <script>alert('title')</script><img src=x onerror=alert(1)> approve — Рада ухвалила`

// browser is a headless Chromium tab that records every console error,
// uncaught exception, failed load and dialog the page produces.
type browser struct {
	ctx  context.Context
	mu   sync.Mutex
	errs []string
	dir  string // screenshots
}

func findChromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("NARRATOR_SKIP_BROWSER") == "1" {
		t.Skip("skipping browser test (NARRATOR_SKIP_BROWSER=1)")
	}
	for _, c := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatal("this test drives a headless Chromium: install the Debian package chromium (apt-get install chromium), " +
		"point CHROMIUM at a Chrome binary, or set NARRATOR_SKIP_BROWSER=1 to skip browser tests")
	return ""
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	bin := findChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(820, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	dir := os.Getenv("NARRATOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &browser{ctx: ctx, dir: dir}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				b.fail("console %s: %s", e.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.fail("exception: %s %s", e.ExceptionDetails.Text, describe(e.ExceptionDetails.Exception))
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.EntryLevelError || e.Entry.Level == cdplog.EntryLevelWarning {
				b.fail("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
			}
		case *page.EventJavascriptDialogOpening:
			b.fail("a script opened a dialog: %q", e.Message)
			// Listeners may not send commands; dismiss it from elsewhere.
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	})
	if err != nil {
		t.Fatalf("start chromium (%s): %v", bin, err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Logf("screenshots in %s", dir)
	return b
}

func (b *browser) fail(format string, a ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf(format, a...))
}

// clean fails the test for anything the page complained about.
func (b *browser) clean(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errs {
		t.Errorf("page error: %s", e)
	}
	b.errs = nil
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

func (b *browser) run(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a script in the page and decodes its value.
func eval[T any](t *testing.T, b *browser, script string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %.80q: %v", script, err)
	}
	return v
}

// do evaluates a script for its effect.
func (b *browser) do(t *testing.T, script string) { eval[chromedp.Void](t, b, script) }

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// state is what the page shows about playback.
type state struct {
	T         float64 `json:"t"`
	Paused    bool    `json:"paused"`
	On        int     `json:"on"`
	OnText    string  `json:"onText"`
	Word      string  `json:"word"` // the word highlighted
	Count     int     `json:"count"`
	ReadyMeta bool    `json:"ready"`
	Duration  float64 `json:"duration"`
}

const stateJS = `(() => {
  const a = document.getElementById("audio");
  const s = Array.from(document.querySelectorAll(".transcript .s"));
  const on = s.findIndex(x => x.classList.contains("on"));
  const w = document.querySelector(".transcript .w.on");
  return {t: a.currentTime, paused: a.paused, on: on, onText: on >= 0 ? s[on].textContent : "", word: w ? w.textContent : "",
          count: s.length, ready: a.readyState >= 1, duration: a.duration || 0};
})()`

func (b *browser) state(t *testing.T) state {
	t.Helper()
	return eval[state](t, b, stateJS)
}

// waitFor polls the page until ok accepts its state or the deadline
// passes.
func (b *browser) waitFor(t *testing.T, what string, ok func(state) bool) state {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := b.state(t)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; page state %+v", what, s)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// expected returns the sentence the player must highlight at t: the last
// that starts at or before it, from the published timings.
func expected(m *publish.Manifest, t float64) int {
	i := -1
	for k, s := range m.Sentences {
		if float64(s.Start) <= t+0.0005 {
			i = k
		}
	}
	return i
}

// expectedWord returns the word the player must mark at t: the last of
// the highlighted sentence's words that starts at or before it.
func expectedWord(m *publish.Manifest, t float64) string {
	i := expected(m, t)
	if i < 0 {
		return ""
	}
	w := ""
	for _, x := range m.Sentences[i].Words {
		if float64(x.Start) <= t+0.0005 {
			w = x.Text
		}
	}
	return w
}

// trueDuration decodes the MP3 as players do (ffmpeg, honouring the LAME
// tag's delay and padding) and returns its playing time.
func trueDuration(t *testing.T, audio []byte) float64 {
	t.Helper()
	pcm := mp3test.Decode(t, mp3test.WriteFile(t, "n.mp3", audio))
	return float64(pcm.Frames()) / float64(pcm.Rate)
}

type shown struct {
	Disclosure string  `json:"disclosure"`
	Width      float64 `json:"width"`
	Visible    bool    `json:"visible"`
	Title      string  `json:"title"`
	DocTitle   string  `json:"docTitle"`
	Scripts    int     `json:"scripts"`
	Images     int     `json:"images"`
}

const shownJS = `(() => {
  const d = document.getElementById("disclosure");
  const r = d.getBoundingClientRect(), st = getComputedStyle(d);
  return {disclosure: d.textContent.trim(), width: r.width,
    visible: st.visibility === "visible" && st.display !== "none" && Number(st.opacity) > 0 && r.height > 0 && r.top < innerHeight,
    title: document.querySelector("h1").textContent, docTitle: document.title,
    scripts: document.scripts.length, images: document.images.length};
})()`

type controls struct {
	Speeds  []string `json:"speeds"`
	Labels  []string `json:"labels"`
	Rate    float64  `json:"rate"`
	HasLink bool     `json:"hasLink"`
}

const controlsJS = `(() => ({
  speeds: Array.from(document.querySelectorAll("#speed option")).map(o => o.value),
  labels: ["back", "play", "forward", "seek", "speed"].map(id => document.getElementById(id).getAttribute("aria-label")),
  rate: document.getElementById("audio").playbackRate,
  hasLink: !!document.getElementById("download")}))()`

func TestPlayerInChromium(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, player.Config{Download: true})
	n, pub, audio := e.publish(t, publishtest.Options{Title: hostileTitle, Heard: true})
	m, err := e.pub.Manifest(t.Context(), n.Key)
	if err != nil {
		t.Fatal(err)
	}
	want := trueDuration(t, audio)

	pages := []struct{ name, url string }{
		{"served", e.srv.URL + "/player/" + n.Key},
		{"static", pub.Page.URL},
	}
	for _, pg := range pages {
		t.Run(pg.name, func(t *testing.T) {
			b.run(t, chromedp.Navigate(pg.url), chromedp.WaitVisible(chromedp.ID("disclosure")))
			s := b.waitFor(t, "the audio's metadata", func(s state) bool { return s.ReadyMeta && s.Duration > 0 })
			if d := s.Duration - want; d > 0.1 || d < -0.1 {
				t.Errorf("audio element's duration %.3f s, the MP3 plays %.3f s", s.Duration, want)
			} else {
				t.Logf("audio element's duration %.3f s, the MP3 plays %.3f s", s.Duration, want)
			}
			if s.Count != len(m.Sentences) {
				t.Errorf("%d sentences in the transcript, manifest has %d", s.Count, len(m.Sentences))
			}

			// The disclosure is on screen, and the hostile title is text.
			sh := eval[shown](t, b, shownJS)
			if !strings.HasSuffix(sh.Disclosure, stitch.DefaultDisclosure) || !sh.Visible || sh.Width == 0 {
				t.Errorf("disclosure %+v is not visible", sh)
			}
			if sh.Title != hostileTitle || sh.DocTitle != hostileTitle || sh.Scripts != 1 || sh.Images != 0 {
				t.Errorf("title %q (document %q), %d scripts, %d images: markup in the title became elements", sh.Title, sh.DocTitle, sh.Scripts, sh.Images)
			}
			b.screenshot(t, "player-"+pg.name+"-loaded")

			// Seek to the middle and play: the highlight follows the audio.
			mid := s.Duration / 2
			b.do(t, fmt.Sprintf(`(() => { const a = document.getElementById("audio"); a.currentTime = %f; a.play(); })()`, mid))
			b.waitFor(t, "the highlight to follow playback", func(s state) bool {
				return !s.Paused && s.T > mid+0.5 && s.On == expected(m, s.T)
			})
			b.do(t, `document.getElementById("audio").pause()`)
			s = b.waitFor(t, "pause", func(s state) bool { return s.Paused && s.On == expected(m, s.T) })
			if s.On <= 0 || s.OnText != m.Sentences[s.On].Text || expected(m, mid) == 0 {
				t.Errorf("at %.3f s the player highlights sentence %d %q, want %d", s.T, s.On, s.OnText, expected(m, s.T))
			}
			// With heard word times, the word being said is marked too.
			if len(m.Sentences[s.On].Words) == 0 {
				t.Fatalf("sentence %d has no word times: %+v", s.On, m.Sentences[s.On])
			}
			if s.Word == "" || s.Word != expectedWord(m, s.T) {
				t.Errorf("at %.3f s the player marks the word %q, want %q", s.T, s.Word, expectedWord(m, s.T))
			}
			b.screenshot(t, "player-"+pg.name+"-playing")

			// A click on a sentence seeks to it and plays.
			k := len(m.Sentences) - 2
			b.run(t, chromedp.Click(chromedp.CSS(fmt.Sprintf(".transcript .s[data-start=%q]", fmt.Sprint(m.Sentences[k].Start)))))
			s = b.waitFor(t, "the clicked sentence", func(s state) bool { return s.On == k && !s.Paused })
			if s.T < float64(m.Sentences[k].Start)-0.05 || s.T > float64(m.Sentences[k].End)+0.5 {
				t.Errorf("clicking sentence %d (%.3f-%.3f s) moved to %.3f s", k, m.Sentences[k].Start, m.Sentences[k].End, s.T)
			}

			// Keyboard: K pauses, J goes back 15 seconds.
			b.do(t, `document.activeElement.blur()`)
			b.run(t, chromedp.KeyEvent("k"))
			s = b.waitFor(t, "K to pause", func(s state) bool { return s.Paused })
			before := s.T
			b.run(t, chromedp.KeyEvent("j"))
			b.waitFor(t, "J to go back", func(s state) bool { return s.T < before-10 || s.T == 0 && before < 15 })

			// Speed, labels for screen readers, the download link.
			b.run(t, chromedp.SetValue(chromedp.ID("speed"), "1.5"))
			b.do(t, `document.getElementById("speed").dispatchEvent(new Event("change"))`)
			ui := eval[controls](t, b, controlsJS)
			if strings.Join(ui.Speeds, " ") != "0.75 1 1.25 1.5 1.75 2" || ui.Rate != 1.5 || !ui.HasLink {
				t.Errorf("speeds %v, rate %v, download link %v", ui.Speeds, ui.Rate, ui.HasLink)
			}
			for _, l := range ui.Labels {
				if l == "" {
					t.Errorf("a control has no label: %q", ui.Labels)
				}
			}
			b.clean(t)
		})
	}

	t.Run("embed", func(t *testing.T) {
		e.mux.HandleFunc("GET /article.html", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article</title><link rel="icon" href="data:,"></head>
<body><h1>Council approves new bridge</h1><p>The article's text.</p>
<div id="column" style="width:320px"><script src="/player/embed.js" data-narration="%s" async></script></div>
<p>More of the article.</p></body></html>`, n.Key)
		})
		b.run(t, chromedp.Navigate(e.srv.URL+"/article.html"), chromedp.WaitVisible(chromedp.CSS("iframe")))
		type frame struct {
			Src        string  `json:"src"`
			Height     float64 `json:"height"`
			Content    float64 `json:"content"`
			Disclosure string  `json:"disclosure"`
		}
		const frameJS = `(() => {
			const f = document.querySelector("iframe");
			const doc = f.contentDocument;
			const d = doc && doc.getElementById("disclosure-text");
			return {src: f.src, height: f.getBoundingClientRect().height,
				content: doc && doc.body ? Math.ceil(doc.body.getBoundingClientRect().height) : 0,
				disclosure: d ? d.textContent : ""};
		})()`
		// The frame sizes itself to its content once the player runs, and
		// follows it when the column changes width.
		fits := func(what string, ok func(frame) bool) frame {
			t.Helper()
			var f frame
			deadline := time.Now().Add(20 * time.Second)
			for {
				if f = eval[frame](t, b, frameJS); f.Disclosure != "" && f.Content > 0 && f.Height == f.Content && ok(f) {
					return f
				}
				if time.Now().After(deadline) {
					t.Fatalf("embedded player: %s: %+v", what, f)
				}
				select {
				case <-t.Context().Done():
					t.Fatal(t.Context().Err())
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
		narrow := fits("sized to its content in a 320 px column", func(f frame) bool { return f.Height != 420 })
		if narrow.Src != e.srv.URL+"/player/"+n.Key+".html" || narrow.Disclosure != stitch.DefaultDisclosure || narrow.Height < 300 {
			t.Errorf("embedded frame %+v", narrow)
		}
		b.screenshot(t, "player-embedded-narrow")
		b.do(t, `document.getElementById("column").style.width = "780px"`)
		wide := fits("shrunk to its content in a 780 px column", func(f frame) bool { return f.Height < narrow.Height })
		t.Logf("frame %.0f px high at 320 px wide, %.0f px at 780 px", narrow.Height, wide.Height)
		b.screenshot(t, "player-embedded-wide")
		b.clean(t)
	})
}

// TestPlayerIsAccessibleOnEveryScreen runs axe-core over the player page
// on a desktop and a phone, light and dark, before and during playback.
func TestPlayerIsAccessibleOnEveryScreen(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, player.Config{Download: true})
	n, _, _ := e.publish(t, publishtest.Options{Title: hostileTitle})
	for _, sc := range axetest.Screens {
		t.Run(sc.Name, func(t *testing.T) {
			if err := axetest.Use(b.ctx, sc); err != nil {
				t.Fatal(err)
			}
			b.run(t, chromedp.Navigate(e.srv.URL+"/player/"+n.Key), chromedp.WaitVisible(chromedp.ID("controls")))
			axetest.Check(t, b.ctx, "player")
			// Playing highlights a sentence: the highlight must keep its contrast.
			b.do(t, `(() => { const a = document.getElementById("audio"); a.currentTime = 2; a.play(); })()`)
			b.waitFor(t, "a highlighted sentence", func(s state) bool { return !s.Paused && s.On >= 0 && s.T > 2.2 })
			b.do(t, `document.getElementById("audio").pause()`)
			axetest.Check(t, b.ctx, "player while playing")
			b.screenshot(t, "player-"+sc.Name)
			b.clean(t)
		})
	}
}
