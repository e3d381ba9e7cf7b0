// Package lexicon holds a publication's pronunciation lexicon: entries
// that map a word or pattern to how it is said (Kyiv, Syrskyi, NATO said
// as a word, OSCE spelled out), applied to text before synthesis, and the
// report of proper nouns an article uses that the lexicon has not seen.
//
// A chunk's id is a hash of its text after the lexicon is applied, so a
// change to the lexicon changes the ids, and the audio, of exactly the
// chunks whose text it changes.
package lexicon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/script"
)

// Entry says how a word, or the text a pattern matches, is read.
type Entry struct {
	// Word is a word or phrase matched whole ("Kyiv", "Oleksandr Syrskyi").
	Word string `json:"word,omitempty"`
	// Pattern is a regular expression matched instead of Word; Say may
	// use its groups ("$1").
	Pattern string `json:"pattern,omitempty"`
	// Say is what the speech engine is given instead ("Keev").
	Say string `json:"say,omitempty"`
	// Spell reads the word letter by letter ("O S C E"); Say is ignored.
	Spell bool `json:"spell,omitempty"`
	// IgnoreCase matches Word in any case.
	IgnoreCase bool `json:"ignore_case,omitempty"`
	// Note is for editors: why the entry exists, who asked for it.
	Note string `json:"note,omitempty"`
}

// ErrInvalid is wrapped by errors about malformed entries.
var ErrInvalid = errors.New("lexicon: invalid entry")

// ErrNotFound is returned by a Store when a publication has no lexicon.
var ErrNotFound = errors.New("lexicon: not found")

// Store keeps lexicons where editors can change them without a deploy.
// Implementations must be safe for concurrent use.
type Store interface {
	// Get returns the publication's lexicon, or ErrNotFound.
	Get(ctx context.Context, publication string) (*Lexicon, error)
	// Update replaces the publication's lexicon with what change makes of
	// the current one (nil when there is none), without losing an edit made
	// meanwhile elsewhere: change may run more than once.
	Update(ctx context.Context, publication string, change func(*Lexicon) (*Lexicon, error)) (*Lexicon, error)
}

// Lexicon is a compiled, immutable set of entries. It is safe for
// concurrent use.
type Lexicon struct {
	entries []Entry
	rules   []compiled
	known   map[string]bool // lower-cased words and phrases with an entry
	version string
}

type compiled struct {
	entry Entry
	re    *regexp.Regexp // nil for a plain word
	say   string
}

// New compiles entries into a lexicon. Entries are applied longest word
// first, then patterns in the order given.
func New(entries []Entry) (*Lexicon, error) {
	l := &Lexicon{known: map[string]bool{}}
	var errs []error
	for i, e := range entries {
		e.Word = strings.TrimSpace(e.Word)
		c, err := compile(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %d (%s): %w", i, e.Word+e.Pattern, err))
			continue
		}
		l.entries = append(l.entries, e)
		l.rules = append(l.rules, c)
		if e.Word != "" {
			l.known[strings.ToLower(e.Word)] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	slices.SortStableFunc(l.rules, func(a, b compiled) int {
		// Words before patterns, longer words first, so that "Oleksandr
		// Syrskyi" is read before "Syrskyi" alone.
		switch {
		case a.re == nil && b.re != nil:
			return -1
		case a.re != nil && b.re == nil:
			return 1
		case a.re == nil:
			return len(b.entry.Word) - len(a.entry.Word)
		}
		return 0
	})
	l.version = version(l.entries)
	return l, nil
}

func compile(e Entry) (compiled, error) {
	switch {
	case e.Word == "" && e.Pattern == "":
		return compiled{}, errors.New("needs a word or a pattern")
	case e.Word != "" && e.Pattern != "":
		return compiled{}, errors.New("has both a word and a pattern")
	case !e.Spell && strings.TrimSpace(e.Say) == "":
		return compiled{}, errors.New("says nothing: set say or spell")
	}
	c := compiled{entry: e, say: e.Say}
	if e.Spell {
		c.say = spell(e.Word)
	}
	if e.Pattern != "" {
		re, err := regexp.Compile(e.Pattern)
		if err != nil {
			return compiled{}, err
		}
		if re.MatchString("") {
			return compiled{}, errors.New("pattern matches empty text")
		}
		if e.Spell {
			return compiled{}, errors.New("spell needs a word, not a pattern")
		}
		c.re = re
	}
	return c, nil
}

// spell says a word letter by letter: "O S C E" for "OSCE" or "O.S.C.E.".
func spell(w string) string {
	var letters []string
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			letters = append(letters, string(unicode.ToUpper(r)))
		}
	}
	return strings.Join(letters, " ")
}

