package publish_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/publish"
)

const (
	nsITunes  = "http://www.itunes.com/dtds/podcast-1.0.dtd"
	nsPodcast = "https://podcastindex.org/namespace/1.0"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsAtom    = "http://www.w3.org/2005/Atom"
)

// Namespace-qualified tags: the prefixes in the file must be bound to the
// right namespaces for these to match.
type checkRSS struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		// A tag without a namespace matches any, so the namespaced
		// fields come first: the first field that matches takes the element.
		AtomLink struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Title       string `xml:"title"`
		Link        string `xml:"link"`
		Description string `xml:"description"`
		Language    string `xml:"language"`
		Image       struct {
			Href string `xml:"href,attr"`
		} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd image"`
		Categories []checkCategory `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd category"`
		Explicit   string          `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd explicit"`
		Author     string          `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd author"`
		Owner      struct {
			Name  string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd name"`
			Email string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd email"`
		} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd owner"`
		Items []checkItem `xml:"item"`
	} `xml:"channel"`
}

type checkCategory struct {
	Text string          `xml:"text,attr"`
	Subs []checkCategory `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd category"`
}

type checkItem struct {
	ITunesTitle string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd title"`
	Title       string `xml:"title"`
	GUID        struct {
		IsPermaLink string `xml:"isPermaLink,attr"`
		Value       string `xml:",chardata"`
	} `xml:"guid"`
	PubDate   string `xml:"pubDate"`
	Enclosure struct {
		URL    string `xml:"url,attr"`
		Length string `xml:"length,attr"`
		Type   string `xml:"type,attr"`
	} `xml:"enclosure"`
	Description string `xml:"description"`
	Content     string `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
	Duration    string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd duration"`
	Explicit    string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd explicit"`
	Transcript  struct {
		URL  string `xml:"url,attr"`
		Type string `xml:"type,attr"`
	} `xml:"https://podcastindex.org/namespace/1.0 transcript"`
	Chapters struct {
		URL  string `xml:"url,attr"`
		Type string `xml:"type,attr"`
	} `xml:"https://podcastindex.org/namespace/1.0 chapters"`
}

