package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/script"
)

// Request asks for an article to be narrated.
type Request struct {
	// ArticleID is the article's stable id (the CMS's); one article is one
	// job, and narrating it again makes a new revision. Default: derived
	// from the URL or the content.
	ArticleID string
	URL       string // fetch the article from here, or
	Body      []byte // narrate this content
	Kind      string // of Body: "html", "text" or "markdown"; empty: sniffed
	Name      string // file name Body came from, for display
	Options   queue.Options
	// Force narrates again even when the content and options are unchanged.
	Force bool
	// Priority is the lane the job's tasks wait in at every stage; a
	// repeated submit of unchanged content keeps the job's priority.
	Priority queue.Priority

	job string // the job to narrate again, whatever its article id's key
}

// ErrBadRequest is returned for a request that cannot start a job.
var ErrBadRequest = errors.New("pipeline: bad request")

// JobID returns the job id of an article id: the article's key in
// published paths too, so /player/{id} and the job agree.
func JobID(articleID string) string { return publish.KeyFor(articleID) }

// Submit starts a job, or a new revision of the article's job. It is
// idempotent: submitting the same content with the same options while
// a narration of it is queued, running or done returns that job unchanged,
// so an autosave racing a publish click, or a retried webhook, starts
// nothing new. After a failure or an unpublish it starts a new revision.
func (p *Pipeline) Submit(ctx context.Context, r Request) (queue.Job, error) {
	if (r.URL == "") == (r.Body == nil) {
		return queue.Job{}, fmt.Errorf("%w: give a URL or content, not both or neither", ErrBadRequest)
	}
	if r.Options.Provider == "" {
		return queue.Job{}, fmt.Errorf("%w: no speech provider", ErrBadRequest)
	}
	switch r.Kind {
	case "", "html", "text", "markdown":
	default:
		return queue.Job{}, fmt.Errorf("%w: content kind %q (want html, text or markdown)", ErrBadRequest, r.Kind)
	}
	opts, err := json.Marshal(r.Options)
	if err != nil {
		return queue.Job{}, err
	}
	hash := script.Hash(r.URL, r.Kind, string(r.Body), string(opts))
	if r.ArticleID == "" {
		r.ArticleID = "a" + script.Hash(r.URL, string(r.Body))[:24]
	}
	id := r.job
	if id == "" {
		id = JobID(r.ArticleID)
	}
	src := queue.Source{Kind: "url", URL: r.URL, Name: r.Name, ContentHash: hash}
	if r.Body != nil {
		src.Kind, src.URL = r.Kind, ""
		if src.Kind == "" {
			src.Kind = "auto"
		}
		src.Blob = sourceBlob(id, hash[:24])
		if _, err := p.Queue.Blobs().Put(ctx, src.Blob, bytes.NewReader(r.Body)); err != nil {
			return queue.Job{}, err
		}
	}

	jobs := p.Queue.Jobs()
	now := time.Now().UTC()
	fresh := queue.Job{ID: id, ArticleID: r.ArticleID, Revision: 1, Source: src, Options: r.Options, Priority: r.Priority, State: queue.Queued, Submitted: now}
	err = jobs.Create(ctx, fresh)
	j := fresh
	started := err == nil
	if errors.Is(err, jetstream.ErrKeyExists) {
		j, err = jobs.Update(ctx, id, func(j *queue.Job) error {
			started = false
			// Distinct ids have distinct keys, but an earlier version keyed
			// an id of the derived form as itself (the command line's URL
			// narrations had such ids). That id now has another key, so its
			// old job can only be reached by the id whose hash its key
			// carries, which takes it over; any other mismatch is refused.
			if j.ArticleID != r.ArticleID && j.ArticleID != j.ID {
				return fmt.Errorf("%w: narration %s belongs to article %q, not %q", ErrBadRequest, j.ID, j.ArticleID, r.ArticleID)
			}
			if !r.Force && j.Source.ContentHash == hash && (j.State == queue.Done || !j.Ended()) {
				return queue.ErrSkip
			}
			started = true
			*j = queue.Job{
				ID: j.ID, ArticleID: r.ArticleID, Revision: j.Revision + 1, Source: src, Options: r.Options,
				Priority: r.Priority, State: queue.Queued, Output: j.Output, Created: j.Created, Submitted: now,
			}
			return nil
		})
	}
	if err != nil {
		return queue.Job{}, err
	}
	if !started && j.State != queue.Queued {
		return j, nil
	}
	// A queued job's first task is published again on a repeated submit: if
	// the first submit died between recording the job and publishing, this
	// one finishes its work; otherwise the de-duplication id drops it.
	t := Task{Job: j.ID, Rev: j.Revision, Priority: j.Priority}
	if started {
		p.emit(ctx, queue.Event{Job: j.ID, Rev: j.Revision, Kind: queue.EventQueued, Message: describe(src)})
	}
	if err := p.Queue.Publish(ctx, t.to(StageClean)); err != nil {
		return j, err
	}
	return j, nil
}

func describe(s queue.Source) string {
	switch {
	case s.URL != "":
		return s.URL
	case s.Name != "":
		return s.Name
	}
	return strings.TrimSpace(s.Kind + " content")
}
