package clean

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/narrator-project/narrator/services/script"
)

// toUTF8 returns text as UTF-8; bytes that are not valid UTF-8 are read as
// Windows-1252, the usual encoding of text that is not.
func toUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// collapse turns every run of white space into one space and drops
// invisible characters (soft hyphens, zero-width spaces, direction marks)
// that would otherwise split words for the speech engine.
func collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch runeClass(r) {
		case runeDrop:
			continue
		case runeSpace:
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

const (
	runeKeep = iota
	runeSpace
	runeDrop
)

// runeClass says whether collapse keeps a rune, reads it as white space,
// or drops it.
func runeClass(r rune) int {
	switch {
	case r == '\u00ad' || r == '\u200b' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\ufeff' ||
		r == '\u200e' || r == '\u200f' || r == utf8.RuneError:
		return runeDrop
	case unicode.IsSpace(r) || r == '\u00a0' || r == '\u202f' || r == '\u2007':
		return runeSpace
	case unicode.IsControl(r):
		return runeDrop
	}
	return runeKeep
}

// paragraphsOf splits plain text into paragraphs: at blank lines when the
// text has any, otherwise at every line break.
func paragraphsOf(text string) []string {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	var parts []string
	if blankLine.MatchString(text) {
		parts = blankLine.Split(text, -1)
	} else {
		parts = strings.Split(text, "\n")
	}
	var out []string
	for _, p := range parts {
		if p = collapse(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var blankLine = regexp.MustCompile(`\n[ \t]*\n`)

var bylineRE = regexp.MustCompile(`(?i)^(by|від|автор(ка)?:?)\s+\p{Lu}`)

// parseText reads plain text. The title is the request's title when one
// is given, and then every paragraph is body; otherwise the first line is
// the title when it reads as a headline and something follows it. A
// leading "By ..." line is the byline, the rest are paragraphs.
func parseText(text, title string) script.Script {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	text = strings.TrimLeft(text, " \t\n")
	first, rest, _ := strings.Cut(text, "\n")
	var s script.Script
	switch {
	case title != "":
		if sameText(first, title) {
			text = rest // the given title, repeated as the text's first line
		}
	case looksLikeHeadline(collapse(first)) && strings.TrimSpace(rest) != "":
		s.Title, text = collapse(first), rest
	}
	paras := paragraphsOf(text)
	if len(paras) > 1 && len(paras[0]) < 120 && bylineRE.MatchString(paras[0]) {
		s.Byline = paras[0]
		paras = paras[1:]
	}
	sec := script.Section{}
	for _, p := range paras {
		sec.Blocks = append(sec.Blocks, script.Block{Kind: script.Paragraph, Text: p})
	}
	s.Sections = []script.Section{sec}
	return s
}

// maxHeadlineChars and maxHeadlineWords bound a line read as a headline.
const (
	maxHeadlineChars = 150
	maxHeadlineWords = 20
)

// looksLikeHeadline reports whether a line of text reads as a headline
// rather than as the article's first sentence: short, and not ending as
// a sentence or a clause does (a full stop, comma, colon or ellipsis). A
// question or an exclamation can be a headline.
func looksLikeHeadline(line string) bool {
	if line == "" || utf8.RuneCountInString(line) > maxHeadlineChars || len(strings.Fields(line)) > maxHeadlineWords {
		return false
	}
	end := strings.TrimRight(line, "\"'”’»)] ")
	if end == "" {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(end)
	return !strings.ContainsRune(".,;:…", last)
}

var (
	mdHeading  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	mdSetext   = regexp.MustCompile(`^(=+|-+)\s*$`)
	mdList     = regexp.MustCompile(`^\s*(?:[-*+]|\d{1,3}[.)])\s+(.*)$`)
	mdQuote    = regexp.MustCompile(`^\s*>\s?(.*)$`)
	mdImage    = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdRefLink  = regexp.MustCompile(`\[([^\]]+)\]\[[^\]]*\]`)
	mdEmph     = regexp.MustCompile(`(\*\*|__|\*|_|~~)(\S(?:.*?\S)?)(\*\*|__|\*|_|~~)`)
	mdCode     = regexp.MustCompile("`+([^`]*)`+")
	mdRule     = regexp.MustCompile(`^\s*([-*_])(\s*([-*_])){2,}\s*$`)
	mdRefDef   = regexp.MustCompile(`^\s*\[[^\]]+\]:\s*\S+`)
	mdHTMLTag  = regexp.MustCompile(`</?[a-zA-Z][^>]*>`)
	mdFenceRE  = regexp.MustCompile("^\\s*(```|~~~)")
	mdFrontKey = regexp.MustCompile(`^title:\s*["']?(.*?)["']?\s*$`)
)

// inlineMarkdown strips inline markup, keeping the words: link text stays,
// images go (their alt text is a caption), emphasis and code marks go.
func inlineMarkdown(s string) string {
	s = mdImage.ReplaceAllString(s, "")
	s = mdLink.ReplaceAllString(s, "$1")
	s = mdRefLink.ReplaceAllString(s, "$1")
	s = mdCode.ReplaceAllString(s, "$1")
	for range 3 { // nested emphasis: ***a*** is * inside **
		s = mdEmph.ReplaceAllString(s, "$2")
	}
	s = mdHTMLTag.ReplaceAllString(s, "")
	return collapse(s)
}

// parseMarkdown reads Markdown: the request's title when given, else the
// first # heading (or a first paragraph that reads as a headline) is the
// title; ## and deeper headings start sections, > lines are quotes and list
// items are read one by one. Code blocks are skipped: they are not read
// aloud.
func parseMarkdown(text, title string) script.Script {
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
	lines := strings.Split(text, "\n")
	s := script.Script{Title: title}
	// YAML front matter may carry the title.
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == "---" {
		for i := 1; i < len(lines); i++ {
			if t := strings.TrimSpace(lines[i]); t == "---" || t == "..." {
				lines = lines[i+1:]
				break
			} else if m := mdFrontKey.FindStringSubmatch(t); m != nil && title == "" {
				s.Title = collapse(m[1])
			}
		}
	}
	cur := script.Section{}
	var para []string
	kind := script.Paragraph
	flush := func() {
		if t := inlineMarkdown(strings.Join(para, " ")); t != "" {
			cur.Blocks = append(cur.Blocks, script.Block{Kind: kind, Text: t})
		}
		para, kind = nil, script.Paragraph
	}
	heading := func(level int, t string) {
		flush()
		t = inlineMarkdown(t)
		if t == "" || sameText(t, title) {
			return
		}
		if s.Title == "" && len(s.Sections) == 0 && len(cur.Blocks) == 0 {
			s.Title = t
			return
		}
		if level == 1 && s.Title == "" {
			s.Title = t
			return
		}
		if len(cur.Blocks) > 0 || cur.Heading != "" {
			s.Sections = append(s.Sections, cur)
		}
		cur = script.Section{Heading: t}
	}
	fence := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if mdFenceRE.MatchString(line) {
			flush()
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			flush()
		case mdRefDef.MatchString(line):
			flush()
		case mdHeading.MatchString(trimmed) && !strings.HasPrefix(line, "    "):
			m := mdHeading.FindStringSubmatch(trimmed)
			heading(len(m[1]), m[2])
		case mdRule.MatchString(line) && len(para) == 0:
			flush()
		case mdSetext.MatchString(trimmed) && len(para) > 0:
			level := 1
			if trimmed[0] == '-' {
				level = 2
			}
			t := strings.Join(para, " ")
			para = nil
			heading(level, t)
		case mdQuote.MatchString(line):
			if kind != script.Quote {
				flush()
				kind = script.Quote
			}
			q := mdQuote.FindStringSubmatch(line)[1]
			if strings.TrimSpace(q) == "" {
				flush()
				kind = script.Quote
				continue
			}
			para = append(para, q)
		case mdList.MatchString(line):
			flush()
			kind = script.ListItem
			para = append(para, mdList.FindStringSubmatch(line)[1])
		default:
			if kind == script.Quote {
				flush()
			}
			para = append(para, trimmed)
		}
	}
	flush()
	if len(cur.Blocks) > 0 || cur.Heading != "" {
		s.Sections = append(s.Sections, cur)
	}
	if s.Title == "" && len(s.Sections) > 0 && s.Sections[0].Heading == "" && len(s.Sections[0].Blocks) > 1 &&
		s.Sections[0].Blocks[0].Kind == script.Paragraph && looksLikeHeadline(s.Sections[0].Blocks[0].Text) {
		s.Title = s.Sections[0].Blocks[0].Text
		s.Sections[0].Blocks = s.Sections[0].Blocks[1:]
	}
	// A leading "By ..." paragraph is the byline.
	if len(s.Sections) > 0 && s.Sections[0].Heading == "" && len(s.Sections[0].Blocks) > 0 {
		b := s.Sections[0].Blocks[0]
		if b.Kind == script.Paragraph && len(b.Text) < 120 && bylineRE.MatchString(b.Text) && s.Chars() > len(b.Text) {
			s.Byline = b.Text
			s.Sections[0].Blocks = s.Sections[0].Blocks[1:]
		}
	}
	if len(s.Sections) == 0 {
		s.Sections = []script.Section{{}}
	}
	return s
}
