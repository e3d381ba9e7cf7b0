package lexicon

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Unknown is a proper noun or acronym an article uses that the lexicon
// has no entry for, for editors to review before narration.
type Unknown struct {
	Word    string `json:"word"`
	Kind    string `json:"kind"` // "name", "acronym" or "brand" (mixed case: "PlayStation")
	Count   int    `json:"count"`
	Context string `json:"context"` // the first sentence-sized excerpt it appears in
}

// commonCapitalized are capitalized words that are not names a speech
// engine could get wrong.
var commonCapitalized = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`I I'm I've I'd I'll Mr Mrs Ms Dr St Mt Gen Sen Rep Gov Jr Sr Monday Tuesday
		Wednesday Thursday Friday Saturday Sunday January February March April May June July August September
		October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec God OK TV AM PM US UK EU UN
		U.S U.K E.U U.N U.S.A
		Street Road Avenue Boulevard Lane Drive Square Park School College University Hospital Council Committee
		Ministry Department Office Center Centre Bank Company Court House Senate Congress Parliament Party Army Navy
		Force Forces Agency Authority Board Bridge River Lake Sea Ocean Mountain Mount Island Beach City County State
		States National International Federal Republic Union Association Institute Foundation Group Fund Times Post
		News Weather Insurance Elementary High Middle North South East West Northern Southern Eastern Western New Old
		Great Royal General President Minister Prime Mayor Governor Senator Secretary Chief Director Police Fire
		Health Justice Security Defense Defence Affairs Energy Education Transport Water Land Airport Station Hall
		Church Museum Library Market Exchange Reserve Trust Capital Prize Award World Cup League Club Team Service
		Services Survey Program Programme Project Plan Act Bill Law Court Supreme Geological Environmental Public
		Development Research Science Economic Foreign Home Internal Justice Labor Labour Commerce Trade Finance
		Treasury Office Administration Commission Organization Organisation Council Assembly Conference Summit
		Day Week Year Christmas Easter Route Highway Airport Port Central Elementary Landing Valley Hill Hills
		Санкт Київ Україна України Росія Росії`) {
		m[w] = true
	}
	return m
}()

// Report lists the words of texts a speech engine is likely to get wrong
// and the lexicon does not cover, most frequent first: rare or foreign
// names, initialisms and mixed-case brands. English words and common
// names (the embedded wamerican list: "Main", "Four", "Angela") are left
// out, since engines read them right. A capitalized word at the start of a
// sentence counts only if it is also capitalized elsewhere, since sentence
// case says nothing there.
func (l *Lexicon) Report(texts ...string) []Unknown {
	type seen struct {
		u        Unknown
		midCount int
		order    int
	}
	found := map[string]*seen{}
	n := 0
	// A capitalized word the article also uses in lower case ("Flood" in
	// a programme's name, "flood" elsewhere) is a common word.
	lower := map[string]bool{}
	for _, text := range texts {
		for _, t := range tokens(text) {
			if r, _ := utf8.DecodeRuneInString(t.word); unicode.IsLower(r) {
				lower[t.word] = true
			}
		}
	}
	for _, text := range texts {
		toks := tokens(text)
		for i, t := range toks {
			kind := classify(t.word)
			if kind == "acronym" && shouted(toks, i) {
				continue // "GET OUT and VOTE": emphasis, not initialisms
			}
			if kind == "" || commonCapitalized[t.word] || l.Knows(t.word) || kind != "acronym" && lower[strings.ToLower(t.word)] || known(t.word) {
				continue
			}
			s := found[t.word]
			if s == nil {
				s = &seen{u: Unknown{Word: t.word, Kind: kind, Context: excerpt(text, t.start, t.end)}, order: n}
				found[t.word] = s
				n++
			}
			s.u.Count++
			if !t.sentenceStart || kind == "acronym" {
				s.midCount++
			}
		}
	}
	var out []*seen
	for _, s := range found {
		if s.midCount > 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *seen) int {
		if a.u.Count != b.u.Count {
			return b.u.Count - a.u.Count
		}
		return a.order - b.order
	})
	res := make([]Unknown, len(out))
	for i, s := range out {
		res[i] = s.u
	}
	return res
}

type token struct {
	word          string
	start, end    int
	sentenceStart bool
}

// tokens splits text into words, noting which open a sentence. An
// apostrophe inside a word is kept ("Kyiv's" is one token) and a trailing
// possessive is then removed.
func tokens(text string) []token {
	var out []token
	start := true // the text starts a sentence
	last := ""
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			switch r {
			case '.':
				// "Gen. Syrskyi": the period of an abbreviation or an
				// initial does not end the sentence.
				start = !commonCapitalized[last] && utf8.RuneCountInString(last) != 1
			case '!', '?', '…':
				start = true
			case ',', ';', ':':
				start = false
			}
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
				j += n
				continue
			}
			if (r == '\'' || r == '’' || r == '-' || r == '.') && j+n < len(text) {
				next, _ := utf8.DecodeRuneInString(text[j+n:])
				if unicode.IsLetter(next) {
					j += n
					continue
				}
			}
			break
		}
		w := text[i:j]
		for _, suf := range []string{"'s", "’s"} {
			w = strings.TrimSuffix(w, suf)
		}
		out = append(out, token{word: w, start: i, end: j, sentenceStart: start})
		start, last = false, w
		i = j
	}
	return out
}

// classify says whether a word needs a reading: "acronym" for 2 to 6
// capital letters, "brand" for a word with a capital inside it
// ("PlayStation", "eBay"), "name" for a capitalized word, "" for
// anything else.
func classify(w string) string {
	letters, upper := 0, 0
	first, _ := utf8.DecodeRuneInString(w)
	for _, r := range w {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
		if unicode.IsDigit(r) {
			return ""
		}
	}
	inner := false
	for i, r := range w {
		if i > 0 && unicode.IsUpper(r) {
			inner = true
		}
	}
	switch {
	case letters >= 2 && letters <= 6 && upper == letters:
		return "acronym"
	case inner && upper < letters && letters >= 3 && !strings.ContainsAny(w, "-'’."):
		return "brand"
	case unicode.IsUpper(first) && letters >= 2 && upper < letters:
		return "name"
	}
	return ""
}

// excerpt returns up to about 80 characters of text around [i, j).
func excerpt(text string, i, j int) string {
	a, b := max(0, i-40), min(len(text), j+40)
	for a > 0 && !utf8.RuneStart(text[a]) {
		a--
	}
	for b < len(text) && !utf8.RuneStart(text[b]) {
		b++
	}
	s := strings.TrimSpace(text[a:b])
	if a > 0 {
		s = "…" + s
	}
	if b < len(text) {
		s += "…"
	}
	return s
}

// shouted reports whether the all-capital word at toks[i] is an English
// word set in capitals for emphasis: it and a neighbour are capitalized
// dictionary words.
func shouted(toks []token, i int) bool {
	word := func(j int) bool {
		if j < 0 || j >= len(toks) {
			return false
		}
		w := toks[j].word
		return len(w) >= 2 && isAllCaps(w) && known(strings.ToLower(w))
	}
	return word(i) && (word(i-1) || word(i+1) || word(i-2) || word(i+2))
}
