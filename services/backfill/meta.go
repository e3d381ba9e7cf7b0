package backfill

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// pageMeta is what a page's head says of its article, for sources that
// list only URLs: the section and author (Open Graph article:section and
// article:author, or the author meta tag).
type pageMeta struct {
	Section, Author string
}

// readMeta reads the meta tags of a page's head, stopping at its body.
func readMeta(page []byte) pageMeta {
	var m pageMeta
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return m
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch atom.Lookup(name) {
			case atom.Body:
				return m
			case atom.Meta:
				if !hasAttr {
					continue
				}
				var key, content string
				for {
					k, v, more := z.TagAttr()
					switch string(k) {
					case "property", "name":
						key = strings.ToLower(string(v))
					case "content":
						content = strings.TrimSpace(string(v))
					}
					if !more {
						break
					}
				}
				switch {
				case key == "article:section" && m.Section == "":
					m.Section = content
				case (key == "article:author" || key == "author") && m.Author == "" && !strings.HasPrefix(content, "http"):
					m.Author = content
				}
			}
		}
	}
}
