// Package chunk splits a narration script into the chunks that are
// synthesized one request each: sentences are found, normalized for
// speech and read through the publication's lexicon, then packed into
// chunks that break at paragraph boundaries where possible, never inside a
// sentence, and stay under the provider's limit.
//
// Joining convention: a chunk's Text is its sentences' Spoken forms joined
// by single spaces, and the chunks' texts joined by single spaces are the
// spoken text of the whole script (SpokenText). Every spoken sentence ends
// in sentence punctuation, so that a speech engine pauses where a reader
// would.
package chunk

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/normalize"
	"github.com/narrator-project/narrator/services/script"
)

// Provider limits on the characters of one synthesis request.
const (
	MaxOpenAI = 4096
	MaxPolly  = 3000
)

// DefaultTarget is the chunk size aimed at. About 1,500 characters is
// 90 seconds of speech: an article of 6,000 characters becomes four or
// five requests that synthesize in parallel, so the first audio and the
// whole file arrive in a few seconds, while joins stay few and fall at
// paragraph breaks, where the stitcher puts a pause anyway.
const DefaultTarget = 1500

// ErrEmpty is returned for a script with nothing to read.
var ErrEmpty = errors.New("chunk: the script has no text to read")

// Config configures a Chunker.
type Config struct {
	// Max is the most characters a chunk may have. Default MaxOpenAI.
	Max int
	// Target is the size chunks aim at; paragraphs are added to a chunk
	// while it stays under Target. Default DefaultTarget, at most Max.
	Target int
	// First, when set, is the size the first chunks aim at instead of
	// Target, so that the first audio arrives soon and playback can start
	// on it while later chunks are made: a chunk aims at the larger of
	// First and twice the characters before it, up to Target, and may end
	// between sentences of a paragraph to do so. 0 aims every chunk at
	// Target.
	First int
	// Normalize configures speech normalization. An empty Language takes
	// the script's language; a language without rules is left as written.
	Normalize normalize.Options
	// Lexicon is applied after normalization; nil applies none.
	Lexicon *lexicon.Lexicon
}

func (c *Config) setDefaults() {
	if c.Max == 0 {
		c.Max = MaxOpenAI
	}
	if c.Target == 0 {
		c.Target = min(DefaultTarget, c.Max)
	}
}

