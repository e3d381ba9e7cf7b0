package clean

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockKind is what a block of extracted text is, before it becomes a
// script block or is dropped.
type blockKind int

const (
	kindParagraph blockKind = iota
	kindHeading
	kindQuote
	kindListItem
	kindCaption
	kindTableRow
)

// rawBlock is one block of text found in the extracted content.
type rawBlock struct {
	kind  blockKind
	level int // heading level, 1 to 6
	text  string
	links float64 // share of the text that was inside links on the page
	at    int     // where the block starts in the page's text, -1 when unknown
}

// blockTags are the elements that end the running text before them.
var blockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Body: true,
	atom.Center: true, atom.Dd: true, atom.Details: true, atom.Dialog: true, atom.Div: true, atom.Dl: true,
	atom.Dt: true, atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Header: true, atom.Hgroup: true, atom.Hr: true, atom.Li: true, atom.Main: true, atom.Nav: true,
	atom.Ol: true, atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true,
	atom.Tbody: true, atom.Thead: true, atom.Tfoot: true, atom.Tr: true, atom.Td: true, atom.Th: true,
	atom.Ul: true, atom.Caption: true,
}

// skipTags hold no text a listener should hear.
var skipTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
	atom.Math: true, atom.Button: true, atom.Select: true, atom.Option: true, atom.Textarea: true,
	atom.Input: true, atom.Iframe: true, atom.Object: true, atom.Embed: true, atom.Canvas: true,
	atom.Video: true, atom.Audio: true, atom.Map: true, atom.Head: true, atom.Title: true,
	atom.Link: true, atom.Meta: true, atom.Picture: true, atom.Source: true, atom.Label: true,
}

// walker turns an element tree into blocks of text in document order.
type walker struct {
	out          []rawBlock
	buf          strings.Builder
	keepCaptions bool
	keepTables   bool
	align        *aligner
}

// blocksOf returns the blocks of text under n.
// When align is not nil, each block's spacing is restored from the page.
func blocksOf(n *html.Node, keepCaptions, keepTables bool, align *aligner) []rawBlock {
	w := &walker{keepCaptions: keepCaptions, keepTables: keepTables, align: align}
	w.walk(n, kindParagraph, 0)
	w.flush(kindParagraph, 0)
	return w.out
}

// flush ends the running text as blocks of kind: a double line break
// (<br><br>) separates paragraphs, a single one is a space.
func (w *walker) flush(kind blockKind, level int) {
	text := w.buf.String()
	w.buf.Reset()
	for _, part := range strings.Split(text, "\n\n") {
		if t := collapse(part); t != "" {
			t, links, at := w.align.restore(t)
			w.out = append(w.out, rawBlock{kind: kind, level: level, text: t, links: links, at: at})
		}
	}
}

func (w *walker) walk(n *html.Node, kind blockKind, level int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			w.buf.WriteString(c.Data)
		case html.ElementNode:
			w.element(c, kind, level)
		}
	}
}

func (w *walker) element(c *html.Node, kind blockKind, level int) {
	a := tagOf(c)
	switch {
	case a == atom.Img:
		if w.keepCaptions {
			if alt := attr(c, "alt"); strings.TrimSpace(alt) != "" && !hasAncestor(c, atom.Figure) {
				w.flush(kind, level)
				w.buf.WriteString(alt)
				w.flush(kindCaption, 0)
			}
		}
		return
	case a == atom.Br:
		w.buf.WriteString("\n")
		return
	case skipTags[a] || hidden(c):
		return
	case !blockTags[a]:
		w.walk(c, kind, level) // inline: part of the running text
		return
	}
	w.flush(kind, level)
	switch a {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		lvl := int(c.Data[1] - '0')
		w.walk(c, kindHeading, lvl)
		w.flush(kindHeading, lvl)
	case atom.Blockquote:
		w.walk(c, kindQuote, 0)
		w.flush(kindQuote, 0)
	case atom.Li, atom.Dt, atom.Dd:
		w.walk(c, kindListItem, 0)
		w.flush(kindListItem, 0)
	case atom.Figcaption, atom.Caption:
		if w.keepCaptions {
			w.walk(c, kindCaption, 0)
			w.flush(kindCaption, 0)
		}
	case atom.Table:
		if w.keepTables {
			w.table(c)
		}
	case atom.Hr:
	default:
		w.walk(c, kind, level)
		w.flush(kind, level)
	}
}

