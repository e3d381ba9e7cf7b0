package publish

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/align"
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
	// Words are the sentence's words as shown (Text split at spaces) with
	// the times each was heard at, when the listening check timed its
	// chunk's words; empty otherwise.
	Words []Word `json:"words,omitempty"`
}

// Word is one word of a sentence as shown, with where it is heard.
type Word struct {
	Start Seconds `json:"start"`
	End   Seconds `json:"end"`
	Text  string  `json:"text"`
}

// WordTime is where speech recognition heard one word of a chunk's spoken
// text: byte offsets of its token in the chunk's Text, and seconds into
// the chunk's audio (synth.HeardWord).
type WordTime struct {
	Start, End int
	From, To   float64
	Heard      bool // heard as written, not substituted or omitted
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
// and inserted silence, so they are exact. Within a chunk whose words the
// listening check timed (heard, one list per chunk or nil), each sentence
// starts where its first word was heard and each word is timed too;
// otherwise each sentence gets a share of the chunk's speech in proportion
// to the characters it speaks, so a chunk of one sentence is exact too.
// Sections always start a chunk, so their times are exact; paragraphs take
// their sentences' times.
func timing(chunks []script.Chunk, spans []stitch.Span, heard [][]WordTime, s script.Script) ([]Sentence, []Paragraph, []SectionTime, error) {
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
		var words []WordTime
		if i < len(heard) {
			words = heard[i]
		}
		if timed := heardTiming(ch, sp, words); timed != nil {
			out = append(out, timed...)
			continue
		}
		out = append(out, apportioned(ch, sp)...)
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

// apportioned times a chunk's sentences by the characters each speaks.
func apportioned(ch script.Chunk, sp stitch.Span) []Sentence {
	weights := make([]int, len(ch.Sentences))
	total := 0
	for k, sen := range ch.Sentences {
		// The space that joins sentences is a breath: one character.
		weights[k] = utf8.RuneCountInString(spokenOf(sen)) + 1
		total += weights[k]
	}
	length := sp.End - sp.Start
	out := make([]Sentence, len(ch.Sentences))
	at := 0
	for k, sen := range ch.Sentences {
		start := sp.Start + time.Duration(float64(length)*float64(at)/float64(total))
		at += weights[k]
		end := sp.Start + time.Duration(float64(length)*float64(at)/float64(total))
		if k == len(ch.Sentences)-1 {
			end = sp.End // exact, whatever the rounding
		}
		out[k] = Sentence{Start: secs(start), End: secs(end), Text: oneLine(sen.Text), Section: sen.Section, Block: sen.Block}
	}
	return out
}

func spokenOf(sen script.Sentence) string { return cmp.Or(sen.Spoken, sen.Text) }

// heardTiming times a chunk's sentences and words by where its words were
// heard, or returns nil when they cannot be: no word times, times outside
// the chunk's audio or out of order, fewer than half the words heard as
// written, or a chunk text that is not its sentences joined by spaces.
// The first sentence starts with the chunk and the last ends with it, so
// sentence cues stay contiguous; a sentence ends where the next starts.
func heardTiming(ch script.Chunk, sp stitch.Span, words []WordTime) []Sentence {
	if len(words) == 0 {
		return nil
	}
	length := (sp.End - sp.Start).Seconds()
	heard := 0
	for k, w := range words {
		if w.From < 0 || w.To < w.From || w.To > length+0.5 || (k > 0 && (w.From < words[k-1].From || w.Start < words[k-1].Start)) {
			return nil
		}
		if w.Heard {
			heard++
		}
	}
	if 2*heard < len(words) {
		return nil
	}
	at := func(sec float64) Seconds {
		return secs(sp.Start + time.Duration(min(sec, length)*float64(time.Second)))
	}
	out := make([]Sentence, len(ch.Sentences))
	off := 0
	for k, sen := range ch.Sentences {
		spoken := spokenOf(sen)
		if !strings.HasPrefix(ch.Text[min(off, len(ch.Text)):], spoken) {
			return nil
		}
		// The chunk's timed words within this sentence, offsets made
		// relative to it.
		var mine []WordTime
		for _, w := range words {
			if w.Start >= off && w.End <= off+len(spoken) {
				w.Start, w.End = w.Start-off, w.End-off
				mine = append(mine, w)
			}
		}
		text := oneLine(sen.Text)
		out[k] = Sentence{Text: text, Section: sen.Section, Block: sen.Block, Start: secs(sp.Start)}
		if len(mine) > 0 {
			out[k].Words = shownWords(text, spoken, mine, at)
			if k > 0 {
				out[k].Start = max(at(mine[0].From), out[k-1].Start)
			}
		} else if k > 0 {
			out[k].Start = out[k-1].Start // nothing heard of it: it shares its neighbour's time
		}
		off += len(spoken) + 1
	}
	for k := range out {
		if k+1 < len(out) {
			out[k].End = out[k+1].Start
		} else {
			out[k].End = secs(sp.End)
		}
	}
	return out
}

// shownWords times the words of a sentence as shown (text split at
// spaces) from the times of its spoken words (offsets into spoken): both
// are normalized into words ("42" is "forty two") and aligned, and each
// shown word takes the times of the spoken words it aligns with; one that
// aligns with none (a dash) spans the gap between its neighbours.
func shownWords(text, spoken string, timed []WordTime, at func(float64) Seconds) []Word {
	shown, said := align.Words(text), align.Words(spoken)
	// The time of each spoken normalized word: that of the timed token it
	// lies in.
	from, to := make([]float64, len(said)), make([]float64, len(said))
	for j, w := range said {
		from[j], to[j] = -1, -1
		for _, t := range timed {
			if w.Start >= t.Start && w.End <= t.End {
				if from[j] < 0 {
					from[j] = t.From
				}
				to[j] = t.To
			}
		}
	}
	r := align.Align(shown, said)
	fields := strings.Fields(text)
	out := make([]Word, len(fields))
	first, last := make([]float64, len(fields)), make([]float64, len(fields))
	pos := 0
	for f, field := range fields {
		start := strings.Index(text[pos:], field) + pos
		end := start + len(field)
		pos = end
		first[f], last[f] = -1, -1
		for n, w := range shown {
			if w.Start < start || w.End > end {
				continue
			}
			if j := r.Heard[n]; j >= 0 && from[j] >= 0 {
				if first[f] < 0 {
					first[f] = from[j]
				}
				last[f] = max(last[f], to[j])
			}
		}
		out[f].Text = field
	}
	// Words aligned with nothing span the gap their neighbours leave.
	prev := 0.0
	if len(timed) > 0 {
		prev = timed[0].From
	}
	for f := range out {
		if first[f] < 0 {
			next := prev
			for g := f + 1; g < len(out); g++ {
				if first[g] >= 0 {
					next = first[g]
					break
				}
			}
			first[f], last[f] = prev, max(prev, next)
		}
		first[f] = max(first[f], prev) // never before the word before it
		last[f] = max(last[f], first[f])
		out[f].Start, out[f].End = at(first[f]), at(last[f])
		prev = first[f]
	}
	return out
}
