// Package publish puts finished narrations where listeners find them: the
// MP3, a WebVTT transcript, Podcasting 2.0 chapters and a JSON manifest per
// narration, under content-hashed keys that a CDN may cache forever, and
// podcast feeds for the whole publication, each section and each author.
// It knows storage, not the queue: a pipeline stage calls Publish,
// Unpublish and RebuildFeeds.
//
// Layout under the store's root, with the default prefix:
//
//	narrations/KEY/manifest.json      stable key, short cache; written last
//	narrations/KEY/HASH.mp3           the audio, immutable
//	narrations/KEY/HASH.vtt           the transcript, immutable
//	narrations/KEY/HASH.chapters.json the chapters, immutable
//	narrations/KEY/HASH.c2pa          the MP3's Content Credentials (C2PA
//	                                  manifest store), named by the MP3's hash
//	feed.xml                          the publication's feed
//	feeds/section/SLUG.xml            a section's feed
//	feeds/author/SLUG.xml             an author's feed
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/storage"
)

// Errors.
var (
	// ErrInvalidNarration is returned, marked permanent, for a narration
	// that cannot be published as given.
	ErrInvalidNarration = errors.New("publish: invalid narration")
	// ErrInvalidKey is returned for a narration key outside [A-Za-z0-9_-].
	ErrInvalidKey = errors.New("publish: invalid narration key")
	// ErrSuperseded is returned, marked permanent, when a newer narration of
	// the article is already published: a late retry of an older job must
	// not replace it.
	ErrSuperseded = errors.New("publish: a newer narration of the article is published")
	// ErrBadManifest is returned for a stored manifest this version cannot
	// read.
	ErrBadManifest = errors.New("publish: unreadable manifest")
)

// Cache-Control values.
const (
	// CacheImmutable is for content-hashed keys, which never change.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheManifest is for the manifest and player pages, which change on
	// re-narration.
	CacheManifest = "public, max-age=60"
	// CacheFeed is for feeds.
	CacheFeed = "public, max-age=300"
)

// Pages publishes a narration's player page as static files, so that a
// bucket behind a CDN serves the player without narrator serve.
// player.Player implements it.
type Pages interface {
	// PublishPage writes the page of m and returns its key. It must be
	// idempotent: a retry rewrites the same page.
	PublishPage(ctx context.Context, m *Manifest) (key string, err error)
	// RemovePage deletes the page of narration key, if any.
	RemovePage(ctx context.Context, key string) error
}

// Publisher publishes narrations and feeds to a store. It is safe for
// concurrent use, except that RebuildFeeds must not run concurrently with
// itself (the pipeline runs it in a stage one process at a time).
type Publisher struct {
	store storage.Store
	cfg   Config

	mu     sync.Mutex
	cache  map[string]cachedManifest // by manifest key
	covers map[string]bool           // covers known to be stored
	now    func() time.Time
}

type cachedManifest struct {
	etag string
	m    *Manifest
}

// New returns a publisher writing to store. The store's URLs must be
// absolute (podcast apps need absolute enclosure URLs), unless FeedURL
// says where listeners reach them.
func New(store storage.Store, cfg Config) (*Publisher, error) {
	if store == nil {
		return nil, errors.New("publish: no store")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !absoluteHTTP(store.URL(FeedKey)) {
		return nil, fmt.Errorf("publish: the store's URLs are not absolute (%q): podcast apps need absolute URLs; give the store a public base URL", store.URL(FeedKey))
	}
	return &Publisher{store: store, cfg: cfg, cache: map[string]cachedManifest{}, covers: map[string]bool{}, now: time.Now}, nil
}

// Config returns the configuration in force, defaults filled in.
func (p *Publisher) Config() Config { return p.cfg }

// Manifest reads the published manifest of narration key; it wraps
// storage.ErrNotFound when there is none.
func (p *Publisher) Manifest(ctx context.Context, key string) (*Manifest, error) {
	m, _, err := LoadManifest(ctx, p.store, p.cfg.Prefix, key)
	return m, err
}

// Publish uploads a narration's files and then its manifest. Hashed files
// go first and the manifest, which names them, last: a publish that fails
// halfway leaves the previous narration of the article published and
// complete, and a retry rewrites the same keys. Errors in the narration
// itself are permanent; storage errors are left for the caller to retry.
func (p *Publisher) Publish(ctx context.Context, n Narration) (Published, error) {
	m, vtt, chap, err := p.prepare(ctx, n)
	if err != nil {
		return Published{}, err
	}
	manifestKey := ManifestKey(p.cfg.Prefix, n.Key)

	// A late retry of an older job must not replace a newer narration.
	old, _, err := readManifest(ctx, p.store, manifestKey)
	switch {
	case err == nil && old.Created.After(m.Created) && old.SHA256 != m.SHA256:
		return Published{}, permanent(fmt.Errorf("%w: %s narrated at %s, this narration at %s",
			ErrSuperseded, n.ArticleID, old.Created.Format(time.RFC3339), m.Created.Format(time.RFC3339)))
	case err != nil && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, ErrBadManifest) && !isDecodeError(err):
		return Published{}, err
	}

	if err := p.putAudio(ctx, m.Files.Audio, n); err != nil {
		return Published{}, err
	}
	if err := p.putHashed(ctx, m.Files.Transcript, vtt, fileName(m.Title, m.Key, ".vtt")); err != nil {
		return Published{}, err
	}
	if err := p.putHashed(ctx, m.Files.Chapters, chap, fileName(m.Title, m.Key, ".chapters.json")); err != nil {
		return Published{}, err
	}
	if m.Files.Credentials.Key != "" {
		if err := p.putHashed(ctx, m.Files.Credentials, n.Credentials, fileName(m.Title, m.Key, ".c2pa")); err != nil {
			return Published{}, err
		}
	}
	return p.finishManifest(ctx, m)
}

// finishManifest names the player page in m, publishes the static page if
// there is one, and writes the manifest last.
func (p *Publisher) finishManifest(ctx context.Context, m *Manifest) (Published, error) {
	manifestKey := ManifestKey(p.cfg.Prefix, m.Key)
	m.Player = ""
	if p.cfg.PlayerURL != "" {
		m.Player = p.cfg.PlayerURL + m.Key
	}
	if p.cfg.Pages != nil {
		key, err := p.cfg.Pages.PublishPage(ctx, m)
		if err != nil {
			return Published{}, fmt.Errorf("publish: player page: %w", err)
		}
		m.Files.Page = File{Key: key, URL: p.store.URL(key), Type: "text/html; charset=utf-8"}
		if m.Player == "" {
			m.Player = m.Files.Page.URL
		}
	}
	body, err := json.Marshal(m)
	if err != nil {
		return Published{}, fmt.Errorf("publish: manifest: %w", err)
	}
	err = p.store.Put(ctx, manifestKey, strings.NewReader(string(body)), int64(len(body)), storage.Meta{
		ContentType:        "application/json",
		CacheControl:       CacheManifest,
		ContentDisposition: storage.ContentDisposition("inline", fileName(m.Title, m.Key, ".json")),
	})
	if err != nil {
		return Published{}, fmt.Errorf("publish: manifest: %w", err)
	}
	return Published{
		Manifest:    File{Key: manifestKey, URL: p.store.URL(manifestKey), Type: "application/json", Bytes: int64(len(body))},
		Audio:       m.Files.Audio,
		Transcript:  m.Files.Transcript,
		Chapters:    m.Files.Chapters,
		Page:        m.Files.Page,
		Credentials: m.Files.Credentials,
		Player:      m.Player,
	}, nil
}

func isDecodeError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF)
}