// Validate reports configuration errors in words a user can act on.
func (c Config) Validate() error {
	var errs []error
	if c.Max < 100 {
		errs = append(errs, fmt.Errorf("chunk: max must be at least 100 characters, got %d", c.Max))
	}
	if c.Target < 1 || c.Target > c.Max {
		errs = append(errs, fmt.Errorf("chunk: target must be between 1 and max (%d), got %d", c.Max, c.Target))
	}
	if c.First < 0 || c.First > c.Target {
		errs = append(errs, fmt.Errorf("chunk: the first chunks' size must be between 0 (none) and the target (%d), got %d", c.Target, c.First))
	}
	if c.Normalize.Language != "" {
		if _, err := normalize.New(c.Normalize); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Chunker splits scripts into chunks. It is safe for concurrent use.
type Chunker struct {
	cfg Config
}

// New returns a Chunker, or an error when the configuration is invalid.
func New(cfg Config) (*Chunker, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Chunker{cfg: cfg}, nil
}

// unit is a run of sentences read together: the headline, the standfirst
// and byline after it (lead), a heading, or one block of a section.
type unit struct {
	section, block int
	heading, lead  bool
	sentences      []script.Sentence
}

// pipeline turns display text into spoken sentences for one script.
type pipeline struct {
	seg  *Segmenter
	norm *normalize.Normalizer // nil: left as written
	lex  *lexicon.Lexicon
	max  int
}

func (c *Chunker) pipelineFor(s script.Script) pipeline {
	opts := c.cfg.Normalize
	if opts.Language == "" {
		opts.Language = s.Language
	}
	if opts.Language == "" {
		opts.Language = "en"
	}
	n, err := normalize.New(opts)
	if err != nil {
		n = nil // no rules for this language: numbers stay digits
	}
	return pipeline{seg: NewSegmenter(opts.Language), norm: n, lex: c.cfg.Lexicon, max: c.cfg.Max}
}

// sentences segments, normalizes and looks up one piece of display text.
func (p pipeline) sentences(text string, section, block int) []script.Sentence {
	var out []script.Sentence
	for _, display := range p.seg.Sentences(text) {
		for _, piece := range splitLong(display, p.max, p.speak) {
			out = append(out, script.Sentence{Text: piece, Spoken: p.speak(piece), Section: section, Block: block})
		}
	}
	// Every spoken sentence ends so that the engine pauses; a piece of a
	// sentence split for length ends where the split was.
	for i := range out {
		if i == len(out)-1 || endsSentence(out[i].Text) {
			out[i].Spoken = terminate(out[i].Spoken)
		}
	}
	return out
}

func (p pipeline) speak(text string) string {
	s := text
	if p.norm != nil {
		s = p.norm.Normalize(s)
	}
	s = p.lex.Apply(s)
	return strings.Join(strings.Fields(s), " ")
}

// units returns the script's units in reading order.
func (p pipeline) units(s script.Script) []unit {
	var out []unit
	headline, lead := unit{section: -1, block: -1}, unit{section: -1, block: -1, lead: true}
	for i, t := range []string{s.Title, s.Standfirst, s.Byline} {
		u := &lead
		if i == 0 {
			u = &headline
		}
		if t = strings.Join(strings.Fields(t), " "); t != "" {
			u.sentences = append(u.sentences, p.sentences(t, -1, -1)...)
		}
	}
	for _, u := range []unit{headline, lead} {
		if len(u.sentences) > 0 {
			out = append(out, u)
		}
	}
	for si, sec := range s.Sections {
		if h := strings.Join(strings.Fields(sec.Heading), " "); h != "" {
			out = append(out, unit{section: si, block: -1, heading: true, sentences: p.sentences(h, si, -1)})
		}
		for bi, b := range sec.Blocks {
			t := strings.Join(strings.Fields(b.Text), " ")
			if t == "" {
				continue
			}
			out = append(out, unit{section: si, block: bi, sentences: p.sentences(t, si, bi)})
		}
	}
	return out
}

// SpokenText returns the spoken text of the whole script in the joining
// convention: every sentence's spoken form, in reading order, joined by
// single spaces. The chunks' texts joined by single spaces equal it.
func (c *Chunker) SpokenText(s script.Script) string {
	p := c.pipelineFor(s)
	var parts []string
	for _, u := range p.units(s) {
		for _, sen := range u.sentences {
			parts = append(parts, sen.Spoken)
		}
	}
	return strings.Join(parts, " ")
}

// Split returns the chunks of a script. The title, standfirst and byline
// form the first chunk (Section -1), or, while the first chunks ramp up,
// the first two (the headline, then the rest); each section starts a new chunk with
// its heading; within a section, paragraphs are packed up to the target
// size, and split between sentences only when one would pass the maximum,
// or, while chunks ramp up to the target (Config.First), their own
// smaller target.
func (c *Chunker) Split(s script.Script) ([]script.Chunk, error) {
	p := c.pipelineFor(s)
	units := p.units(s)
	if len(units) == 0 {
		return nil, fault.Permanent(ErrEmpty)
	}
	var chunks []script.Chunk
	var cur []script.Sentence
	curLen, before := 0, 0 // characters in the chunk and in the chunks before it
	curBreak, curSection := script.BreakNone, 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		parts := make([]string, len(cur))
		for i, sen := range cur {
			parts[i] = sen.Spoken
		}
		text := strings.Join(parts, " ")
		chunks = append(chunks, script.Chunk{
			ID: script.Hash(text), Index: len(chunks), Text: text, Break: curBreak,
			Section: curSection, Sentences: cur,
		})
		before += curLen
		cur, curLen = nil, 0
	}
	// start opens a chunk with the break that precedes it.
	start := func(b script.Break, section int) {
		flush()
		if len(chunks) == 0 {
			b = script.BreakNone
		}
		curBreak, curSection = b, section
	}
	prevSection := -2
	for _, u := range units {
		var b script.Break
		need := true
		switch {
		case u.lead && len(cur) > 0:
			// The standfirst and byline stay with the headline, unless
			// the first chunks ramp up and they would pass its target.
			b, need = script.BreakNone, c.cfg.First > 0 && !c.fits(curLen, sentencesLen(u.sentences), c.target(before), false)
		case u.section == -1:
			b = script.BreakNone
		case u.section != prevSection && prevSection == -1:
			b = script.BreakTitle
		case u.section != prevSection, u.heading:
			b = script.BreakSection
		case len(cur) > 0 && !c.fits(curLen, sentencesLen(u.sentences), c.target(before), chunkHeadingOnly(cur)):
			b = script.BreakParagraph
		default:
			need = false
		}
		if need {
			start(b, u.section)
		}
		prevSection = u.section
		// Add the unit's sentences, opening a continuation chunk inside
		// the paragraph when the maximum would be passed.
		for _, sen := range u.sentences {
			n := utf8.RuneCountInString(sen.Spoken)
			ramp := c.target(before)
			if len(cur) > 0 && (curLen+1+n > c.cfg.Max || ramp < c.cfg.Target && curLen+1+n > ramp && u.section >= 0 && !headingOnly(cur)) {
				start(script.BreakNone, u.section)
			}
			if len(cur) > 0 {
				curLen++
			}
			cur = append(cur, sen)
			curLen += n
		}
	}
	flush()
	return chunks, nil
}

// fits reports whether a unit of size characters joins a chunk of curLen
// characters: while the chunk stays under target, or, for a chunk
// holding only its section's heading, while it stays under the maximum.
func (c *Chunker) fits(curLen, size, target int, headingOnly bool) bool {
	total := curLen + 1 + size
	if headingOnly {
		return total <= c.cfg.Max
	}
	return total <= target
}

// target is the size a chunk aims at after before characters of chunks.
// Synthesis takes a provider a fraction of the time the audio plays
// (OpenAI about 11 ms a character, playback about 63 ms), so a chunk
// twice as long as everything before it is ready before playback
// reaches it, even when every chunk is asked for at once.
func (c *Chunker) target(before int) int {
	if c.cfg.First == 0 {
		return c.cfg.Target
	}
	return min(c.cfg.Target, max(c.cfg.First, 2*before))
}

func chunkHeadingOnly(cur []script.Sentence) bool {
	for _, s := range cur {
		if s.Block != -1 {
			return false
		}
	}
	return true
}

// headingOnly reports whether a chunk holds only a section's heading,
// which stays with the sentence that follows it.
func headingOnly(cur []script.Sentence) bool {
	return len(cur) > 0 && cur[0].Section >= 0 && chunkHeadingOnly(cur)
}

func sentencesLen(ss []script.Sentence) int {
	n := 0
	for i, s := range ss {
		if i > 0 {
			n++
		}
		n += utf8.RuneCountInString(s.Spoken)
	}
	return n
}

// splitLong splits a sentence whose spoken form passes max at clause
// punctuation, then between words, then, for a single enormous word,
// between characters. Pieces are trimmed; joined with single spaces they
// give back the sentence, except that a word cut between characters is
// joined without one.
func splitLong(sentence string, max int, speak func(string) string) []string {
	if utf8.RuneCountInString(speak(sentence)) <= max {
		return []string{sentence}
	}
	// Spoken text can be longer than written ("$5" is "five dollars"), so
	// pieces are cut against a budget with room to grow.
	for _, cut := range []func(string) []int{clauseCuts, wordCuts} {
		pieces := greedy(sentence, cut(sentence), max, speak)
		if pieces != nil {
			return pieces
		}
	}
	return runeCuts(sentence, max, speak)
}

// greedy packs the spans between cut points into pieces whose spoken form
// is at most max, or returns nil when one span alone is too long. Spans
// are spoken once each and their lengths added, which keeps splitting
// linear; a piece whose spoken form still comes out too long (a number
// read differently across a cut) is packed again with a smaller budget.
func greedy(s string, cuts []int, max int, speak func(string) string) []string {
	bounds := append(append([]int{0}, cuts...), len(s))
	lens := make([]int, len(bounds)-1)
	for i := range lens {
		lens[i] = utf8.RuneCountInString(speak(strings.TrimSpace(s[bounds[i]:bounds[i+1]])))
		if lens[i] > max {
			return nil
		}
	}
	for budget := max; budget > max/4; budget = budget * 3 / 4 {
		var out []string
		from, size, ok := 0, 0, true
		for i, n := range lens {
			if size > 0 && size+1+n > budget {
				out = append(out, strings.TrimSpace(s[bounds[from]:bounds[i]]))
				from, size = i, 0
			}
			if size > 0 {
				size++
			}
			size += n
		}
		out = append(out, strings.TrimSpace(s[bounds[from]:]))
		for _, p := range out {
			if utf8.RuneCountInString(speak(p)) > max {
				ok = false
				break
			}
		}
		if ok {
			return out
		}
	}
	return nil
}

// clauseCuts returns the offsets after clause punctuation followed by a
// space: where a reader could pause.
func clauseCuts(s string) []int {
	var cuts []int
	for i, r := range s {
		switch r {
		case ',', ';', ':', '—', '–', ')':
			j := i + utf8.RuneLen(r)
			if j < len(s) && s[j] == ' ' {
				cuts = append(cuts, j)
			}
		}
	}
	return cuts
}

// wordCuts returns the offsets of the spaces between words.
func wordCuts(s string) []int {
	var cuts []int
	for i, r := range s {
		if r == ' ' && i > 0 {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// runeCuts splits a text with no usable space into pieces under max.
func runeCuts(s string, max int, speak func(string) string) []string {
	var out []string
	for s != "" {
		n := 0
		cut := len(s)
		for i := range s {
			if n == max/4 { // leave room for the spoken form to grow
				cut = i
				break
			}
			n++
		}
		for cut > 0 && utf8.RuneCountInString(speak(s[:cut])) > max {
			cut /= 2
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
		}
		if cut == 0 {
			_, cut = utf8.DecodeRuneInString(s)
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

// endsSentence reports whether text ends in sentence punctuation,
// possibly followed by closing quotes or brackets.
func endsSentence(text string) bool {
	t := strings.TrimRightFunc(text, func(r rune) bool { return strings.ContainsRune(closers, r) || unicode.IsSpace(r) })
	r, _ := utf8.DecodeLastRuneInString(t)
	return strings.ContainsRune(".!?…", r)
}

// terminate ends spoken text in sentence punctuation, so the engine pauses
// after a heading, a title or a list item: "A river that keeps rising."
func terminate(spoken string) string {
	if spoken == "" || endsSentence(spoken) {
		return spoken
	}
	r, _ := utf8.DecodeLastRuneInString(spoken)
	if strings.ContainsRune(":;,—–-", r) {
		return spoken // already a pause
	}
	return spoken + "."
}
