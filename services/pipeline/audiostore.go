package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/storage"
)

// ChunkAudio keeps chunk audio by content hash: it is the synthesis cache,
// and what the stitch stage joins. A failed Put is an error: a chunk
// counts as synthesized only once its audio is kept.
type ChunkAudio interface {
	synth.Cache
	// Open reads a chunk's audio, or fails with synth.ErrNotCached.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Has reports whether a chunk's audio is kept.
	Has(ctx context.Context, key string) (bool, error)
	// Delete removes a chunk's audio (bad audio is not kept).
	Delete(ctx context.Context, key string) error
}

// AudioCache returns the chunk audio kept in the queue's audio bucket, in
// NATS: the embedded default, shared by every synth worker.
func AudioCache(q *queue.Queue) ChunkAudio { return audioCache{q.Audio()} }

type audioCache struct{ b *queue.Blobs }

func (c audioCache) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := c.b.Bytes(ctx, key)
	if errors.Is(err, queue.ErrCorruptBlob) {
		// Spoilt in the store (seen after a NATS node was lost): reading it
		// again would fail the same way, so it goes, and the chunk is
		// synthesized again and stored anew.
		if derr := c.b.Delete(ctx, key); derr != nil {
			return nil, errors.Join(err, derr)
		}
		return nil, fmt.Errorf("%w: %w", synth.ErrNotCached, err)
	}
	if errors.Is(err, queue.ErrNoBlob) {
		return nil, synth.ErrNotCached
	}
	return data, err
}

func (c audioCache) Put(ctx context.Context, key string, audio []byte) error {
	_, err := c.b.Put(ctx, key, bytes.NewReader(audio))
	return err
}

func (c audioCache) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := c.b.Open(ctx, key)
	if errors.Is(err, queue.ErrNoBlob) {
		return nil, fmt.Errorf("%w: %s", synth.ErrNotCached, key)
	}
	return r, err
}

func (c audioCache) Has(ctx context.Context, key string) (bool, error) {
	_, err := c.b.Size(ctx, key)
	if errors.Is(err, queue.ErrNoBlob) {
		return false, nil
	}
	return err == nil, err
}

func (c audioCache) Delete(ctx context.Context, key string) error { return c.b.Delete(ctx, key) }

// AudioStoreConfig sizes the chunk audio kept in the object storage.
type AudioStoreConfig struct {
	// Prefix is where chunks go in the store (default "cache/audio/"),
	// spread over 256 folders by their first two hex digits.
	Prefix string
	// MaxAge evicts chunks not used for this long (default 90 days).
	MaxAge time.Duration
	// MaxBytes evicts the least recently used chunks while the total is
	// over it; 0: no cap.
	MaxBytes int64
	// MinAge keeps chunks used more recently than this whatever the total
	// (default a day), so that jobs still being stitched find theirs.
	MinAge time.Duration
	// TouchAfter marks a chunk used again when found in the cache, if it
	// was last marked longer ago than this (default a day): least recently
	// used, to a day, for one index write per chunk a day at most.
	TouchAfter time.Duration
	// Every is how often some synth worker of the cluster evicts (default
	// ten minutes).
	Every time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *AudioStoreConfig) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = "cache/audio/"
	}
	if c.MaxAge == 0 {
		c.MaxAge = 90 * 24 * time.Hour
	}
	if c.MinAge == 0 {
		c.MinAge = 24 * time.Hour
	}
	if c.TouchAfter == 0 {
		c.TouchAfter = 24 * time.Hour
	}
	if c.Every == 0 {
		c.Every = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports settings that cannot work.
func (c AudioStoreConfig) Validate() error {
	if c.MaxAge < 0 || c.MinAge < 0 || c.MaxBytes < 0 || c.TouchAfter < 0 || c.Every < 0 {
		return errors.New("pipeline: audio cache limits must not be negative")
	}
	if c.MaxAge > 0 && c.MinAge > c.MaxAge {
		return fmt.Errorf("pipeline: the audio cache keeps chunks at least %s but evicts them after %s", c.MinAge, c.MaxAge)
	}
	return nil
}

// StoreAudio keeps chunk audio in the object storage (an S3 bucket, or a
// directory), with only its index in NATS, so that NATS holds messages
// and state, not hundreds of gigabytes of audio. Some synth worker of the
// cluster evicts chunks unused for MaxAge, and the least recently used
// ones while the total passes MaxBytes.
type StoreAudio struct {
	store storage.Store
	index *queue.AudioIndex
	q     *queue.Queue
	cfg   AudioStoreConfig
}

// NewStoreAudio returns chunk audio kept in store, indexed in q.
func NewStoreAudio(ctx context.Context, q *queue.Queue, store storage.Store, cfg AudioStoreConfig) (*StoreAudio, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	index, err := q.AudioIndex(ctx)
	if err != nil {
		return nil, err
	}
	return &StoreAudio{store: store, index: index, q: q, cfg: cfg}, nil
}

// path spreads keys over 256 folders, which keeps a directory store's
// folders small and lets a store be listed a folder at a time.
func (a *StoreAudio) path(key string) string {
	_, ext := kind(key)
	if len(key) < 2 {
		return a.cfg.Prefix + key + ext
	}
	return a.cfg.Prefix + key[:2] + "/" + key + ext
}

// kind returns the content type and file extension of what a key names:
// a chunk's audio, or the listening record kept beside it.
func kind(key string) (contentType, ext string) {
	if strings.HasSuffix(key, synth.HeardSuffix) {
		return "application/json", ".json"
	}
	return "audio/mpeg", ".mp3"
}

// Get implements synth.Cache, marking a hit used.
func (a *StoreAudio) Get(ctx context.Context, key string) ([]byte, error) {
	r, err := a.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	audio, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("pipeline: read cached audio %s: %w", key, err)
	}
	e, ok, err := a.index.Get(ctx, key)
	if err == nil && (!ok || a.cfg.Now().Sub(e.Used) >= a.cfg.TouchAfter) {
		err = a.index.Put(ctx, key, int64(len(audio)))
	}
	if err != nil {
		return nil, err
	}
	return audio, nil
}

