package chunk

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// abbrKind says how a word ending in a period behaves at a possible
// sentence end.
type abbrKind int

const (
	notAbbr abbrKind = iota
	// prepositive abbreviations stand before a name or number and never
	// end a sentence: "Mr. Smith", "Mt. Fuji", "p. 55".
	prepositive
	// ambiguous abbreviations often end a sentence too: "Briggs & Co.",
	// "the U.S.", "6 p.m."; the next word decides.
	ambiguous
)

var englishAbbr = func() map[string]abbrKind {
	m := map[string]abbrKind{}
	for _, w := range strings.Fields(`mr mrs ms messrs mme mlle dr prof gen sen rep gov lt col capt cpt sgt maj adm
		cmdr cmdr gen brig hon rev fr pres supt insp mt ft no nos vol vols pp p fig figs art sec ch para ed eds vs v cf
		e.g i.e approx dept est jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri
		sat sun ave blvd rd hwy ln mtn pt op al seq ca c viz n°`) {
		m[w] = prepositive
	}
	for _, w := range strings.Fields(`co corp inc ltd llc plc jr sr etc bros assn univ a.m p.m u.s u.k e.u u.n u.s.a
		st ph.d d.c l.a n.y esq`) {
		m[w] = ambiguous
	}
	return m
}()

var ukrainianAbbr = func() map[string]abbrKind {
	m := map[string]abbrKind{}
	for _, w := range strings.Fields(`м вул просп пл буд кв с смт обл ім проф акад доц ген п пп див рис табл т ст ін
		напр гр св тел`) {
		m[w] = prepositive
	}
	for _, w := range strings.Fields(`р рр т.д т.п т.ч тис млн млрд грн коп н.е дол`) {
		m[w] = ambiguous
	}
	return m
}()

// starters are words that commonly begin an English sentence. After an
// ambiguous abbreviation, a capitalized word from this list means a new
// sentence ("in the U.S. How about you?"), any other capitalized word a
// name that continues it ("the U.S. Government").
var starters = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`the a an it its he she they we i you his her their our my your this that these
		those there here how what why when where who whom whose which but and so yet or nor if in on at as after
		before then now today yesterday tomorrow did do does is are was were can could will would should shall may
		might must has have had mr mrs ms dr meanwhile however also for with from by to not no yes one some all many
		most both each every last next several such while although though because since until unless once still
		instead indeed thus therefore later earlier according`) {
		m[w] = true
	}
	return m
}()

// Segmenter splits text into sentences with rules for abbreviations,
// initials, numbers, lists, quotes and ellipses.
type Segmenter struct {
	abbr     map[string]abbrKind
	starters map[string]bool // nil: any capitalized word starts a sentence
}

// NewSegmenter returns a segmenter for a language ("en", "uk"); other
// languages get the English rules.
func NewSegmenter(lang string) *Segmenter {
	switch lang {
	case "uk":
		return &Segmenter{abbr: ukrainianAbbr}
	}
	return &Segmenter{abbr: englishAbbr, starters: starters}
}

