package pipeline

import (
	"bytes"
	"context"
	"errors"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/synth"
)

// AudioCache returns the synthesis cache kept in the queue's audio bucket,
// shared by every synth worker: chunk audio named by its content hash.
func AudioCache(q *queue.Queue) synth.Cache { return audioCache{q.Audio()} }

type audioCache struct{ b *queue.Blobs }

func (c audioCache) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := c.b.Bytes(ctx, key)
	if errors.Is(err, queue.ErrNoBlob) {
		return nil, synth.ErrNotCached
	}
	return data, err
}

func (c audioCache) Put(ctx context.Context, key string, audio []byte) error {
	_, err := c.b.Put(ctx, key, bytes.NewReader(audio))
	return err
}
