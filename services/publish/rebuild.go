package publish

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/narrator-project/narrator/storage"
)

// FeedReport says what RebuildFeeds did.
type FeedReport struct {
	// Items is the number of published narrations, one per article.
	Items int
	// Written are the feeds uploaded because their content changed;
	// Unchanged those that already held the same bytes.
	Written, Unchanged []string
	// Removed are feeds of sections and authors with no narration left.
	Removed []string
	// Swept are files no manifest names any more, deleted after KeepOld.
	Swept []string
}

// RebuildFeeds regenerates every feed from the manifests in the store:
// the publication's, each section's, each author's and each named
// publication's, newest first and capped at MaxItems, with the settings
// in force now (Config.Settings); it draws the cover of any publication
// that has no artwork, removes feeds left empty and sweeps files that no
// manifest names and that are older than KeepOld. Each feed is written
// with one atomic Put, and only when its content changed, so a rebuild is
// idempotent. It must not run concurrently with itself.
func (p *Publisher) RebuildFeeds(ctx context.Context) (FeedReport, error) {
	var rep FeedReport
	objects, manifests, err := p.load(ctx)
	if err != nil {
		return rep, err
	}
	items := latestPerArticle(manifests)
	rep.Items = len(items)
	feeds, err := p.render(ctx, items)
	if err != nil {
		return rep, err
	}
	want := map[string]bool{}
	var errs []error
	for _, f := range feeds {
		want[f.key] = true
		if f.cover != nil {
			if err := p.putCover(ctx, f.cover); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		changed, err := p.putFeed(ctx, f.key, f.body)
		switch {
		case err != nil:
			errs = append(errs, err)
		case changed:
			rep.Written = append(rep.Written, f.key)
		default:
			rep.Unchanged = append(rep.Unchanged, f.key)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}

	// Feeds of sections, authors and publications that have no narration left.
	for _, dir := range []string{SectionFeeds, AuthorFeeds, PublicationFeeds} {
		old, err := p.store.List(ctx, dir)
		if err != nil {
			return rep, fmt.Errorf("publish: list feeds: %w", err)
		}
		for _, o := range old {
			if !want[o.Key] && strings.HasSuffix(o.Key, ".xml") {
				if err := p.store.Delete(ctx, o.Key); err != nil {
					return rep, fmt.Errorf("publish: remove feed: %w", err)
				}
				rep.Removed = append(rep.Removed, o.Key)
			}
		}
	}
	rep.Swept, err = p.sweep(ctx, objects, manifests)
	return rep, err
}

// load lists the narrations' files and reads their manifests.
func (p *Publisher) load(ctx context.Context) ([]storage.Object, map[string]*Manifest, error) {
	objects, err := p.store.List(ctx, p.cfg.Prefix+"/")
	if err != nil {
		return nil, nil, fmt.Errorf("publish: list narrations: %w", err)
	}
	manifests, err := p.manifests(ctx, objects)
	if err != nil {
		return nil, nil, err
	}
	return objects, manifests, nil
}

// builtFeed is one feed rendered, and the cover it names if it is ours.
type builtFeed struct {
	key, title  string
	publication string // key of the publication whose settings it has
	body        []byte
	cover       *Cover
}

// render builds every feed from the items, newest first, without writing
// anything: the publication's, each section's and author's (with the
// default publication's settings) and each named publication's.
func (p *Publisher) render(ctx context.Context, items []*Manifest) ([]builtFeed, error) {
	def, err := p.feedSettings(ctx, DefaultPublication, "")
	if err != nil {
		return nil, err
	}
	sections := map[string][]*Manifest{}
	authors := map[string][]*Manifest{}
	pubs := map[string][]*Manifest{}
	names := map[string]string{}
	for _, m := range items {
		if s := Slug(m.Section); s != "" {
			sections[s] = append(sections[s], m)
			names["s/"+s] = cmp.Or(names["s/"+s], m.Section)
		}
		if a := Slug(m.Author); a != "" {
			authors[a] = append(authors[a], m)
			names["a/"+a] = cmp.Or(names["a/"+a], m.Author)
		}
		if k := m.PublicationID; k != "" && k != DefaultPublication {
			pubs[k] = append(pubs[k], m)
			names["p/"+k] = cmp.Or(names["p/"+k], m.Publication, k)
		}
	}
	type spec struct {
		key, title, pub string
		feed            Feed
		items           []*Manifest
	}
	specs := []spec{{FeedKey, def.Title, DefaultPublication, def, items}}
	for _, s := range sortedKeys(sections) {
		specs = append(specs, spec{SectionFeeds + s + ".xml", def.Title + " — " + names["s/"+s], DefaultPublication, def, sections[s]})
	}
	for _, a := range sortedKeys(authors) {
		specs = append(specs, spec{AuthorFeeds + a + ".xml", def.Title + " — " + names["a/"+a], DefaultPublication, def, authors[a]})
	}
	for _, k := range sortedKeys(pubs) {
		f, err := p.feedSettings(ctx, k, names["p/"+k])
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec{PublicationFeeds + k + ".xml", f.Title, k, f, pubs[k]})
	}
	out := make([]builtFeed, 0, len(specs))
	for _, s := range specs {
		b := builtFeed{key: s.key, title: s.title, publication: s.pub}
		image := s.feed.Image
		if image == "" {
			b.cover = NewCover(s.feed.Title)
			image = p.store.URL(b.cover.Key())
		}
		list := s.items[:min(len(s.items), s.feed.MaxItems)]
		body, err := p.feedXML(feedSpec{key: s.key, self: p.feedURL(s.key), title: s.title, feed: s.feed, image: image}, list)
		if err != nil {
			return nil, err
		}
		b.body = body
		out = append(out, b)
	}
	return out, nil
}

// FeedURL returns where listeners fetch the feed stored under key.
func (p *Publisher) FeedURL(key string) string { return p.feedURL(key) }

func (p *Publisher) feedURL(key string) string {
	if p.cfg.FeedURL != "" {
		return p.cfg.FeedURL + "/" + key
	}
	return p.store.URL(key)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// manifests reads every manifest listed, reusing those whose ETag has not
// changed since the last rebuild, so that a rebuild reads only what was
// published since. A manifest that cannot be read (damaged, or written by a
// newer version) is logged and left out: one bad file must not take every
// feed down. Its narration key is in the map with a nil manifest, so that
// its files are not taken for orphans. The manifests come without their
// transcript (Sentences, Paragraphs).
func (p *Publisher) manifests(ctx context.Context, objects []storage.Object) (map[string]*Manifest, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]*Manifest{}
	seen := map[string]bool{}
	for _, o := range objects {
		key, ok := p.keyOf(o.Key)
		if !ok || o.Key != ManifestKey(p.cfg.Prefix, key) {
			continue
		}
		seen[o.Key] = true
		if c, ok := p.cache[o.Key]; ok && c.etag != "" && c.etag == o.ETag {
			out[key] = c.m
			continue
		}
		m, obj, err := readManifest(ctx, p.store, o.Key)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // unpublished since the listing
		case err != nil && (errors.Is(err, ErrBadManifest) || isDecodeError(err)):
			p.cfg.Logger.Warn("publish: skipping unreadable manifest", "key", o.Key, "error", err)
			out[key] = nil
			continue
		case err != nil:
			return nil, err
		}
		if m.Key != key {
			p.cfg.Logger.Warn("publish: skipping manifest filed under another key", "key", o.Key, "manifest_key", m.Key)
			out[key] = nil
			continue
		}
		// Feeds never read the transcript, most of a manifest (each word's
		// times, when heard): the cache, which holds a manifest per
		// narration for as long as the process runs, keeps the rest.
		m.Sentences, m.Paragraphs = nil, nil
		p.cache[o.Key] = cachedManifest{etag: obj.ETag, m: m}
		out[key] = m
	}
	for k := range p.cache {
		if !seen[k] {
			delete(p.cache, k)
		}
	}
	return out, nil
}

