package clean

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCleanHTML feeds arbitrary bytes as a web page: the cleaner must not
// panic, must fail only with its own errors, and must return valid text.
func FuzzCleanHTML(f *testing.F) {
	f.Add([]byte("<html><body><article><h1>T</h1><p>Some words of text, long enough to be an article body.</p></article></body></html>"))
	f.Add([]byte("<p>unclosed <b>bold <i>italic</p></div></article>"))
	f.Add([]byte("<figure><img alt='x'><figcaption>Photo: X</figcaption></figure><p>Listen to this article</p>"))
	f.Add([]byte("\xff\xfe<\x00h\x00t\x00m\x00l\x00>"))
	f.Add([]byte(strings.Repeat("<div>", 5000) + "deep text here for the reader" + strings.Repeat("</div>", 5000)))
	c := newCleaner(f, Config{MaxBytes: 1 << 20})
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := c.Clean(context.Background(), Input{Body: body, ContentType: "text/html"})
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNoArticle) && !errors.Is(err, ErrNotText) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for _, p := range append(s.Paragraphs(), s.Title, s.Byline, s.Standfirst) {
			if !utf8.ValidString(p) {
				t.Fatalf("invalid UTF-8 in %q", p)
			}
			if p != strings.TrimSpace(p) || strings.Contains(p, "  ") {
				t.Fatalf("white space not collapsed in %q", p)
			}
		}
	})
}

// FuzzCleanText checks that pasted text loses nothing: the words of the
// title, byline and paragraphs are the words of the input.
func FuzzCleanText(f *testing.F) {
	f.Add("Title\n\nBy Jane Doe\n\nFirst paragraph.\nStill first.\n\nSecond.")
	f.Add("One line only")
	f.Add("\n\n\nTitle after blank lines\nBody line one\nBody line two")
	f.Add("Заголовок\n\nПерший абзац тексту.")
	c := newCleaner(f, Config{})
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		s, err := c.Clean(context.Background(), Input{Body: []byte(text), ContentType: "text/plain"})
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNoArticle) && !errors.Is(err, ErrNotText) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		got := strings.Fields(collapse(strings.Join(append([]string{s.Title, s.Byline}, s.Paragraphs()...), " ")))
		want := strings.Fields(collapse(text))
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("words changed:\n got %q\nwant %q", got, want)
		}
	})
}

// TestGarbageMegabyte cleans a megabyte of random bytes and of random
// markup: both must end, with a script or one of the cleaner's errors.
func TestGarbageMegabyte(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bin := make([]byte, 1<<20)
	for i := range bin {
		bin[i] = byte(r.IntN(256))
	}
	var markup strings.Builder
	tags := []string{"<div>", "</div>", "<p>", "</p>", "<a href='/x'>", "</a>", "<span class='share'>", "</span>", "<li>", "<table><tr><td>", "</td></tr></table>", "<script>x</script>"}
	for markup.Len() < 1<<20 {
		if r.IntN(3) == 0 {
			markup.WriteString(tags[r.IntN(len(tags))])
		} else {
			markup.WriteString(" word")
			markup.WriteString(string(rune('a' + r.IntN(26))))
		}
	}
	c := newCleaner(t, Config{})
	for name, body := range map[string][]byte{"binary": bin, "markup": []byte(markup.String())} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Clean(context.Background(), Input{Body: body})
			if err != nil && !errors.Is(err, ErrNotText) && !errors.Is(err, ErrNoArticle) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}
