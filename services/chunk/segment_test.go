package chunk

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpus returns a path under ../shared/corpora next to the repository
// root, or skips the test with a clear message when it is absent.
func corpus(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("repository root (go.mod) not found")
		}
	}
	p := filepath.Join(dir, "..", "shared", "corpora", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("evaluation corpus not found at %s: skipping", p)
	}
	return p
}

// TestGoldenRules scores the segmenter on the golden-rules corpus and
// holds it to at least 47 of 48.
func TestGoldenRules(t *testing.T) {
	cases, err := LoadGoldenRules(corpus(t, "golden-rules-en/golden-rules-en.json"))
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	passed, results := EvaluateGoldenRules(cases)
	for _, r := range results {
		if !r.Pass {
			t.Logf("miss %d %s: got %q, want %q", r.Case.ID, r.Case.Name, r.Got, r.Case.Sentences)
		}
	}
	t.Logf("golden rules: %d/%d", passed, len(cases))
	if passed < 47 {
		t.Errorf("%d golden rules passed, want at least 47", passed)
	}
}

// TestSentences covers news text the golden rules do not: datelines,
// quotes, titles, times, money, lists and Ukrainian.
func TestSentences(t *testing.T) {
	for _, tc := range []struct {
		name, lang, text string
		want             []string
	}{
		{"titles and initials", "en", "Gen. Oleksandr Syrskyi met Sen. J. R. Smith on Tuesday. They spoke for an hour.",
			[]string{"Gen. Oleksandr Syrskyi met Sen. J. R. Smith on Tuesday.", "They spoke for an hour."}},
		{"time at sentence end", "en", "The meeting ran past 11:30 p.m. Most residents stayed.",
			[]string{"The meeting ran past 11:30 p.m.", "Most residents stayed."}},
		{"money and decimals", "en", "The plan costs $48.5 million. It was approved 7-2.",
			[]string{"The plan costs $48.5 million.", "It was approved 7-2."}},
		{"quote then attribution", "en", "“We are ready,” she said. “Are you?”",
			[]string{"“We are ready,” she said.", "“Are you?”"}},
		{"month abbreviation", "en", "The vote is set for Oct. 7 at the school. Doors open early.",
			[]string{"The vote is set for Oct. 7 at the school.", "Doors open early."}},
		{"initialism before a name", "en", "He joined the U.S. Army in 1990. Later he left.",
			[]string{"He joined the U.S. Army in 1990.", "Later he left."}},
		{"ukrainian", "uk", "У вівторок відкрили міст. Роботи коштували 48 млн грн. Рух відновлено.",
			[]string{"У вівторок відкрили міст.", "Роботи коштували 48 млн грн.", "Рух відновлено."}},
		{"ukrainian abbreviation", "uk", "Міст на вул. Хрещатик відкрили. Це добре.",
			[]string{"Міст на вул. Хрещатик відкрили.", "Це добре."}},
		{"no punctuation", "en", "A heading without a period", []string{"A heading without a period"}},
		{"empty", "en", "   ", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewSegmenter(tc.lang).Sentences(tc.text)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// FuzzSentences checks that segmentation loses and adds nothing: the
// sentences joined by single spaces are the text with its white space
// collapsed, and no sentence is empty or untrimmed.
func FuzzSentences(f *testing.F) {
	for _, s := range []string{"Hello World. My name is Jonas.", "I live in the U.S. How about you?",
		"1.) The first item 2.) The second item", "complex. . . .” Next.", "[...] a. b. c.", "• 9. one • 10. two",
		"“Hi.” ‘Yo!’ (Ok.) [x.]", "Mr. . . . . ?!?! …"} {
		f.Add(s)
	}
	seg := NewSegmenter("en")
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		text = strings.Join(strings.Fields(text), " ")
		got := seg.Sentences(text)
		for _, s := range got {
			if s == "" || s != strings.TrimSpace(s) {
				t.Fatalf("bad sentence %q in %q", s, got)
			}
		}
		if j := strings.Join(got, " "); j != text {
			t.Fatalf("text changed:\n got %q\nwant %q", j, text)
		}
	})
}

// TestSentencesMegabyte segments a megabyte of text, which must finish
// and lose nothing; its speed is measured by BenchmarkSentences.
func TestSentencesMegabyte(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteString("Mr. Smith paid $4.50 at 6 p.m. in the U.S. . . . It was 1. fine 2. good! Really? ")
	}
	for _, tc := range []struct {
		name, text string
		min        int
	}{
		{"news-like", strings.TrimSpace(b.String()), 10000},
		// one endless sentence of initials: no boundary, many candidates
		{"initials", strings.TrimSpace(strings.Repeat("A. ", 1<<18)), 1},
		{"dots", strings.Repeat(". ", 1<<19), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewSegmenter("en").Sentences(tc.text)
			if strings.Join(got, " ") != strings.TrimSpace(tc.text) {
				t.Fatal("text changed")
			}
			if len(got) < tc.min {
				t.Errorf("only %d sentences", len(got))
			}
		})
	}
}

func BenchmarkSentences(b *testing.B) {
	text := strings.Repeat("The Tennet has crested above its 18-foot flood stage 11 times since 2000, according to the U.S. Geological Survey. Four of those crests came in the last six years. ", 50)
	seg := NewSegmenter("en")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		seg.Sentences(text)
	}
}
