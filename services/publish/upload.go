package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/narrator-project/narrator/storage"
)

// fresh reports whether an existing object can stand for a new upload of
// the same content: its size matches, and it is young enough that
// RebuildFeeds will not sweep it away before the new manifest names it.
func (p *Publisher) fresh(o storage.Object, size int64) bool {
	return o.Size == size && p.now().Sub(o.Modified) < p.cfg.KeepOld/2
}

// putAudio uploads the MP3, checking on the way that the bytes are those
// the key's hash names; a key that already holds them is left alone.
func (p *Publisher) putAudio(ctx context.Context, f File, n Narration) error {
	if o, err := p.store.Head(ctx, f.Key); err == nil && p.fresh(o, n.Size) {
		return nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("publish: audio: %w", err)
	}
	h := sha256.New()
	err := p.store.Put(ctx, f.Key, io.TeeReader(n.Audio, h), n.Size, storage.Meta{
		ContentType:        "audio/mpeg",
		CacheControl:       CacheImmutable,
		ContentDisposition: storage.ContentDisposition("inline", fileName(oneLine(n.Script.Title), n.Key, ".mp3")),
	})
	if err != nil {
		return fmt.Errorf("publish: audio: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != strings.ToLower(n.SHA256) {
		// The key names other bytes than it holds: remove it rather than
		// let a CDN cache it for a year.
		derr := p.store.Delete(ctx, f.Key)
		return permanent(errors.Join(fmt.Errorf("%w: the audio's SHA-256 is %s, not %s as given", ErrInvalidNarration, got, n.SHA256), derr))
	}
	return nil
}

// putHashed uploads a small file named by its hash.
func (p *Publisher) putHashed(ctx context.Context, f File, body []byte, name string) error {
	if o, err := p.store.Head(ctx, f.Key); err == nil && p.fresh(o, int64(len(body))) {
		return nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("publish: %s: %w", f.Key, err)
	}
	err := p.store.Put(ctx, f.Key, strings.NewReader(string(body)), int64(len(body)), storage.Meta{
		ContentType:        f.Type,
		CacheControl:       CacheImmutable,
		ContentDisposition: storage.ContentDisposition("inline", name),
	})
	if err != nil {
		return fmt.Errorf("publish: %s: %w", f.Key, err)
	}
	return nil
}
