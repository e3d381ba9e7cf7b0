package queue

import (
	"context"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

var (
	stageSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "narrator_stage_duration_seconds",
		Help:    "Time one attempt of a stage task took, by stage and outcome (ok, retry, failed, handed_back).",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"stage", "outcome"})

	jobsDesc    = prometheus.NewDesc("narrator_jobs", "Jobs by state.", []string{"state"}, nil)
	pendingDesc = prometheus.NewDesc("narrator_queue_pending", "Tasks waiting for a worker, by consumer.", []string{"consumer"}, nil)
	unackedDesc = prometheus.NewDesc("narrator_queue_in_progress", "Tasks delivered to a worker and not yet acknowledged, by consumer.", []string{"consumer"}, nil)
)

// Collectors returns the queue's Prometheus metrics: stage latencies, jobs
// by state and tasks pending per consumer (read from NATS at scrape time).
func (q *Queue) Collectors() []prometheus.Collector {
	return []prometheus.Collector{stageSeconds, collector{q}}
}

type collector struct{ q *Queue }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- pendingDesc
	ch <- unackedDesc
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := c.q.Jobs().Counts(ctx); err == nil {
		for s, v := range n {
			ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(v), string(s))
		}
	}
	consumers := c.q.tasks.ListConsumers(ctx)
	for info := range consumers.Info() {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(info.NumPending), info.Name)
		ch <- prometheus.MustNewConstMetric(unackedDesc, prometheus.GaugeValue, float64(info.NumAckPending), info.Name)
	}
}

// Trace context rides in task headers (W3C traceparent), so a job's stages
// join one trace across processes when an exporter is configured; with
// none, spans are not recorded and cost next to nothing.
var (
	propagator = propagation.TraceContext{}
	tracer     = otel.Tracer("github.com/narrator-project/narrator/queue")
)

func injectTrace(ctx context.Context, m *nats.Msg) {
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	propagator.Inject(ctx, propagation.HeaderCarrier(http.Header(m.Header)))
}

func startSpan(ctx context.Context, stage string, h nats.Header, delivery int) (context.Context, trace.Span) {
	if h != nil {
		ctx = propagator.Extract(ctx, propagation.HeaderCarrier(http.Header(h)))
	}
	return tracer.Start(ctx, "narrator "+stage, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("narrator.stage", stage), attribute.Int("narrator.delivery", delivery)))
}

func endSpan(span trace.Span, outcome string, err error) {
	span.SetAttributes(attribute.String("narrator.outcome", outcome))
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
