package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/httpserver"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/redact"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/storage"
)

func init() {
	register(&command{Name: "serve", Summary: "run every stage and the HTTP server in one process", Run: runServe})
	register(&command{Name: "worker", Summary: "run chosen stages against a NATS server (NATS_URL)", Run: runWorker})
}

func runServe(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("serve", "[flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	fs.StringVar(&s.NATSListen, "nats-listen", env("NARRATOR_NATS_LISTEN", ""), "let other processes reach the embedded NATS server at this address, e.g. 127.0.0.1:4222 (env NARRATOR_NATS_LISTEN)")
	addr := fs.String("http", env("NARRATOR_HTTP_ADDR", DefaultHTTPAddr), "HTTP listen address (env NARRATOR_HTTP_ADDR)")
	ops := opsFlag(fs, "; when set, the HTTP listener serves none of them")
	stageList := fs.String("stages", env("NARRATOR_STAGES", strings.Join(defaultStages(), ",")), "comma-separated stages to run beside the HTTP server, or none (env NARRATOR_STAGES)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"serve takes no arguments"}
	}
	stages := splitStages(*stageList)
	// Listen before NATS answers, so that probes see the process waiting
	// for it rather than refusing connections.
	var gate, opsGate gate
	srv, served, err := listen(*addr, &gate)
	if err != nil {
		return err
	}
	defer srv.Close()
	// With no public URL, the address listened at is it.
	if s.PublicURL == "" {
		s.PublicURL = httpBase(srv.Addr)
	}
	var opsSrv *http.Server
	if *ops != "" {
		// Probes and metrics stay off the public listener, even while
		// NATS is awaited.
		gate.noProbes = true
		if opsSrv, _, err = listen(*ops, &opsGate); err != nil {
			return err
		}
		defer opsSrv.Close()
	}
	r, err := s.start(ctx, stages)
	if err != nil {
		return err
	}
	defer r.close(ctx)
	if u := r.q.ClientURL(); u != "" && s.NATSURL == "" {
		r.log.Info("embedded NATS server listening", "url", redact.URL(u))
	}
	st, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	s.pub.Player.Live = func(ctx context.Context, key string) (player.Live, bool) {
		j, err := r.q.Jobs().Get(ctx, key)
		if err != nil || j.Ended() {
			return player.Live{}, false
		}
		return player.Live{Title: j.Title, Language: j.Language, StreamURL: r.p.StreamURL(j.ID)}, true
	}
	pub, pl, err := s.publisher(ctx, r.q, st, r.log)
	if err != nil {
		return err
	}
	if r.p.Publisher == nil {
		r.p.Publisher = pub // editors unpublish through it even when no publish stage runs here
	}
	ed, err := loadEditorsEnv(os.Getenv, s.options())
	if err != nil {
		return err
	}
	if ed.API.ListenPrice == 0 {
		ed.API.ListenPrice = synth.DefaultListenPrice(cmp.Or(s.ListenURL, s.OpenAIURL), s.ListenModel)
	}
	guard, err := s.guard()
	if err != nil {
		return err
	}
	bdeps, err := s.backfillDeps(ctx, r)
	if err != nil {
		return err
	}
	backfills := backfill.NewManager(bdeps, s.backfillDefaults())
	defer backfills.Close() // runs record where they are, to be resumed
	editors, err := api.New(api.Deps{Pipeline: r.p, Guard: guard, Backfills: backfills, Logger: r.log}, ed.API)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	if opsSrv == nil {
		opsRoutes(mux, r.q, st)
	} else {
		opsMux := http.NewServeMux()
		opsRoutes(opsMux, r.q, st)
		opsGate.open(opsMux)
		r.log.Info("serving probes and metrics", "ops", "http://"+opsSrv.Addr)
	}
	pl.Register(mux)
	for _, prefix := range api.Prefixes {
		mux.Handle(prefix, editors)
	}
	mux.Handle("GET /{$}", http.RedirectHandler("/dashboard/", http.StatusFound))
	if fsStore, ok := st.(*storage.FS); ok {
		// A listener may take an hour over a long narration: media streams.
		mux.Handle("/media/", httpserver.Streaming(http.StripPrefix("/media", fsStore.Handler())))
	}
	gate.open(mux)
	r.log.Info("serving", "http", "http://"+srv.Addr, "public_url", s.publicURL(), "data_dir", s.DataDir, "engine", s.Engine, "stages", stages)
	worked := make(chan error, 1)
	go func() { worked <- r.p.Run(ctx, stages) }()
	kept := make(chan struct{})
	keep, stopKeeping := context.WithCancel(ctx)
	go func() { r.q.KeepIndex(keep, indexEvery, indexScrub, r.log); close(kept) }()
	defer func() { stopKeeping(); <-kept }()

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	return errors.Join(err, <-worked)
}

func runWorker(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("worker", "--stages clean,chunk,synth,stitch,publish [flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	stages := fs.String("stages", env("NARRATOR_STAGES", strings.Join(defaultStages(), ",")), "comma-separated stages to run: clean, chunk, synth, stitch, publish, feed, webhook (env NARRATOR_STAGES)")
	ops := opsFlag(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if s.NATSURL == "" {
		return usageError{"worker needs a NATS server: set NATS_URL (e.g. start 'narrator serve --nats-listen 127.0.0.1:4222' and use NATS_URL=nats://127.0.0.1:4222)"}
	}
	names := splitStages(*stages)
	if len(names) == 0 {
		return usageError{"give the worker at least one stage: --stages clean,chunk,synth,stitch,publish,feed"}
	}
	var gate gate
	if *ops != "" {
		srv, _, err := listen(*ops, &gate)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	r, err := s.start(ctx, names)
	if err != nil {
		return err
	}
	defer r.close(ctx)
	mux := http.NewServeMux()
	opsRoutes(mux, r.q, nil)
	gate.open(mux)
	if path := os.Getenv("NARRATOR_CPU_PROFILE"); path != "" {
		stop, err := profileCPU(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	r.log.Info("worker started", "stages", names, "nats", redact.URL(s.NATSURL), "engine", s.Engine, "pid", os.Getpid())
	return r.p.Run(ctx, names)
}

// opsFlag registers --ops-addr, where a process serves its probes and
// metrics.
func opsFlag(fs *flag.FlagSet, more string) *string {
	return fs.String("ops-addr", env("NARRATOR_OPS_ADDR", ""), "serve /healthz, /readyz and /metrics at this address, e.g. :9090"+more+" (env NARRATOR_OPS_ADDR)")
}

// profileCPU writes a CPU profile to path until stop is called: narrator
// bench reads it for the CPU each stage spends (the runner labels samples
// with their stage).
func profileCPU(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("NARRATOR_CPU_PROFILE: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("NARRATOR_CPU_PROFILE: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// The job index is reconciled this often by every API server, each time
// checking this many entries and jobs beyond the counts: a full round of
// 100,000 jobs in about four hours.
const (
	indexEvery = 5 * time.Minute
	indexScrub = 2000
)

// running is what a command that runs stages holds.
type running struct {
	log         *slog.Logger
	q           *queue.Queue
	p           *pipeline.Pipeline
	stopTracing func(context.Context) error
}

// start connects to NATS and builds the pipeline for the stages.
func (s *settings) start(ctx context.Context, stages []string) (*running, error) {
	log, err := s.logger(os.Stderr)
	if err != nil {
		return nil, err
	}
	q, err := s.openQueue(ctx, log)
	if err != nil {
		return nil, err
	}
	p, err := s.pipeline(ctx, q, log, stages)
	if err != nil {
		q.Close()
		return nil, err
	}
	stop, err := setupTracing(ctx)
	if err != nil {
		q.Close()
		return nil, err
	}
	return &running{log: log, q: q, p: p, stopTracing: stop}, nil
}

func (r *running) close(ctx context.Context) {
	r.stopTracing(context.WithoutCancel(ctx))
	r.q.Close()
}

// listen serves handler at addr; the server's error arrives on the channel
// (nil after a Shutdown). srv.Addr is the address it listens on.
func listen(addr string, handler http.Handler) (*http.Server, <-chan error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := httpserver.New(handler, httpserver.Timeouts{})
	srv.Addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		served <- err
	}()
	return srv, served, nil
}

// splitStages reads a stage list; "none" is the empty list.
func splitStages(list string) []string {
	return slices.DeleteFunc(splitList(list), func(s string) bool { return s == "none" })
}
