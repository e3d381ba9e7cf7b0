package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// runWithInput runs a command with the given standard input.
func runWithInput(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func sampleArticlePath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../testdata/sample-article.html")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScriptJSON checks the editor's view of the sample article: title,
// byline, paragraphs before normalization, and chunks of normalized text
// within the limit.
func TestScriptJSON(t *testing.T) {
	code, stdout, stderr := runWithInput(t, "", "script", "--json", "--max", "3000", sampleArticlePath(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Title      string   `json:"title"`
		Byline     string   `json:"byline"`
		Paragraphs []string `json:"paragraphs"`
		Chunks     []struct {
			ID, Text string
		} `json:"chunks"`
		Unknown []struct{ Word string } `json:"unknown_words"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if out.Title != "Marlow Falls approves $48.5 million flood wall as river keeps rising" || out.Byline != "By Dana Whitfield" {
		t.Errorf("title %q, byline %q", out.Title, out.Byline)
	}
	if len(out.Paragraphs) != 22 || !strings.Contains(out.Paragraphs[1], "$48.5 million") {
		t.Errorf("%d paragraphs, second %q", len(out.Paragraphs), out.Paragraphs[1])
	}
	if len(out.Chunks) < 2 || !strings.HasPrefix(out.Chunks[0].Text, "Marlow Falls approves forty eight point five million") {
		t.Fatalf("chunks: %+v", out.Chunks)
	}
	for _, c := range out.Chunks {
		if utf8.RuneCountInString(c.Text) > 3000 || len(c.ID) != 64 {
			t.Errorf("chunk %s of %d characters", c.ID, utf8.RuneCountInString(c.Text))
		}
	}
	if len(out.Unknown) == 0 || out.Unknown[0].Word != "Tennet" {
		t.Errorf("unknown words: %+v", out.Unknown)
	}
}

// TestScriptSources reads from standard input, a lexicon file and a URL,
// and prints the plain-text view.
func TestScriptSources(t *testing.T) {
	lex := filepath.Join(t.TempDir(), "lexicon.json")
	if err := os.WriteFile(lex, []byte(`[{"word": "Tennet", "say": "Tennit"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(sampleArticlePath(t))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runWithInput(t, string(body), "script", "--lexicon", lex, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"# Marlow Falls approves", "## What residents say", "chunks, as sent to the speech engine",
		"along the Tennit River", "pause before: title"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(stdout, "  Tennet ") {
		t.Error("a word the lexicon knows is reported as unknown")
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/news/flood-wall" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("NARRATOR_FETCH_ALLOW", "127.0.0.1") // the test site is on loopback
	code, stdout, stderr = runWithInput(t, "", "script", "--json", srv.URL+"/news/flood-wall")
	if code != 0 || !strings.Contains(stdout, `"url": "`+srv.URL+`/news/flood-wall"`) {
		t.Errorf("URL: exit %d, %s %s", code, stderr, stdout[:min(len(stdout), 300)])
	}
	code, _, stderr = runWithInput(t, "", "script", srv.URL+"/missing")
	if code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("missing page: exit %d, %q", code, stderr)
	}
}

// TestScriptErrors checks misuse and bad input: a usage error exits 2, an
// input that cannot be narrated exits 1 with the reason.
func TestScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no argument", "", []string{"script"}, 2, "want one FILE"},
		{"bad flag", "", []string{"script", "--nope", "x"}, 2, "flag provided but not defined"},
		{"bad limits", "", []string{"script", "--max", "500", "--target", "900", "-"}, 2, "target must be"},
		{"empty input", "", []string{"script", "-"}, 1, "the page is empty"},
		{"binary input", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", []string{"script", "-"}, 1, "not a web page or text"},
		{"missing file", "", []string{"script", "/nonexistent/article.html"}, 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runWithInput(t, tc.stdin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}
