package publish

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"encoding/xml"
	"fmt"
	"html"
	"math"
	"net/url"
	"strings"
	"time"
)

// Namespaces of the feed.
const (
	nsITunes  = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsPodcast = "https://podcastindex.org/namespace/1.0"
	nsAtom    = "http://www.w3.org/2005/Atom"
)

// Struct tags write prefixed names literally; the prefixes are declared on
// the rss element.
type rss struct {
	XMLName   xml.Name `xml:"rss"`
	Version   string   `xml:"version,attr"`
	NSITunes  string   `xml:"xmlns:itunes,attr"`
	NSContent string   `xml:"xmlns:content,attr"`
	NSPodcast string   `xml:"xmlns:podcast,attr"`
	NSAtom    string   `xml:"xmlns:atom,attr"`
	Channel   channel  `xml:"channel"`
}

type channel struct {
	Title         string         `xml:"title"`
	Link          string         `xml:"link"`
	Description   string         `xml:"description"`
	Language      string         `xml:"language"`
	Copyright     string         `xml:"copyright,omitempty"`
	Generator     string         `xml:"generator"`
	LastBuildDate string         `xml:"lastBuildDate,omitempty"`
	AtomLink      atomLink       `xml:"atom:link"`
	Image         *rssImage      `xml:"image,omitempty"`
	ITunesImage   *hrefElem      `xml:"itunes:image,omitempty"`
	Category      itunesCategory `xml:"itunes:category"`
	Explicit      string         `xml:"itunes:explicit"`
	Author        string         `xml:"itunes:author"`
	Owner         itunesOwner    `xml:"itunes:owner"`
	Type          string         `xml:"itunes:type"`
	GUID          string         `xml:"podcast:guid"`
	Items         []item         `xml:"item"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr"`
}

type rssImage struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type hrefElem struct {
	Href string `xml:"href,attr"`
}

type itunesCategory struct {
	Text string          `xml:"text,attr"`
	Sub  *itunesCategory `xml:"itunes:category,omitempty"`
}

type itunesOwner struct {
	Name  string `xml:"itunes:name"`
	Email string `xml:"itunes:email,omitempty"`
}

type item struct {
	Title       string      `xml:"title"`
	Link        string      `xml:"link,omitempty"`
	Description string      `xml:"description"`
	Content     cdata       `xml:"content:encoded"`
	GUID        guid        `xml:"guid"`
	PubDate     string      `xml:"pubDate"`
	Enclosure   enclosure   `xml:"enclosure"`
	ITunesTitle string      `xml:"itunes:title"`
	Author      string      `xml:"itunes:author,omitempty"`
	Duration    int64       `xml:"itunes:duration"`
	EpisodeType string      `xml:"itunes:episodeType"`
	Explicit    string      `xml:"itunes:explicit"`
	Transcript  *transcript `xml:"podcast:transcript,omitempty"`
	Chapters    *podChaps   `xml:"podcast:chapters,omitempty"`
	// Credentials links the enclosure's Content Credentials (its C2PA
	// manifest store), rel and type as HTML pages link one.
	Credentials *atomLink `xml:"atom:link,omitempty"`
}

type cdata struct {
	Text string `xml:",cdata"`
}

type guid struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type enclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

type transcript struct {
	URL      string `xml:"url,attr"`
	Type     string `xml:"type,attr"`
	Language string `xml:"language,attr,omitempty"`
}

type podChaps struct {
	URL  string `xml:"url,attr"`
	Type string `xml:"type,attr"`
}

// feedSpec says which feed to write: its key, self URL, title, the
// publication's settings (defaults resolved) and its artwork's URL.
type feedSpec struct {
	key, self, title string
	feed             Feed
	image            string
}

// RFC2822 is the date format of RSS 2.0 (RFC 822 with four-digit years).
const RFC2822 = "Mon, 02 Jan 2006 15:04:05 -0700"

