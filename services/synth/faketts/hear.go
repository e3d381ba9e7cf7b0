package faketts

import (
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// spoken is what the fake said in one response, kept by the hash of the
// audio so that its transcription endpoint can hear it.
type spoken struct {
	Text     string
	Duration float64 // seconds of audio
	Lead     float64 // seconds before the speech starts
	Trail    float64 // seconds after it ends
}

// heardWord is a word of a transcript with its times, in seconds.
type heardWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// homophones are words a recognizer writes for others that sound the same.
var homophones = map[string]string{
	"their": "there", "there": "their", "to": "too", "new": "knew", "right": "write", "week": "weak",
	"whole": "hole", "road": "rode", "sea": "see", "would": "wood", "hear": "here", "here": "hear",
	"rain": "reign", "sale": "sail", "mail": "male", "plane": "plain", "council": "counsel", "principal": "principle",
}

// HomophoneRate is the share of words with a homophone (in the fake's
// list) that its recognizer writes as the homophone. News text has about
// one such word in twenty, so about half a percent of words are misheard:
// a good recognizer's error rate on clean synthetic speech, of which
// homophones are much.
const HomophoneRate = 0.1

// hear transcribes what was said as a recognizer writes it: sentence case
// and punctuation as it hears them (dashes and semicolons become commas),
// numbers under a hundred said in words written in digits ("forty-two" is
// "42"), and now and then a homophone. Word times apportion the speech,
// between its lead and trail silence, by letters, with pauses at commas
// and sentence ends. The same audio is heard the same way every time.
func hear(sp spoken, seed uint64) (string, []heardWord) {
	h := fnv.New64a()
	h.Write([]byte(sp.Text))
	rnd := seed ^ h.Sum64()
	next := func() float64 { // splitmix64
		rnd += 0x9e3779b97f4a7c15
		z := rnd
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		return float64((z^(z>>31))>>11) / (1 << 53)
	}
	var out []string
	fields := strings.Fields(strings.NewReplacer("—", ", ", "–", ", ", ";", ",", " - ", ", ").Replace(sp.Text))
	for i := 0; i < len(fields); i++ {
		w := fields[i]
		if n, used, ok := digits(fields[i:]); ok {
			out = append(out, n)
			i += used - 1
			continue
		}
		core := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
		if hw, ok := homophones[strings.ToLower(core)]; ok && next() < HomophoneRate {
			if core != "" && unicode.IsUpper([]rune(core)[0]) {
				hw = strings.ToUpper(hw[:1]) + hw[1:]
			}
			w = strings.Replace(w, core, hw, 1)
		}
		out = append(out, w)
	}
	// Times: letters and pauses share the speaking time.
	weight := func(w string) float64 {
		x := float64(utf8.RuneCountInString(w)) + 1
		switch {
		case strings.ContainsAny(w[len(w)-1:], ".!?"):
			x += 6
		case strings.ContainsAny(w[len(w)-1:], ",:"):
			x += 3
		}
		return x
	}
	total := 0.0
	for _, w := range out {
		total += weight(w)
	}
	speak := math.Max(sp.Duration-sp.Lead-sp.Trail, 0.1)
	t := sp.Lead
	words := make([]heardWord, 0, len(out))
	for _, w := range out {
		d := speak * weight(w) / total
		letters := speak * (float64(utf8.RuneCountInString(w)) + 1) / total
		bare := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if bare != "" {
			words = append(words, heardWord{Word: bare, Start: round3(t), End: round3(t + letters)})
		}
		t += d
	}
	return strings.Join(out, " "), words
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

var (
	onesWords = map[string]int{"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
		"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
	tensWords = map[string]int{"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
)

// digits writes a number under a hundred said at the start of fields
// ("forty-two", "forty two", "seventeen") in digits, as recognizers do,
// keeping the punctuation after it, and says how many fields it took.
// "One" alone stays a word: it is a pronoun as often as a number.
func digits(fields []string) (string, int, bool) {
	split := func(w string) (string, string) {
		core := strings.TrimRightFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
		return strings.ToLower(core), w[len(core):]
	}
	first, punct := split(fields[0])
	if a, b, ok := strings.Cut(first, "-"); ok {
		if t, u := tensWords[a], onesWords[b]; t > 0 && u > 0 && u < 10 {
			return strconv.Itoa(t+u) + punct, 1, true
		}
		return "", 0, false
	}
	if t := tensWords[first]; t > 0 {
		if punct == "" && len(fields) > 1 {
			if second, p2 := split(fields[1]); onesWords[second] > 0 && onesWords[second] < 10 {
				return strconv.Itoa(t+onesWords[second]) + p2, 2, true
			}
		}
		return strconv.Itoa(t) + punct, 1, true
	}
	if u := onesWords[first]; u > 1 {
		return strconv.Itoa(u) + punct, 1, true
	}
	return "", 0, false
}
