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
// the publication's, each section's and each author's, newest first and
// capped at MaxItems; it removes feeds left empty and sweeps files that no
// manifest names and that are older than KeepOld. Each feed is written with
// one atomic Put, and only when its content changed, so a rebuild is
// idempotent. It must not run concurrently with itself.
func (p *Publisher) RebuildFeeds(ctx context.Context) (FeedReport, error) {
	var rep FeedReport
	objects, err := p.store.List(ctx, p.cfg.Prefix+"/")
	if err != nil {
		return rep, fmt.Errorf("publish: list narrations: %w", err)
	}
	manifests, err := p.manifests(ctx, objects)
	if err != nil {
		return rep, err
	}
	items := latestPerArticle(manifests)
	rep.Items = len(items)

	want := map[string]bool{}
	sections := map[string][]*Manifest{}
	authors := map[string][]*Manifest{}
	sectionName := map[string]string{}
	authorName := map[string]string{}
	for _, m := range items {
		if s := Slug(m.Section); s != "" {
			sections[s] = append(sections[s], m)
			sectionName[s] = cmp.Or(sectionName[s], m.Section)
		}
		if a := Slug(m.Author); a != "" {
			authors[a] = append(authors[a], m)
			authorName[a] = cmp.Or(authorName[a], m.Author)
		}
	}
	specs := []struct {
		feedSpec
		items []*Manifest
	}{{feedSpec{FeedKey, p.feedURL(FeedKey), p.cfg.Title}, items}}
	for _, s := range sortedKeys(sections) {
		key := SectionFeeds + s + ".xml"
		specs = append(specs, struct {
			feedSpec
			items []*Manifest
		}{feedSpec{key, p.feedURL(key), p.cfg.Title + " — " + sectionName[s]}, sections[s]})
	}
	for _, a := range sortedKeys(authors) {
		key := AuthorFeeds + a + ".xml"
		specs = append(specs, struct {
			feedSpec
			items []*Manifest
		}{feedSpec{key, p.feedURL(key), p.cfg.Title + " — " + authorName[a]}, authors[a]})
	}
	var errs []error
	for _, s := range specs {
		want[s.key] = true
		list := s.items[:min(len(s.items), p.cfg.MaxItems)]
		body, err := p.feedXML(s.feedSpec, list)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		changed, err := p.putFeed(ctx, s.key, body)
		switch {
		case err != nil:
			errs = append(errs, err)
		case changed:
			rep.Written = append(rep.Written, s.key)
		default:
			rep.Unchanged = append(rep.Unchanged, s.key)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, err
	}

	// Feeds of sections and authors that have no narration left.
	for _, dir := range []string{SectionFeeds, AuthorFeeds} {
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
// its files are not taken for orphans.
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
