package clean

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/narrator-project/narrator/services/script"
)

// ReadAloudText is what a listener hears of a script, in order: title,
// standfirst, byline and body.
func ReadAloudText(s script.Script) string {
	var parts []string
	for _, p := range []string{s.Title, s.Standfirst, s.Byline} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if body := ScriptText(s); body != "" {
		parts = append(parts, body)
	}
	return strings.Join(parts, "\n\n")
}

//go:embed readaloud-junk.txt
var junkList string

// junkPattern is one entry of readaloud-junk.txt.
type junkPattern struct {
	kind string
	re   *regexp.Regexp
}

var junkPatterns = mustJunkPatterns(junkList)

func mustJunkPatterns(list string) []junkPattern {
	var out []junkPattern
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, expr, ok := strings.Cut(line, ": ")
		if !ok {
			panic(fmt.Sprintf("clean: readaloud-junk.txt: no kind in %q", line))
		}
		out = append(out, junkPattern{kind, regexp.MustCompile(`(?i)` + expr)})
	}
	return out
}

// JunkHit is a block of read-aloud text that the junk list matches.
type JunkHit struct {
	Kind string // the list's kind: newsletter, social, player, …
	Part string // title, standfirst, byline or body
	Text string // the block
}

// junkKind returns the kind of the first junk pattern text matches, or "".
func junkKind(text string) string {
	t := collapse(text)
	for _, p := range junkPatterns {
		if p.re.MatchString(t) {
			return p.kind
		}
	}
	return ""
}

// ReadAloudPage is one page's read-aloud result: the read-aloud score,
// whether the standfirst is not the article's, and the boilerplate heard.
type ReadAloudPage struct {
	Score          PageScore
	JunkStandfirst string    // the standfirst, when it is not from the article
	Junk           []JunkHit // blocks heard that are boilerplate
}

// ScoreReadAloud scores what a listener hears of s against page, whose
// reference may lack a title, standfirst or byline (the public benchmark
// has only the body). A part without a reference is judged from the page
// itself, as README's "Text" section explains:
//   - title: right when the page's declared headline (og:title,
//     twitter:title, JSON-LD headline or <title>) contains its words; else
//     the declared headline is the reference and ours is extra.
//   - standfirst: right when it is neither on the junk list nor a repeat
//     of the title, and it is the page's declared description or part of
//     the reference body; otherwise it is junk, scored as extra text and
//     counted.
//   - byline: right when the page declares its names as the author
//     (meta author, JSON-LD, rel/itemprop/class author or byline).
func ScoreReadAloud(s script.Script, page BenchmarkPage) ReadAloudPage {
	var r ReadAloudPage
	doc, _ := html.Parse(bytes.NewReader(page.HTML))
	decl := declaredOf(doc)
	truthWords := words(page.Truth)

	refTitle := page.Title
	if refTitle == "" && s.Title != "" {
		refTitle = decl.headline
		for _, h := range decl.headlines {
			if containsWords(h, s.Title) {
				refTitle = s.Title
				break
			}
		}
	}
	refStand := page.Standfirst
	if st := s.Standfirst; st != "" {
		junk := junkKind(st) != "" || sameText(st, s.Title) || sameText(st, refTitle)
		if page.Standfirst != "" {
			junk = junk || ScorePage(st, page.Standfirst).TP < 0.5
		} else if !junk {
			junk = !strings.Contains(truthWords, words(st))
			for _, d := range decl.descriptions {
				if containsWords(d, st) || containsWords(st, d) {
					junk = false
				}
			}
		}
		if junk {
			r.JunkStandfirst = st
		} else if refStand == "" {
			refStand = st
		}
	}
	refByline := page.Byline
	if refByline == "" && s.Byline != "" && bylineDeclared(s.Byline, decl.authors) {
		refByline = s.Byline
	}
	ref := strings.Join([]string{refTitle, refStand, refByline, page.Truth}, "\n\n")
	r.Score = ScorePage(ReadAloudText(s), ref)

	check := func(part, text string) {
		if text == "" {
			return
		}
		if kind := junkKind(text); kind != "" && !inReference(text, page.Truth) {
			r.Junk = append(r.Junk, JunkHit{Kind: kind, Part: part, Text: text})
		}
	}
	check("title", s.Title)
	check("standfirst", s.Standfirst)
	check("byline", s.Byline)
	for _, sec := range s.Sections {
		check("body", sec.Heading)
		for _, b := range sec.Blocks {
			check("body", b.Text)
		}
	}
	return r
}

