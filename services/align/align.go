// Package align compares what a narration should say with what speech
// recognition heard in it: both are split into normalized words (Words)
// and aligned by word-level edit distance (Align), giving the word error
// rate and the spans of words omitted, inserted and substituted.
package align

import "strings"

// Kind says how a span of the alignment differs.
type Kind string

// Kinds of span.
const (
	Omitted     Kind = "omitted"     // words of the text that were not heard
	Inserted    Kind = "inserted"    // words heard that the text does not have
	Substituted Kind = "substituted" // words heard in place of others
)

// Span is a run of consecutive differences. Ref and Heard are word
// index ranges [start, end) into the text's and the transcript's words.
type Span struct {
	Kind  Kind   `json:"kind"`
	Ref   [2]int `json:"ref"`
	Heard [2]int `json:"heard"`
	Text  string `json:"text,omitempty"`       // the text's words, normalized
	Said  string `json:"heard_text,omitempty"` // the words heard, normalized
}

// Words returns the larger of the span's lengths in words.
func (s Span) Words() int { return max(s.Ref[1]-s.Ref[0], s.Heard[1]-s.Heard[0]) }

// Result is an alignment.
type Result struct {
	RefWords int     `json:"ref_words"`
	Errors   int     `json:"errors"` // substitutions + omissions + insertions
	WER      float64 `json:"wer"`    // Errors / RefWords; Errors when the text has no words
	Spans    []Span  `json:"spans,omitempty"`
	// Heard maps each of the text's words to the transcript word heard for
	// it (equal or substituted), or -1 when it was omitted.
	Heard []int `json:"-"`
}

// Longest returns the most words of kind k in one span: for Omitted the
// text's words beyond those heard in their place, for Inserted the words
// heard beyond the text's, for Substituted the words heard in place of
// others. A dropped sentence beside a misheard word is one span of both.
func (r Result) Longest(k Kind) int {
	n := 0
	for _, s := range r.Spans {
		ref, heard := s.Ref[1]-s.Ref[0], s.Heard[1]-s.Heard[0]
		switch k {
		case Omitted:
			n = max(n, ref-heard)
		case Inserted:
			n = max(n, heard-ref)
		case Substituted:
			n = max(n, min(ref, heard))
		}
	}
	return n
}

// Align aligns ref (the text) with heard (the transcript) by the minimum
// number of word substitutions, omissions and insertions. Among equal
// alignments it prefers matches, so that spans are as short as they can be.
func Align(ref, heard []Word) Result {
	n, m := len(ref), len(heard)
	// d[i][j] is the distance between ref[i:] and heard[j:]; computing
	// from the end lets the trace walk forwards.
	d := make([][]int32, n+1)
	for i := range d {
		d[i] = make([]int32, m+1)
	}
	for i := n; i >= 0; i-- {
		for j := m; j >= 0; j-- {
			switch {
			case i == n:
				d[i][j] = int32(m - j)
			case j == m:
				d[i][j] = int32(n - i)
			default:
				c := d[i+1][j+1]
				if ref[i].Text != heard[j].Text {
					c++
				}
				d[i][j] = min(c, d[i+1][j]+1, d[i][j+1]+1)
			}
		}
	}
	r := Result{RefWords: n, Errors: int(d[0][0]), Heard: make([]int, n)}
	if n > 0 {
		r.WER = float64(r.Errors) / float64(n)
	} else {
		r.WER = float64(r.Errors)
	}
	var cur *Span
	flush := func() {
		if cur != nil {
			cur.Text = join(ref[cur.Ref[0]:cur.Ref[1]])
			cur.Said = join(heard[cur.Heard[0]:cur.Heard[1]])
			r.Spans = append(r.Spans, *cur)
			cur = nil
		}
	}
	extend := func(i, j, di, dj int, k Kind) {
		if cur == nil {
			cur = &Span{Kind: k, Ref: [2]int{i, i}, Heard: [2]int{j, j}}
		} else if cur.Kind != k {
			cur.Kind = Substituted
		}
		cur.Ref[1], cur.Heard[1] = i+di, j+dj
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		// Inside a gap, go on with it while that is as good as a match:
		// a sentence left out is then one span, not two around a "the".
		case cur != nil && cur.Kind == Omitted && i < n && d[i][j] == d[i+1][j]+1:
			extend(i, j, 1, 0, Omitted)
			r.Heard[i] = -1
			i++
		case cur != nil && cur.Kind == Inserted && j < m && d[i][j] == d[i][j+1]+1:
			extend(i, j, 0, 1, Inserted)
			j++
		case i < n && j < m && ref[i].Text == heard[j].Text && d[i][j] == d[i+1][j+1]:
			flush()
			r.Heard[i] = j
			i, j = i+1, j+1
		case i < n && j < m && d[i][j] == d[i+1][j+1]+1:
			extend(i, j, 1, 1, Substituted)
			r.Heard[i] = j
			i, j = i+1, j+1
		case i < n && d[i][j] == d[i+1][j]+1:
			extend(i, j, 1, 0, Omitted)
			r.Heard[i] = -1
			i++
		default:
			extend(i, j, 0, 1, Inserted)
			j++
		}
	}
	flush()
	return r
}

// HasNumber reports whether the span's words, in the text or heard,
// include a number: a number said wrongly is never a slip to overlook.
func (s Span) HasNumber() bool {
	for _, w := range strings.Fields(s.Text + " " + s.Said) {
		if numberWord[w] || scaleWord[w] {
			return true
		}
	}
	return false
}

func join(ws []Word) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.Text
	}
	return strings.Join(s, " ")
}
