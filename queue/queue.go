// Package queue is narrator's NATS layer: the embedded server or a
// connection to a cluster, the streams, consumers, key-value and object
// buckets the pipeline uses (declared here, created or updated at start),
// the runner that adapts a stage function to a durable pull consumer, job
// state, progress events and intermediate blobs.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/redact"
)

// Names of what the queue declares in JetStream.
const (
	TaskStream  = "NARRATOR_TASKS"
	EventStream = "NARRATOR_EVENTS"
	JobsBucket  = "narrator-jobs"
	BlobsBucket = "narrator-blobs"
	AudioBucket = "narrator-audio"
	LexBucket   = "narrator-lexicons"
	SeenBucket  = "narrator-seen"
	// SettingsBucket holds settings editors change without a deploy and
	// every process reads the same: each publication's podcast feed.
	SettingsBucket = "narrator-settings"
	taskSubject    = "narrator.task."
	eventSubject   = "narrator.event."
	wakeSubject    = "narrator.wake." // plain NATS: a stage has new tasks
)

// Config says where NATS is and how the streams behave.
type Config struct {
	URL        string        // NATS_URL; empty runs an embedded server
	DataDir    string        // embedded server's JetStream store lives under it
	Listen     string        // embedded server's TCP address; empty: in-process only
	Name       string        // connection name shown by the server
	Replicas   int           // stream replicas: 1 embedded, 3 on a cluster
	AckWait    time.Duration // a task not acked or marked in progress by then is redelivered
	MaxDeliver int           // deliveries of a task before its job is failed
	WorkTTL    time.Duration // how long intermediate blobs (sources, scripts, stitched audio) live
	AudioTTL   time.Duration // how long cached chunk audio lives
	// RequestTimeout bounds one NATS request (default 5s), whatever
	// deadline the caller's context has.
	RequestTimeout time.Duration
	// RetryFor is how long a request is repeated while NATS does not
	// answer (default 30s): a restart or a lost node is ridden out, then
	// the work is handed back with ErrUnavailable.
	RetryFor time.Duration
	Logger   *slog.Logger // start-up waits; default slog.Default()
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = "narrator"
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 6
	}
	if c.WorkTTL == 0 {
		c.WorkTTL = 7 * 24 * time.Hour
	}
	if c.AudioTTL == 0 {
		c.AudioTTL = 90 * 24 * time.Hour
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.RetryFor == 0 {
		c.RetryFor = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.URL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("queue: set NATS_URL, or a data directory for the embedded server"))
	}
	if c.URL != "" && c.Listen != "" {
		errs = append(errs, errors.New("queue: --nats-listen applies to the embedded server only; unset NATS_URL to use it"))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("queue: replicas must be 1 to 5, got %d", c.Replicas))
	}
	if c.AckWait < time.Second {
		errs = append(errs, fmt.Errorf("queue: ack wait must be at least 1s, got %s", c.AckWait))
	}
	if c.MaxDeliver < 2 {
		errs = append(errs, fmt.Errorf("queue: max deliveries must be at least 2, got %d", c.MaxDeliver))
	}
	if c.RequestTimeout < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("queue: NATS request timeout must be at least 100ms, got %s", c.RequestTimeout))
	}
	if c.RetryFor < 0 {
		errs = append(errs, fmt.Errorf("queue: NATS retry window must not be negative, got %s", c.RetryFor))
	}
	return errors.Join(errs...)
}

// Queue is a connection to NATS with narrator's streams and buckets in place.
type Queue struct {
	cfg      Config
	srv      *server.Server // nil when connected to NATS_URL
	lock     *os.File       // the embedded server's data directory lock
	nc       *nats.Conn
	js       jetstream.JetStream
	tasks    jetstream.Stream
	events   jetstream.Stream
	index    jetstream.Stream // the job index (jobindex.go)
	jobs     jetstream.KeyValue
	lexicons jetstream.KeyValue
	settings jetstream.KeyValue
	seen     jetstream.KeyValue
	usage    jetstream.KeyValue
	sessions jetstream.KeyValue
	blobs    jetstream.ObjectStore
	audio    jetstream.ObjectStore
	closed   chan struct{} // closed when the connection is closed

	scrubMu sync.Mutex
	scrub   scrubCursor // where the job index's next scrub starts (Jobs.Reconcile)
}

// Open connects to NATS (starting the embedded server when no URL is set)
// and declares the streams and buckets, creating or updating them. While
// NATS cannot be reached, or its cluster has no leader yet, it waits and
// retries until ctx ends, so processes may start in any order.
func Open(ctx context.Context, cfg Config) (*Queue, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, closed: make(chan struct{})}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.ClosedHandler(func(*nats.Conn) { close(q.closed) }),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.RetryOnFailedConnect(true), // a server not up yet is waited for
	}
	url := cfg.URL
	if url == "" {
		srv, lock, err := startEmbedded(cfg.DataDir, cfg.Listen)
		if err != nil {
			return nil, err
		}
		q.srv, q.lock = srv, lock
		opts = append(opts, nats.InProcessServer(srv))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: connect to NATS at %s: %w", redact.URL(url), err)
	}
	q.nc = nc
	if q.js, err = jetstream.New(nc, jetstream.WithDefaultTimeout(cfg.RequestTimeout)); err != nil {
		q.Close()
		return nil, fmt.Errorf("queue: jetstream: %w", err)
	}
	if err := q.declare(ctx); err != nil {
		q.Close()
		return nil, err
	}
	return q, nil
}

