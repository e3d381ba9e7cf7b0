package clean

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/narrator-project/narrator/services/script"
)

// A standfirst is read right after the title, where a wrong one is heard
// at once, so it is taken only from where the article itself puts it: the
// element next to the headline inside the article's header, or the page's
// own description; and only when it is about the article (it shares its
// words), is no boilerplate and does not repeat the first paragraph. No
// standfirst is better than a wrong one.

// standfirstClass matches class names sites give to the summary under the
// headline.
var standfirstClass = regexp.MustCompile(`(?i)(?:^|[-_])(standfirst|dek|deck|sub-?title|sub-?headline|subhead|strapline|article-summary|summary|lede|lead|excerpt|intro|description|teaser-text|abstract|manchet|ingress|vorspann|chapeau|entradilla|sottotitolo|occhiello|resumo|lead-in)(?:$|[-_]|paragraph)`)

// Bounds of a standfirst: shorter is a kicker or a label, longer is body.
const (
	minStandfirstChars = 25
	maxStandfirstChars = 500
	// headerBlocks is how many blocks of text after the headline are looked
	// at: a byline, a date, a picture's caption, then the standfirst.
	headerBlocks = 8
)

// standfirstCandidates returns, best first, the texts that may be the
// standfirst: the one next to the headline, then the page's descriptions.
// They are checked against the article by pickStandfirst.
func standfirstCandidates(doc *html.Node, h1 *html.Node) []standCandidate {
	var out []standCandidate
	if h1 != nil {
		if t := headerStandfirst(h1); t != "" {
			out = append(out, standCandidate{text: t, header: true})
		}
	}
	for _, d := range pageDescriptions(doc) {
		out = append(out, standCandidate{text: d})
	}
	return out
}

// standCandidate is a possible standfirst and where it came from.
type standCandidate struct {
	text   string
	header bool // next to the headline, rather than the page's description
}

// headline returns the article's headline element: the <h1> whose text
// the page's own title metadata holds, else the first <h1> inside an
// <article> or <main>, else the first <h1>.
func headline(doc *html.Node) *html.Node {
	titles := pageTitles(doc)
	var first, inArticle, matched *html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || skipTags[tagOf(c)] {
				continue
			}
			if tagOf(c) == atom.H1 {
				t := collapse(textOf(c))
				if t == "" {
					continue
				}
				if first == nil {
					first = c
				}
				if inArticle == nil && (hasAncestor(c, atom.Article) || hasAncestor(c, atom.Main)) {
					inArticle = c
				}
				for _, tt := range titles {
					if matched == nil && containsWords(tt, t) {
						matched = c
					}
				}
				continue
			}
			rec(c)
		}
	}
	rec(doc)
	switch {
	case matched != nil:
		return matched
	case inArticle != nil:
		return inArticle
	}
	return first
}

// headerStandfirst returns the standfirst next to the headline h1: the
// first substantial block of text after it, skipping bylines, dates and
// pictures, when its class or itemprop names it a summary, or when it is
// a subheading (an <h2>) right after the headline. Text inside a link
// (another article's headline), a form or page furniture is never one.
func headerStandfirst(h1 *html.Node) string {
	title := collapse(textOf(h1))
	seen := 0
	var found string
	done := false
	var visit func(n *html.Node)
	visit = func(n *html.Node) {
		for c := n; c != nil && !done; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			a := tagOf(c)
			if skipTags[a] || hidden(c) || a == atom.Figure || a == atom.Figcaption || a == atom.Img {
				continue
			}
			if hasBlockChild(c) {
				visit(c.FirstChild)
				continue
			}
			if !blockTags[a] && a != atom.Span {
				continue
			}
			t := collapse(textOf(c))
			if len(t) < minStandfirstChars || bylineLine.MatchString(t) || metaLine(c, t) {
				continue // a kicker, a byline, a date
			}
			seen++
			if seen > headerBlocks || len(t) > maxStandfirstChars {
				done = true
				return
			}
			if notStandfirstPlace(c) || strings.Contains(words(t), words(title)) {
				continue
			}
			if namedStandfirst(c) || a == atom.H2 && seen == 1 {
				found, done = t, true
				return
			}
			// The first substantial block is neither: the header has
			// ended, and the body (or something else) begun.
			done = true
			return
		}
	}
	// Walk what follows the headline in document order: its later
	// siblings, then its ancestors' later siblings.
	for n := h1; n != nil && !done; n = n.Parent {
		if n.NextSibling != nil {
			visit(n.NextSibling)
		}
		if tagOf(n) == atom.Body {
			break
		}
	}
	return found
}