// Put implements synth.Cache: the audio, then its index entry.
func (a *StoreAudio) Put(ctx context.Context, key string, audio []byte) error {
	ct, _ := kind(key)
	err := a.store.Put(ctx, a.path(key), bytes.NewReader(audio), int64(len(audio)), storage.Meta{
		ContentType:  ct,
		CacheControl: "private, max-age=31536000, immutable", // content-addressed: never changes
	})
	if err != nil {
		return fmt.Errorf("pipeline: keep chunk audio %s: %w", key, err)
	}
	return a.index.Put(ctx, key, int64(len(audio)))
}

// Open implements ChunkAudio.
func (a *StoreAudio) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, _, err := a.store.Get(ctx, a.path(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", synth.ErrNotCached, key)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: cached audio %s: %w", key, err)
	}
	return r, nil
}

// Has implements ChunkAudio from the index alone.
func (a *StoreAudio) Has(ctx context.Context, key string) (bool, error) {
	_, ok, err := a.index.Get(ctx, key)
	return ok, err
}

// Delete implements ChunkAudio.
func (a *StoreAudio) Delete(ctx context.Context, key string) error {
	if err := a.store.Delete(ctx, a.path(key)); err != nil {
		return fmt.Errorf("pipeline: delete cached audio %s: %w", key, err)
	}
	e, ok, err := a.index.Get(ctx, key)
	if err != nil || !ok {
		return err
	}
	_, err = a.index.Remove(ctx, e)
	return err
}

// EvictReport is what one eviction did.
type EvictReport struct {
	Chunks, Bytes int64 // in the cache before
	Evicted       int64
	EvictedBytes  int64
	// OverCap is how far the cache stays over MaxBytes because its least
	// recently used chunks are younger than MinAge: the cap is too small
	// for a day's work.
	OverCap int64
}

// Evict removes the chunks unused for MaxAge, then the least recently used
// while the total passes MaxBytes. Each entry is removed from the index
// first, only if it was not used since it was read, then its audio; audio
// that cannot be deleted is indexed again, to be tried next time.
func (a *StoreAudio) Evict(ctx context.Context) (EvictReport, error) {
	var rep EvictReport
	var errs []error
	evict := func(e queue.AudioEntry) bool {
		removed, err := a.index.Remove(ctx, e)
		if err != nil {
			errs = append(errs, err)
		}
		if err != nil || !removed {
			return false // used again since it was read
		}
		if err := a.store.Delete(ctx, a.path(e.Key)); err != nil {
			errs = append(errs, err)
			if err := a.index.Put(ctx, e.Key, e.Size); err != nil {
				errs = append(errs, err)
			}
			return false
		}
		rep.Evicted++
		rep.EvictedBytes += e.Size
		return true
	}
	now := a.cfg.Now()
	err := a.index.Scan(ctx, func(e queue.AudioEntry) bool {
		rep.Chunks++
		rep.Bytes += e.Size
		if now.Sub(e.Used) > a.cfg.MaxAge {
			evict(e)
		}
		return len(errs) < 10
	})
	total := rep.Bytes - rep.EvictedBytes
	if err == nil && a.cfg.MaxBytes > 0 && total > a.cfg.MaxBytes {
		err = a.index.Scan(ctx, func(e queue.AudioEntry) bool {
			if total <= a.cfg.MaxBytes {
				return false
			}
			if now.Sub(e.Used) < a.cfg.MinAge {
				rep.OverCap = total - a.cfg.MaxBytes
				return false
			}
			if evict(e) {
				total -= e.Size
			}
			return len(errs) < 10
		})
	}
	return rep, errors.Join(append(errs, err)...)
}

// keepEvicting evicts every cfg.Every in whichever synth worker of the
// cluster takes the lease, until ctx is done.
func (a *StoreAudio) keepEvicting(ctx context.Context, log *slog.Logger) error {
	t := time.NewTicker(a.cfg.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		ok, err := a.q.Lease(ctx, "audio-evict", a.cfg.Every*9/10)
		if err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				log.Warn("audio cache eviction lease", "err", err)
			}
			continue
		}
		rep, err := a.Evict(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("audio cache eviction", "err", err)
		}
		if rep.OverCap > 0 {
			log.Warn("the audio cache is over its size cap with only recently used chunks left: raise NARRATOR_AUDIO_CACHE_MAX",
				"over_bytes", rep.OverCap, "max_bytes", a.cfg.MaxBytes)
		}
		log.Info("audio cache evicted", "chunks", rep.Chunks, "bytes", rep.Bytes, "evicted", rep.Evicted, "evicted_bytes", rep.EvictedBytes)
	}
}