// table reads a table one row at a time, cells separated by commas.
func (w *walker) table(t *html.Node) {
	var rows []*html.Node
	var find func(*html.Node)
	find = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch tagOf(c) {
			case atom.Tr:
				rows = append(rows, c)
			case atom.Table:
				// a nested table is read where it sits, as rows of its own
				rows = append(rows, c)
			case atom.Thead, atom.Tbody, atom.Tfoot:
				find(c)
			}
		}
	}
	find(t)
	for _, r := range rows {
		if tagOf(r) == atom.Table {
			w.table(r)
			continue
		}
		var cells []string
		for c := r.FirstChild; c != nil; c = c.NextSibling {
			if tagOf(c) == atom.Td || tagOf(c) == atom.Th {
				if t := collapse(textOf(c)); t != "" {
					cells = append(cells, t)
				}
			}
		}
		if len(cells) > 0 {
			at := -1
			for i, c := range cells {
				var cat int
				cells[i], _, cat = w.align.restore(c)
				if i == 0 {
					at = cat
				}
			}
			w.out = append(w.out, rawBlock{kind: kindTableRow, text: strings.Join(cells, ", "), at: at})
		}
	}
}

// textOf returns the text under n, skipping what is never read.
func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				b.WriteString(c.Data)
			case html.ElementNode:
				if skipTags[tagOf(c)] {
					continue
				}
				if tagOf(c) == atom.Br || blockTags[tagOf(c)] {
					b.WriteByte(' ')
				}
				rec(c)
				if blockTags[tagOf(c)] {
					b.WriteByte(' ')
				}
			}
		}
	}
	rec(n)
	return b.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAncestor(n *html.Node, a atom.Atom) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if tagOf(p) == a {
			return true
		}
	}
	return false
}

// hidden reports whether an element is marked as not shown to readers.
func hidden(n *html.Node) bool {
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "style":
			s := strings.ReplaceAll(strings.ToLower(a.Val), " ", "")
			if strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden") {
				return true
			}
		}
	}
	return false
}

// aligner restores the spacing of extracted text from the page it came
// from. go-trafilatura loses the space after an inline element nested in
// a link ("<a><b>Jane Doe</b></a> said" comes out as "Jane Doesaid"), so
// each extracted block is looked up in the page's text with all white
// space removed, and the page's own span, with its spaces, is used. It
// also tells how much of a block was link text on the page.
type aligner struct {
	page   string // the page's text, white space collapsed
	sq     []byte // page without white space
	pos    []int  // byte offset in page of each byte of sq
	link   []bool // whether each byte of sq was inside a link
	cursor int    // where the previous block was found in sq
	// spans holds where each paragraph-like element's text lies in sq,
	// for finding article text that extraction left out.
	spans map[*html.Node][2]int
}

// alignWindow is how far past the previous block the next is looked for.
const alignWindow = 256 << 10