// latestPerArticle keeps one narration per article id, the newest, so a
// guid appears once in a feed even if an article was published under two
// keys; and sorts them newest first.
func latestPerArticle(ms map[string]*Manifest) []*Manifest {
	by := map[string]*Manifest{}
	for _, m := range ms {
		if m == nil {
			continue
		}
		if o, ok := by[m.ArticleID]; !ok || m.Created.After(o.Created) || m.Created.Equal(o.Created) && m.Key < o.Key {
			by[m.ArticleID] = m
		}
	}
	out := make([]*Manifest, 0, len(by))
	for _, m := range by {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Manifest) int {
		if c := b.Date().Compare(a.Date()); c != 0 {
			return c
		}
		return strings.Compare(a.ArticleID, b.ArticleID)
	})
	return out
}

// putFeed writes a feed unless the store already holds the same bytes, as
// its ETag (the MD5 of the content, on both stores for one-part uploads)
// tells.
func (p *Publisher) putFeed(ctx context.Context, key string, body []byte) (bool, error) {
	sum := md5.Sum(body)
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	if o, err := p.store.Head(ctx, key); err == nil && o.ETag == etag && o.Size == int64(len(body)) && o.Meta.CacheControl == CacheFeed {
		return false, nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, fmt.Errorf("publish: feed %s: %w", key, err)
	}
	err := p.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.Meta{
		ContentType:  "application/rss+xml; charset=utf-8",
		CacheControl: CacheFeed,
	})
	if err != nil {
		return false, fmt.Errorf("publish: feed %s: %w", key, err)
	}
	return true, nil
}

// sweep deletes files under the narrations' prefix that their folder's
// manifest does not name, once they are older than KeepOld: earlier
// narrations of an article, and what a publish that failed before its
// manifest left behind. Each candidate is looked at again just before it
// is deleted, so a file a publish has just rewritten stays.
func (p *Publisher) sweep(ctx context.Context, objects []storage.Object, manifests map[string]*Manifest) ([]string, error) {
	named := map[string]bool{}
	for _, m := range manifests {
		if m == nil {
			continue
		}
		for _, k := range m.Keys(p.cfg.Prefix) {
			named[k] = true
		}
	}
	now := p.now()
	var swept []string
	orphans := map[string]bool{}
	for _, o := range objects {
		key, ok := p.keyOf(o.Key)
		if !ok || named[o.Key] || now.Sub(o.Modified) < p.cfg.KeepOld {
			continue
		}
		if m, listed := manifests[key]; listed && m == nil {
			continue // an unreadable manifest: logged, left for a person to look at
		}
		cur, err := p.store.Head(ctx, o.Key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return swept, fmt.Errorf("publish: sweep: %w", err)
		}
		if now.Sub(cur.Modified) < p.cfg.KeepOld {
			continue
		}
		if err := p.store.Delete(ctx, o.Key); err != nil {
			return swept, fmt.Errorf("publish: sweep: %w", err)
		}
		swept = append(swept, o.Key)
		if _, listed := manifests[key]; !listed {
			orphans[key] = true
		}
	}
	if p.cfg.Pages != nil {
		for key := range orphans {
			if err := p.cfg.Pages.RemovePage(ctx, key); err != nil {
				return swept, fmt.Errorf("publish: sweep page of %s: %w", key, err)
			}
		}
	}
	return swept, nil
}
