package player_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/storage"
)

// do sends a request to h and returns the response and its body.
func do(t testing.TB, h http.Handler, method, target string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestRoutes(t *testing.T) {
	e := newEnv(t, player.Config{})
	n, _, _ := e.publish(t, publishtest.Options{Section: "Local News"})
	h := e.player.Handler()
	_, pageBody := do(t, h, "GET", "/player/"+n.Key, nil)
	js := regexp.MustCompile(`src="assets/(player\.[0-9a-f]+\.js)"`).FindStringSubmatch(pageBody)
	if js == nil {
		t.Fatalf("page names no script: %s", pageBody)
	}
	feedLen := func() string {
		o, err := e.store.Head(t.Context(), publish.FeedKey)
		if err != nil {
			t.Fatal(err)
		}
		return itoa(o.Size)
	}()

	cases := []struct {
		name, method, path string
		headers            map[string]string
		status             int
		want               map[string]string // headers
	}{
		{"page", "GET", "/player/" + n.Key, nil, 200, map[string]string{
			"Content-Type": "text/html; charset=utf-8", "Cache-Control": publish.CacheManifest, "X-Content-Type-Options": "nosniff"}},
		{"page as .html", "GET", "/player/" + n.Key + ".html", nil, 200, map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{"page HEAD", "HEAD", "/player/" + n.Key, nil, 200, nil},
		{"unknown narration", "GET", "/player/nobody", nil, 404, nil},
		{"key outside the alphabet", "GET", "/player/a.b", nil, 404, nil},
		{"embed script", "GET", "/player/embed.js", nil, 200, map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"player script", "GET", "/player/assets/" + js[1], nil, 200, map[string]string{
			"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": publish.CacheImmutable}},
		{"unknown asset", "GET", "/player/assets/player.js", nil, 404, nil},
		{"feed", "GET", "/feed.xml", nil, 200, map[string]string{
			"Content-Type": "application/rss+xml; charset=utf-8", "Cache-Control": publish.CacheFeed, "Accept-Ranges": "bytes"}},
		{"feed HEAD", "HEAD", "/feed.xml", nil, 200, map[string]string{"Content-Length": feedLen}},
		{"feed range", "GET", "/feed.xml", map[string]string{"Range": "bytes=0-9"}, 206, map[string]string{
			"Content-Range": "bytes 0-9/" + feedLen, "Content-Length": "10"}},
		{"section feed", "GET", "/feeds/section/local-news.xml", nil, 200, nil},
		{"author feed", "GET", "/feeds/author/jane-doe.xml", nil, 200, nil},
		{"missing section", "GET", "/feeds/section/sport.xml", nil, 404, nil},
		{"feed without .xml", "GET", "/feeds/section/local-news", nil, 404, nil},
		{"not a feed", "GET", "/feeds/section/..%2Fnarrations.xml", nil, 404, nil},
		{"POST", "POST", "/feed.xml", nil, 405, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := do(t, h, tc.method, tc.path, tc.headers)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			for k, v := range tc.want {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if c := resp.Header.Get("Set-Cookie"); c != "" {
				t.Errorf("sets a cookie: %q", c)
			}
		})
	}

	t.Run("conditional", func(t *testing.T) {
		resp, _ := do(t, h, "GET", "/player/"+n.Key, nil)
		again, _ := do(t, h, "GET", "/player/"+n.Key, map[string]string{"If-None-Match": resp.Header.Get("ETag")})
		if resp.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
			t.Fatalf("ETag %q, revalidation status %d", resp.Header.Get("ETag"), again.StatusCode)
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	e := newEnv(t, player.Config{})
	n, _, _ := e.publish(t, publishtest.Options{})
	resp, body := do(t, e.player.Handler(), "GET", "/player/"+n.Key, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors *",
		"media-src 'self' " + e.srv.URL, "base-uri 'none'", "connect-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "data: ", "*."} {
		if strings.Contains(strings.ReplaceAll(csp, e.srv.URL, ""), bad) {
			t.Errorf("policy %q allows %q", csp, bad)
		}
	}
	// The static page carries the same policy in a meta element, where
	// frame-ancestors does not apply.
	doc := parseHTML(t, body)
	meta := find(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy" })
	if len(meta) != 1 || attr(meta[0], "content")+"; frame-ancestors *" != csp {
		t.Errorf("meta policy %v, header %q", meta, csp)
	}
	// Everything the page runs or styles comes from files: no inline code.
	for _, n := range find(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "style" }) {
		if n.FirstChild != nil || (n.Data == "script" && attr(n, "src") == "") {
			t.Errorf("inline %s element", n.Data)
		}
	}
}

func TestPlayerIsSmall(t *testing.T) {
	e := newEnv(t, player.Config{})
	n, _, _ := e.publish(t, publishtest.Options{})
	h := e.player.Handler()
	_, page := do(t, h, "GET", "/player/"+n.Key, nil)
	total := len(page)
	for _, m := range regexp.MustCompile(`(?:src|href)="(assets/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		_, b := do(t, h, "GET", "/player/"+m[1], nil)
		total += len(b)
	}
	_, embed := do(t, h, "GET", "/player/embed.js", nil)
	t.Logf("page, script and style: %d bytes uncompressed; embed script %d bytes", total, len(embed))
	if total > 40_000 || len(embed) > 2_000 {
		t.Errorf("player weighs %d bytes, embed %d: keep it small", total, len(embed))
	}
}

func TestDisclosureCannotBeRemovedByAccident(t *testing.T) {
	cases := []struct{ configured, shown string }{
		{"", stitch.DefaultDisclosure},
		{"   \n\t ", stitch.DefaultDisclosure},
		{"Read by a synthetic voice", "Read by a synthetic voice"},
		{"<b>Synthetic</b> voice", "<b>Synthetic</b> voice"},
	}
	for _, tc := range cases {
		t.Run(tc.configured, func(t *testing.T) {
			e := newEnv(t, player.Config{Disclosure: tc.configured})
			n, _, _ := e.publish(t, publishtest.Options{})
			_, body := do(t, e.player.Handler(), "GET", "/player/"+n.Key, nil)
			d := find(parseHTML(t, body), func(n *html.Node) bool { return attr(n, "id") == "disclosure-text" })
			if len(d) != 1 || text(d[0]) != tc.shown {
				t.Fatalf("disclosure %q, want %q", textAll(d), tc.shown)
			}
		})
	}
}

// hostile are texts that must be shown as written and never run.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' onmouseover='alert(1)`,
	`</title><script>alert(1)</script>`,
	`javascript:alert(1)`,
	`Tom & Jerry — "quotes" & 'apostrophes'`,
	`Рада ухвалила бюджет — 議会 — مجلس المدينة`,
	"{{.Title}} ${x} `backticks`",
	`<!-- comment --> <![CDATA[ x ]]>`,
}

func TestHostileTextIsShownAsText(t *testing.T) {
	e := newEnv(t, player.Config{Download: true})
	h := e.player.Handler()
	for i, s := range hostile {
		t.Run(s, func(t *testing.T) {
			m := manifestWith(t, e.store, "h"+itoa(int64(i)), s, s, s)
			_, body := do(t, h, "GET", "/player/"+m.Key, nil)
			checkInert(t, body, m)
		})
	}
}

// FuzzPageText renders a page whose title, sentence and article URL are
// arbitrary, and checks that none of it becomes markup or code.
func FuzzPageText(f *testing.F) {
	for _, s := range hostile {
		f.Add(s, s, "https://example.com/?q="+s)
	}
	e := newEnv(f, player.Config{Download: true})
	h := e.player.Handler()
	f.Fuzz(func(t *testing.T, title, sentence, link string) {
		m := manifestWith(t, e.store, "fuzz", title, sentence, link)
		resp, body := do(t, h, "GET", "/player/"+m.Key, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		checkInert(t, body, m)
	})
}

// manifestWith stores a manifest with the given title, one sentence and
// an article link, and returns it as stored.
func manifestWith(t testing.TB, st *storage.FS, key, title, sentence, link string) *publish.Manifest {
	t.Helper()
	m := &publish.Manifest{
		Version: publish.ManifestVersion, ArticleID: key, Key: key, Title: title, Byline: title, URL: link,
		Language: "en", Created: time.Now().UTC(), Duration: 2, Disclosure: stitch.DefaultDisclosure,
		Files:      publish.Files{Audio: publish.File{Key: "a.mp3", URL: "https://cdn.example.com/a.mp3", Type: "audio/mpeg"}},
		Chapters:   []publish.Chapter{{Title: title, Start: 0, End: 2}},
		Paragraphs: []publish.Paragraph{{Section: -1, Block: -1, Start: 0, End: 1, First: 0, Count: 1}, {Section: 0, Block: 0, Start: 1, End: 2, First: 1, Count: 1}},
		Sentences:  []publish.Sentence{{Start: 0, End: 1, Text: title, Section: -1, Block: -1}, {Start: 1, End: 2, Text: sentence, Section: 0, Block: 0}},
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(t.Context(), publish.ManifestKey(publish.DefaultPrefix, key), bytes.NewReader(b), int64(len(b)), storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	var stored publish.Manifest
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	return &stored
}

// checkInert fails unless the page has exactly the player's own script,
// no event handler attributes, no script URLs, and shows the manifest's
// texts as text.
func checkInert(t *testing.T, body string, m *publish.Manifest) {
	t.Helper()
	doc := parseHTML(t, body)
	scripts := find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "script" })
	if len(scripts) != 1 || !strings.HasPrefix(attr(scripts[0], "src"), "assets/player.") {
		t.Fatalf("%d script elements", len(scripts))
	}
	for _, n := range find(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
		for _, a := range n.Attr {
			v := strings.ToLower(strings.TrimSpace(a.Val))
			if strings.HasPrefix(a.Key, "on") || (a.Key == "href" || a.Key == "src") && (strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:text")) {
				t.Fatalf("<%s %s=%q>", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "img" || n.Data == "iframe" || n.Data == "object" || n.Data == "embed" || n.Data == "svg" {
			t.Fatalf("markup became a <%s> element", n.Data)
		}
	}
	title := m.Title
	if title == "" {
		title = m.Key
	}
	h1 := find(doc, func(n *html.Node) bool { return n.Data == "h1" })
	if len(h1) != 1 || text(h1[0]) != parsed(title) {
		t.Fatalf("h1 %q, want %q", textAll(h1), title)
	}
	spans := find(doc, func(n *html.Node) bool { return attr(n, "class") == "s" })
	if len(spans) != 2 || text(spans[0]) != parsed(m.Sentences[0].Text) || text(spans[1]) != parsed(m.Sentences[1].Text) {
		t.Fatalf("transcript %q, want %q and %q", textAll(spans), m.Sentences[0].Text, m.Sentences[1].Text)
	}
}

// parsed is text as an HTML parser reads it back: line breaks normalized
// and NUL replaced, as the HTML specification says.
var parsedText = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\x00", "\uFFFD")

func parsed(s string) string { return parsedText.Replace(s) }

func parseHTML(t testing.TB, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func find(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && ok(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func textAll(ns []*html.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, text(n))
	}
	return out
}
