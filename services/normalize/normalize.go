// Package normalize rewrites text the way a news reader says it: numbers,
// money, dates, times, measures, abbreviations, URLs and symbols become
// words, so that a speech engine reads "$4.2 billion" as "four point two
// billion dollars" and not "dollar sign four point two billion".
//
// Rules are per language; English is complete, Ukrainian covers numbers,
// money, percentages, dates, years, decades, times and written ordinals. A provider that normalizes well itself can be
// given the light mode, which rewrites only what engines get wrong
// (addresses, e-mail, symbols and abbreviations).
package normalize

import (
	"fmt"
	"regexp"
	"strings"
)

// Options configures a Normalizer.
type Options struct {
	// Language is the BCP 47 primary tag of the text: "en" (default), "uk".
	Language string `json:"language,omitempty"`
	// Light rewrites only URLs, e-mail addresses, abbreviations and
	// symbols, leaving numbers, money, dates and times to a provider that
	// reads them well itself.
	Light bool `json:"light,omitempty"`
	// NoAnd drops the "and" of British English in numbers ("one hundred
	// twenty three" instead of "one hundred and twenty three").
	NoAnd bool `json:"no_and,omitempty"`
}

// Normalizer rewrites text for speech. It is safe for concurrent use.
type Normalizer struct {
	opts  Options
	rules []rule
}

// rule rewrites every match of re. fn gets the text and the submatch
// indexes and returns the replacement, or ok false to leave it.
type rule struct {
	name string
	re   *regexp.Regexp
	fn   func(s string, m []int) (repl string, ok bool)
	// light rules also run in light mode
	light bool
	// needs lists characters of which the text must hold one for the rule
	// to be tried; empty means always. Most rules need a digit, and most
	// sentences have none, so this check saves most of the work.
	needs string
	// need, when set, is a further cheap check of the text.
	need func(string) bool
}

// New returns a Normalizer for the options' language.
func New(opts Options) (*Normalizer, error) {
	if opts.Language == "" {
		opts.Language = "en"
	}
	n := &Normalizer{opts: opts}
	switch opts.Language {
	case "en":
		n.rules = englishRules(!opts.NoAnd)
	case "uk":
		n.rules = ukrainianRules()
	default:
		return nil, fmt.Errorf("normalize: no rules for language %q (have en, uk)", opts.Language)
	}
	return n, nil
}

// Language returns the language the normalizer's rules are for.
func (n *Normalizer) Language() string { return n.opts.Language }

// Normalize returns text rewritten for speech.
func (n *Normalizer) Normalize(text string) string {
	for _, r := range n.rules {
		if n.opts.Light && !r.light {
			continue
		}
		text = r.apply(text)
	}
	return tidySpaces(text)
}

func (r rule) apply(s string) string {
	if r.needs != "" && !strings.ContainsAny(s, r.needs) || r.need != nil && !r.need(s) {
		return s
	}
	ms := r.re.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		if m[0] < last {
			continue
		}
		repl, ok := r.fn(s, m)
		if !ok {
			continue
		}
		b.WriteString(s[last:m[0]])
		// Keep a spoken number apart from the letters it was written
		// against: "4K" becomes "four K", not "fourK".
		if m[0] > 0 && repl != "" && isWordByte(repl[0]) && isDigit(s[m[0]]) != isDigit(s[m[0]-1]) && isWordByte(s[m[0]-1]) {
			b.WriteByte(' ')
		}
		b.WriteString(repl)
		if m[1] < len(s) && repl != "" && isWordByte(repl[len(repl)-1]) && isDigit(s[m[1]-1]) != isDigit(s[m[1]]) && isWordByte(s[m[1]]) {
			b.WriteByte(' ')
		}
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// group returns submatch i of m in s, or "".
func group(s string, m []int, i int) string {
	if 2*i+1 >= len(m) || m[2*i] < 0 {
		return ""
	}
	return s[m[2*i]:m[2*i+1]]
}

var multiSpace = regexp.MustCompile(`[ \t]{2,}`)

// tidySpaces collapses the double spaces that rewriting leaves.
func tidySpaces(s string) string {
	return multiSpace.ReplaceAllString(s, " ")
}
