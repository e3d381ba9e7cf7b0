package clean

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/andybalholm/cascadia"
	trafilatura "github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/script"
)

// maxTreeNodes bounds the elements trafilatura examines; a page with more
// is not an article page, and the bound keeps extraction time in check.
const maxTreeNodes = 200_000

// minArticleChars is the least body text a web page must yield to count
// as an article.
const minArticleChars = 40

// cleanHTML extracts the article of a web page.
func (c *Cleaner) cleanHTML(ctx context.Context, body []byte, contentType, rawURL string) (script.Script, error) {
	doc, err := html.Parse(decodeHTML(body, contentType))
	if err != nil {
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w: %v", ErrNotText, err))
	}
	if err := ctx.Err(); err != nil {
		return script.Script{}, fmt.Errorf("clean: %w", err)
	}
	u, _ := url.Parse(rawURL)
	var host string
	if u != nil {
		host = u.Hostname()
	}
	rules := c.rulesFor(host)

	// Metadata that extraction loses is read from the untouched page.
	published := publishedTime(doc)
	stand := standfirstCandidates(doc, headline(doc))
	docLang := documentLang(doc)

	for _, r := range rules {
		for _, n := range cascadia.QueryAll(doc, r.drop) {
			if n.Parent != nil {
				n.Parent.RemoveChild(n)
			}
		}
	}
	var kept []*html.Node
	for _, r := range rules {
		kept = append(kept, cascadia.QueryAll(doc, r.keep)...)
	}
	if c.cfg.KeepCaptions {
		liftCaptions(doc)
	}
	rewriteSocialEmbeds(doc)
	pruned := pruneBoilerplate(doc, c.cfg.KeepCaptions)
	c.cfg.Logger.DebugContext(ctx, "pruned boilerplate elements", "count", pruned, "host", host)

	opts := trafilatura.Options{
		OriginalURL:     u,
		ExcludeComments: true,
		ExcludeTables:   c.cfg.DropTables,
		MaxTreeSize:     maxTreeNodes,
	}
	if u == nil || u.Scheme == "" {
		opts.OriginalURL = nil
	}
	res, err := trafilatura.ExtractDocument(doc, opts)
	if err := ctx.Err(); err != nil {
		return script.Script{}, fmt.Errorf("clean: %w", err)
	}
	var blocks []rawBlock
	switch {
	case len(kept) > 0:
		for _, n := range kept {
			if n.Parent != nil || n.Type == html.DocumentNode {
				blocks = append(blocks, blocksOf(n, c.cfg.KeepCaptions, !c.cfg.DropTables, nil)...)
			}
		}
	case err == nil && res.ContentNode != nil:
		al := newAligner(doc)
		blocks = recoverBody(blocksOf(res.ContentNode, c.cfg.KeepCaptions, !c.cfg.DropTables, al), al)
		if len(blocks) <= 1 {
			// One block is the extractor's last resort, the page's
			// whole text: look for the article under the headline.
			if hb := headlineBlocks(doc, newAligner(doc)); len(hb) > 1 {
				blocks = hb
			} else if len(blocks) == 1 && (blocks[0].links >= 0.5 || len(blocks[0].text) < minFallbackChars) {
				blocks = nil
			}
		}
	}
	s := script.Script{URL: webURL(rawURL), Published: published, Language: docLang}
	var author string
	if res != nil {
		m := res.Metadata
		s.Title = collapse(m.Title)
		s.SiteName = collapse(m.Sitename)
		author = m.Author
		if s.Published.IsZero() && !m.Date.IsZero() {
			s.Published = m.Date
		}
		if s.URL == "" {
			s.URL = m.URL
		}
	}
	if len(blocks) == 0 {
		if len(collapse(textOf(doc))) == 0 && !hasScripts(doc) {
			return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w", ErrEmpty))
		}
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w: %s", ErrNoArticle, whyNoArticle(doc)))
	}
	c.assemble(ctx, &s, blocks, stand, rules)
	if s.Chars() < minArticleChars {
		// What is left is a menu or a footer, not an article.
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w: %s", ErrNoArticle, whyNoArticle(doc)))
	}
	if s.Byline == "" && author != "" {
		s.Language = detectLanguage(s)
		s.Byline = bylineFromAuthors(author, s.Language)
	}
	return s, nil
}

// rulesFor returns the site rules that apply to host.
func (c *Cleaner) rulesFor(host string) []siteRules {
	var out []siteRules
	for _, s := range c.sites {
		if s.cfg.matches(host) {
			out = append(out, s.rules)
		}
	}
	return out
}

// bylineLine matches a block that is the article's byline.
var bylineLine = regexp.MustCompile(`^(?i:by|від|автор(?:ка)?:?|af|av|von|par|por|door)\s+\p{Lu}[\p{L}.'’-]*(?:\s+[\p{L}.'’-]+){0,5}(?:\s*(?:,|and|og|och|und|et|y|en|&|і|та)\s*\p{Lu}[\p{L}.'’-]*(?:\s+[\p{L}.'’-]+){0,4})*(?:\s*[·|•–-]\s*[\p{L}\d .:,]{0,40}\d{4}[\p{L}\d .:,]{0,20})?$`)

