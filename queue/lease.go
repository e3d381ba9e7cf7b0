package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// LeaseBucket holds cluster-wide leases, one key per lease, each expiring
// on its own.
const LeaseBucket = "narrator-leases"

// Lease takes the lease called name for ttl if no process of the cluster
// holds it, and reports whether it did: for work one process at a time
// does now and then (evicting the chunk cache, say). A lease is not given
// back; it expires.
func (q *Queue) Lease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	kv, err := q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         LeaseBucket,
		Description:    "narrator cluster-wide leases, each key expiring on its own",
		Storage:        jetstream.FileStorage,
		Replicas:       q.cfg.Replicas,
		History:        1,
		LimitMarkerTTL: time.Second,
	})
	if err != nil {
		return false, q.declareErr("key-value bucket "+LeaseBucket, err)
	}
	// A repeated try that finds the key its first try made loses the lease
	// for once, which only skips a round of the work.
	err = q.call(ctx, func(ctx context.Context) error {
		_, err := kv.Create(ctx, name, []byte(q.cfg.Name), jetstream.KeyTTL(max(ttl, time.Second)))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("queue: lease %s: %w", name, err)
	}
	return true, nil
}
