package clean

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// dateMeta are the <meta> names and properties that carry a publication
// time, best first.
var dateMeta = []string{
	"article:published_time", "og:published_time", "datepublished", "pubdate", "publishdate", "publish-date",
	"publication_date", "sailthru.date", "parsely-pub-date", "dc.date.issued", "dcterms.created", "dc.date", "date",
}

var timeLayouts = []string{
	time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05", "2006-01-02", "20060102", time.RFC1123, time.RFC1123Z,
}

func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// publishedTime finds the publication time in meta tags, JSON-LD or a
// <time datetime> element, keeping the time of day that metadata
// extractors often drop.
func publishedTime(doc *html.Node) time.Time {
	metas := map[string]string{}
	var ld []string
	var firstTime string
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch tagOf(n) {
			case atom.Meta:
				key := strings.ToLower(attr(n, "property") + attr(n, "name") + attr(n, "itemprop"))
				if _, ok := metas[key]; !ok {
					metas[key] = attr(n, "content")
				}
			case atom.Script:
				if strings.Contains(attr(n, "type"), "ld+json") && n.FirstChild != nil {
					ld = append(ld, n.FirstChild.Data)
				}
			case atom.Time:
				if firstTime == "" {
					firstTime = attr(n, "datetime")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	for _, k := range dateMeta {
		if t, ok := parseTime(metas[k]); ok {
			return t
		}
	}
	for _, raw := range ld {
		if t, ok := ldDate(raw); ok {
			return t
		}
	}
	if t, ok := parseTime(firstTime); ok {
		return t
	}
	return time.Time{}
}

var ldDateRE = regexp.MustCompile(`"datePublished"\s*:\s*"([^"]+)"`)

// ldDate finds datePublished in a JSON-LD block; a regular expression is
// enough and survives the malformed JSON many sites emit.
func ldDate(raw string) (time.Time, bool) {
	if m := ldDateRE.FindStringSubmatch(raw); m != nil {
		var s string
		if err := json.Unmarshal([]byte(`"`+m[1]+`"`), &s); err == nil {
			return parseTime(s)
		}
	}
	return time.Time{}, false
}

// bylineWords are the words that open a byline, by language.
var bylineWords = map[string]string{"en": "By", "": "By", "uk": "Автор:", "da": "Af", "no": "Av", "nb": "Av", "sv": "Av",
	"de": "Von", "nl": "Door", "fr": "Par", "es": "Por", "pt": "Por", "it": "Di"}

// bylineFromAuthors formats the authors as a spoken byline in the
// article's language: "By Jane Doe", "By Jane Doe and John Roe", "By A, B
// and C"; "Автор: Олена Коваль" in Ukrainian, "Af Mette Lund" in Danish;
// names alone in a language without an entry. An author field that
// already opens with a byline word keeps it once.
func bylineFromAuthors(authors, lang string) string {
	var names []string
	for _, a := range strings.FieldsFunc(authors, func(r rune) bool { return r == ';' || r == '|' }) {
		a = collapse(a)
		if m := bylinePrefixRE.FindString(a); m != "" {
			a = a[len(m):]
		}
		if a != "" {
			names = append(names, a)
		}
	}
	prefix, and := bylineWords[lang], "and"
	switch lang {
	case "uk":
		and = "і"
		if len(names) > 1 {
			prefix = "Автори:"
		}
	case "en", "":
	default:
		and = "&"
	}
	var list string
	switch len(names) {
	case 0:
		return ""
	case 1:
		list = names[0]
	default:
		list = strings.Join(names[:len(names)-1], ", ") + " " + and + " " + names[len(names)-1]
	}
	return strings.TrimSpace(prefix + " " + list)
}

// sameText reports whether two texts say the same words, ignoring case,
// punctuation and spacing.
func sameText(a, b string) bool {
	return a != "" && b != "" && words(a) == words(b)
}

func words(s string) string {
	return strings.ToLower(strings.Join(wordRE.FindAllString(s, -1), " "))
}

// documentLang returns the primary language tag of the <html lang> attribute.
func documentLang(doc *html.Node) string {
	var rec func(*html.Node) string
	rec = func(n *html.Node) string {
		if tagOf(n) == atom.Html {
			l := strings.ToLower(attr(n, "lang"))
			l, _, _ = strings.Cut(l, "-")
			l, _, _ = strings.Cut(l, "_")
			return l
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if l := rec(c); l != "" {
				return l
			}
		}
		return ""
	}
	return rec(doc)
}
