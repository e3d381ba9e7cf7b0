package synth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/fault"
)

// Listener is a speech-recognition service that transcribes chunk audio
// so that the Synthesizer can check it says its text. Implementations
// must be safe for concurrent use and classify their errors with
// services/fault.
type Listener interface {
	// Name identifies the service in logs and billing: "openai".
	Name() string
	// Transcribe returns what is heard in an MP3, in the language given
	// (a BCP 47 primary tag, or empty to detect it).
	Transcribe(ctx context.Context, audio []byte, language string) (Transcript, error)
	// PricePerMinute is the price in US dollars of a minute of audio.
	PricePerMinute() float64
}

// Transcript is what a Listener heard.
type Transcript struct {
	Text    string
	Words   []TimedWord // empty when the model gives no word times
	Seconds float64     // the audio's duration, as billed
}

// TimedWord is a word heard, with its times in seconds from the start of
// the chunk's audio.
type TimedWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// ListenPolicy says what the listening check does with a chunk.
type ListenPolicy string

// Listening policies.
const (
	ListenOff   ListenPolicy = "off"   // no check
	ListenCheck ListenPolicy = "check" // check and warn
	ListenRetry ListenPolicy = "retry" // check, synthesize again while it fails (at most MaxRerequests times), then warn
)

// Defaults of the listening check, from measurements on the fake's clean
// and faulty speech (see the README's "Listening check").
const (
	// DefaultMaxWER: clean speech is heard with a word error rate under 3%
	// (homophones, a misheard word); a misread number in a short chunk
	// or a sentence lost in a long one is above it.
	DefaultMaxWER = 0.08
	// DefaultMaxRun: a run of this many words left out or said twice fails
	// the chunk whatever its WER: a lost clause or repeated phrase is
	// never a recognizer's slip, which is a word or two. So does any
	// difference in a number.
	DefaultMaxRun = 4
)

// Listening configures the listening check.
type Listening struct {
	Listener Listener     // nil: no check
	Policy   ListenPolicy // default ListenRetry when a Listener is set
	MaxWER   float64      // default DefaultMaxWER
	MaxRun   int          // default DefaultMaxRun
	// Attempts bounds the recognition requests for one audio, retrying
	// 429s, 5xx and timeouts; default 3. Then the chunk is unchecked.
	Attempts int
	// Limiter paces recognition requests, one request each: the
	// synthesis Limiter when the listener bills the same account as the
	// provider (OpenAI counts both against one rate limit), nil when it
	// answers to no shared limit.
	Limiter Limiter
	// Observe, when set, is told of every recognition request: the
	// seconds heard (zero when it failed), its error and how long it took.
	Observe func(listener string, seconds float64, err error, took time.Duration)
}

func (l *Listening) setDefaults() {
	if l.Policy == "" {
		l.Policy = ListenOff
		if l.Listener != nil {
			l.Policy = ListenRetry
		}
	}
	if l.MaxWER == 0 {
		l.MaxWER = DefaultMaxWER
	}
	if l.MaxRun == 0 {
		l.MaxRun = DefaultMaxRun
	}
	if l.Attempts == 0 {
		l.Attempts = 3
	}
}

// Validate reports settings the check cannot run with.
func (l Listening) Validate() error {
	switch {
	case l.Policy != ListenOff && l.Policy != ListenCheck && l.Policy != ListenRetry:
		return fmt.Errorf("synth: listening policy %q is not off, check or retry", l.Policy)
	case l.MaxWER <= 0 || l.MaxWER > 1:
		return fmt.Errorf("synth: listening WER threshold %v is outside (0, 1]", l.MaxWER)
	case l.MaxRun < 1 || l.Attempts < 1:
		return errors.New("synth: listening run and attempts must be at least 1")
	}
	return nil
}

// ParseListenPolicy reads a policy as written in settings: off, check,
// retry or check-and-retry; empty is "" (the default).
func ParseListenPolicy(s string) (ListenPolicy, error) {
	switch p := ListenPolicy(strings.TrimSpace(strings.ToLower(s))); p {
	case "", ListenOff, ListenCheck, ListenRetry:
		return p, nil
	case "check-and-retry":
		return ListenRetry, nil
	}
	return "", fmt.Errorf("listening policy %q: want off, check or check-and-retry", s)
}

// Heard is the listening check's record of a chunk: what was heard, how
// it aligns with the text, and the word times.
type Heard struct {
	Checked bool         `json:"checked"`         // false: recognition failed; Error says why
	Error   string       `json:"error,omitempty"` // why it was not checked
	Passed  bool         `json:"passed"`
	Text    string       `json:"text,omitempty"` // the transcript
	WER     float64      `json:"wer"`
	Spans   []align.Span `json:"spans,omitempty"`
	// Words are the chunk text's words in order, each with the times it
	// was heard at; a word not heard has the times of its neighbours.
	// Empty when the model gives no word times.
	Words   []HeardWord `json:"words,omitempty"`
	Seconds float64     `json:"seconds"` // audio transcribed, as billed
}

