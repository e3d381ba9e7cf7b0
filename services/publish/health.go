package publish

import (
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/storage"
)

// Podcast directories whose requirements Health checks.
const (
	Apple        = "Apple Podcasts"
	Spotify      = "Spotify"
	PodcastIndex = "Podcast Index"
)

// Platforms are the directories Health checks, in the order it lists them.
var Platforms = []string{Apple, Spotify, PodcastIndex}

// Check is one thing podcast directories look for in a feed, and whether
// the feed has it.
type Check struct {
	Name string `json:"name"`
	// Required and Recommended name the directories that refuse a feed
	// without it, and those that only advise it.
	Required    []string `json:"required,omitempty"`
	Recommended []string `json:"recommended,omitempty"`
	OK          bool     `json:"ok"`
	// Detail is what the feed has, or what is wrong and how to fix it.
	Detail string `json:"detail"`
}

// Health is what a publication's feed lacks for each directory.
type Health struct {
	Publication string  `json:"publication"`
	Feed        string  `json:"feed"` // its URL
	Items       int     `json:"items"`
	Checks      []Check `json:"checks"`
}

// Ready reports whether the feed meets every requirement of a directory.
func (h Health) Ready(platform string) bool {
	for _, c := range h.Checks {
		if !c.OK && slices.Contains(c.Required, platform) {
			return false
		}
	}
	return true
}

