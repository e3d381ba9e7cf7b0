package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
)

// spotLeadIn is how long before the first difference "Play this spot"
// starts, so that the words leading into it are heard too.
const spotLeadIn = time.Second

// heardView is the answer to GET /api/narrations/{id}/heard: the chunks
// the listening check flagged, each with its text beside what was heard.
type heardView struct {
	ID       string `json:"id"`
	Revision int    `json:"revision"`
	// AudioURL is the published narration the spots play in; empty until
	// it is published.
	AudioURL string       `json:"audio_url,omitempty"`
	Chunks   []heardChunk `json:"chunks"`
}

// heardChunk is one flagged chunk.
type heardChunk struct {
	Index int    `json:"index"`
	Code  string `json:"code"` // misheard, or unchecked when recognition failed
	Text  string `json:"text"` // as sent to be read
	// Start is where the chunk's speech begins in the published file, and
	// Spot where its first difference is heard, a second early (the
	// chunk's start without word times or differences); both are absent
	// until the chunks are joined.
	Start *float64 `json:"start_seconds,omitempty"`
	Spot  *float64 `json:"spot_seconds,omitempty"`
	// Heard is the listening record: transcript, WER, spans (word ranges
	// into the normalized words of the text and of what was heard) and
	// each text word's heard times. Absent when no longer kept.
	Heard *synth.Heard `json:"heard,omitempty"`

	// The page's rendering: the text and the transcript in pieces, the
	// differing ones marked.
	TextMarks  []mark `json:"-"`
	HeardMarks []mark `json:"-"`
}

// mark is a piece of text; Kind is the span kind it belongs to, or empty.
type mark struct {
	Text string
	Kind align.Kind
}

func (s *Server) getHeard(w http.ResponseWriter, r *http.Request, _ session) {
	j, err := s.q.Jobs().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.q.Jobs().Chunks(r.Context(), j.ID, j.Revision)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.heard(r.Context(), j, cs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// heard builds the view of job j's flagged chunks; cs are the chunk
// statuses of its revision.
func (s *Server) heard(ctx context.Context, j queue.Job, cs []queue.Chunk) (heardView, error) {
	v := heardView{ID: j.ID, Revision: j.Revision, Chunks: []heardChunk{}}
	if j.Output != nil && j.State == queue.Done {
		v.AudioURL = j.Output.URL
	}
	hcs, err := s.p.Heard(ctx, j, cs)
	if errors.Is(err, queue.ErrNoBlob) {
		return v, &httpError{http.StatusNotFound, fmt.Sprintf(
			"narration %s revision %d: the chunks' texts are no longer kept (work files expire after a week); re-narrate it to check it again", j.ID, j.Revision)}
	}
	if err != nil {
		return v, err
	}
	for _, hc := range hcs {
		v.Chunks = append(v.Chunks, heardOf(hc))
	}
	return v, nil
}

func heardOf(hc pipeline.HeardChunk) heardChunk {
	c := heardChunk{Index: hc.Index, Code: hc.Code, Text: hc.Text, Heard: hc.Heard}
	h := hc.Heard
	if h == nil {
		h = &synth.Heard{}
	}
	if hc.Joined {
		at := spotIn(*h)
		c.Start = ptr(hc.Start.Seconds())
		c.Spot = ptr(max(hc.Start, hc.Start+at-spotLeadIn).Seconds())
	}
	var inText, inHeard []span
	ref, said := align.Words(hc.Text), align.Words(h.Text)
	for _, sp := range h.Spans {
		if sp.Kind != align.Inserted && same(ref, sp.Ref, sp.Text) {
			inText = append(inText, span{ref[sp.Ref[0]].Start, ref[sp.Ref[1]-1].End, sp.Kind})
		}
		// With word times, the spans' heard words are the timed words,
		// which a recognizer may split otherwise than its transcript: a
		// range whose words are not the transcript's is left unmarked.
		if sp.Kind != align.Omitted && same(said, sp.Heard, sp.Said) {
			inHeard = append(inHeard, span{said[sp.Heard[0]].Start, said[sp.Heard[1]-1].End, sp.Kind})
		}
	}
	c.TextMarks, c.HeardMarks = marks(hc.Text, inText), marks(h.Text, inHeard)
	return c
}

// same reports whether the words in range r are the (normalized) words
// given, and there are some.
func same(ws []align.Word, r [2]int, words string) bool {
	if r[0] < 0 || r[1] <= r[0] || r[1] > len(ws) {
		return false
	}
	got := make([]string, 0, r[1]-r[0])
	for _, w := range ws[r[0]:r[1]] {
		got = append(got, w.Text)
	}
	return strings.Join(got, " ") == words
}

// spotIn returns where in the chunk's audio its first difference is
// heard: the end of the last word before it; 0 without word times.
func spotIn(h synth.Heard) time.Duration {
	if len(h.Spans) == 0 || len(h.Words) == 0 {
		return 0
	}
	i := h.Spans[0].Ref[0]
	if i <= 0 || i > len(h.Words) {
		return 0
	}
	return time.Duration(h.Words[i-1].To * float64(time.Second))
}

// span is a byte range of a text that differs, and how.
type span struct {
	start, end int
	kind       align.Kind
}

// marks cuts text into pieces at the spans given, in order; a span that
// overlaps the one before (two words spelt out of one number) is cut to
// follow it.
func marks(text string, spans []span) []mark {
	var out []mark
	at := 0
	for _, sp := range spans {
		start, end := max(sp.start, at), min(sp.end, len(text))
		if start >= end {
			continue
		}
		if start > at {
			out = append(out, mark{Text: text[at:start]})
		}
		out = append(out, mark{Text: text[start:end], Kind: sp.kind})
		at = end
	}
	if at < len(text) {
		out = append(out, mark{Text: text[at:]})
	}
	return out
}
