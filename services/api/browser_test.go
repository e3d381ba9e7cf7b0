package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// browser starts headless Chromium for the test. It fails when Chromium
// is not installed; NARRATOR_SKIP_BROWSER=1 skips instead.
func browser(t *testing.T) context.Context {
	t.Helper()
	if os.Getenv("NARRATOR_SKIP_BROWSER") == "1" {
		t.Skip("NARRATOR_SKIP_BROWSER=1")
	}
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if path, err = exec.LookPath("chromium"); err != nil {
			t.Fatal("the dashboard tests need Chromium: install it (Debian: apt-get install chromium), or set NARRATOR_SKIP_BROWSER=1 to skip them")
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1100),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// screenshots returns where screenshots go: $NARRATOR_SCREENSHOTS, or a
// temporary directory.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NARRATOR_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func shot(dir, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t) // 100: PNG
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

// do runs steps with a deadline; the browser's own context has none, as
// a deadline on it would stop the browser.
func do(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// recordProgress keeps the stages a page was served with in
// window.servedStages and, in window.progressSeen, the value a page's
// #progress bar was served with and every value it is given after, from
// before any of its scripts run; a reload starts a new list.
const recordProgress = `(() => {
	document.addEventListener("DOMContentLoaded", () => {
		window.servedStages = [...document.querySelectorAll("#stages tr[data-stage]")].map(r => r.dataset.stage);
	}, {capture: true});
	const d = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
	window.progressSeen = [];
	Object.defineProperty(HTMLProgressElement.prototype, "value", {configurable: true,
		get() { return d.get.call(this); },
		set(v) {
			if (this.id === "progress") {
				// The first entry is the value the page was served with.
				if (window.progressSeen.length === 0) window.progressSeen.push(d.get.call(this));
				window.progressSeen.push(Number(v));
			}
			d.set.call(this, v);
		}});
})()`

// TestDashboardInBrowser signs in, submits an article whose title holds a
// script tag, watches its progress bar move and reach done, plays the
// preview, and adds a pronunciation from the words to review, in Chromium.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browser(t)
	// Each speech request takes a second, one at a time, so the narration
	// is seen in progress, a chunk done and the next not, for a second.
	e := startWith(t, faketts.Config{APIKey: "sk-test", LatencyPerChar: -1, BaseLatency: time.Second},
		pipeline.Config{Concurrency: map[string]int{pipeline.StageSynth: 1}})
	dir := screenshots(t)
	const title = `Council <script>alert("gotcha")</script> approves the budget`

	// Collect what the page complains about, and dismiss any dialog: the
	// title's script must never run.
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	var mu sync.Mutex
	var problems []string
	note := func(p string) {
		mu.Lock()
		problems = append(problems, p)
		mu.Unlock()
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException) && !strings.Contains(m.URL, "favicon") {
				note(fmt.Sprintf("console %s: %s %s", m.Type, m.Text, m.URL))
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			note("a dialog opened: " + ev.Message)
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()

	// The article comes from a slow site, so the narration page is served
	// while the article is fetched: whatever it shows of the later stages,
	// it learnt from the events.
	e.mux.HandleFunc("GET /slow/budget", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(1500 * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, article("Budget night"))
	})
	// Every value the narration page's bar takes, from the first script on.
	if _, err := chromedp.Run(ctx, chromedp.Func(func(c context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(c, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordProgress})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, time.Minute,
		chromedp.Navigate(e.srv.URL+"/dashboard/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		shot(dir, "01-sign-in"),
		chromedp.SendKeys(chromedp.ID("token"), editorToken),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("narrate-form")),
		shot(dir, "02-narrations"),

		chromedp.SendKeys(chromedp.ID("narrate-url"), e.srv.URL+"/slow/budget"),
		chromedp.SendKeys(chromedp.ID("narrate-title"), title),
		chromedp.SendKeys(chromedp.ID("narrate-section"), "Politics"),
		chromedp.Click(chromedp.ID("narrate-submit")),
		chromedp.WaitVisible(chromedp.ID("job")),
	)
	// The bar moves while the chunks are synthesized. The page reloads
	// only when the narration ends, so a value past the one it was served
	// with, short of 100, is the live stream's.
	served := run(t, ctx, chromedp.Evaluate[float64](`window.servedProgress = document.getElementById("progress").value; window.sameDocument = true; window.servedProgress`))
	// Queued, or cleaning: nothing of the later stages is in the page yet.
	if stages := run(t, ctx, chromedp.Evaluate[[]string](`window.servedStages`)); len(stages) > 1 || len(stages) == 1 && stages[0] != "clean" {
		t.Errorf("the page was served with stages %q; want it served before the article was cleaned", stages)
	}
	// Every panel follows the events while the job runs, with no reload:
	// the stages table gains synth, the cost its characters, the words
	// to review appear once the article is cleaned.
	run(t, ctx, chromedp.Poll[bool](`(() => {
		const synth = document.querySelector('#stages tr[data-stage="synth"] td:last-child');
		const chars = document.querySelector("#cost-panel dd");
		return window.sameDocument === true && document.getElementById("job").dataset.state === "running" &&
			synth && synth.textContent === "running" && chars && chars.textContent !== "0" &&
			document.querySelectorAll("#unknown td.word").length > 0 && !/ of 0 done/.test(document.getElementById("chunk-count").textContent);
	})()`, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Minute)))
	progressSeen := run(t, ctx, chromedp.Poll[float64](`(() => { const p = document.getElementById("progress");
		return p && p.value > window.servedProgress && p.value < 100 && document.getElementById("job").dataset.state === "running" ? p.value : false })()`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(time.Minute)))
	// The page never showed less than it was served with: the events it
	// replays from the job's start do not move the bar back.
	values := run(t, ctx, chromedp.Evaluate[[]float64](`window.progressSeen`))
	for i := 1; i < len(values); i++ {
		if values[i] < values[i-1] {
			t.Errorf("the bar was served at %.0f%% and then took %v: it moved back", values[0], values[1:])
			break
		}
	}
	if len(values) < 2 {
		t.Errorf("the bar's values were not recorded: %v", values)
	}
	do(t, ctx, time.Minute,
		shot(dir, "03-in-progress"),
		// At the end the page reloads with the preview.
		chromedp.WaitVisible(chromedp.ID("preview")),
	)
	done := run(t, ctx, chromedp.Poll[bool](`document.getElementById("progress").value === 100 && document.getElementById("job").dataset.state === "done"`,
		chromedp.WithPollingTimeout(30*time.Second)))
	shownTitle := run(t, ctx, chromedp.Text(chromedp.ID("title")))
	scripts := run(t, ctx, chromedp.Evaluate[int](`document.scripts.length`))
	do(t, ctx, time.Minute,
		shot(dir, "04-done"),
		chromedp.Click(chromedp.ID("play-preview")),
	)
	played := run(t, ctx, chromedp.Poll[float64](`(() => { const a = document.getElementById("preview"); return !a.paused && a.currentTime > 0.3 ? a.currentTime : false })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	playLabel := run(t, ctx, chromedp.Text(chromedp.ID("play-preview")))
	do(t, ctx, time.Minute, shot(dir, "05-playing"))

	t.Logf("page served at %.0f%%, then saw the bar at %.0f%% while running; done %v; preview played to %.1f s", served, progressSeen, done, played)

	if shownTitle != title {
		t.Errorf("title shown as %q, want the literal %q", shownTitle, title)
	}
	if scripts != 1 {
		t.Errorf("%d script elements on the page, want only the dashboard's", scripts)
	}
	if playLabel != "Pause preview" {
		t.Errorf("play button says %q while playing", playLabel)
	}

	// The words to review offer a pronunciation form; saving one returns to
	// the page without that word.
	words := `[...document.querySelectorAll("#unknown td.word")].map(td => td.textContent)`
	if unknown := run(t, ctx, chromedp.Evaluate[[]string](words)); !slices.Contains(unknown, "Syrskyi") {
		t.Fatalf("words to review: %q", unknown)
	}
	row := `//tr[td[@class="word" and text()="Syrskyi"]]`
	do(t, ctx, time.Minute, chromedp.SendKeys(row+`//input[@name="say"]`, "Seer-skee"))
	// The form posts and the server redirects back to this page.
	run(t, ctx, chromedp.WaitEvent(page.LoadEventFired, func(page.EventLoadEventFired) bool { return true }, chromedp.Click(row+`//button`)))
	do(t, ctx, time.Minute, chromedp.WaitVisible(chromedp.ID("job")), shot(dir, "06-pronunciation-added"))
	if unknown := run(t, ctx, chromedp.Evaluate[[]string](words)); slices.Contains(unknown, "Syrskyi") || len(unknown) == 0 {
		t.Errorf("words to review after Syrskyi's pronunciation was saved: %q", unknown)
	}
	do(t, ctx, time.Minute,
		chromedp.Navigate(e.srv.URL+"/dashboard/lexicon"),
		chromedp.WaitVisible(chromedp.ID("lexicon")),
		shot(dir, "07-lexicon"),
	)
	if lex := run(t, ctx, chromedp.Text(chromedp.ID("lexicon"))); !strings.Contains(lex, "Seer-skee") {
		t.Errorf("lexicon page lacks the saved entry: %q", lex)
	}
	do(t, ctx, time.Minute,
		chromedp.Navigate(e.srv.URL+"/dashboard/"),
		chromedp.WaitVisible(chromedp.ID("narrations")),
		shot(dir, "08-narrations-done"),
		// The list follows every narration's events once this is set.
		chromedp.WaitVisible(`#narrations[data-live="true"]`),
	)
	if got := run(t, ctx, chromedp.Text(chromedp.CSS("#narrations a.title"))); got != title {
		t.Errorf("list shows %q, want the literal title", got)
	}

	// The list follows narrations live: one submitted elsewhere is
	// announced, and once shown its row moves to done without a reload.
	if status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "evening",
		"text": article("Evening edition") + "\n\nA late paragraph only the evening edition has, so that its audio is not in the cache."}); status != 202 {
		t.Fatalf("submit: %d %s", status, body)
	}
	run(t, ctx, chromedp.Poll[bool](`!document.getElementById("new-jobs").hidden`, chromedp.WithPollingTimeout(30*time.Second)))
	do(t, ctx, time.Minute,
		chromedp.Navigate(e.srv.URL+"/dashboard/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-job="evening"]`)),
	)
	if first := run(t, ctx, chromedp.Evaluate[string](`window.sameDocument = true; document.querySelector('tr[data-job="evening"]').dataset.state`)); first == "done" {
		t.Errorf("the evening narration was done before the list showed it; it cannot show a live update")
	}
	run(t, ctx, chromedp.Poll[bool](`(() => { const r = document.querySelector('tr[data-job="evening"]');
		return window.sameDocument === true && r.dataset.state === "done" && r.querySelector("progress").value === 100 })()`,
		chromedp.WithPollingTimeout(time.Minute)))
	do(t, ctx, time.Minute, shot(dir, "09-list-live"))

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("in the browser: %s", p)
	}
}