// version hashes the entries in a canonical order, so that the same set
// of entries has the same version whatever order they were saved in.
func version(entries []Entry) string {
	keys := make([]string, len(entries))
	for i, e := range entries {
		e.Note = "" // notes do not change what is said
		b, _ := json.Marshal(e)
		keys[i] = string(b)
	}
	slices.Sort(keys)
	return script.Hash(append([]string{"lexicon/v1"}, keys...)...)
}

// Version returns a content hash of the entries: equal for lexicons that
// say the same things, different when any entry changes what is said.
func (l *Lexicon) Version() string {
	if l == nil {
		return version(nil)
	}
	return l.version
}

// Entries returns a copy of the entries.
func (l *Lexicon) Entries() []Entry {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

// Len returns the number of entries.
func (l *Lexicon) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Apply returns text with every entry applied. A nil lexicon changes
// nothing.
func (l *Lexicon) Apply(text string) string {
	if l == nil {
		return text
	}
	for _, r := range l.rules {
		if r.re != nil {
			text = r.re.ReplaceAllString(text, r.say)
			continue
		}
		text = replaceWord(text, r.entry.Word, r.say, r.entry.IgnoreCase)
	}
	return text
}

// replaceWord replaces whole-word occurrences of word: "Kyiv" in "Kyiv's"
// and "(Kyiv)" but not in "Kyivan".
func replaceWord(text, word, say string, ignoreCase bool) string {
	hay, needle := text, word
	if ignoreCase {
		hay, needle = strings.ToLower(text), strings.ToLower(word)
		if len(hay) != len(text) {
			// a case change altered byte lengths; fall back to a pattern
			re := regexp.MustCompile(`(?i)` + regexp.QuoteMeta(word))
			return replaceMatches(text, re.FindAllStringIndex(text, -1), say)
		}
	}
	var idx [][]int
	for off := 0; ; {
		i := strings.Index(hay[off:], needle)
		if i < 0 {
			break
		}
		idx = append(idx, []int{off + i, off + i + len(needle)})
		off += i + len(needle)
	}
	return replaceMatches(text, idx, say)
}

func replaceMatches(text string, idx [][]int, say string) string {
	if len(idx) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		if !wordEdge(text, m[0], m[1]) {
			continue
		}
		b.WriteString(text[last:m[0]])
		b.WriteString(say)
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// wordEdge reports whether text[i:j] stands as a whole word.
func wordEdge(text string, i, j int) bool {
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:i])
		if isWordRune(r) {
			return false
		}
	}
	if j < len(text) {
		r, _ := utf8.DecodeRuneInString(text[j:])
		if isWordRune(r) {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// Knows reports whether the lexicon has an entry for a word or phrase,
// or a pattern that matches it.
func (l *Lexicon) Knows(word string) bool {
	if l == nil {
		return false
	}
	if l.known[strings.ToLower(word)] {
		return true
	}
	for _, r := range l.rules {
		if r.re != nil && r.re.MatchString(word) {
			return true
		}
	}
	return false
}

// file is the JSON form of a lexicon.
type file struct {
	Version string  `json:"version,omitempty"`
	Entries []Entry `json:"entries"`
}

// MarshalJSON encodes the lexicon as {"version": ..., "entries": [...]}.
func (l *Lexicon) MarshalJSON() ([]byte, error) {
	entries := l.Entries()
	if entries == nil {
		entries = []Entry{}
	}
	return json.Marshal(file{Version: l.Version(), Entries: entries})
}

// UnmarshalJSON decodes and compiles a lexicon; the version in the JSON,
// if any, is recomputed from the entries rather than trusted.
func (l *Lexicon) UnmarshalJSON(b []byte) error {
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("lexicon: decode: %w", err)
	}
	n, err := New(f.Entries)
	if err != nil {
		return err
	}
	*l = *n
	return nil
}

// Decode reads a lexicon from JSON: an object with "entries" or a bare
// list of entries.
func Decode(r io.Reader) (*Lexicon, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("lexicon: read: %w", err)
	}
	var entries []Entry
	if err := json.Unmarshal(raw, &entries); err == nil {
		return New(entries)
	}
	var l Lexicon
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, err
	}
	return &l, nil
}
