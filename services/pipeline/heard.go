package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/synth"
)

// HeardChunk is a chunk the listening check flagged, as an editor reviews
// it: its text beside what was heard, and where it plays in the narration.
type HeardChunk struct {
	Index int
	Code  string // synth.FindingMisheard or synth.FindingUnchecked
	Text  string // the chunk's text, as it was sent to be read
	// Heard is the check's record; nil when it is no longer kept (the
	// audio cache evicted it).
	Heard *synth.Heard
	// Start is where the chunk's speech begins in the joined narration;
	// Joined is false until the stitch stage has joined the chunks.
	Start  time.Duration
	Joined bool
}

// Heard returns the chunks of j's current revision that the listening
// check flagged (those with a misheard or unchecked warning), in order,
// with cs the revision's chunk statuses. Like Listen it reads only job
// state, work blobs and the chunk audio store, so any process connected
// to NATS can serve it without a speech provider's keys. It fails with
// queue.ErrNoBlob when the revision's chunk texts are not kept (expired
// with the other work files).
func (p *Pipeline) Heard(ctx context.Context, j queue.Job, cs []queue.Chunk) ([]HeardChunk, error) {
	codes := map[int]string{}
	var order []int
	for _, w := range j.Warnings {
		if w.Chunk == nil || (w.Code != synth.FindingMisheard && w.Code != synth.FindingUnchecked) {
			continue
		}
		if _, ok := codes[*w.Chunk]; !ok {
			order = append(order, *w.Chunk)
		}
		codes[*w.Chunk] = w.Code
	}
	if len(order) == 0 {
		return nil, nil
	}
	slices.Sort(order)
	t := Task{Job: j.ID, Rev: j.Revision}
	var plan []script.Chunk
	if err := p.Queue.Blobs().GetJSON(ctx, planBlob(t), &plan); err != nil {
		return nil, err
	}
	var joined stitchOutput
	if err := p.Queue.Blobs().GetJSON(ctx, resultBlob(t), &joined); err != nil && !errors.Is(err, queue.ErrNoBlob) {
		return nil, err
	}
	starts := map[int]time.Duration{}
	if joined.Result != nil {
		for _, sp := range joined.Chunks {
			starts[sp.Index] = sp.Start
		}
	}
	keys := map[int]string{}
	for _, c := range cs {
		keys[c.Index] = c.Audio
	}
	out := make([]HeardChunk, 0, len(order))
	for _, i := range order {
		if i < 0 || i >= len(plan) {
			continue
		}
		hc := HeardChunk{Index: i, Code: codes[i], Text: plan[i].Text}
		hc.Start, hc.Joined = starts[i]
		if key := keys[i]; key != "" {
			h, err := synth.LoadHeard(ctx, p.Audio, key)
			if err != nil {
				return nil, fmt.Errorf("chunk %d: %w", i, err)
			}
			hc.Heard = h
		}
		out = append(out, hc)
	}
	return out, nil
}