// inReference reports whether most of a block is in the reference text,
// so that a phrase the article itself uses is not counted as boilerplate.
func inReference(block, ref string) bool {
	if ref == "" {
		return false
	}
	p := shingles(block)
	t := shingles(ref)
	if len(p) == 0 {
		return false
	}
	in := 0
	for k := range p {
		if t[k] > 0 {
			in++
		}
	}
	return 2*in >= len(p)
}

// containsWords reports whether outer holds inner's words in order.
func containsWords(outer, inner string) bool {
	w := words(inner)
	return w != "" && strings.Contains(" "+words(outer)+" ", " "+w+" ")
}

// declared is what a page says about its own article in metadata.
type declared struct {
	headline     string   // the best declared headline, for a reference
	headlines    []string // og:title, twitter:title, JSON-LD headline, <title>
	descriptions []string // og:description, description, twitter:description, JSON-LD description
	authors      []string // meta author, article:author, JSON-LD author, author and byline elements
}

var (
	ldHeadlineRE    = regexp.MustCompile(`"headline"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	ldDescriptionRE = regexp.MustCompile(`"description"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	ldAuthorRE      = regexp.MustCompile(`"author"\s*:\s*(\[[^\]]*\]|\{[^}]*\}|"[^"]*")`)
	authorClassRE   = regexp.MustCompile(`(?i)author|byline|contributor`)
)

func declaredOf(doc *html.Node) declared {
	var d declared
	var title string
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch tagOf(n) {
			case atom.Meta:
				key := strings.ToLower(attr(n, "property") + attr(n, "name"))
				v := collapse(attr(n, "content"))
				switch key {
				case "og:title", "twitter:title":
					d.headlines = append(d.headlines, v)
				case "og:description", "description", "twitter:description":
					d.descriptions = append(d.descriptions, v)
				case "author", "article:author", "byl", "parsely-author", "sailthru.author", "dc.creator":
					d.authors = append(d.authors, v)
				}
			case atom.Title:
				title = collapse(textOf(n))
			case atom.Script:
				if strings.Contains(attr(n, "type"), "ld+json") && n.FirstChild != nil {
					raw := n.FirstChild.Data
					for _, m := range ldHeadlineRE.FindAllStringSubmatch(raw, -1) {
						d.headlines = append(d.headlines, unquoteJSON(m[1]))
					}
					for _, m := range ldDescriptionRE.FindAllStringSubmatch(raw, -1) {
						d.descriptions = append(d.descriptions, unquoteJSON(m[1]))
					}
					for _, m := range ldAuthorRE.FindAllStringSubmatch(raw, -1) {
						d.authors = append(d.authors, m[1])
					}
				}
			default:
				if attr(n, "rel") == "author" || authorClassRE.MatchString(attr(n, "itemprop")+" "+attr(n, "class")) {
					if t := collapse(textOf(n)); len(t) < 200 {
						d.authors = append(d.authors, t)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	if doc != nil {
		rec(doc)
	}
	if title != "" {
		d.headlines = append(d.headlines, title)
	}
	if len(d.headlines) > 0 {
		d.headline = d.headlines[0]
	}
	return d
}

func unquoteJSON(s string) string {
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return s
	}
	return collapse(out)
}

// bylineDeclared reports whether every name of a byline ("By Jane Doe and
// John Roe") is among the page's declared authors.
func bylineDeclared(byline string, authors []string) bool {
	all := " " + words(strings.Join(authors, " ")) + " "
	names := bylineNames(byline)
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		if !strings.Contains(all, " "+words(n)+" ") {
			return false
		}
	}
	return true
}

var bylinePrefixRE = regexp.MustCompile(`(?i)^(?:by|від|автор(?:ка|и)?:?|af|av|von|par|por|door|di)\s+`)

var bylineSplitRE = regexp.MustCompile(`(?i)\s*(?:,|\band\b|&|\bі\b|\bта\b)\s*`)

// bylineNames returns the names in a byline, without its "By".
func bylineNames(byline string) []string {
	b := strings.TrimSpace(byline)
	if m := bylinePrefixRE.FindString(b); m != "" {
		b = b[len(m):]
	}
	var out []string
	for _, n := range bylineSplitRE.Split(b, -1) {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}
