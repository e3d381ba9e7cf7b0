package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/webhook"
)

// ErrNotListenable is the cause when a narration has no audio to listen
// to: it failed, was unpublished, or was narrated again while streaming.
var ErrNotListenable = errors.New("pipeline: the narration has no audio to listen to")

// Listen writes job id's narration to w as one MP3 stream while it is
// being made (stitch.Stream): each chunk's frames in reading order as
// soon as the chunk is synthesized, the pauses as silent frames, the gains
// of the published file as far as the chunks so far decide them, and no
// header. It waits for a chunk not yet ready, calls flush after each
// chunk, and returns nil after the last. It reads only job state, blobs
// and chunk audio, so any process connected to NATS can serve it, with
// no speech provider's keys; its loudness settings must be the stitch
// stage's.
func (p *Pipeline) Listen(ctx context.Context, id string, w io.Writer, flush func() error) error {
	j, err := p.Queue.Jobs().Get(ctx, id)
	if err != nil {
		return err
	}
	if err := listenable(j, j.Revision); err != nil {
		return err
	}
	rev := j.Revision
	var (
		mu   sync.Mutex
		job  = j
		done = map[int]queue.Chunk{}
	)
	changed := make(chan struct{}, 1)
	watch, stop := context.WithCancel(ctx)
	defer stop()
	watched := make(chan error, 1)
	go func() {
		watched <- p.Queue.Jobs().Watch(watch, id, rev, func(nj *queue.Job, c *queue.Chunk) bool {
			mu.Lock()
			if nj != nil {
				job = *nj
			}
			if c != nil && c.State == queue.ChunkDone {
				done[c.Index] = *c
			}
			mu.Unlock()
			select {
			case changed <- struct{}{}:
			default:
			}
			return true
		})
	}()
	defer func() { stop(); <-watched }()

	var plan []script.Chunk
	st, err := stitch.NewStream(p.stitchConfig(0))
	if err != nil {
		return err
	}
	for next := 0; ; {
		mu.Lock()
		j := job
		c, ok := done[next]
		mu.Unlock()
		if err := listenable(j, rev); err != nil {
			return err
		}
		if plan == nil && j.Chunks > 0 {
			if err := p.Queue.Blobs().GetJSON(ctx, planBlob(Task{Job: id, Rev: rev}), &plan); err != nil {
				return err
			}
		}
		if plan != nil && next == len(plan) {
			return nil
		}
		if plan != nil && ok {
			if err := p.listenChunk(ctx, st, w, plan[next], c); err != nil {
				return err
			}
			if err := flush(); err != nil {
				return err
			}
			next++
			continue
		}
		select {
		case <-changed:
		case err := <-watched:
			watched <- err // for the deferred wait
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// StreamURL is where job id's narration is streamed while it is made.
func (p *Pipeline) StreamURL(id string) string { return p.cfg.ListenURL + id }

// startedAudio records, once per revision, that the first chunk is ready:
// the time in job state, an event, and the narration.started_audio
// webhook, whose task it returns.
func (p *Pipeline) startedAudio(ctx context.Context, t Task) ([]queue.Message, error) {
	first := false
	j, err := p.Queue.Jobs().Update(ctx, t.Job, func(j *queue.Job) error {
		if j.Revision != t.Rev || j.Ended() || !j.FirstAudio.IsZero() {
			return queue.ErrSkip
		}
		first = true
		j.FirstAudio = time.Now().UTC()
		return nil
	})
	if err != nil || !first {
		return nil, err
	}
	p.emit(ctx, queue.Event{Job: t.Job, Rev: t.Rev, Kind: queue.EventFirstAudio, Message: p.StreamURL(t.Job)})
	return p.notify(j, webhook.StartedAudio), nil
}

// listenable reports why revision rev of job j cannot be listened to.
func listenable(j queue.Job, rev int) error {
	switch {
	case j.Revision != rev:
		return fmt.Errorf("%w: job %s was narrated again (revision %d)", ErrNotListenable, j.ID, j.Revision)
	case j.State == queue.Failed:
		return fmt.Errorf("%w: job %s failed: %s", ErrNotListenable, j.ID, j.Error)
	case j.State == queue.Unpublished:
		return fmt.Errorf("%w: job %s was unpublished", ErrNotListenable, j.ID)
	}
	return nil
}

func (p *Pipeline) listenChunk(ctx context.Context, st *stitch.Stream, w io.Writer, ch script.Chunk, c queue.Chunk) error {
	var check stitch.ChunkCheck
	if err := json.Unmarshal(c.Analysis, &check); err != nil {
		return fault.Permanent(fmt.Errorf("listen: chunk %d analysis: %w", c.Index, err))
	}
	audio := c.Audio
	_, err := st.Next(ctx, w, stitch.Input{
		Chunk: ch,
		Check: &check,
		Open:  func(ctx context.Context) (io.ReadCloser, error) { return p.Audio.Open(ctx, audio) },
	})
	return err
}
