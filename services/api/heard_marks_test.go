package api

import (
	"slices"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
)

// TestHeardMarks: the text's words left out and misheard, and the words
// heard in addition, are marked where they are written, numbers included.
func TestHeardMarks(t *testing.T) {
	for _, tc := range []struct {
		name, text, heard string
		textMarks         []mark
		heardMarks        []mark
	}{
		{"misread number", "Forty-two schools get 42 roofs.", "Forty-two schools get 45 roofs.",
			[]mark{{Text: "Forty-two schools get "}, {Text: "42", Kind: align.Substituted}, {Text: " roofs."}},
			[]mark{{Text: "Forty-two schools get "}, {Text: "45", Kind: align.Substituted}, {Text: " roofs."}}},
		{"phrase repeated", "The council approved the budget on Tuesday.", "The council approved the budget, approved the budget on Tuesday.",
			[]mark{{Text: "The council approved the budget on Tuesday."}},
			[]mark{{Text: "The council approved the budget, "}, {Text: "approved the budget", Kind: align.Inserted}, {Text: " on Tuesday."}}},
		{"sentence dropped", "He spoke. Fees fall next year, he said. Roofs follow.", "He spoke. Roofs follow.",
			[]mark{{Text: "He spoke. "}, {Text: "Fees fall next year, he said", Kind: align.Omitted}, {Text: ". Roofs follow."}},
			[]mark{{Text: "He spoke. Roofs follow."}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := align.Align(align.Words(tc.text), align.Words(tc.heard))
			c := heardOf(pipeline.HeardChunk{Text: tc.text, Heard: &synth.Heard{Checked: true, Text: tc.heard, Spans: r.Spans}})
			if !slices.Equal(c.TextMarks, tc.textMarks) || !slices.Equal(c.HeardMarks, tc.heardMarks) {
				t.Errorf("spans %+v\ntext  %q\nheard %q\nwant  %q\nand   %q", r.Spans, c.TextMarks, c.HeardMarks, tc.textMarks, tc.heardMarks)
			}
		})
	}
}

// TestHeardMarksOnlyWhatMatches: spans whose words are not at their place
// in the transcript (timed words split otherwise than its text) mark
// nothing there, rather than the wrong words.
func TestHeardMarksOnlyWhatMatches(t *testing.T) {
	text := "The council approved the budget on Tuesday."
	r := align.Align(align.Words(text), align.Words("The council approved the budget, approved the budget on Tuesday."))
	transcript := "The council approved it today, the mayor said on Tuesday."
	c := heardOf(pipeline.HeardChunk{Text: text, Heard: &synth.Heard{Checked: true, Text: transcript, Spans: r.Spans}})
	if want := []mark{{Text: transcript}}; !slices.Equal(c.HeardMarks, want) {
		t.Errorf("spans %+v marked %q in %q", r.Spans, c.HeardMarks, transcript)
	}
}

// TestSpot: "Play this spot" starts a second before the end of the word
// heard before the first difference, never before the chunk's start, and
// at the start without word times.
func TestSpot(t *testing.T) {
	words := []synth.HeardWord{{From: 0.2, To: 0.6}, {From: 0.7, To: 1.1}, {From: 1.2, To: 1.6}, {From: 3.4, To: 3.9}}
	for _, tc := range []struct {
		name  string
		h     synth.Heard
		start time.Duration
		want  float64
	}{
		{"third word omitted", synth.Heard{Spans: []align.Span{{Kind: align.Omitted, Ref: [2]int{3, 4}}}, Words: words}, 10 * time.Second, 10.6},
		{"near the start", synth.Heard{Spans: []align.Span{{Kind: align.Substituted, Ref: [2]int{1, 2}}}, Words: words}, 10 * time.Second, 10},
		{"no word times", synth.Heard{Spans: []align.Span{{Kind: align.Omitted, Ref: [2]int{3, 4}}}}, 10 * time.Second, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := heardOf(pipeline.HeardChunk{Heard: &tc.h, Start: tc.start, Joined: true})
			if c.Spot == nil || *c.Spot < tc.want-1e-9 || *c.Spot > tc.want+1e-9 {
				t.Errorf("spot %v, want %.2f", c.Spot, tc.want)
			}
		})
	}
}
