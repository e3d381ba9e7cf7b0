// Package axetest runs axe-core, the accessibility engine (pinned in
// testdata/npm), in pages that tests drive in Chromium with chromedp, on
// the screens people use: a desktop and a phone, in light and dark mode.
package axetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Screen is a viewport and colour scheme to check a page on.
type Screen struct {
	Name          string
	Width, Height int64
	Phone         bool
	Dark          bool
}

// Screens are a desktop and a phone (390 px wide, as an iPhone 12 to 15),
// each light and dark.
var Screens = []Screen{
	{Name: "desktop-light", Width: 1280, Height: 900},
	{Name: "desktop-dark", Width: 1280, Height: 900, Dark: true},
	{Name: "phone-light", Width: 390, Height: 844, Phone: true},
	{Name: "phone-dark", Width: 390, Height: 844, Phone: true, Dark: true},
}

var (
	srcOnce sync.Once
	src     string
	srcErr  error
)

// source reads axe.min.js from the pinned npm folder.
func source(t testing.TB) string {
	t.Helper()
	srcOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		p := filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "npm", "node_modules", "axe-core", "axe.min.js")
		var b []byte
		b, srcErr = os.ReadFile(p)
		src = string(b)
	})
	if srcErr != nil {
		t.Fatalf("axe-core is not installed: run make deps-test (npm ci --prefix testdata/npm): %v", srcErr)
	}
	return src
}

// Use puts the tab on a screen: its viewport (as a phone, with touch) and
// its preferred colour scheme. Pages loaded after it are laid out for it.
func Use(ctx context.Context, s Screen) error {
	var opts []chromedp.EmulateViewportOption
	if s.Phone {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateScale(3))
	}
	scheme := "light"
	if s.Dark {
		scheme = "dark"
	}
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(s.Width, s.Height, opts...)); err != nil {
		return fmt.Errorf("axetest: viewport %s: %w", s.Name, err)
	}
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		return fmt.Errorf("axetest: colour scheme %s: %w", s.Name, err)
	}
	return nil
}

// Violation is one rule axe found broken, with where.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
		Failed string `json:"failureSummary"`
	} `json:"nodes"`
}

func (v Violation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 3 {
			fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-3)
			break
		}
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Failed, "\n", "; "))
	}
	return b.String()
}

// Run runs axe over the whole document the tab shows (frames included)
// and returns the violations of every rule axe runs by default: WCAG 2.x
// A and AA and best practices.
func Run(t testing.TB, ctx context.Context) []Violation {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := chromedp.Run(c, chromedp.Evaluate[chromedp.Void](source(t))); err != nil {
		t.Fatalf("axetest: load axe: %v", err)
	}
	v, err := chromedp.Run(c, chromedp.Evaluate[[]Violation](
		`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axetest: run axe: %v", err)
	}
	return v
}

// Check fails t for every violation axe finds in the page, naming the page.
func Check(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	for _, v := range Run(t, ctx) {
		t.Errorf("%s: %s", page, v)
	}
}