// Sentences splits text into sentences, each trimmed of surrounding white
// space. Nothing else is removed: the sentences joined with the white
// space between them give back the text.
func (s *Segmenter) Sentences(text string) []string {
	var out []string
	start := 0
	for _, cut := range s.cuts(text) {
		if t := strings.TrimSpace(text[start:cut]); t != "" {
			out = append(out, t)
		}
		start = cut
	}
	if t := strings.TrimSpace(text[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

const (
	closers   = "”\"’')]»›"
	openers   = "“\"‘'([«‹¿¡"
	bullets   = "•⁃◦▪●‣"
	terminals = ".!?…"
)

// cuts returns the byte offsets where a new sentence starts.
func (s *Segmenter) cuts(text string) []int {
	markers := listMarkers(text)
	var cuts []int
	add := func(c int) {
		if c > 0 && c < len(text) && (len(cuts) == 0 || cuts[len(cuts)-1] < c) {
			cuts = append(cuts, c)
		}
	}
	start := 0
	for i := 0; i < len(text); {
		if m, ok := markers[i]; ok {
			if m.chain && !afterBullet(text, i) {
				add(i)
				start = i
			}
			i = m.end // a list marker's period never ends a sentence
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !strings.ContainsRune(terminals, r) {
			i += size
			continue
		}
		// An omission mark, "[...]", is not punctuation of the sentence.
		if i > 0 && text[i-1] == '[' {
			if j := strings.IndexByte(text[i:], ']'); j >= 0 && strings.Trim(text[i:i+j], ".…") == "" {
				i += j + 1
				continue
			}
		}
		run := scanTerminal(text, i)
		end := run.end
		for end < len(text) {
			r, n := utf8.DecodeRuneInString(text[end:])
			if !strings.ContainsRune(closers, r) {
				break
			}
			end += n
		}
		if end >= len(text) {
			break
		}
		if r, _ := utf8.DecodeRuneInString(text[end:]); !unicode.IsSpace(r) {
			i = max(end, i+size) // "Jane.Doe", "mean...see", "Jr.'s"
			continue
		}
		next := end
		for next < len(text) {
			r, n := utf8.DecodeRuneInString(text[next:])
			if !unicode.IsSpace(r) {
				break
			}
			next += n
		}
		if next >= len(text) {
			break
		}
		// "compounds. . . . The practice": the period on the word ends
		// the sentence, the spaced ellipsis opens the next one.
		if run.attachedThenSpaced {
			if w := nextWordAfterDots(text, run.spacedAt); w >= 0 && isUpperStart(text[w:]) {
				add(run.spacedAt)
				start = run.spacedAt
				i = w
				continue
			}
		}
		if _, isMarker := markers[next]; isMarker && markers[next].chain {
			i = next // the list marker makes the cut
			continue
		}
		if s.boundary(text, start, i, run, next) {
			add(next)
			start = next
		}
		i = next
	}
	return cuts
}

// terminalRun is a run of sentence-ending punctuation.
type terminalRun struct {
	end                int  // offset after the run
	dots               int  // periods, an ellipsis character counting three
	question           bool // holds ? or !
	spaced             bool // a spaced ellipsis ". . ."
	attachedThenSpaced bool // "word. . . ." : a period on the word, then spaced dots
	spacedAt           int  // offset of the first spaced dot
}

// scanTerminal reads the punctuation run at i, including spaced ellipses.
func scanTerminal(text string, i int) terminalRun {
	var t terminalRun
	j := i
	for j < len(text) {
		r, n := utf8.DecodeRuneInString(text[j:])
		switch r {
		case '.':
			t.dots++
		case '…':
			t.dots += 3
		case '!', '?':
			t.question = true
		default:
			goto spaced
		}
		j += n
	}
spaced:
	attached := i > 0 && !unicode.IsSpace(rune(text[i-1]))
	first := j
	for j+1 < len(text) && text[j] == ' ' && text[j+1] == '.' {
		if !t.spaced {
			t.spacedAt = j + 1
		}
		t.spaced = true
		t.dots++
		j += 2
	}
	if t.spaced && attached && first-i == 1 {
		t.attachedThenSpaced = true
	}
	t.end = j
	return t
}

// nextWordAfterDots returns the offset of the word after the spaced dots
// that start at i, or -1.
func nextWordAfterDots(text string, i int) int {
	j := i
	for j < len(text) && (text[j] == '.' || text[j] == ' ') {
		j++
	}
	if j >= len(text) || j == i {
		return -1
	}
	return j
}

// boundary decides whether the punctuation run at i, followed by the word
// at next, ends a sentence that began at start.
func (s *Segmenter) boundary(text string, start, i int, run terminalRun, next int) bool {
	nextWord := text[next:]
	if sp := strings.IndexFunc(nextWord, unicode.IsSpace); sp >= 0 {
		nextWord = nextWord[:sp]
	}
	first := firstAlnum(nextWord)
	upper := unicode.IsUpper(first)
	digit := unicode.IsDigit(first)
	if unicode.IsLower(first) {
		return false
	}
	if run.question && run.dots == 0 {
		return upper || digit || first == 0
	}
	if run.dots >= 3 {
		// An ellipsis marks an omission inside a sentence; with a period
		// added ("that.... She left") it ends one.
		return run.dots >= 4 && upper
	}
	if run.question {
		return upper || digit
	}
	prev := prevWord(text, start, i)
	key := strings.ToLower(strings.TrimSuffix(prev, "."))
	kind := s.abbr[key]
	if kind == notAbbr && isInitialism(prev) {
		kind = ambiguous
	}
	switch {
	case kind == prepositive:
		return false
	case utf8.RuneCountInString(key) == 1 && unicode.IsLetter([]rune(key)[0]):
		// An initial ("Jonas E. Smith") unless a sentence plainly
		// starts after it ("you and I. Did you").
		return s.isStarter(nextWord)
	case kind == ambiguous:
		return upper && s.isStarter(nextWord) && atLeastWords(text[start:i], 4)
	}
	return upper || digit
}

// atLeastWords reports whether text holds n words or more, reading no
// further than it must, so that long sentences stay linear to segment.
func atLeastWords(text string, n int) bool {
	inWord := false
	for _, r := range text {
		if unicode.IsSpace(r) {
			inWord = false
			continue
		}
		if !inWord {
			inWord = true
			if n--; n == 0 {
				return true
			}
		}
	}
	return false
}

func (s *Segmenter) isStarter(word string) bool {
	if s.starters == nil {
		return isUpperStart(word)
	}
	w := strings.ToLower(strings.TrimFunc(word, func(r rune) bool { return !unicode.IsLetter(r) }))
	return isUpperStart(strings.TrimLeft(word, openers)) && s.starters[w]
}

// prevWord returns the word that ends at i, without opening punctuation.
func prevWord(text string, start, i int) string {
	j := strings.LastIndexFunc(text[start:i], unicode.IsSpace)
	w := text[start+j+1 : i]
	return strings.TrimLeft(w, openers+"—–-")
}

var initialismRE = regexp.MustCompile(`^(?:\p{L}\.)+\p{L}\.?$`)

// isInitialism reports whether a word is a dotted initialism: "U.S", "E.U".
func isInitialism(w string) bool {
	return initialismRE.MatchString(strings.TrimSuffix(w, ".") + ".")
}

func firstAlnum(w string) rune {
	for _, r := range w {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
	}
	return 0
}

func isUpperStart(w string) bool {
	return unicode.IsUpper(firstAlnum(w))
}

// afterBullet reports whether a bullet stands just before offset i, so
// that "• 9. First" is one marker, not two.
func afterBullet(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRightFunc(text[:i], unicode.IsSpace))
	return strings.ContainsRune(bullets, r)
}

// listMarker is an item marker of an inline list: "1.", "2)", "a.", "•".
type listMarker struct {
	end   int  // offset after the marker
	chain bool // part of a run of two or more consecutive markers
}

var markerRE = regexp.MustCompile(`^(\d{1,3}|[a-z])(\.\)|\.|\))$`)

// listMarkers finds inline list markers. Numbers and letters count only in
// runs that go up by one ("1. ... 2. ..."), so that a number ending a
// sentence is not taken for one; bullets always count.
func listMarkers(text string) map[int]listMarker {
	type cand struct {
		at, end, val int
		letter       bool
	}
	var cands []cand
	out := map[int]listMarker{}
	i := 0
	for i < len(text) {
		if i > 0 && !unicode.IsSpace(rune(text[i-1])) {
			i++
			continue
		}
		rest := text[i:]
		tok := rest
		if sp := strings.IndexFunc(rest, unicode.IsSpace); sp >= 0 {
			tok = rest[:sp]
		}
		if tok == "" {
			i++
			continue
		}
		at := i
		if r, n := utf8.DecodeRuneInString(tok); strings.ContainsRune(bullets, r) {
			out[at] = listMarker{end: at + n, chain: true}
			tok = tok[n:]
			i += n
			if tok == "" {
				continue
			}
		}
		if m := markerRE.FindStringSubmatch(tok); m != nil && len(tok) < len(rest) {
			c := cand{at: i, end: i + len(tok)}
			if v, err := strconv.Atoi(m[1]); err == nil {
				c.val = v
			} else {
				c.val, c.letter = int(m[1][0]-'a')+1, true
			}
			cands = append(cands, c)
		}
		i += max(len(tok), 1)
	}
	for k := 0; k < len(cands); {
		j := k + 1
		for j < len(cands) && cands[j].letter == cands[k].letter && cands[j].val == cands[j-1].val+1 {
			j++
		}
		if j-k >= 2 && (!cands[k].letter || cands[k].val == 1) {
			for _, c := range cands[k:j] {
				out[c.at] = listMarker{end: c.end, chain: true}
			}
		}
		k = j
	}
	return out
}
