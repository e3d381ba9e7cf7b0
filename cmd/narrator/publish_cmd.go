package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

func init() {
	register(&command{Name: "feeds rebuild", Summary: "regenerate the podcast feeds from the published narrations", Run: runFeedsRebuild})
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
	c := &p.Publish
	str := func(dst *string, name, envName, usage string) {
		fs.StringVar(dst, name, env(envName, ""), usage+" (env "+envName+")")
	}
	str(&c.Title, "feed-title", "NARRATOR_FEED_TITLE", "podcast title; default "+publish.DefaultTitle)
	str(&c.Link, "feed-link", "NARRATOR_FEED_LINK", "the publication's home page")
	str(&c.Description, "feed-description", "NARRATOR_FEED_DESCRIPTION", "podcast description")
	str(&c.Language, "feed-language", "NARRATOR_FEED_LANGUAGE", "feed language, e.g. en or en-GB; default en")
	str(&c.Image, "feed-image", "NARRATOR_FEED_IMAGE", "URL of the podcast artwork, a square JPEG or PNG of 1400 to 3000 pixels")
	str(&c.Category, "feed-category", "NARRATOR_FEED_CATEGORY", "Apple Podcasts category; default News")
	str(&c.Subcategory, "feed-subcategory", "NARRATOR_FEED_SUBCATEGORY", "Apple Podcasts subcategory; default Daily News")
	fs.BoolVar(&c.Explicit, "feed-explicit", envBool("NARRATOR_FEED_EXPLICIT", false), "mark the podcast explicit (env NARRATOR_FEED_EXPLICIT)")
	str(&c.Author, "feed-author", "NARRATOR_FEED_AUTHOR", "podcast author; default the title")
	str(&c.OwnerName, "feed-owner-name", "NARRATOR_FEED_OWNER_NAME", "podcast owner's name, for Apple")
	str(&c.OwnerEmail, "feed-owner-email", "NARRATOR_FEED_OWNER_EMAIL", "podcast owner's e-mail, for Apple")
	str(&c.Copyright, "feed-copyright", "NARRATOR_FEED_COPYRIGHT", "copyright notice")
	fs.IntVar(&c.MaxItems, "feed-max-items", envInt("NARRATOR_FEED_MAX_ITEMS", publish.DefaultMaxItems), "items per feed, newest first (env NARRATOR_FEED_MAX_ITEMS)")
	str(&c.FeedURL, "feed-url", "NARRATOR_FEED_URL", "where listeners fetch the feeds; default the public URL for the embedded default, the bucket's URL with S3")
	str(&c.PlayerURL, "player-url", "NARRATOR_PLAYER_URL", "where player pages are, e.g. https://news.example.com/player/; default the public URL's /player/, or the static pages with S3")
	str(&c.Disclosure, "disclosure", "NARRATOR_DISCLOSURE", "AI disclosure shown by the player and written to transcripts and feeds; default \"This audio is created with AI assistance\"")
	str(&c.Prefix, "media-prefix", "NARRATOR_MEDIA_PREFIX", "folder narrations are published under; default "+publish.DefaultPrefix)
	fs.DurationVar(&c.KeepOld, "keep-old", envDuration("NARRATOR_KEEP_OLD", publish.DefaultKeepOld), "keep files of replaced narrations this long (env NARRATOR_KEEP_OLD)")
	fs.BoolVar(&p.Player.Download, "player-download", envBool("NARRATOR_PLAYER_DOWNLOAD", false), "offer a download link in the player (env NARRATOR_PLAYER_DOWNLOAD)")
	fs.BoolVar(&p.Static, "static-player", envBool("NARRATOR_STATIC_PLAYER", true), "publish player pages as static files too (env NARRATOR_STATIC_PLAYER)")
}

// open builds the player and the publisher on a store. publicURL is where
// narrator serve is reached; it is the default base of the feeds and the
// player pages when the store is the embedded default.
func (p *publication) open(st storage.Store, publicURL string) (*publish.Publisher, *player.Player, error) {
	pc, plc := p.Publish, p.Player
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
	st, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	pub, _, err := s.pub.open(st, s.PublicURL)
	if err != nil {
		return err
	}
	rep, err := pub.RebuildFeeds(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%d narrations; %d feeds written, %d unchanged, %d removed; %d old files deleted\n",
		rep.Items, len(rep.Written), len(rep.Unchanged), len(rep.Removed), len(rep.Swept))
	for _, k := range rep.Written {
		fmt.Fprintf(io.Out, "  %s\n", st.URL(k))
	}
	return nil
}
