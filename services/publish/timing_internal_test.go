package publish

import (
	"errors"
	"testing"
	"time"

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
	sentences, paras, sections, err := timing(chunks, spans, s)
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
			if _, _, _, err := timing(one, tc.spans, script.Script{}); !errors.Is(err, ErrInvalidNarration) {
				t.Fatalf("err = %v, want ErrInvalidNarration", err)
			}
		})
	}
}
