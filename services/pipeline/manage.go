package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/webhook"
)

// ErrBusy is returned for an operation that needs the job to have ended.
var ErrBusy = errors.New("pipeline: the narration is still in progress")

// Renarrate narrates a job's article again from the source it was last
// narrated from, as a new revision: after a pronunciation fix, say. Chunks
// whose spoken text is unchanged come from the cache.
func (p *Pipeline) Renarrate(ctx context.Context, id string) (queue.Job, error) {
	j, err := p.Queue.Jobs().Get(ctx, id)
	if err != nil {
		return j, err
	}
	if !j.Ended() {
		return j, ErrBusy
	}
	r := Request{job: j.ID, ArticleID: j.ArticleID, URL: j.Source.URL, Name: j.Source.Name, Options: j.Options, Priority: j.Priority, Force: true}
	if j.Source.Kind != "url" {
		body, err := p.Queue.Blobs().Bytes(ctx, j.Source.Blob)
		if errors.Is(err, queue.ErrNoBlob) {
			return j, fmt.Errorf("%w: the article's source is no longer kept; submit the article again", ErrBadRequest)
		}
		if err != nil {
			return j, err
		}
		r.Body = body
		if j.Source.Kind != "auto" {
			r.Kind = j.Source.Kind
		}
	}
	return p.Submit(ctx, r)
}

// Unpublish removes a narration's published files and marks its job
// unpublished. A running job must end first.
func (p *Pipeline) Unpublish(ctx context.Context, id string) (queue.Job, error) {
	j, err := p.Queue.Jobs().Get(ctx, id)
	if err != nil {
		return j, err
	}
	if !j.Ended() {
		return j, ErrBusy
	}
	if p.Publisher == nil {
		return j, errors.New("pipeline: unpublishing needs a publisher")
	}
	if err := p.Publisher.Unpublish(ctx, j.ID); err != nil {
		return j, fmt.Errorf("pipeline: unpublish %s: %w", id, err)
	}
	j, err = p.Queue.Jobs().Update(ctx, id, func(j *queue.Job) error {
		j.State, j.Output = queue.Unpublished, nil
		return nil
	})
	if err != nil {
		return j, err
	}
	p.emit(ctx, queue.Event{Job: j.ID, Rev: j.Revision, Kind: queue.EventUnpublished})
	for _, m := range append([]queue.Message{feedTask(Task{Job: j.ID, Rev: j.Revision}, "unpublish")}, p.notify(j, webhook.Deleted)...) {
		if err := p.Queue.Publish(ctx, m); err != nil {
			return j, err
		}
	}
	return j, nil
}

// Script returns the narration script of a job revision, as cleaned.
func (p *Pipeline) Script(ctx context.Context, id string, rev int) (script.Script, error) {
	var s script.Script
	err := p.Queue.Blobs().GetJSON(ctx, scriptBlob(Task{Job: id, Rev: rev}), &s)
	return s, err
}
