package clean

import (
	"strings"
	"unicode"

	"github.com/RadhiFadlillah/whatlanggo"

	"github.com/narrator-project/narrator/services/script"
)

// langSample bounds the text given to the language detector: a few
// paragraphs decide it, and trigram counting is linear in the text.
const langSample = 4000

// detectLanguage returns the BCP 47 primary tag of the script's language,
// or the script's own Language when the text does not decide it.
func detectLanguage(s script.Script) string {
	var b strings.Builder
	b.WriteString(s.Title)
	for _, p := range s.Paragraphs() {
		if b.Len() > langSample {
			break
		}
		b.WriteString("\n")
		b.WriteString(p)
	}
	return DetectLanguage(b.String(), s.Language)
}

// DetectLanguage returns the primary language tag ("en", "uk") of text, or
// fallback when the text is too short or too mixed to tell. Cyrillic text
// is told apart by the letters only Ukrainian or only Russian uses, which
// is more reliable than trigrams on short news text.
func DetectLanguage(text, fallback string) string {
	text = text[:min(len(text), langSample*2)]
	var cyr, lat, uk, ru int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyr++
			switch unicode.ToLower(r) {
			case 'і', 'ї', 'є', 'ґ':
				uk++
			case 'ы', 'э', 'ъ', 'ё':
				ru++
			}
		case unicode.Is(unicode.Latin, r):
			lat++
		}
	}
	if cyr > lat && cyr >= 20 {
		switch {
		case uk > ru:
			return "uk"
		case ru > uk:
			return "ru"
		}
	}
	if cyr+lat < 20 {
		return fallback
	}
	info := whatlanggo.Detect(text)
	if info.Confidence < 0.2 && fallback != "" {
		return fallback
	}
	if code := info.Lang.Iso6391(); code != "" {
		return code
	}
	return fallback
}
