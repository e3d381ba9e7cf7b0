package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/narrator-project/narrator/storage"
)

// ErrNotCached is returned by Cache.Get when no audio has the key.
var ErrNotCached = errors.New("synth: not in cache")

// Cache keeps chunk audio by content address (CacheKey), so that the same
// text in the same voice is paid for once. It is also where the pipeline
// keeps a chunk's audio until the narration is stitched, so a Synthesizer
// fails a chunk whose audio it cannot read or store. Implementations must
// be safe for concurrent use; putting the same key twice must be harmless,
// since redelivered tasks do it.
type Cache interface {
	// Get returns the audio stored under key, or ErrNotCached.
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores audio under key.
	Put(ctx context.Context, key string, audio []byte) error
}

// MemoryCache is a Cache in process memory, for tests and one-off runs.
type MemoryCache struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemoryCache returns an empty cache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[string][]byte{}} }

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.m[key]
	if !ok {
		return nil, ErrNotCached
	}
	return a, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, key string, audio []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = bytes.Clone(audio)
	return nil
}

// Len returns the number of entries.
func (c *MemoryCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// StoreCache is a Cache in an object store (the data directory, or S3),
// shared by every worker that uses the same store.
type StoreCache struct {
	store  storage.Store
	prefix string
}

// NewStoreCache keeps audio in store under prefix (e.g. "cache/tts/").
func NewStoreCache(store storage.Store, prefix string) *StoreCache {
	return &StoreCache{store: store, prefix: prefix}
}

// path spreads keys over 256 directories, which keeps a filesystem store's
// directories small.
func (c *StoreCache) path(key string) string {
	if len(key) < 2 {
		return c.prefix + key + ".mp3"
	}
	return c.prefix + key[:2] + "/" + key + ".mp3"
}

// Get implements Cache.
func (c *StoreCache) Get(ctx context.Context, key string) ([]byte, error) {
	r, _, err := c.store.Get(ctx, c.path(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotCached
	}
	if err != nil {
		return nil, fmt.Errorf("synth: cache get %s: %w", key, err)
	}
	defer r.Close()
	audio, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("synth: cache get %s: %w", key, err)
	}
	return audio, nil
}

// Put implements Cache.
func (c *StoreCache) Put(ctx context.Context, key string, audio []byte) error {
	err := c.store.Put(ctx, c.path(key), bytes.NewReader(audio), int64(len(audio)), storage.Meta{
		ContentType:  "audio/mpeg",
		CacheControl: "private, max-age=31536000, immutable", // content-addressed: never changes
	})
	if err != nil {
		return fmt.Errorf("synth: cache put %s: %w", key, err)
	}
	return nil
}