// newAligner indexes the text of the page under root.
func newAligner(root *html.Node) *aligner {
	a := &aligner{spans: map[*html.Node][2]int{}}
	var page strings.Builder
	space := true
	var rec func(n *html.Node, inLink bool)
	add := func(text string, inLink bool) {
		for _, r := range text {
			switch runeClass(r) {
			case runeDrop:
				continue
			case runeSpace:
				space = true
				continue
			}
			if space && page.Len() > 0 {
				page.WriteByte(' ')
			}
			space = false
			at := page.Len()
			page.WriteRune(r)
			for k := at; k < page.Len(); k++ {
				a.pos = append(a.pos, k)
				a.link = append(a.link, inLink)
			}
		}
	}
	rec = func(n *html.Node, inLink bool) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				add(c.Data, inLink)
			case html.ElementNode:
				t := tagOf(c)
				if skipTags[t] {
					continue
				}
				if t == atom.Br || blockTags[t] {
					space = true
				}
				start := len(a.pos)
				rec(c, inLink || t == atom.A)
				if blockTags[t] {
					space = true
				}
				if paragraphTags[t] {
					a.spans[c] = [2]int{start, len(a.pos)}
				}
			}
		}
	}
	rec(root, false)
	a.page = page.String()
	a.sq = make([]byte, 0, len(a.pos))
	for _, p := range a.pos {
		a.sq = append(a.sq, a.page[p])
	}
	return a
}

// paragraphTags are the elements whose place in the page the aligner
// records.
var paragraphTags = map[atom.Atom]bool{atom.P: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.Blockquote: true}

// restore returns text with the page's spacing, or text unchanged when the
// page does not hold it verbatim, the share of it that was link text, and
// where it starts in the page's text (-1 when not found).
func (a *aligner) restore(text string) (string, float64, int) {
	if a == nil {
		return text, 0, -1
	}
	key := []byte(strings.ReplaceAll(text, " ", ""))
	if len(key) == 0 {
		return text, 0, -1
	}
	// Blocks come in page order, so the next one is usually close after
	// the last; the search window keeps a page of many unmatched blocks
	// from costing a full scan each.
	end := min(len(a.sq), a.cursor+alignWindow+4*len(key))
	i := bytes.Index(a.sq[a.cursor:end], key)
	switch {
	case i >= 0:
		i += a.cursor
	case len(a.sq) <= alignWindow:
		if i = bytes.Index(a.sq, key); i < 0 {
			return text, 0, -1
		}
	default:
		return text, 0, -1
	}
	j := i + len(key)
	a.cursor = j
	links := 0
	for _, l := range a.link[i:j] {
		if l {
			links++
		}
	}
	return a.page[a.pos[i] : a.pos[j-1]+1], float64(links) / float64(j-i), i
}

// tagOf returns an element's tag. Trees built by go-trafilatura leave
// DataAtom unset, so the tag name is looked up when it is missing.
func tagOf(n *html.Node) atom.Atom {
	if n.DataAtom != 0 || n.Type != html.ElementNode {
		return n.DataAtom
	}
	return atom.Lookup([]byte(strings.ToLower(n.Data)))
}

// liftCaptions replaces each figure by a paragraph of its caption (or,
// without one, its image's alt text), so that extraction, which drops
// figures, keeps what the reader asked to hear.
func liftCaptions(root *html.Node) {
	var figures, images []*html.Node
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch tagOf(c) {
			case atom.Figure:
				figures = append(figures, c)
				continue
			case atom.Img:
				if strings.TrimSpace(attr(c, "alt")) != "" {
					images = append(images, c)
				}
			}
			rec(c)
		}
	}
	rec(root)
	replace := func(n *html.Node, text string) {
		if n.Parent == nil {
			return
		}
		if text = collapse(text); text != "" {
			p := &html.Node{Type: html.ElementNode, Data: "p", DataAtom: atom.P}
			p.AppendChild(&html.Node{Type: html.TextNode, Data: text})
			n.Parent.InsertBefore(p, n)
		}
		n.Parent.RemoveChild(n)
	}
	for _, f := range figures {
		text := ""
		var find func(*html.Node)
		find = func(n *html.Node) {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				switch tagOf(c) {
				case atom.Figcaption:
					text += " " + textOf(c)
				case atom.Img:
					if text == "" {
						text = attr(c, "alt")
					}
				default:
					find(c)
				}
			}
		}
		find(f)
		replace(f, text)
	}
	for _, img := range images {
		replace(img, attr(img, "alt"))
	}
}
