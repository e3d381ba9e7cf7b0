package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoBlob is returned for a blob name that is not stored.
var ErrNoBlob = errors.New("queue: no such blob")

// Blobs is a JetStream object store bucket. Audio does not ride in
// messages: a chunk's MP3 is several megabytes, NATS's payloads one.
type Blobs struct {
	os jetstream.ObjectStore
}

// Blobs returns the bucket of intermediate files: sources, scripts, plans
// and stitched audio.
func (q *Queue) Blobs() *Blobs { return &Blobs{q.blobs} }

// Audio returns the bucket of chunk audio, named by content hash, which is
// also the synthesis cache.
func (q *Queue) Audio() *Blobs { return &Blobs{q.audio} }

// Put stores what r yields under name, replacing any blob of that name.
func (b *Blobs) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	info, err := b.os.Put(ctx, jetstream.ObjectMeta{Name: name}, r)
	if err != nil {
		return 0, fmt.Errorf("queue: put blob %s: %w", name, err)
	}
	return int64(info.Size), nil
}

// PutJSON stores v encoded as JSON.
func (b *Blobs) PutJSON(ctx context.Context, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("queue: encode blob %s: %w", name, err)
	}
	_, err = b.Put(ctx, name, bytes.NewReader(data))
	return err
}

// Open returns a reader of a blob; the caller closes it.
func (b *Blobs) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	r, err := b.os.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoBlob, name)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: get blob %s: %w", name, err)
	}
	return r, nil
}

// Bytes returns a whole blob.
func (b *Blobs) Bytes(ctx context.Context, name string) ([]byte, error) {
	r, err := b.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("queue: read blob %s: %w", name, err)
	}
	return data, nil
}

// GetJSON decodes a JSON blob into v.
func (b *Blobs) GetJSON(ctx context.Context, name string, v any) error {
	data, err := b.Bytes(ctx, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("queue: decode blob %s: %w", name, err)
	}
	return nil
}

// Size returns a blob's size, or ErrNoBlob.
func (b *Blobs) Size(ctx context.Context, name string) (int64, error) {
	info, err := b.os.GetInfo(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return 0, fmt.Errorf("%w: %s", ErrNoBlob, name)
	}
	if err != nil {
		return 0, fmt.Errorf("queue: blob %s: %w", name, err)
	}
	return int64(info.Size), nil
}

// Delete removes a blob; a missing blob is not an error.
func (b *Blobs) Delete(ctx context.Context, name string) error {
	err := b.os.Delete(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("queue: delete blob %s: %w", name, err)
	}
	return nil
}
