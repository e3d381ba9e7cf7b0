package faketts

import (
	"regexp"
	"slices"
	"strings"
)

// Faults of what is said: the speech is real and well formed, but it does
// not say the text, as instruction-following models sometimes do.
const (
	DropSentence Fault = "drop"       // a sentence in the middle is left out
	RepeatPhrase Fault = "repeat"     // a phrase is said twice
	WrongNumber  Fault = "number"     // a number is said as another
	StopEarly    Fault = "stop_early" // the speech ends two fifths before the text does
)

// misspeaks says which faults change what is said.
var misspeaks = []Fault{DropSentence, RepeatPhrase, WrongNumber, StopEarly}

var sentenceEnd = regexp.MustCompile(`[.!?]["'”’)]*\s+`)

// misspeak returns text as a speech service at fault says it.
func misspeak(text string, f Fault) string {
	words := strings.Fields(text)
	n := len(words)
	switch f {
	case DropSentence:
		var sents []string
		last := 0
		for _, m := range sentenceEnd.FindAllStringIndex(text, -1) {
			sents = append(sents, text[last:m[1]])
			last = m[1]
		}
		if last < len(text) {
			sents = append(sents, text[last:])
		}
		if len(sents) >= 2 {
			return strings.TrimSpace(strings.Join(slices.Delete(sents, len(sents)/2, len(sents)/2+1), ""))
		}
		// One sentence: its middle third, as a clause, is what is lost.
		return strings.Join(slices.Delete(words, n/3, 2*n/3), " ")
	case RepeatPhrase:
		at := n / 2
		phrase := words[at:min(at+5, n)]
		return strings.Join(slices.Concat(words[:at+len(phrase)], []string{strings.TrimRight(strings.Join(phrase, " "), ",.;:!?") + ","}, words[at+len(phrase):]), " ")
	case WrongNumber:
		for i, w := range words {
			if other, ok := otherNumber(w); ok {
				words[i] = other
				return strings.Join(words, " ")
			}
		}
		return text // nothing to misread
	case StopEarly:
		return strings.Join(words[:max(n*3/5, 1)], " ")
	}
	return text
}

var numberWords = []string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million"}

// otherNumber returns a number said in place of w, keeping its
// punctuation, if w is a number.
func otherNumber(w string) (string, bool) {
	core := strings.TrimRight(w, ",.;:!?\"')")
	head, _, _ := strings.Cut(core, "-") // "forty-two": the tens are misread
	if i := slices.Index(numberWords, strings.ToLower(head)); i >= 0 {
		return numberWords[(i+3)%len(numberWords)] + w[len(head):], true
	}
	if core != "" && strings.Trim(core, "0123456789") == "" {
		b := []byte(core)
		b[0] = '1' + (b[0]-'0'+1)%9
		return string(b) + w[len(core):], true
	}
	return "", false
}
