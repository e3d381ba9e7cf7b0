package publish

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

func sen(text string, section, block int) script.Sentence {
	return script.Sentence{Text: text, Spoken: text, Section: section, Block: block}
}

func TestTimingPlacesSentencesParagraphsAndSections(t *testing.T) {
	s := script.Script{Title: "Title", Sections: []script.Section{{}, {Heading: "Second"}}}
	chunks := []script.Chunk{
		{Index: 0, Section: -1, Sentences: []script.Sentence{sen("Title.", -1, -1), sen("By Jane Doe.", -1, -1)}},
		// Two paragraphs in one chunk: 9+1 and 29+1 characters.
		{Index: 1, Section: 0, Sentences: []script.Sentence{sen("One two.", 0, 0), sen("Three four five six seven eight.", 0, 1)}},
		// One sentence: exactly its span.
		{Index: 2, Section: 1, Sentences: []script.Sentence{sen("Second.", 1, -1)}},
		{Index: 3, Section: 1, Sentences: []script.Sentence{sen("Last words here.", 1, 0)}},
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	spans := []stitch.Span{
		{Index: 0, Start: 0, End: ms(2000)},
		{Index: 1, Start: ms(3200), End: ms(7200), Pause: ms(1200)},
		{Index: 2, Start: ms(8700), End: ms(9700), Pause: ms(1500)},
		{Index: 3, Start: ms(10300), End: ms(12300), Pause: ms(600)},
	}
	sentences, paras, sections, err := timing(chunks, spans, nil, s)
	if err != nil {
		t.Fatal(err)
	}
	// Chunk 1: 4 s shared 9:33 ("One two." is 8 runes + 1).
	split := Seconds(3.2 + 4*9.0/(9+33))
	want := []Sentence{
		{Start: 0, End: 2 * 7 / 20.0, Text: "Title.", Section: -1, Block: -1},
		{Start: 2 * 7 / 20.0, End: 2, Text: "By Jane Doe.", Section: -1, Block: -1},
		{Start: 3.2, End: split, Text: "One two.", Section: 0, Block: 0},
		{Start: split, End: 7.2, Text: "Three four five six seven eight.", Section: 0, Block: 1},
		{Start: 8.7, End: 9.7, Text: "Second.", Section: 1, Block: -1},
		{Start: 10.3, End: 12.3, Text: "Last words here.", Section: 1, Block: 0},
	}
	if len(sentences) != len(want) {
		t.Fatalf("%d sentences, want %d", len(sentences), len(want))
	}
	for i := range want {
		g, w := sentences[i], want[i]
		if g.Text != w.Text || g.Section != w.Section || g.Block != w.Block || !near(g.Start, w.Start) || !near(g.End, w.End) {
			t.Errorf("sentence %d = %+v, want %+v", i, g, w)
		}
	}
	wantParas := []Paragraph{
		{Section: -1, Block: -1, Start: 0, End: 2, First: 0, Count: 2},
		{Section: 0, Block: 0, Start: 3.2, End: split, First: 2, Count: 1},
		{Section: 0, Block: 1, Start: split, End: 7.2, First: 3, Count: 1},
		{Section: 1, Block: -1, Start: 8.7, End: 9.7, First: 4, Count: 1},
		{Section: 1, Block: 0, Start: 10.3, End: 12.3, First: 5, Count: 1},
	}
	if len(paras) != len(wantParas) {
		t.Fatalf("paragraphs = %+v", paras)
	}
	for i, w := range wantParas {
		g := paras[i]
		if g.Section != w.Section || g.Block != w.Block || g.First != w.First || g.Count != w.Count || !near(g.Start, w.Start) || !near(g.End, w.End) {
			t.Errorf("paragraph %d = %+v, want %+v", i, g, w)
		}
	}
	wantSections := []SectionTime{{-1, "Title", 0, 2}, {0, "", 3.2, 7.2}, {1, "Second", 8.7, 12.3}}
	if len(sections) != len(wantSections) {
		t.Fatalf("sections = %+v", sections)
	}
	for i, w := range wantSections {
		if g := sections[i]; g != w {
			t.Errorf("section %d = %+v, want %+v", i, g, w)
		}
	}
}

func near(a, b Seconds) bool { return a-b < 0.0015 && b-a < 0.0015 }

func TestTimingRejectsSpansThatDoNotMatchTheChunks(t *testing.T) {
	one := []script.Chunk{{Index: 0, Sentences: []script.Sentence{sen("A.", 0, 0)}}, {Index: 1, Sentences: []script.Sentence{sen("B.", 0, 1)}}}
	cases := []struct {
		name  string
		spans []stitch.Span
	}{
		{"fewer spans", []stitch.Span{{Index: 0, End: time.Second}}},
		{"another chunk's span", []stitch.Span{{Index: 0, End: time.Second}, {Index: 5, Start: 2 * time.Second, End: 3 * time.Second}}},
		{"overlapping", []stitch.Span{{Index: 0, End: 2 * time.Second}, {Index: 1, Start: time.Second, End: 3 * time.Second}}},
		{"ends before it starts", []stitch.Span{{Index: 0, Start: time.Second}, {Index: 1, Start: 2 * time.Second, End: 3 * time.Second}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := timing(one, tc.spans, nil, script.Script{}); !errors.Is(err, ErrInvalidNarration) {
				t.Fatalf("err = %v, want ErrInvalidNarration", err)
			}
		})
	}
}

// TestHeardTimesPlaceSentencesAndWords: with the listening check's word
// times, a sentence starts where its first word was heard (not where its
// share of characters would put it) and each word as shown, "42%"
// included, takes the times of the words spoken for it.
func TestHeardTimesPlaceSentencesAndWords(t *testing.T) {
	ch := script.Chunk{Index: 0, Sentences: []script.Sentence{
		{Text: "Rates rose 42% in May.", Spoken: "Rates rose forty-two percent in May."},
		{Text: "Markets fell.", Spoken: "Markets fell."},
	}}
	ch.Text = ch.Sentences[0].Spoken + " " + ch.Sentences[1].Spoken
	// Heard as the listening check records it: each normalized word of the
	// chunk's text with its token's offsets, 0.4 s a word, and a long
	// pause (1.5 s) before the second sentence.
	var words []WordTime
	at := 0.2
	for _, w := range align.Words(ch.Text) {
		if w.Text == "markets" {
			at += 1.5
		}
		words = append(words, WordTime{Start: w.Start, End: w.End, From: at, To: at + 0.3, Heard: true})
		at += 0.4
	}
	sp := stitch.Span{Index: 0, Start: 10 * time.Second, End: 10*time.Second + time.Duration((at+0.3)*float64(time.Second))}
	got, _, _, err := timing([]script.Chunk{ch}, []stitch.Span{sp}, [][]WordTime{words}, script.Script{})
	if err != nil {
		t.Fatal(err)
	}
	// "markets" is the eighth word: 7 × 0.4 + 0.2 + 1.5.
	if markets := Seconds(10 + 0.2 + 7*0.4 + 1.5); !near(got[1].Start, markets) || !near(got[0].End, markets) {
		t.Errorf("second sentence starts at %v (first ends %v), want %v where it was heard", got[1].Start, got[0].End, markets)
	}
	if got[0].Start != 10 || !near(got[1].End, secs(sp.End)) {
		t.Errorf("sentences span %v-%v, want the chunk's %v-%v", got[0].Start, got[1].End, secs(sp.Start), secs(sp.End))
	}
	var shown []string
	for _, w := range got[0].Words {
		shown = append(shown, w.Text)
	}
	if strings.Join(shown, " ") != got[0].Text {
		t.Fatalf("words %q do not make the sentence %q", shown, got[0].Text)
	}
	// "42%" is forty, two, percent: words 3 to 5, from 10 + 0.2 + 2 × 0.4.
	if w := got[0].Words[2]; w.Text != "42%" || !near(w.Start, 11.0) || !near(w.End, Seconds(10+0.2+4*0.4+0.3)) {
		t.Errorf("42%% = %+v, want 11.0-%.1f", w, 10+0.2+4*0.4+0.3)
	}
	for i := 1; i < len(got[0].Words); i++ {
		if got[0].Words[i].Start < got[0].Words[i-1].Start {
			t.Errorf("word %d starts before the word before it: %+v", i, got[0].Words)
		}
	}

	// Mostly misheard: the characters decide again, and no word is timed.
	for i := range words {
		words[i].Heard = i%3 == 0
	}
	got, _, _, err = timing([]script.Chunk{ch}, []stitch.Span{sp}, [][]WordTime{words}, script.Script{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Words != nil || near(got[1].Start, Seconds(10+0.2+7*0.4+1.5)) {
		t.Errorf("with a third of the words heard, sentence 2 starts at %v with words %v; want it apportioned, untimed", got[1].Start, got[0].Words)
	}
}
