package player

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

// Static files, under the store's root, so that a bucket behind a CDN
// serves the player as narrator serve does:
//
//	player/KEY.html                  a narration's page, short cache
//	player/embed.js                  the embed script, short cache
//	player/assets/player.HASH.js     the page's script and style, immutable
//	player/assets/player.HASH.css
const staticDir = "player/"

var _ publish.Pages = (*Player)(nil)

// PageKey returns the key of the static page of narration key.
func PageKey(key string) string { return staticDir + key + ".html" }

// PublishPage writes m's page, and the files every page shares, to the
// store; it implements publish.Pages.
func (p *Player) PublishPage(ctx context.Context, m *publish.Manifest) (string, error) {
	if err := p.publishShared(ctx); err != nil {
		return "", err
	}
	body, err := p.render(m, "assets/")
	if err != nil {
		return "", err
	}
	key := PageKey(m.Key)
	err = p.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.Meta{
		ContentType:  "text/html; charset=utf-8",
		CacheControl: publish.CacheManifest,
	})
	if err != nil {
		return "", fmt.Errorf("player: publish page: %w", err)
	}
	return key, nil
}

// RemovePage deletes the static page of narration key; it implements
// publish.Pages.
func (p *Player) RemovePage(ctx context.Context, key string) error {
	if err := publish.ValidKey(key); err != nil {
		return err
	}
	if err := p.store.Delete(ctx, PageKey(key)); err != nil {
		return fmt.Errorf("player: remove page: %w", err)
	}
	return nil
}

// publishShared uploads the script, style and embed script once per
// process; the hashed files are left alone when already there.
func (p *Player) publishShared(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.published {
		return nil
	}
	for _, a := range []asset{p.js, p.css} {
		key := staticDir + "assets/" + a.name
		if o, err := p.store.Head(ctx, key); err == nil && o.Size == int64(len(a.body)) {
			continue
		} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("player: publish %s: %w", key, err)
		}
		if err := p.store.Put(ctx, key, bytes.NewReader(a.body), int64(len(a.body)), storage.Meta{
			ContentType: a.contentType, CacheControl: publish.CacheImmutable,
		}); err != nil {
			return fmt.Errorf("player: publish %s: %w", key, err)
		}
	}
	key := staticDir + p.embed.name
	if err := p.store.Put(ctx, key, bytes.NewReader(p.embed.body), int64(len(p.embed.body)), storage.Meta{
		ContentType: p.embed.contentType, CacheControl: "public, max-age=300",
	}); err != nil {
		return fmt.Errorf("player: publish %s: %w", key, err)
	}
	p.published = true
	return nil
}
