package publish

import (
	"strings"
	"unicode/utf8"
)

// oneLine collapses every run of white space, line breaks included, to one
// space (titles and sentences are shown on one line, and a line break in a
// transcript cue would end the cue), and replaces what XML cannot carry.
func oneLine(s string) string { return xmlSafe(strings.Join(strings.Fields(s), " ")) }

// xmlSafe replaces what XML 1.0 cannot carry (invalid UTF-8, most control
// characters, U+FFFE and U+FFFF) with U+FFFD, so a stray byte in an
// article cannot make the feed unreadable.
func xmlSafe(s string) string {
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !xmlChar(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF && r != utf8.RuneError ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// clip shortens s to at most n runes, at a word boundary where one is near,
// marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := len(r)
	for i := len(r) - 1; i > n*3/4; i-- {
		if r[i] == ' ' {
			cut = i
			break
		}
	}
	return strings.TrimRight(string(r[:cut]), " ,;:") + "…"
}