// HeardWord is one word of a chunk's text with the times it was heard at.
type HeardWord struct {
	Start int     `json:"s"` // byte offsets in the chunk's text
	End   int     `json:"e"`
	From  float64 `json:"from"` // seconds into the chunk's audio
	To    float64 `json:"to"`
	Heard bool    `json:"heard,omitempty"` // heard as written, not substituted or omitted
}

// Finding codes of the listening check.
const (
	FindingMisheard  = "misheard"  // the audio does not say the text
	FindingUnchecked = "unchecked" // recognition failed; published unchecked
)

// Summary says the record's failure in a line an editor can act on:
// "WER 12%: omitted "residents will pay lower fees next year"; ...".
func (h Heard) Summary() string {
	var parts []string
	for _, s := range h.Spans {
		if s.Words() < 2 && h.WER <= 0.2 && len(h.Spans) > 3 {
			continue // the long spans matter; slips would bury them
		}
		switch s.Kind {
		case align.Omitted:
			parts = append(parts, fmt.Sprintf("omitted %q", s.Text))
		case align.Inserted:
			parts = append(parts, fmt.Sprintf("added %q", s.Said))
		default:
			parts = append(parts, fmt.Sprintf("%q heard as %q", s.Text, s.Said))
		}
	}
	return fmt.Sprintf("heard with word error rate %.0f%%: %s", h.WER*100, strings.Join(parts, "; "))
}

// judge aligns a transcript with the chunk's text.
func (l Listening) judge(text string, t Transcript) Heard {
	ref, said := align.Words(text), align.Words(t.Text)
	// With word times, the words heard are the timed words, each spelt
	// out on its own ("42" is two words), remembering which it came from.
	var from []int
	if len(t.Words) > 0 {
		said = said[:0:0]
		for k, tw := range t.Words {
			for _, w := range align.Words(tw.Word) {
				said, from = append(said, w), append(from, k)
			}
		}
	}
	r := align.Align(ref, said)
	h := Heard{Checked: true, Text: t.Text, WER: r.WER, Spans: r.Spans, Seconds: t.Seconds}
	h.Passed = r.WER <= l.MaxWER && r.Longest(align.Omitted) < l.MaxRun && r.Longest(align.Inserted) < l.MaxRun &&
		!slices.ContainsFunc(r.Spans, align.Span.HasNumber) && !wholeSentence(text, ref, r.Spans)
	if len(t.Words) > 0 {
		h.Words = timeWords(ref, r.Heard, said, from, t.Words)
	}
	return h
}

// wholeSentence reports whether a span leaves out or repeats a whole
// sentence of the text, however short ("He declined.").
func wholeSentence(text string, ref []align.Word, spans []align.Span) bool {
	var sentences [][2]int // word ranges
	start := 0
	for i := 1; i <= len(ref); i++ {
		if i == len(ref) || strings.ContainsAny(text[ref[i-1].End:ref[i].Start], ".!?") {
			sentences = append(sentences, [2]int{start, i})
			start = i
		}
	}
	for _, sp := range spans {
		for _, s := range sentences {
			n := s[1] - s[0]
			switch {
			case sp.Ref[0] <= s[0] && s[1] <= sp.Ref[1] && sp.Ref[1]-sp.Ref[0]-(sp.Heard[1]-sp.Heard[0]) >= n:
				return true // its words are gone, not just misheard
			case sp.Kind == align.Inserted && strings.Contains(" "+sp.Said+" ", " "+wordsText(ref[s[0]:s[1]])+" "):
				return true
			}
		}
	}
	return false
}

func wordsText(ws []align.Word) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.Text
	}
	return strings.Join(s, " ")
}

// timeWords gives each word of the text the times of the word heard for
// it; a word not heard takes the gap between its neighbours.
func timeWords(ref []align.Word, heard []int, said []align.Word, from []int, times []TimedWord) []HeardWord {
	out := make([]HeardWord, len(ref))
	for i, w := range ref {
		out[i] = HeardWord{Start: w.Start, End: w.End, From: -1}
		if j := heard[i]; j >= 0 {
			tw := times[from[j]]
			out[i].From, out[i].To = tw.Start, tw.End
			out[i].Heard = said[j].Text == w.Text
		}
	}
	prev := 0.0
	for i := range out {
		if out[i].From >= 0 {
			prev = out[i].To
			continue
		}
		next := prev
		for k := i + 1; k < len(out); k++ {
			if out[k].From >= 0 {
				next = out[k].From
				break
			}
		}
		out[i].From, out[i].To = prev, next
	}
	return out
}

