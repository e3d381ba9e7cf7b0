package clean

import (
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Extraction picks one container as the article. When a site splits the
// body across several containers, or breaks it with promos, it keeps only
// the first part. recoverBody finds the article's container from the
// paragraphs extraction kept, and puts back, in page order, the
// paragraphs of that container it left out. They then pass the same
// boilerplate filters as the rest.

// articleContainerClass matches the class or id of an element that holds
// an article's body.
var articleContainerClass = regexp.MustCompile(`(?i)(?:^|[-_])(?:article|story|post|entry|news|content|main)[-_]*(?:body|content|text|copy|main|inner|container|wrapper|detail|article)(?:$|[-_])|^(?:article|story|post|entry)(?:$|[-_]{1,2}(?:body|content|text))|articlebody|storybody|richtext|rich-text|body-?text|prose`)

// minRecoveredChars is the least text a left-out paragraph must have to be
// put back: shorter ones are labels, captions and bylines as often as not.
const minRecoveredChars = 60

// recoverBody returns blocks with the article paragraphs that extraction
// left out of the article's container put back in page order.
func recoverBody(blocks []rawBlock, a *aligner) []rawBlock {
	if a == nil || len(blocks) == 0 {
		return blocks
	}
	type span struct{ from, to int }
	var covered []span
	for _, b := range blocks {
		if b.at >= 0 {
			n := len(strings.Join(strings.Fields(b.text), ""))
			covered = append(covered, span{b.at, b.at + n})
		}
	}
	overlaps := func(s [2]int) bool {
		for _, c := range covered {
			if s[0] < c.to && c.from < s[1] {
				return true
			}
		}
		return false
	}
	var kept []*html.Node
	for n, s := range a.spans {
		if tagOf(n) == atom.P && overlaps(s) {
			kept = append(kept, n)
		}
	}
	if len(kept) == 0 {
		return blocks
	}
	roots := articleScope(lowestCommonAncestor(kept))
	if len(roots) == 0 {
		return blocks
	}
	// Paragraphs of one body share their container's kind: a promo or an
	// appeal inside the article sits in a box of its own.
	parents := map[string]bool{}
	for _, n := range kept {
		parents[signature(n.Parent)] = true
	}
	var extra []rawBlock
	for n, s := range a.spans {
		if tagOf(n) != atom.P || overlaps(s) || s[1] <= s[0] || !(parents[signature(n.Parent)] || tagOf(n.Parent) == atom.Blockquote) || !within(n, roots) || !recoverable(n) {
			continue
		}
		text := a.page[a.pos[s[0]] : a.pos[s[1]-1]+1]
		if len(text) < minRecoveredChars {
			continue
		}
		links := 0
		for _, l := range a.link[s[0]:s[1]] {
			if l {
				links++
			}
		}
		share := float64(links) / float64(s[1]-s[0])
		if share >= 0.5 {
			continue
		}
		kind := kindParagraph
		if hasAncestor(n, atom.Blockquote) {
			kind = kindQuote
		}
		extra = append(extra, rawBlock{kind: kind, text: text, links: share, at: s[0]})
	}
	if len(extra) == 0 {
		return blocks
	}
	// Blocks not found in the page keep their place after the block
	// before them.
	out := make([]rawBlock, 0, len(blocks)+len(extra))
	last := -1
	for _, b := range blocks {
		if b.at < 0 {
			b.at = last
		}
		last = b.at
		out = append(out, b)
	}
	out = append(out, extra...)
	slices.SortStableFunc(out, func(x, y rawBlock) int { return x.at - y.at })
	return out
}

// signature names an element by its tag and class.
func signature(n *html.Node) string {
	if n == nil {
		return ""
	}
	return n.Data + "." + strings.Join(strings.Fields(attr(n, "class")), ".")
}

// articleScope returns the elements that hold the article around n: its
// nearest ancestor that is an <article>, a <main>, itemprop articleBody
// or named as an article body, else n itself; with, in either case, the
// siblings of the same tag and class, which are the other parts of a body
// split into several containers.
func articleScope(n *html.Node) []*html.Node {
	if n == nil {
		return nil
	}
	scope, named := n, false
	for p := n; p != nil; p = p.Parent {
		if t := tagOf(p); t == atom.Body || t == atom.Html {
			break
		}
		if namedContainer(p) {
			scope, named = p, true
			break
		}
	}
	roots := []*html.Node{scope}
	if attr(scope, "class") != "" && scope.Parent != nil {
		// The other parts of a split body carry the same tag and class,
		// as siblings or further down the same article (a part may be
		// wrapped in a row of its own). Another <article> on the page is
		// another article, whatever its classes.
		region, home := scope.Parent, articleOf(scope)
		if named {
			region = home
			if region == nil {
				region = ancestor(scope, atom.Main, atom.Body)
			}
		}
		sig := signature(scope)
		var rec func(*html.Node)
		rec = func(r *html.Node) {
			for c := r.FirstChild; c != nil; c = c.NextSibling {
				if c.Type != html.ElementNode {
					continue
				}
				if c != scope && signature(c) == sig && articleOf(c) == home {
					roots = append(roots, c)
					continue
				}
				rec(c)
			}
		}
		if region != nil {
			rec(region)
		}
	}
	if !named && len(roots) == 1 {
		return nil // nothing says where the article is
	}
	return roots
}

// articleOf returns n's nearest <article> ancestor, or nil.
func articleOf(n *html.Node) *html.Node {
	return ancestor(n, atom.Article)
}

// ancestor returns n's nearest ancestor with one of the tags, or nil.
func ancestor(n *html.Node, tags ...atom.Atom) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if slices.Contains(tags, tagOf(p)) {
			return p
		}
	}
	return nil
}

// namedContainer reports whether an element says it holds an article.
func namedContainer(n *html.Node) bool {
	switch tagOf(n) {
	case atom.Article, atom.Main:
		return true
	}
	if strings.Contains(attr(n, "itemprop"), "articleBody") {
		return true
	}
	for _, w := range strings.Fields(attr(n, "class") + " " + attr(n, "id")) {
		if articleContainerClass.MatchString(w) {
			return true
		}
	}
	return false
}

// within reports whether n is inside one of roots.
func within(n *html.Node, roots []*html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if slices.Contains(roots, p) {
			return true
		}
	}
	return false
}

// recoverable reports whether a paragraph sits where article text does:
// not in a header, figure, aside, navigation, footer or form.
func recoverable(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		switch tagOf(p) {
		case atom.Header, atom.Figure, atom.Figcaption, atom.Aside, atom.Nav, atom.Footer, atom.Form, atom.Li, atom.A, atom.Table:
			return false
		case atom.Article, atom.Main, atom.Body:
			return true
		}
		if hidden(p) {
			return false
		}
	}
	return true
}

// lowestCommonAncestor returns the deepest element holding every node.
func lowestCommonAncestor(nodes []*html.Node) *html.Node {
	if len(nodes) == 0 {
		return nil
	}
	path := func(n *html.Node) []*html.Node {
		var p []*html.Node
		for ; n != nil; n = n.Parent {
			p = append(p, n)
		}
		slices.Reverse(p)
		return p
	}
	common := path(nodes[0])
	for _, n := range nodes[1:] {
		p := path(n)
		k := 0
		for k < len(common) && k < len(p) && common[k] == p[k] {
			k++
		}
		common = common[:k]
	}
	if len(common) == 0 {
		return nil
	}
	lca := common[len(common)-1]
	if len(nodes) == 1 || tagOf(lca) == atom.P {
		// one paragraph: its container is its parent
		if lca.Parent != nil {
			return lca.Parent
		}
	}
	return lca
}