// assemble turns extracted blocks into the script's sections, dropping
// the title, standfirst and byline repeated in the body, boilerplate,
// captions, site phrases and repeated blocks.
func (c *Cleaner) assemble(ctx context.Context, s *script.Script, blocks []rawBlock, stand []standCandidate, rules []siteRules) {
	var phrases []string
	for _, r := range rules {
		phrases = append(phrases, r.phrases...)
	}
	var secs []script.Section
	cur := script.Section{}
	var prev *rawBlock
	drop := func(why string, b rawBlock) {
		c.cfg.Logger.DebugContext(ctx, "dropped block", "reason", why, "text", b.text[:min(len(b.text), 80)])
	}
	bodyChars := 0
	firstRepeated := false
	for i, b := range blocks {
		if bodyChars >= minBodyBeforeComments && len(b.text) <= 60 && commentsStart.MatchString(strings.TrimSpace(b.text)) {
			drop("comments from here on", b)
			break
		}
		switch {
		case b.kind == kindHeading && s.Title == "" && b.level == 1:
			s.Title = b.text
			continue
		case sameText(b.text, s.Title) && (b.kind == kindHeading || i < 3):
			drop("title", b)
			continue
		case i < 6 && len(b.text) < 120 && bylineLine.MatchString(b.text):
			if s.Byline == "" {
				// "By Jane Doe · 13 March 2025": the date is not read
				s.Byline = strings.TrimSpace(strings.FieldsFunc(b.text, func(r rune) bool { return r == '·' || r == '•' || r == '|' })[0])
			}
			drop("byline", b)
			continue
		case b.kind == kindCaption && !c.cfg.KeepCaptions:
			continue
		case !c.cfg.KeepCaptions && isCaption(b.text):
			drop("caption", b)
			continue
		case isBoilerplate(b.text):
			drop("boilerplate", b)
			continue
		case b.kind != kindHeading && b.links > 0.8 && isShoutedTeaser(b.text):
			drop("teaser", b)
			continue
		case b.kind != kindHeading && b.kind != kindTableRow && b.links >= 0.95 && len(b.text) < 80:
			// a line that is all link is navigation or a teaser
			drop("teaser", b)
			continue
		case containsAny(strings.ToLower(b.text), phrases):
			drop("site phrase", b)
			continue
		}
		if b.kind != kindTableRow {
			// What is left of a post's embed, or a follow-us sentence
			// closing a paragraph, goes; the rest of the block stays.
			if b.text = stripJunkSentences(cleanSocial(b.text)); b.text == "" {
				drop("social or junk sentences", blocks[i])
				continue
			}
			blocks[i].text = b.text
		}
		if prev != nil && prev.kind == b.kind && prev.text == b.text {
			if len(secs) == 0 && len(cur.Blocks) == 1 {
				firstRepeated = true
			}
			drop("repeated", b)
			continue
		}
		prev = &blocks[i]
		if b.kind == kindHeading {
			if len(cur.Blocks) == 0 && cur.Heading != "" {
				cur.Heading = joinHeadings(cur.Heading, b.text)
				continue
			}
			if len(cur.Blocks) > 0 || cur.Heading != "" {
				secs = append(secs, cur)
			}
			cur = script.Section{Heading: b.text}
			continue
		}
		kind := script.Paragraph
		switch b.kind {
		case kindQuote:
			kind = script.Quote
		case kindListItem:
			kind = script.ListItem
		}
		cur.Blocks = append(cur.Blocks, script.Block{Kind: kind, Text: b.text})
		bodyChars += len(b.text)
	}
	if len(cur.Blocks) > 0 {
		secs = append(secs, cur)
	}
	// A heading with nothing under it (a "Related stories" box whose links
	// were dropped) is not a chapter.
	out := secs[:0]
	for _, sec := range secs {
		if len(sec.Blocks) > 0 {
			out = append(out, sec)
		}
	}
	s.Sections = out
	s.Standfirst = pickStandfirst(stand, s, firstRepeated)
}

func joinHeadings(a, b string) string {
	if strings.ContainsAny(a[len(a)-1:], ".:!?") {
		return a + " " + b
	}
	return a + ". " + b
}

func containsAny(s string, subs []string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// decodeHTML returns the page as UTF-8. A page that is valid UTF-8 is read
// as UTF-8 whatever it declares, since mislabelled UTF-8 is common and
// valid multi-byte sequences are rare in any other encoding; otherwise the
// declared or sniffed encoding is used.
func decodeHTML(body []byte, contentType string) io.Reader {
	if utf8.Valid(body) {
		return bytes.NewReader(body)
	}
	enc, _, _ := charset.DetermineEncoding(body, contentType)
	return enc.NewDecoder().Reader(bytes.NewReader(body))
}

// webURL returns rawURL when it is a web address, else "": a file name
// passed as a URL is not where listeners find the article.
func webURL(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return rawURL
	}
	return ""
}
