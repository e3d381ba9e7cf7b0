package synth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
)

// MaxWord is the longest word, in letters, digits and marks, a voice is
// asked to read: the longest words of dictionaries are under 50, German
// compounds under 80, a SHA-256 in hex 64. A longer run is a pasted blob,
// and a provider reads it as gibberish, spells it for minutes, or fails.
const MaxWord = 100

// Readable returns an ErrUnreadable error, permanent, for text no voice can
// read: no letter or digit at all, or a word longer than MaxWord in a
// script written with spaces. With lang, the language of a voice that reads
// only its own language ("en" for espeak-ng's en-us or Polly's Joanna), it
// also refuses text mostly in a script that language is not written in,
// such as Arabic for an English voice; Latin letters pass for every voice,
// which read names and brands in them. These are found before any request,
// so they cost nothing.
func Readable(text, lang string) error {
	if err := readable(text, lang); err != nil {
		return fault.Permanent(fmt.Errorf("%w: %w", ErrUnreadable, err))
	}
	return nil
}

func readable(text, lang string) error {
	spoken, word, longest := 0, 0, ""
	start := 0
	for i, r := range text {
		inWord := unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
		if inWord {
			spoken++
			if word == 0 {
				start = i
			}
			if !unspaced(r) {
				word++
			}
		}
		if !inWord || unspaced(r) {
			if word > MaxWord && word > utf8.RuneCountInString(longest) {
				longest = text[start:i]
			}
			word = 0
		}
	}
	if word > MaxWord && word > utf8.RuneCountInString(longest) {
		longest = text[start:]
	}
	switch {
	case spoken == 0:
		return fmt.Errorf("it has no letters or digits (%s)", excerpt(text))
	case longest != "":
		return fmt.Errorf("it has a %d-character word (%s), longer than any word a voice reads", utf8.RuneCountInString(longest), excerpt(longest))
	}
	return checkScript(text, lang)
}

// unspaced reports whether r is of a script written without spaces
// between words, where a long run of letters is a sentence.
func unspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao,
		unicode.Khmer, unicode.Myanmar, unicode.Tibetan)
}

// scripts are the scripts each language is written in, for the languages
// whose voices read only their own; Latin is read by every voice.
var scripts = map[string][]*unicode.RangeTable{
	"en": nil, "de": nil, "fr": nil, "es": nil, "it": nil, "pt": nil, "nl": nil, "pl": nil, "cs": nil,
	"sk": nil, "sv": nil, "da": nil, "nb": nil, "no": nil, "fi": nil, "et": nil, "lv": nil, "lt": nil,
	"ro": nil, "hu": nil, "tr": nil, "hr": nil, "sl": nil, "is": nil, "ca": nil, "cy": nil, "ga": nil,
	"id": nil, "ms": nil, "vi": nil,
	"uk": {unicode.Cyrillic}, "ru": {unicode.Cyrillic}, "bg": {unicode.Cyrillic}, "sr": {unicode.Cyrillic},
	"mk": {unicode.Cyrillic}, "be": {unicode.Cyrillic}, "kk": {unicode.Cyrillic},
	"ar": {unicode.Arabic}, "fa": {unicode.Arabic}, "ur": {unicode.Arabic}, "he": {unicode.Hebrew},
	"el": {unicode.Greek}, "hi": {unicode.Devanagari}, "mr": {unicode.Devanagari}, "ne": {unicode.Devanagari},
	"zh": {unicode.Han}, "ja": {unicode.Han, unicode.Hiragana, unicode.Katakana}, "ko": {unicode.Hangul, unicode.Han},
	"th": {unicode.Thai}, "ka": {unicode.Georgian}, "hy": {unicode.Armenian}, "bn": {unicode.Bengali},
	"ta": {unicode.Tamil},
}

// checkScript refuses text whose letters are mostly in scripts lang is not
// written in.
func checkScript(text, lang string) error {
	own, known := scripts[lang]
	if !known {
		return nil // a voice for any language, or one this table does not know
	}
	letters, foreign := 0, map[string]int{}
	for _, r := range text {
		if !unicode.IsLetter(r) {
			continue
		}
		letters++
		if !unicode.Is(unicode.Latin, r) && !unicode.In(r, own...) {
			foreign[scriptOf(r)]++
		}
	}
	n, name := 0, ""
	for s, c := range foreign {
		n += c
		if c > foreign[name] || c == foreign[name] && s < name {
			name = s
		}
	}
	if 2*n <= letters {
		return nil
	}
	return fmt.Errorf("it is written in %s script, which a voice for the language %q does not read (%s); give the article's language, or a voice that reads it",
		name, lang, excerpt(text))
}

// scriptOf names r's script, as Unicode does.
func scriptOf(r rune) string {
	for name, t := range unicode.Scripts {
		if unicode.Is(t, r) {
			return name
		}
	}
	return "an unknown"
}

// excerpt quotes the start of s for an error message.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= 40 {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q…", string(r[:40]))
}
