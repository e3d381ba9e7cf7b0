package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/webhook"
)

// errStale marks a task whose job has moved on: a newer revision, or an
// end. It is acked and dropped, which is right: the newer revision has tasks
// of its own.
var errStale = errors.New("pipeline: task is stale")

// stage adapts a stage function to the runner: the function returns the
// tasks that follow it, and a stale task is acked with no follow-up.
func stage(name string, p *Pipeline, do func(ctx context.Context, t Task) ([]queue.Message, error)) queue.Stage[Task, []queue.Message] {
	base := name
	if len(name) > len(StageSynth) && name[:len(StageSynth)] == StageSynth {
		base = StageSynth
	}
	return queue.Stage[Task, []queue.Message]{
		Name:        name,
		Concurrency: p.cfg.concurrency(name),
		Logger:      p.Logger,
		Banded:      banded(name),
		Do: func(ctx context.Context, t Task) ([]queue.Message, error) {
			next, err := do(ctx, t)
			if errors.Is(err, errStale) {
				return nil, nil
			}
			return next, err
		},
		Next: func(_ Task, next []queue.Message) []queue.Message { return next },
		Fail: func(ctx context.Context, t Task, err error) error { return p.fail(ctx, t, base, err) },
		Retrying: func(ctx context.Context, t Task, err error, delay time.Duration) {
			p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventRetry, Stage: base, Chunk: t.Chunk,
				Message: fmt.Sprintf("%v (retrying in %s)", err, delay.Round(100*time.Millisecond))})
		},
	}
}

// current returns the task's job if the task still matters.
func (p *Pipeline) current(ctx context.Context, t Task) (queue.Job, error) {
	j, err := p.Queue.Jobs().Get(ctx, t.Job)
	if errors.Is(err, queue.ErrNoJob) {
		return j, fmt.Errorf("%w: %w", errStale, err)
	}
	if err != nil {
		return j, err
	}
	if j.Revision != t.Rev || j.Ended() {
		return j, errStale
	}
	return j, nil
}

// begin marks a stage started, once per revision.
func (p *Pipeline) begin(ctx context.Context, t Task, stage string) (queue.Job, error) {
	first := false
	j, err := p.Queue.Jobs().Update(ctx, t.Job, func(j *queue.Job) error {
		if j.Revision != t.Rev || j.Ended() {
			return errStale
		}
		j.State, j.Stage = queue.Running, stage
		if j.Timings == nil {
			j.Timings = map[string]queue.Timing{}
		}
		first = j.Timings[stage].Start.IsZero()
		if first {
			j.Timings[stage] = queue.Timing{Start: time.Now().UTC()}
		}
		return nil
	})
	if err != nil {
		return j, err
	}
	if first {
		p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventStageStart, Stage: stage})
	}
	return j, nil
}

// finish marks a stage done and applies change to the job.
func (p *Pipeline) finish(ctx context.Context, t Task, stage string, change func(*queue.Job)) (queue.Job, error) {
	j, err := p.Queue.Jobs().Update(ctx, t.Job, func(j *queue.Job) error {
		if j.Revision != t.Rev || j.Ended() {
			return errStale
		}
		tm := j.Timings[stage]
		if tm.Start.IsZero() {
			tm.Start = time.Now().UTC()
		}
		tm.End = time.Now().UTC()
		j.Timings[stage] = tm
		if change != nil {
			change(j)
		}
		return nil
	})
	if err != nil {
		return j, err
	}
	e := queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventStageDone, Stage: stage}
	if stage == StageChunk {
		e.Chunks = j.Chunks
	}
	p.emit(ctx, e)
	return j, nil
}

// fail ends the job's revision failed, with the reason.
func (p *Pipeline) fail(ctx context.Context, t Task, stage string, cause error) error {
	changed := false
	j, err := p.Queue.Jobs().Update(ctx, t.Job, func(j *queue.Job) error {
		if j.Revision != t.Rev || j.Ended() {
			return queue.ErrSkip
		}
		changed = true
		j.State, j.Stage, j.FailedStage = queue.Failed, stage, stage
		j.Error = cause.Error()
		return nil
	})
	if errors.Is(err, queue.ErrNoJob) {
		return nil // nothing left to fail
	}
	if err != nil {
		return err
	}
	if changed {
		p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventFailed, Stage: stage, Message: cause.Error()})
		for _, m := range p.notify(j, webhook.Failed) {
			if err := p.Queue.Publish(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// emit publishes a progress event; progress is informative, so a failure
// is logged, not returned.
func (p *Pipeline) emit(ctx context.Context, e queue.Event) {
	if err := p.Queue.Emit(ctx, e); err != nil {
		p.Logger.Warn("progress event", "job_id", e.Job, "err", err)
	}
}
