package queue

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceFollowsTasksAcrossStages(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	q := newQueue(t, Config{})
	seen := make(chan trace.SpanContext, 2)
	runStage(t, q, Stage[task, int]{
		Name: "first",
		Do: func(ctx context.Context, in task) (int, error) {
			seen <- trace.SpanContextFromContext(ctx)
			return 1, nil
		},
		Next: func(in task, _ int) []Message { return []Message{{Stage: "second", Data: in}} },
		Fail: func(context.Context, task, error) error { return nil },
	})
	runStage(t, q, Stage[task, int]{
		Name: "second",
		Do: func(ctx context.Context, in task) (int, error) {
			seen <- trace.SpanContextFromContext(ctx)
			return 0, nil
		},
		Fail: func(context.Context, task, error) error { return nil },
	})

	ctx, root := tp.Tracer("test").Start(context.Background(), "submit")
	if err := q.Publish(ctx, Message{Stage: "first", Data: task{ID: "traced"}}); err != nil {
		t.Fatal(err)
	}
	root.End()
	for _, stage := range []string{"first", "second"} {
		select {
		case sc := <-seen:
			if sc.TraceID() != root.SpanContext().TraceID() {
				t.Errorf("stage %s ran in trace %s, want the submitter's %s", stage, sc.TraceID(), root.SpanContext().TraceID())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("stage %s never ran", stage)
		}
	}
}
