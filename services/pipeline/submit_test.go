package pipeline_test

import (
	"context"
	"errors"
	"testing"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// submitter is a pipeline whose stages do not run: submissions only record
// jobs and queue their first task.
func submitter(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	q, err := queue.Open(context.Background(), queue.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	p, err := pipeline.New(pipeline.Deps{Queue: q}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDistinctArticleIDsNeverShareANarration: an id written as another
// id's derived key gets a job of its own, instead of replacing the other
// article's narration as a new revision.
func TestDistinctArticleIDsNeverShareANarration(t *testing.T) {
	p := submitter(t)
	ctx := t.Context()
	submit := func(id, text string) queue.Job {
		t.Helper()
		j, err := p.Submit(ctx, pipeline.Request{ArticleID: id, Body: []byte(text), Kind: "text", Options: queue.Options{Provider: "local"}})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	victim := submit("../../etc/passwd", "Council\n\nThe council met on Tuesday.")
	other := submit(victim.ID, "Forged\n\nSomething else entirely.")
	if other.ID == victim.ID || other.Revision != 1 || other.ArticleID != victim.ID {
		t.Errorf("article %q got job %s revision %d; the job of %q is %s", victim.ID, other.ID, other.Revision, "../../etc/passwd", victim.ID)
	}
	if j, err := p.Queue.Jobs().Get(ctx, victim.ID); err != nil || j.ArticleID != "../../etc/passwd" || j.Revision != 1 {
		t.Errorf("the first article's job is now %+v (%v)", j, err)
	}
}

// TestALegacyJobOfAnotherArticleIsNotTakenOver: a job an earlier version
// stored under an id's key for another article is refused, not replaced.
func TestALegacyJobOfAnotherArticleIsNotTakenOver(t *testing.T) {
	p := submitter(t)
	ctx := t.Context()
	id := pipeline.JobID("../../etc/passwd")
	if err := p.Queue.Jobs().Create(ctx, queue.Job{ID: id, ArticleID: "some other article", Revision: 1, State: queue.Done}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Submit(ctx, pipeline.Request{ArticleID: "../../etc/passwd", Body: []byte("Council\n\nThe council met."), Kind: "text", Options: queue.Options{Provider: "local"}})
	if !errors.Is(err, pipeline.ErrBadRequest) {
		t.Errorf("submit over another article's job: %v, want a bad request", err)
	}
	if j, _ := p.Queue.Jobs().Get(ctx, id); j.ArticleID != "some other article" || j.Revision != 1 {
		t.Errorf("the legacy job became %+v", j)
	}
}
