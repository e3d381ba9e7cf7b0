package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Errors of Records.
var (
	ErrNoRecord      = errors.New("queue: no such record")
	ErrRecordExists  = errors.New("queue: record exists")
	ErrRecordChanged = errors.New("queue: record changed since it was read")
)

// Records is a key-value bucket of JSON records written with
// compare-and-swap, for services that keep durable state of their own
// (a backfill's progress, say) without knowing NATS.
type Records struct {
	kv   jetstream.KeyValue
	keys kv // through the queue's deadlines and retries
}

// Records returns the bucket named bucket, declaring it if it is not there.
func (q *Queue) Records(ctx context.Context, bucket, description string) (*Records, error) {
	kv, err := q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: description,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     1,
	})
	if err != nil {
		return nil, q.declareErr("key-value bucket "+bucket, err)
	}
	return &Records{kv: kv, keys: q.kv(kv)}, nil
}

// Get decodes the record under key into v and returns its revision, or
// ErrNoRecord.
func (r *Records) Get(ctx context.Context, key string, v any) (uint64, error) {
	e, err := r.keys.get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, fmt.Errorf("%w: %s", ErrNoRecord, key)
	}
	if err != nil {
		return 0, fmt.Errorf("queue: record %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("queue: record %s: %w", key, err)
	}
	return e.Revision(), nil
}

// Create stores v under key if no record is there, else ErrRecordExists.
func (r *Records) Create(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = r.keys.create(ctx, key, data)
	if isWrongRevision(err) {
		return fmt.Errorf("%w: %s", ErrRecordExists, key)
	}
	if err != nil {
		return fmt.Errorf("queue: record %s: %w", key, err)
	}
	return nil
}

// Update replaces the record under key if it is still at rev, else
// ErrRecordChanged.
func (r *Records) Update(ctx context.Context, key string, v any, rev uint64) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = r.keys.update(ctx, key, data, rev)
	if isWrongRevision(err) {
		return fmt.Errorf("%w: %s", ErrRecordChanged, key)
	}
	if err != nil {
		return fmt.Errorf("queue: record %s: %w", key, err)
	}
	return nil
}

// Put stores v under key whatever is there.
func (r *Records) Put(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := r.keys.put(ctx, key, data); err != nil {
		return fmt.Errorf("queue: record %s: %w", key, err)
	}
	return nil
}

// Keys returns the keys matching a filter such as "run.*".
func (r *Records) Keys(ctx context.Context, filter string) ([]string, error) {
	l, err := r.kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("queue: records %s: %w", filter, err)
	}
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out, nil
}
