package align

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word is one normalized word and where it came from in its text.
type Word struct {
	Text       string // lower case, letters and digits only; numbers spelt out
	Start, End int    // byte offsets of the source token in the text
}

// Words splits text into normalized words, so that a transcript and the
// text it should match compare equal when they say the same thing: case
// and punctuation are dropped, apostrophes are closed up ("council's" is
// "councils"), hyphens and dashes split words, and numbers written in
// digits are spelt out as the normalizer reads them ("42" is "forty two",
// "1999" is "nineteen ninety nine", "1,999" is "one thousand nine hundred
// ninety nine", "3.5" is "three point five", "21st" is "twenty first",
// "%" is "percent"). Every spelt-out word keeps its token's span.
func Words(text string) []Word {
	var out []Word
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case r >= '0' && r <= '9':
			j := numberEnd(text, i)
			for _, w := range spellNumber(text[i:j]) {
				out = append(out, Word{Text: w, Start: i, End: j})
			}
			i = j
		case unicode.IsLetter(r) || unicode.IsDigit(r): // digits of other scripts are kept as written
			j := i
			var b strings.Builder
			for j < len(text) {
				r, n := utf8.DecodeRuneInString(text[j:])
				if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) {
					b.WriteString(strings.ToLower(string(r)))
				} else if !isApostrophe(r) || j+n >= len(text) || !nextIsLetter(text[j+n:]) {
					break
				}
				j += n
			}
			out = append(out, Word{Text: b.String(), Start: i, End: j})
			i = j
		case r == '%':
			out = append(out, Word{Text: "percent", Start: i, End: i + n})
			i += n
		case r == '&':
			out = append(out, Word{Text: "and", Start: i, End: i + n})
			i += n
		default:
			i += n
		}
	}
	return dropNumberAnd(out)
}

// dropNumberAnd drops the British "and" inside a spelt-out number ("one
// hundred and five"), which transcripts write as digits without it.
func dropNumberAnd(ws []Word) []Word {
	out := ws[:0]
	for i, w := range ws {
		if w.Text == "and" && i > 0 && i+1 < len(ws) && (ws[i-1].Text == "hundred" || ws[i-1].Text == "thousand") && numberWord[ws[i+1].Text] {
			continue
		}
		out = append(out, w)
	}
	return out
}

var scaleWord = map[string]bool{"hundred": true, "thousand": true, "million": true, "billion": true, "trillion": true}

var numberWord = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range ones {
		m[w] = true
	}
	for _, w := range tens[2:] {
		m[w] = true
	}
	return m
}()

func isApostrophe(r rune) bool { return r == '\'' || r == '’' || r == 'ʼ' }

func nextIsLetter(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLetter(r)
}

// numberEnd returns where the number starting at i ends: digits with
// thousands commas and one decimal point, and an ordinal suffix.
func numberEnd(s string, i int) int {
	j := i
	point := false
	for j < len(s) {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			j++
		case (c == ',' || c == '.') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' && !(c == '.' && point):
			point = point || c == '.'
			j++
		default:
			for _, suf := range []string{"st", "nd", "rd", "th"} {
				if strings.HasPrefix(strings.ToLower(s[j:]), suf) && !nextIsLetter(s[j+2:]) {
					return j + 2
				}
			}
			return j
		}
	}
	return j
}

var ones = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}

var tens = [...]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

var scales = [...]string{"", "thousand", "million", "billion", "trillion"}

// spellNumber spells a number token as words.
func spellNumber(tok string) []string {
	ordinal := false
	if l := len(tok); l > 2 && (tok[l-1] < '0' || tok[l-1] > '9') {
		tok, ordinal = tok[:l-2], true
	}
	var words []string
	intPart, frac, hasFrac := strings.Cut(tok, ".")
	switch {
	case strings.Contains(intPart, ","):
		words = cardinal(strings.ReplaceAll(intPart, ",", ""))
	case len(intPart) == 4 && !hasFrac && !ordinal:
		words = year(intPart)
	default:
		words = cardinal(intPart)
	}
	if hasFrac {
		words = append(words, "point")
		for _, d := range frac {
			if d >= '0' && d <= '9' { // a comma after the point is skipped
				words = append(words, ones[d-'0'])
			}
		}
	}
	if ordinal && len(words) > 0 {
		words[len(words)-1] = ordinalWord(words[len(words)-1])
	}
	return words
}

// cardinal spells digits as a cardinal, without the British "and"; over
// a trillion it reads the digits.
func cardinal(digits string) []string {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return []string{"zero"}
	}
	if len(digits) > 3*len(scales) {
		var out []string
		for _, d := range digits {
			out = append(out, ones[d-'0'])
		}
		return out
	}
	var groups []int
	for len(digits) > 0 {
		k := max(len(digits)-3, 0)
		g, _ := strconv.Atoi(digits[k:])
		groups = append(groups, g)
		digits = digits[:k]
	}
	var out []string
	for i := len(groups) - 1; i >= 0; i-- {
		if groups[i] == 0 {
			continue
		}
		out = append(out, under1000(groups[i])...)
		if i > 0 {
			out = append(out, scales[i])
		}
	}
	return out
}

func under1000(n int) []string {
	var out []string
	if n >= 100 {
		out = append(out, ones[n/100], "hundred")
		n %= 100
		if n == 0 {
			return out
		}
	}
	return append(out, under100(n)...)
}

func under100(n int) []string {
	switch {
	case n < 20:
		return []string{ones[n]}
	case n%10 == 0:
		return []string{tens[n/10]}
	}
	return []string{tens[n/10], ones[n%10]}
}

// year reads four digits as a year is read: "nineteen ninety nine",
// "two thousand five", "twenty twenty four", "nineteen hundred", "nineteen
// oh six".
func year(digits string) []string {
	y, _ := strconv.Atoi(digits)
	if digits[0] == '0' || y%1000 == 0 || (y >= 2000 && y < 2010) {
		return cardinal(digits)
	}
	hi, lo := y/100, y%100
	switch {
	case lo == 0:
		return append(under100(hi), "hundred")
	case lo < 10:
		return append(under100(hi), "oh", ones[lo])
	}
	return append(under100(hi), under100(lo)...)
}

var ordinals = map[string]string{"one": "first", "two": "second", "three": "third", "five": "fifth",
	"eight": "eighth", "nine": "ninth", "twelve": "twelfth"}

func ordinalWord(w string) string {
	switch {
	case ordinals[w] != "":
		return ordinals[w]
	case strings.HasSuffix(w, "y"):
		return w[:len(w)-1] + "ieth"
	}
	return w + "th"
}
