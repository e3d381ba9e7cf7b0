package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

func init() {
	register(&command{Name: "feeds rebuild", Summary: "regenerate the podcast feeds, and every published URL, from what is published", Run: runFeedsRebuild})
	register(&command{Name: "feeds check", Summary: "what Apple Podcasts, Spotify and the Podcast Index require that a feed lacks", Run: runFeedsCheck})
}

// publication is the configuration of publishing and of the player.
type publication struct {
	Publish publish.Config
	Player  player.Config
	// Static also publishes each player page as a static file next to the
	// audio, so a bucket behind a CDN serves the player on its own.
	Static bool
}

// publicationFlags registers the publication's settings.
func (p *publication) publicationFlags(fs *flag.FlagSet) {
	c, f := &p.Publish, &p.Publish.Feed
	str := func(dst *string, name, envName, usage string) {
		fs.StringVar(dst, name, env(envName, ""), usage+" (env "+envName+")")
	}
	str(&f.Title, "feed-title", "NARRATOR_FEED_TITLE", "podcast title; default "+publish.DefaultTitle)
	str(&f.Link, "feed-link", "NARRATOR_FEED_LINK", "the publication's home page")
	str(&f.Description, "feed-description", "NARRATOR_FEED_DESCRIPTION", "podcast description")
	str(&f.Language, "feed-language", "NARRATOR_FEED_LANGUAGE", "feed language, e.g. en or en-GB; default en")
	str(&f.Image, "feed-image", "NARRATOR_FEED_IMAGE", "URL of the podcast artwork, a square JPEG or PNG of 1400 to 3000 pixels; default a cover drawn with the title")
	str(&f.Category, "feed-category", "NARRATOR_FEED_CATEGORY", "Apple Podcasts category; default News")
	str(&f.Subcategory, "feed-subcategory", "NARRATOR_FEED_SUBCATEGORY", "Apple Podcasts subcategory; default Daily News")
	fs.BoolVar(&f.Explicit, "feed-explicit", envBool("NARRATOR_FEED_EXPLICIT", false), "mark the podcast explicit (env NARRATOR_FEED_EXPLICIT)")
	str(&f.Author, "feed-author", "NARRATOR_FEED_AUTHOR", "podcast author; default the title")
	str(&f.OwnerName, "feed-owner-name", "NARRATOR_FEED_OWNER_NAME", "podcast owner's name, for Apple")
	str(&f.OwnerEmail, "feed-owner-email", "NARRATOR_FEED_OWNER_EMAIL", "podcast owner's e-mail: Spotify and Apple send ownership checks there")
	str(&f.Copyright, "feed-copyright", "NARRATOR_FEED_COPYRIGHT", "copyright notice")
	fs.IntVar(&f.MaxItems, "feed-max-items", envInt("NARRATOR_FEED_MAX_ITEMS", 0), "items per feed, newest first; 0: 100 (env NARRATOR_FEED_MAX_ITEMS)")
	str(&c.FeedURL, "feed-url", "NARRATOR_FEED_URL", "where listeners fetch the feeds; default the public URL for the embedded default, the bucket's URL with S3")
	str(&c.PlayerURL, "player-url", "NARRATOR_PLAYER_URL", "where player pages are, e.g. https://news.example.com/player/; default the public URL's /player/, or the static pages with S3")
	str(&c.Disclosure, "disclosure", "NARRATOR_DISCLOSURE", "AI disclosure shown by the player and written to transcripts and feeds; default \"This audio is created with AI assistance\"")
	str(&c.Prefix, "media-prefix", "NARRATOR_MEDIA_PREFIX", "folder narrations are published under; default "+publish.DefaultPrefix)
	fs.DurationVar(&c.KeepOld, "keep-old", envDuration("NARRATOR_KEEP_OLD", publish.DefaultKeepOld), "keep files of replaced narrations this long (env NARRATOR_KEEP_OLD)")
	fs.BoolVar(&p.Player.Download, "player-download", envBool("NARRATOR_PLAYER_DOWNLOAD", false), "offer a download link in the player (env NARRATOR_PLAYER_DOWNLOAD)")
	fs.BoolVar(&p.Static, "static-player", envBool("NARRATOR_STATIC_PLAYER", true), "publish player pages as static files too (env NARRATOR_STATIC_PLAYER)")
}

// open builds the player and the publisher on a store, with the feed
// settings kept in NATS (settings; nil: this process's own). publicURL is
// where narrator serve is reached; it is the default base of the feeds and
// the player pages when the store is the embedded default.
func (p *publication) open(st storage.Store, publicURL string, settings publish.Settings) (*publish.Publisher, *player.Player, error) {
	pc, plc := p.Publish, p.Player
	pc.Settings = settings
	plc.Disclosure, plc.Prefix = pc.Disclosure, pc.Prefix
	if _, ok := st.(*storage.FS); ok && publicURL != "" {
		base := strings.TrimRight(publicURL, "/")
		if pc.FeedURL == "" {
			pc.FeedURL = base
		}
		if pc.PlayerURL == "" {
			pc.PlayerURL = base + "/player/"
		}
	}
	pl, err := player.New(st, plc)
	if err != nil {
		return nil, nil, err
	}
	if p.Static {
		pc.Pages = pl
	}
	pub, err := publish.New(st, pc)
	if err != nil {
		return nil, nil, err
	}
	return pub, pl, nil
}

// feedSeeded says whether the feed settings given to this process (flags
// and NARRATOR_FEED_* variables) were stored.
type feedSeeded int

const (
	seedNone    feedSeeded = iota // none given
	seedStored                    // stored: nothing was before
	seedIgnored                   // not stored: settings were already
)