// Listen runs the listening check on a chunk's audio for r: transcribe
// (retrying what may pass), then align with r.Text. A recognition
// failure, or no listener, is a record that is not Checked.
func (s *Synthesizer) Listen(ctx context.Context, audio []byte, r Request) Heard {
	l := s.cfg.Listen
	if l.Listener == nil {
		return Heard{Error: "no speech recognition is configured"}
	}
	var err error
	for attempt := 1; attempt <= l.Attempts; attempt++ {
		var t Transcript
		t, err = s.transcribe(ctx, audio, r)
		if err == nil {
			return l.judge(r.Text, t)
		}
		if fault.IsPermanent(err) || ctx.Err() != nil || attempt == l.Attempts {
			break
		}
		wait := max(fault.RetryAfter(err), time.Duration(attempt)*200*time.Millisecond)
		select {
		case <-time.After(min(wait, 30*time.Second)):
		case <-ctx.Done():
		}
	}
	s.unchecked.Add(1)
	s.log.WarnContext(ctx, "synth could not listen to the chunk; it is published unchecked", "err", err)
	return Heard{Error: err.Error()}
}

// transcribe makes one recognition request, paced by the listening
// limiter like a synthesis request, and counts the minutes.
func (s *Synthesizer) transcribe(ctx context.Context, audio []byte, r Request) (Transcript, error) {
	l := s.cfg.Listen
	if l.Limiter != nil {
		release, err := l.Limiter.Acquire(ctx, 0)
		if err != nil {
			return Transcript{}, err
		}
		defer release()
	}
	s.listens.Add(1)
	began := time.Now()
	t, err := l.Listener.Transcribe(ctx, audio, r.Language)
	if l.Observe != nil {
		l.Observe(l.Listener.Name(), t.Seconds, err, time.Since(began))
	}
	if errors.Is(err, ErrRateLimited) && l.Limiter != nil {
		if lerr := l.Limiter.Throttled(ctx, fault.RetryAfter(err)); lerr != nil {
			s.log.WarnContext(ctx, "synth limiter did not take the 429", "err", lerr)
		}
	}
	if err == nil {
		s.heardMillis.Add(int64(t.Seconds * 1000))
	}
	return t, err
}

// HeardSuffix ends the cache key of a listening record: letters, so that
// the key is one NATS subject token as the audio's is (the object
// storage's audio index names entries by subject).
const HeardSuffix = "-heard"

// HeardKey is where the listening record of a chunk is kept beside its
// audio in the cache.
func HeardKey(key string) string { return key + HeardSuffix }

// listenPolicy is the policy for r: its own, else the configured one.
func (s *Synthesizer) listenPolicy(r Request) ListenPolicy {
	if s.cfg.Listen.Listener == nil || s.p.Name() == "local" { // espeak-ng reads what it is given
		return ListenOff
	}
	if r.Listen != "" {
		return r.Listen
	}
	return s.cfg.Listen.Policy
}

// heardFinding adds the listening record to v as a finding when it did not
// pass.
func heardFinding(v *Verdict, h *Heard) {
	v.Heard = h
	switch {
	case h == nil || h.Passed:
	case !h.Checked:
		v.Findings = append(v.Findings, Finding{Code: FindingUnchecked, Message: "speech recognition failed, so the audio was not checked against the text: " + h.Error})
	default:
		v.Findings = append(v.Findings, Finding{Code: FindingMisheard, Message: h.Summary()})
	}
}

// cachedHeard reads the listening record kept with a cached chunk.
func (s *Synthesizer) cachedHeard(ctx context.Context, key string) (*Heard, bool) {
	if s.cache == nil {
		return nil, false
	}
	h, err := LoadHeard(ctx, s.cache, key)
	return h, err == nil && h != nil
}

// LoadHeard returns the listening check's record of the chunk whose audio
// is kept under key in c, or nil when it has none (the check was off, or
// the audio came from a cache filled before it).
func LoadHeard(ctx context.Context, c Cache, key string) (*Heard, error) {
	b, err := c.Get(ctx, HeardKey(key))
	if errors.Is(err, ErrNotCached) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h Heard
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("synth: listening record of %s: %w", key, err)
	}
	return &h, nil
}

// keepHeard stores the listening record beside the chunk's audio.
func (s *Synthesizer) keepHeard(ctx context.Context, key string, h *Heard) error {
	if s.cache == nil || h == nil {
		return nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("synth: listening record: %w", err)
	}
	if err := s.cache.Put(ctx, HeardKey(key), b); err != nil {
		return fmt.Errorf("synth: %w: %w", ErrStore, err)
	}
	return nil
}
