package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/redact"
)

// ErrUnavailable is the cause of a NATS request that kept failing for the
// whole retry window (Config.RetryFor): NATS restarting, a node lost, a
// leader not yet elected. The runner hands such a task back, so it is
// retried once NATS answers again rather than held by a worker.
var ErrUnavailable = errors.New("NATS is unavailable")

type unavailableError struct {
	window time.Duration
	err    error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s (retried for %s): %v", ErrUnavailable, e.window.Round(time.Second), e.err)
}

func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// call runs op, one NATS request, with a deadline of its own
// (Config.RequestTimeout) whatever deadline ctx has, and repeats it with
// backoff while NATS is away, for up to Config.RetryFor. jetstream applies
// its own timeout only to contexts without a deadline, so without this a
// request lost in a failover waits out the stage's whole attempt. op must
// be safe to repeat: reads, puts of whole values, publishes with a
// de-duplication id, and the compare-and-swap writes of kv.
func (q *Queue) call(ctx context.Context, op func(ctx context.Context) error) error {
	return q.callFor(ctx, q.cfg.RequestTimeout, op)
}

// callFor is call with a longer deadline per try, for requests that move
// megabytes.
func (q *Queue) callFor(ctx context.Context, timeout time.Duration, op func(ctx context.Context) error) error {
	return q.retry(ctx, q.cfg.RetryFor, timeout, op)
}

// await is call for start-up: it retries until ctx ends, so that a
// process started before its NATS cluster has elected a leader (compose
// and Kubernetes start everything at once) waits for it instead of dying.
func (q *Queue) await(ctx context.Context, op func(ctx context.Context) error) error {
	return q.retry(ctx, 0, q.cfg.RequestTimeout, op)
}

// retry runs op until it succeeds, fails for a reason other than NATS
// being away, ctx ends, or window (0: no end) passes.
func (q *Queue) retry(ctx context.Context, window, timeout time.Duration, op func(ctx context.Context) error) error {
	start := time.Now()
	var logged time.Time
	for n := 0; ; n++ {
		try, cancel := context.WithTimeout(ctx, timeout)
		err := op(try)
		cancel()
		if err == nil || ctx.Err() != nil || !transient(err) {
			return err
		}
		wait := retryDelay(n)
		if window > 0 && time.Since(start)+wait > window {
			return &unavailableError{window: time.Since(start), err: err}
		}
		if window == 0 && time.Since(logged) > 10*time.Second {
			logged = time.Now()
			q.cfg.Logger.Warn("waiting for NATS", "url", redact.URL(q.nc.ConnectedUrl()), "status", q.nc.Status().String(),
				"waited", time.Since(start).Round(time.Second), "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryDelay is the pause after the nth failed try: from 100 ms, doubling
// to 2 s, with jitter so that the workers of a cluster do not come back
// in step.
func retryDelay(n int) time.Duration {
	d := min(100*time.Millisecond<<min(n, 5), 2*time.Second)
	return d/2 + rand.N(d/2+1)
}

// transient reports whether err is NATS being away rather than an answer:
// a request that timed out or found no server, a connection being
// re-established, or JetStream saying it cannot serve the request yet.
func transient(err error) bool {
	for _, e := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, jetstream.ErrNoStreamResponse,
		nats.ErrConnectionReconnecting, nats.ErrDisconnected, nats.ErrReconnectBufExceeded, nats.ErrStaleConnection,
		jetstream.ErrAsyncPublishTimeout, jetstream.ErrConsumerLeadershipChanged, jetstream.ErrNoHeartbeat,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.JSErrCodeJetStreamNotEnabled, jetstream.JSErrCodeJetStreamNotEnabledForAccount:
		return false
	case jsClusterNotAvailable, jsClusterNotLeader, jsLastSeqNotReady, jsClusterNoPeers:
		return true
	}
	return apiErr.Code == 503
}

// JetStream API error codes of a cluster that cannot serve a request yet
// (nats-server's errors.json).
const (
	jsClusterNotAvailable jetstream.ErrorCode = 10008 // JetStream system temporarily unavailable
	jsClusterNotLeader    jetstream.ErrorCode = 10009 // JetStream cluster can not handle request
	jsLastSeqNotReady     jetstream.ErrorCode = 10163 // expected last sequence per subject temporarily unavailable
	// No suitable peers for placement: a cluster whose nodes have not all
	// met yet cannot place a replicated stream. Waiting is logged with the
	// error, so a cluster too small for the replicas asked is seen.
	jsClusterNoPeers jetstream.ErrorCode = 10005
)
