package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SeenTTL is how long Once remembers a key.
const SeenTTL = time.Hour

// Once records key and reports whether this is its first use within
// SeenTTL anywhere in the cluster: a CMS delivery's signature, say, so
// that a replay sent to any API server is refused.
func (q *Queue) Once(ctx context.Context, key string) (bool, error) {
	// A nonce as the value tells this use from another's when a retried
	// create finds the key (kv.write).
	err := q.kv(q.seen).create(ctx, key, []byte(nonce()))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue: record %s: %w", key, err)
	}
	return true, nil
}

// Forget lets a key recorded by Once be used again, when what it was
// used for did not take effect.
func (q *Queue) Forget(ctx context.Context, key string) error {
	if err := q.kv(q.seen).delete(ctx, key); err != nil {
		return fmt.Errorf("queue: forget %s: %w", key, err)
	}
	return nil
}
