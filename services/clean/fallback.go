package clean

import (
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// When extraction finds no article container it returns the page's whole
// text as one block, navigation and footer included. Pages that set their
// body in <div>s rather than <p>s get there (common outside English), so
// the article is then looked for under the headline instead: the blocks
// of text that follow the <h1> within the nearest ancestor that holds a
// real amount of text that is not links.

// minFallbackChars is the non-link text an ancestor of the headline must
// hold after it to be taken for the article.
const minFallbackChars = 300

// headlineBlocks returns the blocks of text after the headline in the
// smallest ancestor of it holding minFallbackChars of non-link text, or
// nil.
func headlineBlocks(doc *html.Node, al *aligner) []rawBlock {
	h1 := headline(doc)
	if h1 == nil {
		return nil
	}
	for anc := h1.Parent; anc != nil && tagOf(anc) != atom.Body && tagOf(anc) != atom.Html; anc = anc.Parent {
		var leaves []*html.Node
		after := false
		var rec func(*html.Node)
		rec = func(n *html.Node) {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c == h1 {
					after = true
					continue
				}
				if c.Type != html.ElementNode || skipTags[tagOf(c)] || hidden(c) {
					continue
				}
				if hasBlockChild(c) {
					rec(c)
					continue
				}
				if after && blockTags[tagOf(c)] && strings.TrimSpace(textOf(c)) != "" {
					leaves = append(leaves, c)
				}
			}
		}
		rec(anc)
		var out []rawBlock
		plain := 0.0
		for _, n := range leaves {
			text, links, at := al.restore(collapse(textOf(n)))
			kind := kindParagraph
			level := 0
			switch tagOf(n) {
			case atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
				kind, level = kindHeading, int(n.Data[1]-'0')
			case atom.Blockquote:
				kind = kindQuote
			case atom.Li:
				kind = kindListItem
			}
			out = append(out, rawBlock{kind: kind, level: level, text: text, links: links, at: at})
			plain += float64(len(text)) * (1 - links)
		}
		if plain >= minFallbackChars {
			return out
		}
	}
	return nil
}

// pageTextStats measures the visible text of a page: its length and the
// share of it inside links.
func pageTextStats(doc *html.Node) (chars int, linkShare float64) {
	al := newAligner(doc)
	if len(al.link) == 0 {
		return 0, 0
	}
	n := 0
	for _, l := range al.link {
		if l {
			n++
		}
	}
	return len(al.sq), float64(n) / float64(len(al.link))
}

var paywallRE = regexp.MustCompile(`(?i)\b(?:subscribe|log ?in|sign ?in|register) to (?:continue|read|keep reading|unlock)|this (?:article|content) is (?:for|available to) (?:subscribers|members)`)

// whyNoArticle says, in words an editor can act on, why a page yielded no
// article.
func whyNoArticle(doc *html.Node) string {
	chars, links := pageTextStats(doc)
	text := collapse(textOf(doc))
	switch {
	case chars < minFallbackChars && hasScripts(doc):
		return fmt.Sprintf("the page builds its content with JavaScript, and its HTML holds only %d characters of text: give the article's HTML or text instead", chars)
	case paywallRE.MatchString(text):
		return "the article is behind a paywall or a login, and the page holds only its teaser"
	case links >= 0.5:
		return fmt.Sprintf("%.0f%% of the page's text is links: it looks like a home, section or index page, not an article", 100*links)
	}
	return fmt.Sprintf("no block of the page's %d characters of text reads as an article's paragraphs", chars)
}

// hasScripts reports whether a page loads scripts or asks for them.
func hasScripts(doc *html.Node) bool {
	if tagOf(doc) == atom.Noscript || tagOf(doc) == atom.Script && attr(doc, "src") != "" {
		return true
	}
	for c := doc.FirstChild; c != nil; c = c.NextSibling {
		if hasScripts(c) {
			return true
		}
	}
	return false
}