// hasBlockChild reports whether n holds a block element with text.
func hasBlockChild(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && !skipTags[tagOf(c)] && (blockTags[tagOf(c)] || hasBlockChild(c)) &&
			strings.TrimSpace(textOf(c)) != "" {
			return true
		}
	}
	return false
}

// namedStandfirst reports whether an element, or an ancestor up to its
// header, is named as the article's summary.
func namedStandfirst(n *html.Node) bool {
	for p, depth := n, 0; p != nil && depth < 4; p, depth = p.Parent, depth+1 {
		switch tagOf(p) {
		case atom.Article, atom.Main, atom.Body, atom.Header:
			return depthNamed(p)
		}
		if depthNamed(p) {
			return true
		}
	}
	return false
}

func depthNamed(n *html.Node) bool {
	if ip := attr(n, "itemprop"); strings.Contains(ip, "description") || strings.Contains(ip, "alternativeHeadline") {
		return true
	}
	for _, w := range strings.Fields(attr(n, "class") + " " + attr(n, "id")) {
		if standfirstClass.MatchString(w) {
			return true
		}
	}
	return false
}

// notStandfirstPlace reports whether n sits where no standfirst does: in
// a link, a form, navigation, an aside, a footer, a dialog, or an element
// named as boilerplate.
func notStandfirstPlace(n *html.Node) bool {
	for p := n; p != nil; p = p.Parent {
		switch tagOf(p) {
		case atom.A, atom.Form, atom.Nav, atom.Aside, atom.Footer, atom.Dialog, atom.Button, atom.Label:
			return true
		case atom.Article, atom.Main, atom.Body:
			return false
		}
		if p.Type == html.ElementNode && isBoilerElement(p, false) {
			return true
		}
	}
	return false
}

// metaClass matches the class names of bylines, dates and other article
// metadata shown between a headline and its standfirst.
var metaClass = regexp.MustCompile(`(?i)author|byline|date|time|meta|kicker|eyebrow|label|category|breadcrumb|credit|caption|tags?\b`)

// metaLine reports whether a block is article metadata: named so, or a
// date line.
func metaLine(n *html.Node, text string) bool {
	if metaClass.MatchString(attr(n, "class")) && !depthNamed(n) {
		return true
	}
	return tagOf(n) == atom.Time || dateLine.MatchString(text)
}

// dateLine matches a block that is a date or an update stamp.
var dateLine = regexp.MustCompile(`(?i)^(?:(?:updated|published|posted|last updated)\b.{0,50}|[\w ,.:]{0,20}\b(?:19|20)\d\d\b[\w ,.:]{0,30}(?:am|pm|a\.m\.|p\.m\.|gmt|utc|[ecmp][sd]t|bst|cet)?)$`)

// pageTitles returns the headlines the page declares in metadata.
func pageTitles(doc *html.Node) []string {
	return declaredOf(doc).headlines
}

