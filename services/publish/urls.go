package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/narrator-project/narrator/storage"
)

// Rewritten is a narration whose published URLs RewriteURLs changed.
type Rewritten struct {
	Key       string
	Published Published
}

// RewriteURLs brings every published manifest and static player page up
// to the URLs this publisher gives now: after the public URL, the bucket's
// address or the player's moved, the manifests still name the old ones,
// and so do the feeds and pages built from them. Files keep their keys;
// only the URLs that name them change. A manifest rewritten by a publish
// while this runs is left as that publish wrote it. Follow it with
// RebuildFeeds.
func (p *Publisher) RewriteURLs(ctx context.Context) ([]Rewritten, error) {
	objects, err := p.store.List(ctx, p.cfg.Prefix+"/")
	if err != nil {
		return nil, fmt.Errorf("publish: list narrations: %w", err)
	}
	var out []Rewritten
	var errs []error
	for _, o := range objects {
		key, ok := p.keyOf(o.Key)
		if !ok || o.Key != ManifestKey(p.cfg.Prefix, key) {
			continue
		}
		m, obj, err := readManifest(ctx, p.store, o.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		}
		before := *m
		for _, f := range []*File{&m.Files.Audio, &m.Files.Transcript, &m.Files.Chapters, &m.Files.Credentials, &m.Files.Page} {
			if f.Key != "" {
				f.URL = p.store.URL(f.Key)
			}
		}
		if p.urlsMatch(&before, m) {
			continue
		}
		// A publish since the read wrote a manifest of its own, with the
		// URLs of its publisher: leave it.
		if cur, err := p.store.Head(ctx, o.Key); err != nil || cur.ETag != obj.ETag {
			continue
		}
		pub, err := p.finishManifest(ctx, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("publish: rewrite %s: %w", key, err))
			continue
		}
		out = append(out, Rewritten{Key: key, Published: pub})
	}
	return out, errors.Join(errs...)
}

// urlsMatch reports whether a manifest already names what this publisher
// would: every file's URL and the player page's.
func (p *Publisher) urlsMatch(old, m *Manifest) bool {
	player := ""
	switch {
	case p.cfg.PlayerURL != "":
		player = p.cfg.PlayerURL + m.Key
	case p.cfg.Pages != nil && m.Files.Page.Key != "":
		player = p.store.URL(m.Files.Page.Key)
	}
	if p.cfg.Pages != nil && m.Files.Page.Key == "" {
		return false // a static page to publish
	}
	urls := func(m *Manifest) []string {
		return []string{m.Files.Audio.URL, m.Files.Transcript.URL, m.Files.Chapters.URL, m.Files.Credentials.URL, m.Files.Page.URL}
	}
	return slices.Equal(urls(old), urls(m)) && old.Player == player
}
