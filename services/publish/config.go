package publish

import (
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/stitch"
)

// Config describes the publication and where its files go. The zero value,
// after defaults, publishes a feed titled "Narrated articles" in the News
// category; a feed meant for Apple Podcasts also needs Link, Image and
// OwnerEmail.
type Config struct {
	// Title, Link and Description describe the publication (the podcast).
	Title       string
	Link        string // the publication's home page
	Description string
	// Language is the feed's language, a BCP 47 tag such as "en" or
	// "en-GB". Default "en".
	Language string
	// Image is the URL of the podcast artwork: a square JPEG or PNG of
	// 1400 to 3000 pixels, as Apple requires.
	Image string
	// Category and Subcategory are Apple Podcasts category names; default
	// "News" and "Daily News".
	Category, Subcategory string
	// Explicit marks the publication as explicit.
	Explicit bool
	// Author is the feed's itunes:author, and each item's when the
	// narration names none. Default: Title.
	Author string
	// OwnerName and OwnerEmail are itunes:owner, the contact Apple uses.
	OwnerName, OwnerEmail string
	// Copyright is the channel's copyright notice, if any.
	Copyright string
	// MaxItems caps each feed, newest first. Default 100.
	MaxItems int
	// Disclosure is the AI disclosure in manifests, transcripts and feed
	// items. Default stitch.DefaultDisclosure; blank text takes the
	// default too, so the disclosure cannot be dropped by accident.
	Disclosure string
	// Prefix is the folder narrations are published under. Default
	// "narrations".
	Prefix string
	// PlayerURL is where embeddable player pages are, such as
	// "https://news.example.com/player/" (narrator serve's /player/
	// route); a narration's page is PlayerURL + its key. Empty: the static
	// page that Pages writes, if any.
	PlayerURL string
	// FeedURL is where listeners fetch the feeds, such as
	// "https://news.example.com" (narrator serve) or a CDN; the feeds'
	// self links are FeedURL + "/feed.xml" and so on. Empty: the store's
	// URLs.
	FeedURL string
	// Pages, if set, publishes each narration's player page as static
	// files next to the audio (player.Player does).
	Pages Pages
	// KeepOld is how long files of a narration that its manifest no longer
	// names (an earlier narration of the same article, a publish that
	// failed halfway) are kept before RebuildFeeds deletes them, so that
	// feeds and pages cached before a re-narration keep working. Default
	// 24 hours; at least a minute.
	KeepOld time.Duration
	// Logger reports manifests that cannot be read. Default slog.Default().
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultTitle    = "Narrated articles"
	DefaultMaxItems = 100
	DefaultPrefix   = "narrations"
	DefaultKeepOld  = 24 * time.Hour
)

func (c *Config) setDefaults() {
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	for _, s := range []*string{&c.Title, &c.Link, &c.Description, &c.Language, &c.Image, &c.Category,
		&c.Subcategory, &c.Author, &c.OwnerName, &c.OwnerEmail, &c.Copyright, &c.Disclosure, &c.Prefix, &c.PlayerURL, &c.FeedURL} {
		trim(s)
	}
	if c.Title == "" {
		c.Title = DefaultTitle
	}
	if c.Language == "" {
		c.Language = "en"
	}
	if c.Category == "" {
		c.Category, c.Subcategory = "News", "Daily News"
	}
	if c.Author == "" {
		c.Author = c.Title
	}
	if c.OwnerName == "" {
		c.OwnerName = c.Author
	}
	if c.MaxItems == 0 {
		c.MaxItems = DefaultMaxItems
	}
	if c.Disclosure == "" {
		c.Disclosure = stitch.DefaultDisclosure
	}
	c.Prefix = strings.Trim(c.Prefix, "/")
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	c.FeedURL = strings.TrimRight(c.FeedURL, "/")
	if c.KeepOld == 0 {
		c.KeepOld = DefaultKeepOld
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

var langTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

// Validate reports settings that would publish a broken feed.
func (c Config) Validate() error {
	var errs []error
	if !langTag.MatchString(c.Language) {
		errs = append(errs, fmt.Errorf("language %q is not a language tag such as en or en-GB", c.Language))
	}
	if !ValidCategory(c.Category, c.Subcategory) {
		errs = append(errs, fmt.Errorf("%q / %q is not an Apple Podcasts category and subcategory (for example News / Daily News)", c.Category, c.Subcategory))
	}
	for name, u := range map[string]string{"link": c.Link, "image": c.Image, "player URL": c.PlayerURL, "feed URL": c.FeedURL} {
		if u != "" && !absoluteHTTP(u) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute http(s) URL", name, u))
		}
	}
	if c.OwnerEmail != "" {
		if a, err := mail.ParseAddress(c.OwnerEmail); err != nil || a.Address != c.OwnerEmail {
			errs = append(errs, fmt.Errorf("owner e-mail %q is not a plain e-mail address", c.OwnerEmail))
		}
	}
	if c.MaxItems < 1 {
		errs = append(errs, fmt.Errorf("feed item cap %d must be at least 1", c.MaxItems))
	}
	for seg := range strings.SplitSeq(c.Prefix, "/") {
		if seg == "" || seg == "." || seg == ".." || seg == "feeds" || seg == "player" || !safeSegment(seg) {
			errs = append(errs, fmt.Errorf("prefix %q must be a relative path of [A-Za-z0-9_-] segments, and not feeds or player", c.Prefix))
			break
		}
	}
	if c.KeepOld < time.Minute {
		errs = append(errs, fmt.Errorf("keep-old period %s is shorter than a minute: a publish in progress could lose its files", c.KeepOld))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish: config: %w", err)
	}
	return nil
}

func safeSegment(s string) bool {
	for i := 0; i < len(s); i++ {
		if !keyByte(s[i]) {
			return false
		}
	}
	return true
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