// feedXML renders one feed from manifests already sorted newest first and
// capped. The output depends only on its inputs, so rebuilding an
// unchanged feed writes the same bytes.
func (p *Publisher) feedXML(spec feedSpec, items []*Manifest) ([]byte, error) {
	c := spec.feed
	explicit := "false"
	if c.Explicit {
		explicit = "true"
	}
	link := cmp.Or(c.Link, siteLink(items), siteOf(spec.self))
	desc := c.Description
	if desc == "" {
		desc = c.Title + ": articles read aloud. " + p.cfg.Disclosure + "."
	}
	ch := channel{
		Title:       xmlSafe(oneLine(spec.title)),
		Link:        xmlSafe(link),
		Description: xmlSafe(desc),
		Language:    c.Language,
		Copyright:   xmlSafe(c.Copyright),
		Generator:   "narrator",
		AtomLink:    atomLink{Href: spec.self, Rel: "self", Type: "application/rss+xml"},
		Category:    itunesCategory{Text: c.Category},
		Explicit:    explicit,
		Author:      xmlSafe(oneLine(c.Author)),
		Owner:       itunesOwner{Name: xmlSafe(oneLine(c.OwnerName)), Email: c.OwnerEmail},
		Type:        "episodic",
		GUID:        podcastGUID(spec.self),
	}
	if c.Subcategory != "" {
		ch.Category.Sub = &itunesCategory{Text: c.Subcategory}
	}
	if spec.image != "" {
		ch.Image = &rssImage{URL: spec.image, Title: ch.Title, Link: ch.Link}
		ch.ITunesImage = &hrefElem{Href: spec.image}
	}
	var newest time.Time
	for _, m := range items {
		if m.Created.After(newest) {
			newest = m.Created
		}
		ch.Items = append(ch.Items, p.item(m, explicit, c.Author))
	}
	if !newest.IsZero() {
		ch.LastBuildDate = newest.UTC().Format(RFC2822)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	err := enc.Encode(rss{Version: "2.0", NSITunes: nsITunes, NSContent: nsContent, NSPodcast: nsPodcast, NSAtom: nsAtom, Channel: ch})
	if err == nil {
		err = enc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("publish: feed %s: %w", spec.key, err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func (p *Publisher) item(m *Manifest, explicit, feedAuthor string) item {
	title := xmlSafe(oneLine(m.Title))
	disclosure := p.disclosure(m)
	desc := m.Summary
	if desc != "" {
		desc += "\n\n"
	}
	desc += disclosure
	author := cmp.Or(m.Author, feedAuthor)
	it := item{
		Title:       title,
		Link:        m.URL,
		Description: xmlSafe(desc),
		Content:     cdata{xmlSafe(itemHTML(m, disclosure))},
		GUID:        guid{IsPermaLink: "false", Value: xmlSafe(m.ArticleID)},
		PubDate:     m.Date().UTC().Format(RFC2822),
		Enclosure:   enclosure{URL: m.Files.Audio.URL, Length: m.Bytes, Type: "audio/mpeg"},
		ITunesTitle: title,
		Author:      xmlSafe(oneLine(author)),
		Duration:    durationSeconds(m.Duration),
		EpisodeType: "full",
		Explicit:    explicit,
	}
	if m.Files.Transcript.URL != "" {
		it.Transcript = &transcript{URL: m.Files.Transcript.URL, Type: "text/vtt", Language: m.Language}
	}
	if m.Files.Chapters.URL != "" {
		it.Chapters = &podChaps{URL: m.Files.Chapters.URL, Type: ChaptersType}
	}
	if m.Files.Credentials.URL != "" {
		it.Credentials = &atomLink{Href: m.Files.Credentials.URL, Rel: CredentialsRel, Type: CredentialsType}
	}
	return it
}

// siteLink is the home page of the site the newest narrated article
// with a URL came from: the publication's site, when no link is set.
func siteLink(items []*Manifest) string {
	for _, m := range items {
		if m.URL != "" {
			return siteOf(m.URL)
		}
	}
	return ""
}

// siteOf returns the root of the site an absolute URL is on.
func siteOf(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/"
}

// CredentialsRel is the link relation of a C2PA manifest store kept apart
// from the asset it describes.
const CredentialsRel = "c2pa-manifest"

// itemHTML is the item's show notes: summary, byline, a link to the article
// and the disclosure, every value escaped.
func itemHTML(m *Manifest, disclosure string) string {
	var b strings.Builder
	for _, s := range []string{m.Summary, m.Byline} {
		if s != "" {
			fmt.Fprintf(&b, "<p>%s</p>", html.EscapeString(s))
		}
	}
	if m.URL != "" {
		fmt.Fprintf(&b, `<p><a href="%s">Read the article</a></p>`, html.EscapeString(m.URL))
	}
	fmt.Fprintf(&b, "<p><em>%s</em></p>", html.EscapeString(disclosure))
	if u := m.Files.Credentials.URL; u != "" {
		fmt.Fprintf(&b, `<p><a href="%s" type="%s">Content Credentials</a> (C2PA)</p>`, html.EscapeString(u), CredentialsType)
	}
	return b.String()
}

// durationSeconds is itunes:duration in whole seconds, at least 1.
func durationSeconds(s Seconds) int64 { return max(int64(math.Round(float64(s))), 1) }

// podcastGUID is the Podcasting 2.0 podcast:guid of a feed: the UUIDv5 of
// its URL without scheme or trailing slashes, in the namespace the
// specification fixes.
func podcastGUID(feedURL string) string {
	u := feedURL
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	u = strings.TrimRight(u, "/")
	ns := [16]byte{0xea, 0xd4, 0xc2, 0x36, 0xbf, 0x58, 0x58, 0xc6, 0xa2, 0xc6, 0xa6, 0xb2, 0x8d, 0x12, 0x8c, 0xb6}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(u))
	s := h.Sum(nil)[:16]
	s[6] = s[6]&0x0f | 0x50
	s[8] = s[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}
