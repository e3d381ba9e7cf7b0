package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/storage"
)

// setupTracing exports traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; otherwise spans are not
// recorded. The returned function flushes and stops the exporter.
func setupTracing(ctx context.Context) (func(context.Context) error, error) {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

// gate serves a process's HTTP routes once it is ready: until then the
// process is alive (/healthz) but not ready (/readyz and every other route
// answer 503), while it waits for NATS.
type gate struct {
	h atomic.Pointer[http.Handler]
	// noProbes keeps /healthz unanswered too, on a listener whose probes
	// are served at another address.
	noProbes bool
}

// open starts serving h.
func (g *gate) open(h http.Handler) { g.h.Store(&h) }

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.h.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/healthz" && !g.noProbes {
		fmt.Fprintln(w, "ok")
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "not ready: starting, waiting for NATS", http.StatusServiceUnavailable)
}

// opsRoutes adds the operators' routes: liveness, readiness, metrics.
func opsRoutes(mux *http.ServeMux, q *queue.Queue, st storage.Store) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", readyHandler(q, st))
	mux.Handle("GET /metrics", metricsHandler(q))
}

// metricsHandler serves the process's Prometheus metrics.
func metricsHandler(q *queue.Queue) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(q.Collectors()...)
	reg.MustRegister(pipeline.Collectors()...)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// readyHandler answers 200 when NATS and storage are reachable, 503 when
// either is not; the body has a line per dependency ("nats: ok",
// "storage: down: <why>"), so the probe's log says which is down.
func readyHandler(q *queue.Queue, st storage.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		type check struct {
			name string
			err  error
		}
		checks := []check{{"nats", q.Ping(ctx)}}
		if st != nil {
			_, err := st.List(ctx, "narrator-readyz-probe/")
			checks = append(checks, check{"storage", err})
		}
		var b strings.Builder
		status := http.StatusOK
		for _, c := range checks {
			if c.err != nil {
				status = http.StatusServiceUnavailable
				fmt.Fprintf(&b, "%s: down: %v\n", c.name, c.err)
			} else {
				fmt.Fprintf(&b, "%s: ok\n", c.name)
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if status != http.StatusOK {
			w.Header().Set("Retry-After", "5")
		}
		w.WriteHeader(status)
		io.WriteString(w, b.String())
	})
}
