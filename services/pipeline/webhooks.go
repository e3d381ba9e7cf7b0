package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/webhook"
)

// webhookTask carries one event to every configured endpoint. The event is
// a snapshot taken when the job ended, so every attempt sends the same
// body and id.
type webhookTask struct {
	Task
	Event webhook.Event `json:"event"`
}

// notify returns the task that tells the webhook endpoints a job ended or
// started to play, or nothing when this process has no endpoints
// configured.
func (p *Pipeline) notify(j queue.Job, typ webhook.Type) []queue.Message {
	if p.Webhooks == nil || len(p.Webhooks.Endpoints()) == 0 {
		return nil
	}
	n := webhook.Narration{
		ID: j.ID, ArticleID: j.ArticleID, Revision: j.Revision, State: string(j.State), Title: j.Title,
		Section: j.Options.Section, Publication: j.Options.Publication, Chars: j.Chars,
		BilledChars: j.BilledChars, HeardSeconds: j.HeardSeconds, Error: j.Error, FailedStage: j.FailedStage,
	}
	if typ == webhook.StartedAudio {
		n.StreamURL, n.FirstAudio = p.StreamURL(j.ID), j.TimeToFirstAudio().Seconds()
	}
	if o := j.Output; o != nil {
		n.AudioURL, n.Bytes, n.Duration, n.SHA256, n.Files = o.URL, o.Bytes, o.Duration.Seconds(), o.SHA256, o.Files
	}
	for _, w := range j.Warnings {
		n.Warnings = append(n.Warnings, webhook.Warning{Chunk: w.Chunk, Code: w.Code, Message: w.Message})
	}
	ev := webhook.NewEvent(typ, n, time.Now())
	t := Task{Job: j.ID, Rev: j.Revision}
	return []queue.Message{{Stage: StageWebhook, ID: "webhook-" + ev.ID, Data: webhookTask{Task: t, Event: ev}}}
}

func (p *Pipeline) webhookStage(ctx context.Context) error {
	return queue.Run(ctx, p.Queue, queue.Stage[webhookTask, struct{}]{
		Name:        StageWebhook,
		Concurrency: p.cfg.concurrency(StageWebhook),
		Logger:      p.Logger,
		MaxDeliver:  10, // an endpoint down for a few minutes still hears of the job
		Do:          p.deliver,
		Fail: func(ctx context.Context, t webhookTask, err error) error {
			return p.recordDeliveries(ctx, t.Job, func(ds []webhook.Delivery) []webhook.Delivery {
				for i, d := range ds {
					if d.ID == t.Event.ID && d.State == webhook.StateRetrying {
						ds[i].State = webhook.StateFailed
					}
				}
				return ds
			})
		},
	})
}

// deliver sends the event to every endpoint that has not had it yet and
// records each attempt in job state.
func (p *Pipeline) deliver(ctx context.Context, t webhookTask) (struct{}, error) {
	j, err := p.Queue.Jobs().Get(ctx, t.Job)
	if errors.Is(err, queue.ErrNoJob) {
		return struct{}{}, nil
	}
	if err != nil {
		return struct{}{}, err
	}
	var retry, final []error
	var after time.Duration
	for _, url := range p.Webhooks.Endpoints() {
		if delivered(j.Webhooks, t.Event.ID, url) {
			continue
		}
		err := p.Webhooks.Send(ctx, url, t.Event)
		d := webhook.Record(t.Event, url, queue.Delivery(ctx), err, time.Now())
		if rerr := p.recordDeliveries(ctx, t.Job, func(ds []webhook.Delivery) []webhook.Delivery { return upsert(ds, d) }); rerr != nil {
			p.Logger.Warn("record webhook delivery", "job_id", t.Job, "err", rerr)
		}
		switch {
		case err == nil:
		case fault.IsPermanent(err):
			final = append(final, err)
		default:
			retry = append(retry, err)
			after = max(after, fault.RetryAfter(err))
		}
	}
	// Endpoints that can still take the event are retried; the others have
	// failed for good, which their delivery records say.
	if len(retry) > 0 {
		return struct{}{}, fault.Retry(errors.Join(retry...), after)
	}
	if len(final) > 0 {
		return struct{}{}, fault.Permanent(errors.Join(final...))
	}
	return struct{}{}, nil
}

func (p *Pipeline) recordDeliveries(ctx context.Context, job string, change func([]webhook.Delivery) []webhook.Delivery) error {
	_, err := p.Queue.Jobs().Update(ctx, job, func(j *queue.Job) error {
		j.Webhooks = change(j.Webhooks)
		return nil
	})
	if errors.Is(err, queue.ErrNoJob) {
		return nil
	}
	return err
}

// delivered reports whether an endpoint has had an event.
func delivered(ds []webhook.Delivery, id, url string) bool {
	r := webhook.Record(webhook.Event{ID: id}, url, 0, nil, time.Time{})
	for _, d := range ds {
		if d.ID == id && d.Endpoint == r.Endpoint && d.State == webhook.StateDelivered {
			return true
		}
	}
	return false
}

// upsert replaces the record of the same event and endpoint, or adds it;
// job state keeps the latest 50.
func upsert(ds []webhook.Delivery, d webhook.Delivery) []webhook.Delivery {
	for i, x := range ds {
		if x.ID == d.ID && x.Endpoint == d.Endpoint {
			ds[i] = d
			return ds
		}
	}
	ds = append(ds, d)
	return ds[max(0, len(ds)-50):]
}
