package queue

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
)

// kv is a key-value bucket whose every request goes through the queue's
// deadlines and retries (call).
type kv struct {
	q  *Queue
	kv jetstream.KeyValue
}

func (q *Queue) kv(b jetstream.KeyValue) kv { return kv{q: q, kv: b} }

// get returns a key's entry, or jetstream.ErrKeyNotFound.
func (b kv) get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	var e jetstream.KeyValueEntry
	err := b.q.call(ctx, func(ctx context.Context) (err error) {
		e, err = b.kv.Get(ctx, key)
		return err
	})
	return e, err
}

// put stores a key's whole value; repeating it changes nothing.
func (b kv) put(ctx context.Context, key string, val []byte) error {
	return b.q.call(ctx, func(ctx context.Context) error {
		_, err := b.kv.Put(ctx, key, val)
		return err
	})
}

// create stores a key that must not exist yet; it fails with
// jetstream.ErrKeyExists if it does.
func (b kv) create(ctx context.Context, key string, val []byte) error {
	return b.write(ctx, key, val, func(ctx context.Context) error {
		_, err := b.kv.Create(ctx, key, val)
		return err
	})
}

// update replaces a key's value if its revision is still last; it fails
// with a wrong-revision error (isWrongRevision) if another writer got there
// first.
func (b kv) update(ctx context.Context, key string, val []byte, last uint64) error {
	return b.write(ctx, key, val, func(ctx context.Context) error {
		_, err := b.kv.Update(ctx, key, val, last)
		return err
	})
}

// write runs a conditional write. A try whose answer was lost may have
// been applied, so when a repeat finds the condition broken the key is
// read: holding exactly the value written means the earlier try took.
// Values carry a timestamp or a nonce, so another writer's value is never
// the same bytes.
func (b kv) write(ctx context.Context, key string, val []byte, op func(ctx context.Context) error) error {
	tried := false
	return b.q.call(ctx, func(ctx context.Context) error {
		err := op(ctx)
		if err != nil && tried && isWrongRevision(err) {
			if e, gerr := b.kv.Get(ctx, key); gerr == nil && bytes.Equal(e.Value(), val) {
				err = nil
			}
		}
		tried = true
		return err
	})
}

// delete removes a key; a missing key is not an error.
func (b kv) delete(ctx context.Context, key string) error {
	return b.q.call(ctx, func(ctx context.Context) error {
		err := b.kv.Delete(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		return err
	})
}

// each calls fn with the current value of every key matching pattern
// (tokens, * and > as in subjects). A try that fails starts over, so fn
// must reset what it gathers when reset is called.
func (b kv) each(ctx context.Context, pattern string, reset func(), fn func(jetstream.KeyValueEntry) error) error {
	return b.q.call(ctx, func(ctx context.Context) error {
		reset()
		w, err := b.kv.Watch(ctx, pattern, jetstream.IgnoreDeletes())
		if err != nil {
			return err
		}
		defer w.Stop()
		for {
			select {
			case e := <-w.Updates():
				if e == nil { // every current value has been delivered
					return nil
				}
				if err := fn(e); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
}

// nonce returns a random token, for values and ids that must differ from
// every other writer's.
func nonce() string { return strconv.FormatUint(rand.Uint64(), 36) }
