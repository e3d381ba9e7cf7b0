package publish

import (
	"context"
	"errors"
	"fmt"
)

// Unpublish removes narration key: its manifest first, so that the next
// RebuildFeeds drops it from every feed and the player stops offering it
// even if a later step fails, then its player page and every file of its
// folder. Unpublishing what is not published is not an error, and a retry
// finishes what a failed call left.
func (p *Publisher) Unpublish(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return permanent(err)
	}
	if err := p.store.Delete(ctx, ManifestKey(p.cfg.Prefix, key)); err != nil {
		return fmt.Errorf("publish: unpublish %s: %w", key, err)
	}
	p.mu.Lock()
	delete(p.cache, ManifestKey(p.cfg.Prefix, key))
	p.mu.Unlock()
	var errs []error
	if p.cfg.Pages != nil {
		if err := p.cfg.Pages.RemovePage(ctx, key); err != nil {
			errs = append(errs, err)
		}
	}
	objects, err := p.store.List(ctx, p.dir(key))
	if err != nil {
		return fmt.Errorf("publish: unpublish %s: %w", key, errors.Join(append(errs, err)...))
	}
	for _, o := range objects {
		if err := p.store.Delete(ctx, o.Key); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish: unpublish %s: %w", key, err)
	}
	return nil
}
