package publish

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/stitch"
)

// Config describes where a publisher's files go and how its feeds find
// their settings. Feed settings are the deployment's shared state
// (Settings); Feed seeds the default publication's when nothing is stored.
type Config struct {
	// Feed is the default publication's podcast settings when Settings
	// has none stored (or there is no Settings).
	Feed Feed
	// Settings gives each publication's stored feed settings, read at
	// every rebuild. Nil: Feed alone.
	Settings Settings
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
	for _, s := range []*string{&c.Disclosure, &c.Prefix, &c.PlayerURL, &c.FeedURL} {
		trim(s)
	}
	c.Feed = c.Feed.trimmed()
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
	if err := c.Feed.Validate(); err != nil {
		errs = append(errs, err)
	}
	for name, u := range map[string]string{"player URL": c.PlayerURL, "feed URL": c.FeedURL} {
		if u != "" && !absoluteHTTP(u) {
			errs = append(errs, fmt.Errorf("%s %q is not an absolute http(s) URL", name, u))
		}
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