// declare creates or updates every stream and bucket, so that a new
// version's settings reach a running cluster. Each is created first:
// creating what exists with the same settings changes nothing, so the
// workers of a cluster starting together do not rewrite the streams'
// configuration while others add consumers to them.
func (q *Queue) declare(ctx context.Context) error {
	var err error
	q.tasks, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        TaskStream,
		Description: "narrator stage tasks, one subject per stage",
		Subjects:    []string{taskSubject + ">"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		Duplicates:  30 * time.Minute,
	})
	if err != nil {
		return q.declareErr("stream "+TaskStream, err)
	}
	q.events, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        EventStream,
		Description: "narrator job progress, one subject per job",
		Subjects:    []string{eventSubject + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		MaxAge:      7 * 24 * time.Hour,
		Discard:     jetstream.DiscardOld,
	})
	if err != nil {
		return q.declareErr("stream "+EventStream, err)
	}
	q.jobs, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      JobsBucket,
		Description: "narrator job state and per-chunk status",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     1,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+JobsBucket, err)
	}
	if err := q.declareIndex(ctx); err != nil {
		return err
	}
	q.lexicons, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      LexBucket,
		Description: "narrator pronunciation lexicons, one per publication",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     10,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+LexBucket, err)
	}
	q.settings, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SettingsBucket,
		Description: "narrator settings shared by every process, such as each publication's feed",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     10,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+SettingsBucket, err)
	}
	q.seen, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      SeenBucket,
		Description: "narrator keys that may be used once, such as CMS delivery signatures",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     1,
		TTL:         SeenTTL,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+SeenBucket, err)
	}
	q.usage, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      UsageBucket,
		Description: "narrator billing records, one per request a provider billed",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		History:     1,
		TTL:         usageTTL,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+UsageBucket, err)
	}
	q.sessions, err = q.ensureKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         SessionsBucket,
		Description:    "narrator dashboard sessions and recent failed sign-ins, each key with its own TTL",
		Storage:        jetstream.FileStorage,
		Replicas:       q.cfg.Replicas,
		History:        1,
		TTL:            MaxSessionTTL,
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return q.declareErr("key-value bucket "+SessionsBucket, err)
	}
	q.blobs, err = q.ensureObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      BlobsBucket,
		Description: "narrator intermediate files: sources, scripts, stitched audio",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		TTL:         q.cfg.WorkTTL,
	})
	if err != nil {
		return q.declareErr("object bucket "+BlobsBucket, err)
	}
	q.audio, err = q.ensureObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      AudioBucket,
		Description: "narrator chunk audio by content hash",
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		TTL:         q.cfg.AudioTTL,
	})
	if err != nil {
		return q.declareErr("object bucket "+AudioBucket, err)
	}
	return nil
}

func (q *Queue) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return ensure(ctx, q, func(ctx context.Context) (jetstream.Stream, error) {
		s, err := q.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return q.js.UpdateStream(ctx, cfg)
		}
		return s, err
	})
}

func (q *Queue) ensureKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return ensure(ctx, q, func(ctx context.Context) (jetstream.KeyValue, error) {
		kv, err := q.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			return q.js.CreateOrUpdateKeyValue(ctx, cfg)
		}
		return kv, err
	})
}

func (q *Queue) ensureObjectStore(ctx context.Context, cfg jetstream.ObjectStoreConfig) (jetstream.ObjectStore, error) {
	return ensure(ctx, q, func(ctx context.Context) (jetstream.ObjectStore, error) {
		obs, err := q.js.CreateObjectStore(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) {
			return q.js.CreateOrUpdateObjectStore(ctx, cfg)
		}
		return obs, err
	})
}

// ensure declares one stream or bucket, waiting for NATS as long as ctx
// allows (await).
func ensure[T any](ctx context.Context, q *Queue, declare func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := q.await(ctx, func(ctx context.Context) (err error) {
		v, err = declare(ctx)
		return err
	})
	return v, err
}

func (q *Queue) declareErr(what string, err error) error {
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return fmt.Errorf("queue: %s: JetStream is not enabled on the NATS server at %s (start it with -js)", what, redact.URL(q.nc.ConnectedUrl()))
	}
	return fmt.Errorf("queue: declare %s: %w", what, err)
}

// Config returns the queue's settings with defaults applied.
func (q *Queue) Config() Config { return q.cfg }

// ClientURL returns the address other processes use to reach this queue:
// the embedded server's TCP address when it listens, else NATS_URL.
func (q *Queue) ClientURL() string {
	if q.srv != nil {
		if q.cfg.Listen == "" {
			return ""
		}
		return q.srv.ClientURL()
	}
	return q.cfg.URL
}

// Ping checks that NATS answers, for readiness probes.
func (q *Queue) Ping(ctx context.Context) error {
	if q.nc.Status() != nats.CONNECTED {
		return fmt.Errorf("queue: NATS connection is %s", q.nc.Status())
	}
	if _, err := q.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("queue: JetStream: %w", err)
	}
	return nil
}

// Close drains the connection and stops the embedded server.
func (q *Queue) Close() error {
	var err error
	if q.nc != nil {
		if err = q.nc.Drain(); err != nil {
			q.nc.Close()
		}
		select {
		case <-q.closed:
		case <-time.After(30 * time.Second):
			q.nc.Close()
		}
	}
	if q.srv != nil {
		q.srv.Shutdown()
		q.srv.WaitForShutdown()
	}
	if q.lock != nil {
		q.lock.Close()
	}
	return err
}