// pageDescriptions returns the page's own descriptions of its article,
// best first: og:description, description, twitter:description.
func pageDescriptions(doc *html.Node) []string {
	byKey := map[string]string{}
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && tagOf(n) == atom.Meta {
			key := strings.ToLower(attr(n, "property") + attr(n, "name"))
			if _, ok := byKey[key]; !ok {
				byKey[key] = collapse(attr(n, "content"))
			}
		}
		if tagOf(n) == atom.Body {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	var out []string
	for _, k := range []string{"og:description", "description", "twitter:description"} {
		if d := byKey[k]; d != "" && !containsString(out, d) {
			out = append(out, d)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Shares of a standfirst's content words the article must hold for the
// standfirst to be about it: a header standfirst is where the article put
// it, a description is only metadata, so it must match more closely.
const (
	headerOverlap      = 0.3
	descriptionOverlap = 0.5
)

// pickStandfirst returns the first candidate that belongs to the
// article s, or "". firstRepeated says the page printed the body's first
// paragraph twice (as a summary and as the paragraph): it stays in the
// body then, and no standfirst repeats it.
func pickStandfirst(cands []standCandidate, s *script.Script, firstRepeated bool) string {
	paras := s.Paragraphs()
	inBody := func(t string) bool {
		for _, sec := range s.Sections {
			if sameText(sec.Heading, t) {
				return true
			}
			for _, b := range sec.Blocks {
				if sameText(b.Text, t) {
					return true
				}
			}
		}
		return false
	}
	article := s.Title + " " + strings.Join(paras, " ")
	var lead string
	if len(paras) > 0 {
		lead = strings.Join(paras[:min(2, len(paras))], " ")
	}
	for _, c := range cands {
		t := c.text
		n := utf8.RuneCountInString(t)
		switch {
		case n < minStandfirstChars || n > maxStandfirstChars:
		case c.header && !firstRepeated && firstBlockIs(s, t):
			// extraction took the header's standfirst for the first
			// paragraph: it moves up, and is read once
			s.Sections[0].Blocks = s.Sections[0].Blocks[1:]
			return t
		case inBody(t):
			// the body holds it: it is read there, once
			return ""
		case truncated(t):
			// an excerpt cut off mid-sentence: the body is read in full
		case isBoilerplate(t) || standfirstJunk.MatchString(t):
		case sameText(t, s.Title) || containsWords(t, s.Title) || containsWords(s.Title, t):
		case repeats(t, lead):
			// read once, in the body
		default:
			need := descriptionOverlap
			if c.header {
				need = headerOverlap
			}
			if overlap(t, article) >= need {
				return t
			}
		}
	}
	return ""
}

// truncated reports whether a text ends cut off ("…", "...", "[…]").
func truncated(t string) bool {
	t = strings.TrimSpace(t)
	return strings.HasSuffix(t, "...") || strings.HasSuffix(t, "…") || strings.HasSuffix(t, "[…]") || strings.HasSuffix(t, "[...]")
}

// repeats reports whether most of text is already in lead.
func repeats(text, lead string) bool {
	if lead == "" {
		return false
	}
	if containsWords(lead, text) {
		return true
	}
	return inReference(text, lead)
}

// standfirstJunk matches what sites put in summary-named elements that is
// not a summary of the article: site descriptions, cookie and newsletter
// text, author and publisher bios, player and interface text.
var standfirstJunk = regexp.MustCompile(`(?i)` + strings.Join([]string{
	`\b(?:uses?|accept|our) cookies\b`, `\bcookie (?:policy|settings)\b`, `\bnewsletters?\b`, `\bsubscribe\b`,
	`\bsign up (?:for|to) (?:our|the)\b`, `\b(?:become|join as) a (?:member|subscriber)\b`, `\bmembership\b`,
	`\bdialog\b`, `\bmodal\b`, `\bwindow\b.*\bclose\b`, `\bfollow (?:us|me)\b`, `\bour (?:website|site|online|app)\b`,
	`\bthis (?:website|site|page)\b`, `\b(?:is|are) (?:an?|the) (?:independent|leading|network of|award-winning)\b`,
	`\bjoin(?:ed)? (?:us|our .{1,30}|in \d{4})\b`, `\bcovers? .{1,40} for \p{Lu}`, `\bwrit(?:es|ing) about\b`,
	`\b(?:earn|receive|get) (?:a )?commission\b`, `\bclick\b`, `\b(?:title|subtitle|visibility)\b.*\bas needed\b`,
	`\bplay (?:right )?from\b`, `\bonline games\b`, `@\w+\.\w+`, `\bhttps?://`, `\b(?:e-?mail|contact) (?:us|him|her|me)\b`,
}, "|"))

// stopwords are frequent words that say nothing about what an article is
// about; they are left out when comparing a standfirst with the article.
var stopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`about after again also among been before being between both could does doing
		down during each even every from further have having here into just like made make many more most much must
		only other over said same should since some such than that their them then there these they this those
		through under until upon very were what when where which while will with would your year years says told
		news`) {
		stopwords[w] = true
	}
}

// contentWords returns the lower-cased words of four or more letters that
// are not stop words.
func contentWords(s string) []string {
	var out []string
	for _, w := range wordRE.FindAllString(strings.ToLower(s), -1) {
		if utf8.RuneCountInString(w) >= 4 && !stopwords[w] && !unicode.IsDigit([]rune(w)[0]) {
			out = append(out, w)
		}
	}
	return out
}

// overlap returns the share of text's content words that the article
// uses, a word matching when the article holds it or shares its first
// five letters (plural, tense).
func overlap(text, article string) float64 {
	ws := contentWords(text)
	if len(ws) == 0 {
		return 0
	}
	have := map[string]bool{}
	for _, w := range contentWords(article) {
		have[w] = true
		have[stem(w)] = true
	}
	n := 0
	for _, w := range ws {
		if have[w] || have[stem(w)] {
			n++
		}
	}
	return float64(n) / float64(len(ws))
}

func stem(w string) string {
	r := []rune(w)
	return "~" + string(r[:min(5, len(r))])
}

// firstBlockIs reports whether the body's first block is text.
func firstBlockIs(s *script.Script, text string) bool {
	return len(s.Sections) > 0 && s.Sections[0].Heading == "" && len(s.Sections[0].Blocks) > 1 &&
		sameText(s.Sections[0].Blocks[0].Text, text)
}
