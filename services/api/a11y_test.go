package api_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/narrator-project/narrator/services/internal/axetest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
)

// layout is what a page's layout looks like on the screen it is shown on.
type layout struct {
	Overflow   float64 `json:"overflow"`   // px the page is wider than the viewport
	SignOut    float64 `json:"signOut"`    // px the Sign out button reaches past the viewport's right edge
	WhoLines   float64 `json:"whoLines"`   // lines the signed-in label takes
	WideTables int     `json:"wideTables"` // tables wider than their section
}

const layoutJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const out = {overflow: Math.max(0, document.documentElement.scrollWidth - vw), signOut: 0, whoLines: 0, wideTables: 0};
	const b = document.querySelector(".signout button");
	if (b) out.signOut = Math.max(0, b.getBoundingClientRect().right - vw);
	const who = document.querySelector(".who");
	if (who) out.whoLines = Math.round(who.getBoundingClientRect().height / parseFloat(getComputedStyle(who).lineHeight || "20"));
	for (const t of document.querySelectorAll("main table")) {
		if (t.getBoundingClientRect().width > t.parentElement.getBoundingClientRect().width + 1) out.wideTables++;
	}
	return out;
})()`

// TestDashboardIsAccessibleOnEveryScreen runs axe-core over every
// dashboard page, on a desktop and a phone, light and dark, and checks
// that on the phone nothing is cut off or scrolls sideways.
func TestDashboardIsAccessibleOnEveryScreen(t *testing.T) {
	ctx := browser(t)
	// The "checked" publication's narrations are heard by a recognizer
	// whose first requests fail, from a speech service that leaves out
	// sentences: the page of one shows chunks unchecked and misheard.
	c := heardEnv(t, synth.ListenOff, map[string]pipeline.Voice{"checked": {Listen: string(synth.ListenCheck)}})
	e := startEnv(t, *c)
	// Full-page screenshots of a phone at 3× are slow: taken only when asked for.
	dir := os.Getenv("NARRATOR_SCREENSHOTS")
	snap := func(name string) chromedp.Action[chromedp.Void] {
		if dir == "" {
			return chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })
		}
		return shot(dir, name)
	}
	status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "budget", "text": article("Budget night"), "section": "Politics"})
	if status != 202 {
		t.Fatalf("submit: %d %s", status, body)
	}
	if n := e.wait("budget"); n.State != "done" {
		t.Fatalf("narration %s: %s", n.State, n.Error)
	}
	status, body = e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "misheard", "text": article("Misheard night"), "publication": "checked"})
	if status != 202 {
		t.Fatalf("submit: %d %s", status, body)
	}
	if n := e.wait("misheard"); n.State != "done" || len(n.Warnings) < n.Chunks.Total {
		t.Fatalf("narration %s with warnings %v: %s", n.State, n.Warnings, n.Error)
	}
	if status, body := e.do("POST", "/api/lexicon?publication=default", editorToken, map[string]any{"word": "Kyiv", "say": "Keev", "note": "desk style"}); status != 201 {
		t.Fatalf("lexicon: %d %s", status, body)
	}

	pages := []struct{ name, path, ready string }{
		{"list", "/dashboard/", "#narrations"},
		{"narration", "/dashboard/narrations/budget", "#job"},
		{"narration-heard", "/dashboard/narrations/misheard", "#heard button.play-spot"},
		{"lexicon", "/dashboard/lexicon", "#lexicon"},
		{"feeds", "/dashboard/feeds", "#checks"},
		{"backfills", "/dashboard/backfills", "#backfills"},
		{"not-found", "/dashboard/narrations/no-such-narration", "#page-error"},
		{"sign-in", "/dashboard/login", "#login-form"},
	}
	signedIn := false
	for _, sc := range axetest.Screens {
		t.Run(sc.Name, func(t *testing.T) {
			if err := axetest.Use(ctx, sc); err != nil {
				t.Fatal(err)
			}
			if !signedIn {
				do(t, ctx, time.Minute, chromedp.Navigate(e.srv.URL+"/dashboard/"), chromedp.WaitVisible(chromedp.ID("token")))
				axetest.Check(t, ctx, "sign-in")
				do(t, ctx, time.Minute, snap(sc.Name+"-sign-in"),
					chromedp.SendKeys(chromedp.ID("token"), editorToken), chromedp.Click(chromedp.ID("login-submit")),
					chromedp.WaitVisible(chromedp.ID("narrate-form")))
				signedIn = true
			}
			for _, pg := range pages {
				do(t, ctx, time.Minute, chromedp.Navigate(e.srv.URL+pg.path), chromedp.WaitVisible(pg.ready), snap(sc.Name+"-"+pg.name))
				axetest.Check(t, ctx, pg.name)
				l := run(t, ctx, chromedp.Evaluate[layout](layoutJS))
				if l.Overflow > 0 || l.SignOut > 0 || l.WhoLines > 1 || l.WideTables > 0 {
					t.Errorf("%s on %s: %+v: something is cut off or scrolls sideways (screenshot %s)", pg.name, sc.Name, l, filepath.Join(dir, sc.Name+"-"+pg.name+".png"))
				}
			}
		})
	}
}