var (
	itunesDuration = regexp.MustCompile(`^(\d+|\d{1,2}:\d{2}|\d{1,2}:\d{2}:\d{2})$`)
	languageCode   = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// checkPodcastFeed fetches a feed from feedURL and checks it against
// Apple's podcast RSS requirements and the W3C feed validator's rules for
// RSS 2.0 and the itunes namespace, fetching every enclosure, transcript
// and chapters file it names. It returns the parsed feed.
func checkPodcastFeed(t *testing.T, feedURL string) checkRSS {
	t.Helper()
	body, h := fetch(t, "GET", feedURL, nil)
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/rss+xml") {
		t.Errorf("feed Content-Type %q", ct)
	}
	var f checkRSS
	if err := xml.Unmarshal(body, &f); err != nil {
		t.Fatalf("feed is not well-formed XML: %v", err)
	}
	ch := f.Channel
	errorf := func(format string, a ...any) { t.Errorf("%s: "+format, append([]any{feedURL}, a...)...) }
	if f.Version != "2.0" {
		errorf("rss version %q", f.Version)
	}
	for _, ns := range []string{nsITunes, nsPodcast, nsContent, nsAtom} {
		if !strings.Contains(string(body[:min(len(body), 600)]), `="`+ns+`"`) {
			errorf("namespace %s not declared on the root", ns)
		}
	}
	if ch.Title == "" || ch.Description == "" || len(ch.Description) > 4000 {
		errorf("channel title %q, description of %d bytes", ch.Title, len(ch.Description))
	}
	if !absolute(ch.Link) {
		errorf("channel link %q is not an absolute URL", ch.Link)
	}
	if !languageCode.MatchString(ch.Language) {
		errorf("language %q is not an ISO 639 code", ch.Language)
	}
	if ch.AtomLink.Rel != "self" || ch.AtomLink.Href != feedURL {
		errorf("atom:link self is %q (%q), the feed is at %q", ch.AtomLink.Href, ch.AtomLink.Rel, feedURL)
	}
	if u, err := url.Parse(ch.Image.Href); err != nil || !absolute(ch.Image.Href) ||
		!(strings.HasSuffix(u.Path, ".png") || strings.HasSuffix(u.Path, ".jpg") || strings.HasSuffix(u.Path, ".jpeg")) {
		errorf("itunes:image %q is not an absolute URL of a .jpg or .png", ch.Image.Href)
	}
	if len(ch.Categories) == 0 {
		errorf("no itunes:category")
	}
	for _, c := range ch.Categories {
		if !publish.ValidCategory(c.Text, "") {
			errorf("itunes:category %q is not an Apple category", c.Text)
		}
		for _, s := range c.Subs {
			if !publish.ValidCategory(c.Text, s.Text) {
				errorf("itunes:category %q / %q is not an Apple subcategory", c.Text, s.Text)
			}
		}
	}
	if ch.Explicit != "true" && ch.Explicit != "false" {
		errorf("itunes:explicit %q: Apple takes true or false", ch.Explicit)
	}
	if ch.Author == "" {
		errorf("no itunes:author")
	}
	if a, err := mail.ParseAddress(ch.Owner.Email); err != nil || a.Address != ch.Owner.Email || ch.Owner.Name == "" {
		errorf("itunes:owner %q <%q>", ch.Owner.Name, ch.Owner.Email)
	}

	guids := map[string]bool{}
	enclosures := map[string]bool{}
	var prev time.Time
	for i, it := range ch.Items {
		errorf := func(format string, a ...any) {
			errorf("item %d (%s): "+format, append([]any{i, it.GUID.Value}, a...)...)
		}
		if strings.TrimSpace(it.Title) == "" || it.ITunesTitle != it.Title {
			errorf("title %q, itunes:title %q", it.Title, it.ITunesTitle)
		}
		if it.GUID.Value == "" || guids[it.GUID.Value] {
			errorf("guid %q is empty or repeated", it.GUID.Value)
		}
		guids[it.GUID.Value] = true
		if it.GUID.IsPermaLink != "false" {
			errorf("guid isPermaLink %q: an article id is not a URL", it.GUID.IsPermaLink)
		}
		date, err := time.Parse(time.RFC1123Z, it.PubDate)
		if err != nil {
			errorf("pubDate %q is not RFC 2822: %v", it.PubDate, err)
		} else if !strings.HasPrefix(it.PubDate, date.Weekday().String()[:3]+",") {
			errorf("pubDate %q names the wrong day of the week", it.PubDate)
		}
		if !prev.IsZero() && date.After(prev) {
			errorf("pubDate %s is newer than the item before it: not newest first", it.PubDate)
		}
		prev = date
		if !itunesDuration.MatchString(it.Duration) {
			errorf("itunes:duration %q", it.Duration)
		}
		if it.Explicit != "" && it.Explicit != "true" && it.Explicit != "false" {
			errorf("itunes:explicit %q", it.Explicit)
		}
		e := it.Enclosure
		if e.Type != "audio/mpeg" || !absolute(e.URL) || enclosures[e.URL] {
			errorf("enclosure %+v: needs audio/mpeg and a unique absolute URL", e)
		}
		enclosures[e.URL] = true
		// The length must be the object's exact size, and the server must
		// answer byte ranges, as Apple requires.
		_, h := fetch(t, "HEAD", e.URL, nil)
		if h.Get("Content-Length") != e.Length {
			errorf("enclosure length %s, the object is %s bytes", e.Length, h.Get("Content-Length"))
		}
		if h.Get("Content-Type") != "audio/mpeg" {
			errorf("enclosure served as %q", h.Get("Content-Type"))
		}
		part, h := fetch(t, "GET", e.URL, map[string]string{"Range": "bytes=100-199"})
		if len(part) != 100 || !strings.HasPrefix(h.Get("Content-Range"), "bytes 100-199/"+e.Length) {
			errorf("range request: %d bytes, Content-Range %q", len(part), h.Get("Content-Range"))
		}
		if !strings.Contains(it.Description, "AI assistance") || !strings.Contains(it.Content, "AI assistance") {
			errorf("description or content:encoded lacks the AI disclosure")
		}
		if it.Transcript.Type != "text/vtt" {
			errorf("podcast:transcript type %q", it.Transcript.Type)
		}
		vtt, _ := fetch(t, "GET", it.Transcript.URL, nil)
		if !strings.HasPrefix(string(vtt), "WEBVTT\n") {
			errorf("transcript %s is not WebVTT", it.Transcript.URL)
		}
		if it.Chapters.Type != "application/json+chapters" {
			errorf("podcast:chapters type %q", it.Chapters.Type)
		}
		chapters, _ := fetch(t, "GET", it.Chapters.URL, nil)
		var cf struct {
			Version  string `json:"version"`
			Chapters []struct {
				StartTime *float64 `json:"startTime"`
				Title     string   `json:"title"`
			} `json:"chapters"`
		}
		if err := json.Unmarshal(chapters, &cf); err != nil || cf.Version == "" || len(cf.Chapters) == 0 {
			errorf("chapters file: %v (%s)", err, chapters)
		}
		last := -1.0
		for _, c := range cf.Chapters {
			if c.StartTime == nil || *c.StartTime < last || c.Title == "" {
				errorf("chapters out of order or untitled: %s", chapters)
				break
			}
			last = *c.StartTime
		}
	}
	return f
}

func absolute(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func fetch(t *testing.T, method, u string, headers map[string]string) ([]byte, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, u, resp.Status)
	}
	return b, resp.Header
}

// durationSeconds parses itunes:duration.
func durationSeconds(t *testing.T, s string) int {
	t.Helper()
	total := 0
	for p := range strings.SplitSeq(s, ":") {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("duration %q: %v", s, err)
		}
		total = total*60 + n
	}
	return total
}

func TestValidCategoryFollowsApplesList(t *testing.T) {
	cases := []struct {
		cat, sub string
		ok       bool
	}{
		{"News", "", true},
		{"News", "Daily News", true},
		{"News", "Politics", true},
		{"Technology", "", true},
		{"Society & Culture", "Documentary", true},
		{"News", "Tech", false},
		{"news", "", false},
		{"Politics", "", false},
		{"Technology", "Podcasting", false},
		{"", "", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.cat, tc.sub), func(t *testing.T) {
			if got := publish.ValidCategory(tc.cat, tc.sub); got != tc.ok {
				t.Fatalf("ValidCategory = %v, want %v", got, tc.ok)
			}
		})
	}
}
