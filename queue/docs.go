package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoDoc is returned for a document key that is not stored.
var ErrNoDoc = errors.New("queue: no such document")

// Docs is a KV bucket of small documents that editors change without a
// deploy, such as pronunciation lexicons.
type Docs struct {
	kv jetstream.KeyValue
}

// Lexicons returns the bucket of pronunciation lexicons, one per publication.
func (q *Queue) Lexicons() *Docs { return &Docs{q.lexicons} }

// Get returns a document.
func (d *Docs) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := d.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoDoc, key)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: get %s: %w", key, err)
	}
	return e.Value(), nil
}

// Put replaces a document.
func (d *Docs) Put(ctx context.Context, key string, data []byte) error {
	if _, err := d.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("queue: put %s: %w", key, err)
	}
	return nil
}
