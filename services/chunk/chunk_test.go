package chunk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/normalize"
	"github.com/narrator-project/narrator/services/script"
)

func newChunker(t testing.TB, cfg Config) *Chunker {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func sampleScript(t testing.TB) script.Script {
	t.Helper()
	body, err := os.ReadFile("../../testdata/sample-article.html")
	if err != nil {
		t.Fatal(err)
	}
	c, err := clean.New(clean.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Clean(context.Background(), clean.Input{Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkChunks asserts what must hold for any chunking: every field is
// filled consistently, no chunk passes the maximum, and the chunks joined
// are the script's spoken text, nothing lost and nothing doubled.
func checkChunks(t *testing.T, c *Chunker, s script.Script, chunks []script.Chunk) {
	t.Helper()
	var texts []string
	for i, k := range chunks {
		if k.Index != i {
			t.Errorf("chunk %d has index %d", i, k.Index)
		}
		if n := utf8.RuneCountInString(k.Text); n > c.cfg.Max || n == 0 {
			t.Errorf("chunk %d has %d characters (max %d)", i, n, c.cfg.Max)
		}
		if k.ID != script.Hash(k.Text) {
			t.Errorf("chunk %d id is not the hash of its text", i)
		}
		var spoken []string
		for _, sen := range k.Sentences {
			spoken = append(spoken, sen.Spoken)
			if sen.Section != k.Section {
				t.Errorf("chunk %d (section %d) holds a sentence of section %d", i, k.Section, sen.Section)
			}
		}
		if strings.Join(spoken, " ") != k.Text {
			t.Errorf("chunk %d text is not its sentences joined", i)
		}
		if i == 0 && k.Break != script.BreakNone {
			t.Errorf("first chunk has break %q", k.Break)
		}
		texts = append(texts, k.Text)
	}
	if got, want := strings.Join(texts, " "), c.SpokenText(s); got != want {
		t.Errorf("chunks joined differ from the spoken text:\n got %.300q\nwant %.300q", got, want)
	}
	// The display text of every unit survives segmentation whole.
	var display, want []string
	for _, k := range chunks {
		for _, sen := range k.Sentences {
			display = append(display, sen.Text)
		}
	}
	for _, x := range []string{s.Title, s.Standfirst, s.Byline} {
		if x = strings.Join(strings.Fields(x), " "); x != "" {
			want = append(want, x)
		}
	}
	for _, sec := range s.Sections {
		if h := strings.Join(strings.Fields(sec.Heading), " "); h != "" {
			want = append(want, h)
		}
		for _, b := range sec.Blocks {
			if x := strings.Join(strings.Fields(b.Text), " "); x != "" {
				want = append(want, x)
			}
		}
	}
	g, w := strings.Join(display, " "), strings.Join(want, " ")
	if hugeWord(w, c.cfg.Max) {
		// a word longer than the limit is cut between characters
		g, w = strings.ReplaceAll(g, " ", ""), strings.ReplaceAll(w, " ", "")
	}
	if g != w {
		t.Errorf("display text changed:\n got %.200q\nwant %.200q", g, w)
	}
}

// checkRamp asserts that while chunks ramp up to the target, each stays
// within its own target (twice what comes before it, at least First),
// unless it is one sentence, or a heading and the sentence that follows,
// or the headline or the standfirst and byline, which are not split.
func checkRamp(t *testing.T, c *Chunker, chunks []script.Chunk) {
	t.Helper()
	before := 0
	for i, k := range chunks {
		n := utf8.RuneCountInString(k.Text)
		if want := c.target(before); want < c.cfg.Target && n > want && k.Section >= 0 && len(k.Sentences) > 1 && !headingOnly(k.Sentences[:len(k.Sentences)-1]) {
			t.Errorf("chunk %d has %d characters after %d, over its target of %d", i, n, before, want)
		}
		before += n
	}
}

// hugeWord reports whether text holds a word too long for one chunk.
func hugeWord(text string, max int) bool {
	for _, w := range strings.Fields(text) {
		if utf8.RuneCountInString(w) > max/4 {
			return true
		}
	}
	return false
}

// TestSampleArticleChunks splits the sample article: the title block is
// its own chunk, each section starts a chunk with its heading, pauses are
// marked, and every number is said in words.
func TestSampleArticleChunks(t *testing.T) {
	s := sampleScript(t)
	c := newChunker(t, Config{})
	chunks, err := c.Split(s)
	if err != nil {
		t.Fatal(err)
	}
	checkChunks(t, c, s, chunks)
	if len(chunks) != 1+len(s.Sections) {
		t.Fatalf("%d chunks, want the title chunk and one per section (%d)", len(chunks), 1+len(s.Sections))
	}
	first := chunks[0]
	if first.Section != -1 || !strings.HasPrefix(first.Text, "Marlow Falls approves forty eight point five million") ||
		!strings.HasSuffix(first.Text, "By Dana Whitfield.") {
		t.Errorf("title chunk: %+v", first)
	}
	if chunks[1].Break != script.BreakTitle || chunks[1].Section != 0 {
		t.Errorf("chunk after the title: break %q section %d", chunks[1].Break, chunks[1].Section)
	}
	for i, sec := range s.Sections[1:] {
		k := chunks[i+2]
		if k.Break != script.BreakSection || !strings.HasPrefix(k.Text, sec.Heading+". ") {
			t.Errorf("section %q chunk starts %q with break %q", sec.Heading, k.Text[:40], k.Break)
		}
	}
	all := strings.Join(func() []string {
		var x []string
		for _, k := range chunks {
			x = append(x, k.Text)
		}
		return x
	}(), " ")
	for _, want := range []string{"a thirty one million dollar grant", "zero point two five percent", "March first, twenty twenty six",
		"seven to two", "eleven thirty PM", "the nineteen seventies", "September thirtieth, twenty twenty eight",
		"two thousand one hundred and fifty dollars a year", "six PM on October seventh"} {
		if !strings.Contains(all, want) {
			t.Errorf("spoken text lacks %q", want)
		}
	}
	if strings.ContainsAny(all, "0123456789$%") {
		t.Errorf("digits or symbols left in the spoken text: %q", all)
	}
}

// TestFirstChunksArriveSoon splits the sample article with the pipeline's
// ramp: the first chunk is short enough to synthesize in about 2 s at
// 11 ms a character, and chunks grow to the target.
func TestFirstChunksArriveSoon(t *testing.T) {
	s := sampleScript(t)
	c := newChunker(t, Config{Target: 1000, First: 180})
	chunks, err := c.Split(s)
	if err != nil {
		t.Fatal(err)
	}
	checkChunks(t, c, s, chunks)
	checkRamp(t, c, chunks)
	if n := utf8.RuneCountInString(chunks[0].Text); n > 180 {
		t.Errorf("first chunk has %d characters, want at most 180", n)
	}
	flat, err := newChunker(t, Config{Target: 1000}).Split(s)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for _, k := range chunks {
		longest = max(longest, utf8.RuneCountInString(k.Text))
	}
	if len(chunks) <= len(flat) || longest < 500 {
		t.Errorf("ramped: %d chunks, longest %d; without a ramp %d chunks: want a few more chunks growing to the target", len(chunks), longest, len(flat))
	}
}

// TestBreaks checks the break before each chunk on a small script with a
// tiny target, so that paragraphs cannot share chunks.
func TestBreaks(t *testing.T) {
	s := script.Script{Title: "Title", Byline: "By A", Language: "en", Sections: []script.Section{
		{Blocks: []script.Block{{Kind: script.Paragraph, Text: "One."}, {Kind: script.Paragraph, Text: "Two."}}},
		{Heading: "Next", Blocks: []script.Block{{Kind: script.Quote, Text: "Three."}}},
	}}
	chunks, err := newChunker(t, Config{Max: 100, Target: 5}).Split(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range chunks {
		got = append(got, fmt.Sprintf("%d|%s|%s", k.Section, k.Break, k.Text))
	}
	want := []string{"-1||Title. By A.", "0|title|One.", "0|paragraph|Two.", "1|section|Next. Three."}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestOverlongSentence splits a sentence over the limit at clause
// punctuation, and a sentence without any between words.
func TestOverlongSentence(t *testing.T) {
	clause := strings.TrimSuffix(strings.Repeat("the river rose again and the town waited, ", 120), ", ") + "."
	words := strings.Repeat("word ", 900) + "end."
	for name, text := range map[string]string{"clauses": clause, "words": words, "one huge word": strings.Repeat("x", 9000)} {
		t.Run(name, func(t *testing.T) {
			s := script.Script{Language: "en", Sections: []script.Section{{Blocks: []script.Block{{Kind: script.Paragraph, Text: text}}}}}
			c := newChunker(t, Config{Max: MaxPolly})
			chunks, err := c.Split(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) < 2 {
				t.Fatalf("%d chunks for %d characters", len(chunks), len(text))
			}
			checkChunks(t, c, s, chunks)
			if name == "clauses" && !strings.HasSuffix(chunks[0].Text, ",") {
				t.Errorf("first piece does not end at a comma: …%q", chunks[0].Text[len(chunks[0].Text)-20:])
			}
			for _, k := range chunks[1:] {
				if k.Break != script.BreakNone {
					t.Errorf("a split inside a paragraph has break %q", k.Break)
				}
			}
		})
	}
}

// TestProperties splits random scripts and checks the chunking invariants
// on each: nothing lost or doubled, every chunk within the limit.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	vocab := strings.Fields(`the council voted $4.2 billion on Sept. 3, 2025 at 6 p.m. Mr. Smith U.S. NATO 38% 1,140 homes
		12km “quote” (aside) — 7-2 1990s e.g. Kyiv Syrskyi Jan. 15 3rd and or but. Yes! Really? no… 2:30 St. Elm`)
	sentence := func() string {
		n := 1 + r.IntN(30)
		if r.IntN(40) == 0 {
			n = 400 + r.IntN(600) // now and then, one too long to fit
		}
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[r.IntN(len(vocab))]
		}
		return strings.Join(w, " ") + []string{".", "!", "?", ""}[r.IntN(4)]
	}
	para := func() string {
		s := make([]string, 1+r.IntN(6))
		for i := range s {
			s[i] = sentence()
		}
		return strings.Join(s, " ")
	}
	runs := 80
	if testing.Short() {
		runs = 15
	}
	for i := range runs {
		s := script.Script{Title: para(), Language: "en"}
		if r.IntN(2) == 0 {
			s.Byline = "By " + sentence()
		}
		for range r.IntN(5) {
			sec := script.Section{}
			if r.IntN(2) == 0 {
				sec.Heading = sentence()
			}
			for range r.IntN(8) {
				sec.Blocks = append(sec.Blocks, script.Block{Kind: script.Paragraph, Text: para()})
			}
			s.Sections = append(s.Sections, sec)
		}
		max := []int{MaxOpenAI, MaxPolly, 300}[r.IntN(3)]
		cfg := Config{Max: max, Target: 1 + r.IntN(max), Normalize: normalize.Options{Light: r.IntN(4) == 0}}
		if r.IntN(2) == 0 {
			cfg.First = 1 + r.IntN(cfg.Target)
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			c := newChunker(t, cfg)
			chunks, err := c.Split(s)
			if err != nil {
				t.Fatal(err)
			}
			checkChunks(t, c, s, chunks)
			checkRamp(t, c, chunks)
		})
	}
}

// TestLexiconTouchesOnlyItsChunks checks that a lexicon entry changes the
// ids of exactly the chunks whose text holds the word.
func TestLexiconTouchesOnlyItsChunks(t *testing.T) {
	s := sampleScript(t)
	before, err := newChunker(t, Config{}).Split(s)
	if err != nil {
		t.Fatal(err)
	}
	lex, err := lexicon.New([]lexicon.Entry{{Word: "NOAA", Say: "Noah"}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := newChunker(t, Config{Lexicon: lex}).Split(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(after) {
		t.Fatalf("%d chunks before, %d after", len(before), len(after))
	}
	changed := 0
	for i := range before {
		has := strings.Contains(before[i].Text, "NOAA")
		if (before[i].ID != after[i].ID) != has {
			t.Errorf("chunk %d: holds NOAA %v, id changed %v", i, has, before[i].ID != after[i].ID)
		}
		if has {
			changed++
			if !strings.Contains(after[i].Text, "Noah’s regional office") {
				t.Errorf("lexicon not applied: %q", after[i].Text)
			}
		}
	}
	if changed != 1 {
		t.Errorf("%d chunks hold NOAA, want 1", changed)
	}
}

// TestNormalizationModes checks the light mode (numbers left to the
// provider) and a language without rules (left as written).
func TestNormalizationModes(t *testing.T) {
	s := script.Script{Title: "Budget", Language: "en", Sections: []script.Section{{Blocks: []script.Block{{Kind: script.Paragraph, Text: "It costs $5 million, see www.example.com & more."}}}}}
	for _, tc := range []struct {
		name string
		opts normalize.Options
		lang string
		want string
	}{
		{"full", normalize.Options{}, "en", "Budget. It costs five million dollars, see W W W dot example dot com and more."},
		{"light", normalize.Options{Light: true}, "en", "Budget. It costs $5 million, see W W W dot example dot com and more."},
		{"no rules for the language", normalize.Options{}, "de", "Budget. It costs $5 million, see www.example.com & more."},
		{"ukrainian", normalize.Options{}, "uk", "Budget. It costs п'ять доларів million, see www.example.com і more."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s
			s.Language = tc.lang
			chunks, err := newChunker(t, Config{Normalize: tc.opts}).Split(s)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, k := range chunks {
				texts = append(texts, k.Text)
			}
			if got := strings.Join(texts, " "); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestEmptyAndConfig checks the errors: an empty script is permanent, a
// bad configuration is explained.
func TestEmptyAndConfig(t *testing.T) {
	_, err := newChunker(t, Config{}).Split(script.Script{Sections: []script.Section{{Blocks: []script.Block{{Text: "  "}}}}})
	if !errors.Is(err, ErrEmpty) || !fault.IsPermanent(err) {
		t.Errorf("empty script: %v", err)
	}
	for _, cfg := range []Config{{Max: 50}, {Max: 1000, Target: 2000}, {Target: 500, First: 600}, {Normalize: normalize.Options{Language: "xx"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func BenchmarkSplitSample(b *testing.B) {
	s := sampleScript(b)
	c := newChunker(b, Config{})
	for b.Loop() {
		if _, err := c.Split(s); err != nil {
			b.Fatal(err)
		}
	}
}
