package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/api"
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
	addr := fs.String("http", env("NARRATOR_HTTP_ADDR", "127.0.0.1:8080"), "HTTP listen address (env NARRATOR_HTTP_ADDR)")
	stageList := fs.String("stages", env("NARRATOR_STAGES", strings.Join(defaultStages(), ",")), "comma-separated stages to run beside the HTTP server, or none (env NARRATOR_STAGES)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"serve takes no arguments"}
	}
	stages := splitStages(*stageList)
	log, err := s.logger(os.Stderr)
	if err != nil {
		return err
	}
	q, err := s.openQueue(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	if u := q.ClientURL(); u != "" && s.NATSURL == "" {
		log.Info("embedded NATS server listening", "url", u)
	}
	p, err := s.pipeline(ctx, q, log, stages)
	if err != nil {
		return err
	}
	st, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	stopTracing, err := setupTracing(ctx)
	if err != nil {
		return err
	}
	defer stopTracing(context.WithoutCancel(ctx))
	pub, pl, err := s.pub.open(st, s.PublicURL)
	if err != nil {
		return err
	}
	if p.Publisher == nil {
		p.Publisher = pub // editors unpublish through it even when no publish stage runs here
	}
	ed, err := loadEditorsEnv(os.Getenv, s.options())
	if err != nil {
		return err
	}
	guard, err := s.guard()
	if err != nil {
		return err
	}
	editors, err := api.New(api.Deps{Pipeline: p, Guard: guard, Logger: log}, ed.API)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	opsRoutes(mux, q, st)
	pl.Register(mux)
	for _, prefix := range api.Prefixes {
		mux.Handle(prefix, editors)
	}
	mux.Handle("GET /{$}", http.RedirectHandler("/dashboard/", http.StatusFound))
	if fsStore, ok := st.(*storage.FS); ok {
		mux.Handle("/media/", http.StripPrefix("/media", fsStore.Handler()))
	}
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	log.Info("serving", "http", "http://"+ln.Addr().String(), "data_dir", s.DataDir, "engine", s.Engine)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	worked := make(chan error, 1)
	go func() { worked <- p.Run(ctx, stages) }()

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	werr := <-worked
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, werr)
}

func runWorker(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("worker", "--stages clean,chunk,synth,stitch,publish [flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	stages := fs.String("stages", env("NARRATOR_STAGES", strings.Join(defaultStages(), ",")), "comma-separated stages to run: clean, chunk, synth, stitch, publish, feed, webhook (env NARRATOR_STAGES)")
	ops := fs.String("ops-addr", env("NARRATOR_OPS_ADDR", ""), "serve /healthz, /readyz and /metrics at this address, e.g. :9090 (env NARRATOR_OPS_ADDR)")
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
	log, err := s.logger(os.Stderr)
	if err != nil {
		return err
	}
	q, err := s.openQueue(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	p, err := s.pipeline(ctx, q, log, names)
	if err != nil {
		return err
	}
	stopTracing, err := setupTracing(ctx)
	if err != nil {
		return err
	}
	defer stopTracing(context.WithoutCancel(ctx))
	if *ops != "" {
		mux := http.NewServeMux()
		opsRoutes(mux, q, nil)
		srv := &http.Server{Addr: *ops, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", *ops)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", *ops, err)
		}
		go srv.Serve(ln)
		defer srv.Close()
	}
	log.Info("worker started", "stages", names, "nats", s.NATSURL, "engine", s.Engine, "pid", os.Getpid())
	return p.Run(ctx, names)
}

// splitStages reads a stage list; "none" is the empty list.
func splitStages(list string) []string {
	return slices.DeleteFunc(splitList(list), func(s string) bool { return s == "none" })
}