// seedFeed stores the feed settings this process was given as the default
// publication's, if any were given and none are stored yet: the
// environment seeds the shared settings once and never overrides what
// editors set since. Artwork is checked before it is stored.
func (s *settings) seedFeed(ctx context.Context, q *queue.Queue, log *slog.Logger) (feedSeeded, error) {
	f := s.pub.Publish.Feed
	if f.IsZero() {
		return seedNone, nil
	}
	store := pipeline.Feeds(q)
	stored, err := store.FeedSettings(ctx, publish.DefaultPublication)
	switch {
	case err == nil:
		if stored != f {
			log.Warn("feed settings from flags and NARRATOR_FEED_* are ignored: the settings stored in NATS win; change them on the dashboard's Feeds page or with PUT /api/feeds/default")
		}
		return seedIgnored, nil
	case !errors.Is(err, publish.ErrNoSettings):
		return seedNone, err
	}
	if f.Image != "" {
		guard, err := s.guard()
		if err != nil {
			return seedNone, err
		}
		data, err := pipeline.ArtworkFetcher(guard)(ctx, f.Image)
		if err != nil {
			return seedNone, fmt.Errorf("--feed-image %s cannot be fetched: %w", f.Image, err)
		}
		if _, err := publish.CheckArtwork(data); err != nil {
			return seedNone, fmt.Errorf("--feed-image %s: %w", f.Image, err)
		}
	}
	ok, err := store.Seed(ctx, "", f)
	if err != nil {
		return seedNone, err
	}
	if !ok {
		return seedIgnored, nil // another process seeded first
	}
	log.Info("feed settings stored from flags and NARRATOR_FEED_*; from now on edit them on the dashboard's Feeds page or with PUT /api/feeds/default")
	return seedStored, nil
}

// publisher seeds the feed settings and opens the publisher and player on
// the store, reading feed settings from NATS.
func (s *settings) publisher(ctx context.Context, q *queue.Queue, st storage.Store, log *slog.Logger) (*publish.Publisher, *player.Player, error) {
	if _, err := s.seedFeed(ctx, q, log); err != nil {
		return nil, nil, err
	}
	return s.pub.open(st, s.publicURL(), pipeline.Feeds(q))
}

// connectPublisher opens the queue, the store and the publisher, for the
// feeds commands; the caller closes the queue.
func (s *settings) connectPublisher(ctx context.Context) (*queue.Queue, *publish.Publisher, error) {
	log, q, err := s.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := s.openStore(ctx)
	if err == nil {
		var pub *publish.Publisher
		if pub, _, err = s.publisher(ctx, q, st, log); err == nil {
			return q, pub, nil
		}
	}
	q.Close()
	return nil, nil, err
}

func runFeedsRebuild(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("feeds rebuild", "[flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"feeds rebuild takes no arguments"}
	}
	q, pub, err := s.connectPublisher(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	moved, err := pub.RewriteURLs(ctx)
	if err != nil {
		return err
	}
	if err := pipeline.RecordRewritten(ctx, q, moved); err != nil {
		return err
	}
	rep, err := pub.RebuildFeeds(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%d narrations, %d of them moved to new URLs; %d feeds written, %d unchanged, %d removed; %d old files deleted\n",
		rep.Items, len(moved), len(rep.Written), len(rep.Unchanged), len(rep.Removed), len(rep.Swept))
	for _, k := range rep.Written {
		fmt.Fprintf(io.Out, "  %s\n", pub.FeedURL(k))
	}
	return nil
}

func runFeedsCheck(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("feeds check", "[--publication NAME] [--json] [flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	publication := fs.String("publication", "", "the publication whose feed to check; default the whole site's feed.xml")
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"feeds check takes no arguments"}
	}
	q, pub, err := s.connectPublisher(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	guard, err := s.guard()
	if err != nil {
		return err
	}
	h, err := pub.Health(ctx, *publication, pipeline.ArtworkFetcher(guard))
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(h); err != nil {
			return err
		}
	} else {
		printHealth(io.Out, h)
	}
	var notReady []string
	for _, p := range publish.Platforms {
		if !h.Ready(p) {
			notReady = append(notReady, p)
		}
	}
	if len(notReady) > 0 {
		return fmt.Errorf("the feed does not yet meet what %s require", strings.Join(notReady, " and "))
	}
	return nil
}

// printHealth writes a feed's checks for people: one line each, then one
// line per directory.
func printHealth(w io.Writer, h publish.Health) {
	fmt.Fprintf(w, "feed  %s (%d episodes)\n\n", h.Feed, h.Items)
	for _, c := range h.Checks {
		mark := "ok  "
		switch {
		case !c.OK && len(c.Required) > 0:
			mark = "MISS"
		case !c.OK:
			mark = "hint"
		}
		var who []string
		if len(c.Required) > 0 {
			who = append(who, "required by "+strings.Join(c.Required, ", "))
		}
		if len(c.Recommended) > 0 {
			who = append(who, "recommended by "+strings.Join(c.Recommended, ", "))
		}
		fmt.Fprintf(w, "%s  %-24s %s\n      %-24s %s\n", mark, c.Name, c.Detail, "", strings.Join(who, "; "))
	}
	fmt.Fprintln(w)
	for _, p := range publish.Platforms {
		var miss []string
		for _, c := range h.Checks {
			if !c.OK && slices.Contains(c.Required, p) {
				miss = append(miss, c.Name)
			}
		}
		if len(miss) == 0 {
			fmt.Fprintf(w, "%-15s ready\n", p)
		} else {
			fmt.Fprintf(w, "%-15s missing: %s\n", p, strings.Join(miss, ", "))
		}
	}
}
