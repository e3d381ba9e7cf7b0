package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoDoc is returned for a document key that is not stored.
var ErrNoDoc = errors.New("queue: no such document")

// Docs is a KV bucket of small documents that editors change without a
// deploy, such as pronunciation lexicons.
type Docs struct {
	kv kv
}

// Lexicons returns the bucket of pronunciation lexicons, one per publication.
func (q *Queue) Lexicons() *Docs { return &Docs{q.kv(q.lexicons)} }

// Settings returns the bucket of settings every process shares, such as
// each publication's feed settings.
func (q *Queue) Settings() *Docs { return &Docs{q.kv(q.settings)} }

// Get returns a document.
func (d *Docs) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := d.kv.get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNoDoc, key)
	}
	if err != nil {
		return nil, fmt.Errorf("queue: get %s: %w", key, err)
	}
	return e.Value(), nil
}

// Update replaces a document with what change makes of it (nil when there
// is none), with compare-and-swap: an edit made elsewhere meanwhile makes
// change run again on the newer document, so no edit is lost.
func (d *Docs) Update(ctx context.Context, key string, change func(old []byte) ([]byte, error)) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		var old []byte
		var rev uint64
		e, err := d.kv.get(ctx, key)
		switch {
		case err == nil:
			old, rev = e.Value(), e.Revision()
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			return nil, fmt.Errorf("queue: get %s: %w", key, err)
		}
		data, err := change(old)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			err = d.kv.create(ctx, key, data)
		} else {
			err = d.kv.update(ctx, key, data, rev)
		}
		if err == nil {
			return data, nil
		}
		if !isWrongRevision(err) || attempt > 100 {
			return nil, fmt.Errorf("queue: update %s: %w", key, err)
		}
	}
}

// ErrDocExists is returned by Create for a key that is already stored.
var ErrDocExists = errors.New("queue: document exists")

// SessionsBucket holds the dashboard's sessions and failed sign-ins.
const SessionsBucket = "narrator-sessions"

// MaxSessionTTL is the longest a document of the sessions bucket lives.
const MaxSessionTTL = 30 * 24 * time.Hour

// Sessions returns the bucket of dashboard sessions and failed sign-ins,
// whose documents expire one by one (see Create).
func (q *Queue) Sessions() *Docs { return &Docs{q.kv(q.sessions)} }

// Create stores a new document; it fails with ErrDocExists if the key is
// taken, so the first of several processes seeding a key wins. With a ttl
// (at most MaxSessionTTL; only the sessions bucket allows one) the server
// deletes it ttl after. Values must differ from every other writer's (carry
// a nonce), or be the same whoever writes them, so that a repeat after a
// lost answer can tell its own write.
func (d *Docs) Create(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	var opts []jetstream.KVCreateOpt
	if ttl > 0 {
		opts = append(opts, jetstream.KeyTTL(ttl))
	}
	err := d.kv.write(ctx, key, data, func(ctx context.Context) error {
		_, err := d.kv.kv.Create(ctx, key, data, opts...)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("%w: %s", ErrDocExists, key)
	}
	if err != nil {
		return fmt.Errorf("queue: create %s: %w", key, err)
	}
	return nil
}

// Delete removes a document; removing one that is not there is no error.
func (d *Docs) Delete(ctx context.Context, key string) error {
	if err := d.kv.delete(ctx, key); err != nil {
		return fmt.Errorf("queue: delete %s: %w", key, err)
	}
	return nil
}
