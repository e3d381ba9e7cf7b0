package publish

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// Seconds is a time in the audio, in seconds to the millisecond: the unit
// of WebVTT, JSON chapters and the audio element's currentTime.
type Seconds float64

// secs converts a duration, rounded to the millisecond.
func secs(d time.Duration) Seconds {
	return Seconds(math.Round(float64(d)/float64(time.Millisecond)) / 1000)
}

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration {
	return time.Duration(math.Round(float64(s)*1000)) * time.Millisecond
}

// Sentence is one sentence of the transcript with its place in the audio.
type Sentence struct {
	Start   Seconds `json:"start"`
	End     Seconds `json:"end"`
	Text    string  `json:"text"`
	Section int     `json:"section"` // -1: the title block
	Block   int     `json:"block"`   // -1: title, byline or heading
}

// Paragraph is where one block (a paragraph, or the title block, or a
// heading) is read.
type Paragraph struct {
	Section int     `json:"section"`
	Block   int     `json:"block"`
	Start   Seconds `json:"start"`
	End     Seconds `json:"end"`
	First   int     `json:"first"` // index of its first sentence
	Count   int     `json:"count"` // number of sentences
}

// SectionTime is where one section of the script is read; section -1 is
// the title block.
type SectionTime struct {
	Index   int     `json:"index"`
	Heading string  `json:"heading,omitempty"`
	Start   Seconds `json:"start"`
	End     Seconds `json:"end"`
}

// timing places every sentence, paragraph and section in the joined file.
// Chunk boundaries come from the stitcher's spans, which count real frames
// and inserted silence, so they are exact; within a chunk, each sentence
// gets a share of the chunk's speech in proportion to the characters it
// speaks, so a chunk of one sentence is exact too. Sections always start
// a chunk, so their times are exact; paragraphs packed into one chunk share
// it by characters.
func timing(chunks []script.Chunk, spans []stitch.Span, s script.Script) ([]Sentence, []Paragraph, []SectionTime, error) {
	if len(chunks) != len(spans) {
		return nil, nil, nil, fmt.Errorf("%w: %d chunks but %d spans in the stitch result", ErrInvalidNarration, len(chunks), len(spans))
	}
	var out []Sentence
	for i, ch := range chunks {
		sp := spans[i]
		if sp.Index != ch.Index {
			return nil, nil, nil, fmt.Errorf("%w: span %d is of chunk %d, not chunk %d", ErrInvalidNarration, i, sp.Index, ch.Index)
		}
		if sp.End < sp.Start || (i > 0 && sp.Start < spans[i-1].End) {
			return nil, nil, nil, fmt.Errorf("%w: span %d (%s-%s) is out of order", ErrInvalidNarration, i, sp.Start, sp.End)
		}
		weights := make([]int, len(ch.Sentences))
		total := 0
		for k, sen := range ch.Sentences {
			spoken := sen.Spoken
			if spoken == "" {
				spoken = sen.Text
			}
			// The space that joins sentences is a breath: one character.
			weights[k] = utf8.RuneCountInString(spoken) + 1
			total += weights[k]
		}
		length := sp.End - sp.Start
		at := 0
		for k, sen := range ch.Sentences {
			start := sp.Start + time.Duration(float64(length)*float64(at)/float64(total))
			at += weights[k]
			end := sp.Start + time.Duration(float64(length)*float64(at)/float64(total))
			if k == len(ch.Sentences)-1 {
				end = sp.End // exact, whatever the rounding
			}
			out = append(out, Sentence{Start: secs(start), End: secs(end), Text: oneLine(sen.Text), Section: sen.Section, Block: sen.Block})
		}
	}

	var paras []Paragraph
	for i, sen := range out {
		if n := len(paras); n > 0 && paras[n-1].Section == sen.Section && paras[n-1].Block == sen.Block && sen.Block >= 0 {
			paras[n-1].End = sen.End
			paras[n-1].Count++
			continue
		}
		paras = append(paras, Paragraph{Section: sen.Section, Block: sen.Block, Start: sen.Start, End: sen.End, First: i, Count: 1})
	}
	// The title block (title, standfirst, byline) reads as one paragraph.
	if len(paras) > 1 && paras[0].Section == -1 {
		for len(paras) > 1 && paras[1].Section == -1 {
			paras[0].End, paras[0].Count = paras[1].End, paras[0].Count+paras[1].Count
			paras = append(paras[:1], paras[2:]...)
		}
	}

	var sections []SectionTime
	for _, sen := range out {
		if n := len(sections); n > 0 && sections[n-1].Index == sen.Section {
			sections[n-1].End = sen.End
			continue
		}
		st := SectionTime{Index: sen.Section, Start: sen.Start, End: sen.End}
		if sen.Section == -1 {
			st.Heading = oneLine(s.Title)
		} else if sen.Section < len(s.Sections) {
			st.Heading = oneLine(s.Sections[sen.Section].Heading)
		}
		sections = append(sections, st)
	}
	return out, paras, sections, nil
}
