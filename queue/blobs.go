package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoBlob is returned for a blob name that is not stored.
var ErrNoBlob = errors.New("queue: no such blob")

// ErrCorruptBlob is returned when a blob's bytes do not match the digest
// stored with it: rereading will not mend it, only writing it again.
var ErrCorruptBlob = errors.New("queue: corrupt blob (its bytes do not match its digest)")

// Blobs is a JetStream object store bucket. Audio does not ride in
// messages: a chunk's MP3 is several megabytes, NATS's payloads one.
type Blobs struct {
	q  *Queue
	os jetstream.ObjectStore
}

// Blobs returns the bucket of intermediate files: sources, scripts, plans
// and stitched audio.
func (q *Queue) Blobs() *Blobs { return &Blobs{q, q.blobs} }

// Audio returns the bucket of chunk audio, named by content hash, which is
// also the synthesis cache.
func (q *Queue) Audio() *Blobs { return &Blobs{q, q.audio} }

// timeout is how long one try of moving a blob of size bytes may take: the
// request timeout, plus two seconds per MiB, enough for a busy server or a
// reader that uploads what it reads.
func (b *Blobs) timeout(size int64) time.Duration {
	return b.q.cfg.RequestTimeout + time.Duration(size>>20)*2*time.Second
}

// Put stores what r yields under name, replacing any blob of that name. A
// reader that can seek (bytes in memory) is stored again from its start
// when a try fails; any other reader is streamed once, each of its
// 128 KiB pieces under the request timeout.
func (b *Blobs) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	var info *jetstream.ObjectInfo
	var err error
	if rs, ok := r.(io.ReadSeeker); ok {
		size, _ := rs.Seek(0, io.SeekEnd)
		err = b.q.callFor(ctx, b.timeout(size), func(ctx context.Context) error {
			if _, err := rs.Seek(0, io.SeekStart); err != nil {
				return err
			}
			info, err = b.os.Put(ctx, jetstream.ObjectMeta{Name: name}, rs)
			return err
		})
	} else {
		// Without a deadline jetstream bounds each request on its own.
		stream, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer context.AfterFunc(ctx, cancel)()
		info, err = b.os.Put(stream, jetstream.ObjectMeta{Name: name}, r)
		cancel()
	}
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

// Open returns a reader of a blob; the caller closes it. Reading must end
// within the request timeout plus two seconds per MiB of the blob.
func (b *Blobs) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	size, err := b.Size(ctx, name)
	if err != nil {
		return nil, err
	}
	var r io.ReadCloser
	err = b.q.call(ctx, func(context.Context) error {
		// The reader outlives this try: it gets a deadline of its own.
		rctx, cancel := context.WithTimeout(ctx, b.timeout(size))
		obj, err := b.os.Get(rctx, name)
		if err != nil {
			cancel()
			return err
		}
		r = readCloser{obj, func() error { defer cancel(); return obj.Close() }}
		return nil
	})
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoBlob, name)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: get blob %s: %w", name, err)
	}
	return r, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// Bytes returns a whole blob, read again from its start when a try fails.
func (b *Blobs) Bytes(ctx context.Context, name string) ([]byte, error) {
	size, err := b.Size(ctx, name)
	if err != nil {
		return nil, err
	}
	var data []byte
	err = b.q.callFor(ctx, b.timeout(size), func(ctx context.Context) error {
		obj, err := b.os.Get(ctx, name)
		if err != nil {
			return err
		}
		defer obj.Close()
		data, err = io.ReadAll(obj)
		return err
	})
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoBlob, name)
	}
	if errors.Is(err, jetstream.ErrDigestMismatch) {
		return nil, fmt.Errorf("%w: %s", ErrCorruptBlob, name)
	}
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
	var info *jetstream.ObjectInfo
	err := b.q.call(ctx, func(ctx context.Context) (err error) {
		info, err = b.os.GetInfo(ctx, name)
		return err
	})
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
	err := b.q.call(ctx, func(ctx context.Context) error {
		err := b.os.Delete(ctx, name)
		if errors.Is(err, jetstream.ErrObjectNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: delete blob %s: %w", name, err)
	}
	return nil
}