// Missing lists the checks the feed fails that some directory requires.
func (h Health) Missing() []Check {
	var out []Check
	for _, c := range h.Checks {
		if !c.OK && len(c.Required) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// FetchFunc fetches the bytes at a URL; Health fetches artwork with it,
// through whatever guard the caller's fetches pass.
type FetchFunc func(ctx context.Context, url string) ([]byte, error)

// Health renders a publication's feed as the next rebuild would write it
// (settings in force now, narrations published now) and checks it against
// what Apple Podcasts, Spotify and the Podcast Index require and
// recommend. Configured artwork is fetched with fetch and checked; a drawn
// cover is checked in storage. publication is a name, or "" for the
// default publication's feed.xml.
func (p *Publisher) Health(ctx context.Context, publication string, fetch FetchFunc) (Health, error) {
	key := PublicationKey(publication)
	_, manifests, err := p.load(ctx)
	if err != nil {
		return Health{}, err
	}
	feeds, err := p.render(ctx, latestPerArticle(manifests))
	if err != nil {
		return Health{}, err
	}
	want := FeedKey
	if key != DefaultPublication {
		want = PublicationFeeds + key + ".xml"
	}
	var f *builtFeed
	for i := range feeds {
		if feeds[i].key == want {
			f = &feeds[i]
		}
	}
	if f == nil { // a publication with no narration yet
		fs, err := p.feedSettings(ctx, key, publication)
		if err != nil {
			return Health{}, err
		}
		b := builtFeed{key: want, title: fs.Title, publication: key}
		image := fs.Image
		if image == "" {
			b.cover = NewCover(fs.Title)
			image = p.store.URL(b.cover.Key())
		}
		if b.body, err = p.feedXML(feedSpec{key: want, self: p.feedURL(want), title: fs.Title, feed: fs, image: image}, nil); err != nil {
			return Health{}, err
		}
		f = &b
	}
	h := Health{Publication: key, Feed: p.feedURL(want)}
	var doc healthRSS
	if err := xml.Unmarshal(f.body, &doc); err != nil {
		return h, fmt.Errorf("publish: health: the feed does not parse: %w", err)
	}
	h.Items = len(doc.Channel.Items)
	h.Checks = p.checks(ctx, doc, f, fetch)
	return h, nil
}

type healthRSS struct {
	Channel struct {
		AtomLink struct {
			Href string `xml:"href,attr"`
		} `xml:"http://www.w3.org/2005/Atom link"`
		Title       string `xml:"title"`
		Link        string `xml:"link"`
		Description string `xml:"description"`
		Language    string `xml:"language"`
		Image       struct {
			Href string `xml:"href,attr"`
		} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd image"`
		Category []struct {
			Text string `xml:"text,attr"`
			Sub  []struct {
				Text string `xml:"text,attr"`
			} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd category"`
		} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd category"`
		Explicit string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd explicit"`
		Author   string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd author"`
		Owner    struct {
			Name  string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd name"`
			Email string `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd email"`
		} `xml:"http://www.itunes.com/dtds/podcast-1.0.dtd owner"`
		GUID  string `xml:"https://podcastindex.org/namespace/1.0 guid"`
		Items []struct {
			Title     string `xml:"title"`
			GUID      string `xml:"guid"`
			Enclosure struct {
				URL    string `xml:"url,attr"`
				Length string `xml:"length,attr"`
				Type   string `xml:"type,attr"`
			} `xml:"enclosure"`
			Transcript struct {
				URL string `xml:"url,attr"`
			} `xml:"https://podcastindex.org/namespace/1.0 transcript"`
			Chapters struct {
				URL string `xml:"url,attr"`
			} `xml:"https://podcastindex.org/namespace/1.0 chapters"`
		} `xml:"item"`
	} `xml:"channel"`
}

var (
	all       = []string{Apple, Spotify, PodcastIndex}
	appleOnly = []string{Apple}
	majors    = []string{Apple, Spotify}
)

// checks evaluates the rendered feed.
func (p *Publisher) checks(ctx context.Context, doc healthRSS, f *builtFeed, fetch FetchFunc) []Check {
	ch := doc.Channel
	var out []Check
	add := func(name string, required, recommended []string, ok bool, detail string) {
		out = append(out, Check{Name: name, Required: required, Recommended: recommended, OK: ok, Detail: detail})
	}
	settingsHint := "set it in the dashboard's Feeds page or with PUT /api/feeds/" + f.publication

	add("Title", all, nil, ch.Title != "", quoteOr(ch.Title, "no <title>: "+settingsHint))
	add("Description", majors, nil, ch.Description != "", quoteOr(clip(ch.Description, 80), "no <description>: "+settingsHint))
	add("Artwork", all, nil, false, "")
	out[len(out)-1].OK, out[len(out)-1].Detail = p.checkArtwork(ctx, ch.Image.Href, f, fetch)
	add("Language", majors, nil, langTag.MatchString(ch.Language), quoteOr(ch.Language, "no <language>"))
	cat, sub := "", ""
	if len(ch.Category) > 0 {
		cat = ch.Category[0].Text
		if len(ch.Category[0].Sub) > 0 {
			sub = ch.Category[0].Sub[0].Text
		}
	}
	add("Apple category", majors, nil, ValidCategory(cat, sub), strings.Trim(cat+" / "+sub, " /"))
	add("Explicit flag", appleOnly, nil, ch.Explicit == "true" || ch.Explicit == "false", "itunes:explicit "+quoteOr(ch.Explicit, "missing"))
	emailOK := ch.Owner.Email != ""
	add("Owner e-mail", []string{Spotify}, appleOnly, emailOK, quoteOr(ch.Owner.Email,
		"no itunes:email: Spotify sends its ownership code there and Apple its notices; no default can stand in for the newsroom's address: "+settingsHint))
	add("Author", nil, appleOnly, ch.Author != "", quoteOr(ch.Author, "no itunes:author"))
	linkOK := ch.Link != "" && ch.Link != ch.AtomLink.Href
	add("Website link", nil, appleOnly, linkOK, quoteOr(ch.Link, "no <link> to the publication's site: "+settingsHint))
	add("Episodes", all, nil, len(ch.Items) > 0, fmt.Sprintf("%d in the feed", len(ch.Items)))
	if len(ch.Items) == 0 {
		out[len(out)-1].Detail = "none yet: directories refuse an empty feed; narrate an article first"
	}
	bad := ""
	for _, it := range ch.Items {
		n, err := strconv.ParseInt(it.Enclosure.Length, 10, 64)
		switch {
		case it.Title == "":
			bad = "an episode has no title"
		case it.GUID == "":
			bad = fmt.Sprintf("episode %q has no guid", it.Title)
		case !absoluteHTTP(it.Enclosure.URL) || err != nil || n <= 0 || it.Enclosure.Type != "audio/mpeg":
			bad = fmt.Sprintf("episode %q has enclosure %q (%s bytes, type %q)", it.Title, it.Enclosure.URL, it.Enclosure.Length, it.Enclosure.Type)
		}
		if bad != "" {
			break
		}
	}
	add("Episode audio", all, nil, bad == "", cmp.Or(bad, "every episode has a title, a guid and an MP3 enclosure with its length"))

	urls := []string{ch.AtomLink.Href, ch.Image.Href}
	for _, it := range ch.Items {
		urls = append(urls, it.Enclosure.URL)
	}
	private := ""
	for _, u := range urls {
		if u != "" && !Public(u) {
			private = u
			break
		}
	}
	publicDetail := "the feed, its artwork and its audio are on public addresses"
	if private != "" {
		publicDetail = fmt.Sprintf("%s is not reachable from the internet, so no directory can fetch it: "+
			"set NARRATOR_PUBLIC_URL (or S3_PUBLIC_URL) to the public address, then run narrator feeds rebuild", private)
	}
	add("Public addresses", all, nil, private == "", publicDetail)
	add("podcast:guid", nil, []string{PodcastIndex}, ch.GUID != "", quoteOr(ch.GUID, "missing"))
	withText := 0
	for _, it := range ch.Items {
		if it.Transcript.URL != "" && it.Chapters.URL != "" {
			withText++
		}
	}
	add("Transcripts and chapters", nil, []string{PodcastIndex}, withText == len(ch.Items), fmt.Sprintf("%d of %d episodes have both", withText, len(ch.Items)))
	return out
}

// checkArtwork checks the feed's image: a drawn cover in storage, else
// the configured URL, fetched.
func (p *Publisher) checkArtwork(ctx context.Context, href string, f *builtFeed, fetch FetchFunc) (bool, string) {
	if href == "" {
		return false, "no itunes:image"
	}
	if f.cover != nil && href == p.store.URL(f.cover.Key()) {
		if _, err := p.store.Head(ctx, f.cover.Key()); errors.Is(err, storage.ErrNotFound) {
			return true, fmt.Sprintf("a cover drawn for %q (%d×%d PNG), written at the next rebuild: %s", f.cover.Title, CoverSize, CoverSize, href)
		} else if err != nil {
			return false, fmt.Sprintf("the drawn cover cannot be read from storage: %v", err)
		}
		return true, fmt.Sprintf("a cover drawn for %q (%d×%d PNG): %s", f.cover.Title, CoverSize, CoverSize, href)
	}
	if fetch == nil {
		return false, href + ": not checked"
	}
	data, err := fetch(ctx, href)
	if err != nil {
		return false, fmt.Sprintf("%s cannot be fetched: %v", href, err)
	}
	a, err := CheckArtwork(data)
	if err != nil {
		return false, fmt.Sprintf("%s: %v", href, err)
	}
	return true, fmt.Sprintf("%d×%d %s, %d KB: %s", a.Width, a.Height, strings.ToUpper(a.Format), (a.Bytes+512)/1024, href)
}

// Public reports whether an absolute URL's host is one the internet can
// reach: not localhost, a loopback, private, link-local or unspecified
// address, nor a name reserved for local networks.
func Public(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() ||
			netip.MustParsePrefix("100.64.0.0/10").Contains(a))
	}
	if host == "localhost" || !strings.Contains(host, ".") {
		return false
	}
	for _, suffix := range []string{".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test", ".invalid", ".example"} {
		if strings.HasSuffix(host, suffix) {
			return false
		}
	}
	return true
}

func quoteOr(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return strconv.Quote(s)
}
