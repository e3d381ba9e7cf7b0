package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
)

// NewSynthesizer returns the synthesizer the synth stage runs for a
// provider: chunks are cached in the queue's audio bucket, checked with
// the stitcher's chunk check as they arrive (so that the check is kept with
// the chunk and heuristic findings are asked again), and levelled in the
// loudness mode cfg names. sc sets the rest (limiter, logger).
func NewSynthesizer(audio ChunkAudio, p synth.Provider, cfg Config, sc synth.Config) (*synth.Synthesizer, error) {
	cfg.setDefaults()
	sc.Check = cfg.checkChunk
	if sc.Listen.Observe == nil {
		sc.Listen.Observe = observeListen
	}
	sc.Leveling = synth.Leveling{Mode: cfg.LoudnessMode, Target: cfg.Loudness, Ceiling: stitch.DefaultPeakCeiling}
	return synth.New(p, audio, sc)
}

// cpuKey carries, in a synth task's context, how the chunk check takes one
// of the process's CPU slots: by the priority of the task's job, so that a
// backfill's checks do not hold up breaking news.
type cpuKey struct{}

// withCPU returns ctx carrying p's CPU slots taken at priority prio.
func withCPU(ctx context.Context, p *Pipeline, prio queue.Priority) context.Context {
	return context.WithValue(ctx, cpuKey{}, func(fn func()) error { return p.onCPU(ctx, prio, fn) })
}

// onCPUSlot runs fn on a CPU slot if ctx carries them (withCPU), else at
// once.
func onCPUSlot(ctx context.Context, fn func()) error {
	if run, ok := ctx.Value(cpuKey{}).(func(func()) error); ok {
		return run(fn)
	}
	fn()
	return nil
}

// checkChunk is the synth.Check of the pipeline: the stitcher's chunk
// check, whose structural failures are bad audio and whose heuristic
// warnings are findings. The check itself is the verdict's record.
func (c Config) checkChunk(ctx context.Context, audio []byte, req synth.Request, want synth.Format) (synth.Verdict, error) {
	var (
		ck  *stitch.ChunkCheck
		err error
	)
	if cerr := onCPUSlot(ctx, func() {
		ck, err = stitch.CheckChunk(ctx, bytes.NewReader(audio), req.Text, want.MP3(), c.stitchConfig(req.Speed))
	}); cerr != nil {
		return synth.Verdict{}, cerr
	}
	if err != nil {
		return synth.Verdict{}, err
	}
	rec, err := json.Marshal(ck)
	if err != nil {
		return synth.Verdict{}, fmt.Errorf("pipeline: chunk check: %w", err)
	}
	a := ck.Analysis
	v := synth.Verdict{Measured: a.Decoded, Loudness: a.Loudness, Peak: mp3.DB(a.Peak), Record: rec}
	for _, w := range ck.Report.Warnings() {
		v.Findings = append(v.Findings, synth.Finding{Code: w.Name, Message: w.Detail})
	}
	return v, nil
}

func (c Config) stitchConfig(speed float64) stitch.Config {
	return stitch.Config{Pauses: c.Pauses, Target: c.Loudness, Speed: speed}
}

// chunkWarnings are the job warnings of a chunk kept with findings, saying
// what was done about them.
func chunkWarnings(index int, res synth.Result) []queue.Warning {
	var how string
	switch {
	case res.Cached:
		how = "kept from the cache"
	case res.Requests > synth.MaxRerequests:
		how = fmt.Sprintf("kept after asking the provider %d times", res.Requests)
	case res.Repeated:
		how = "kept: asked again, the provider returned the same audio"
	default:
		how = fmt.Sprintf("kept after %d requests", res.Requests)
	}
	var ws []queue.Warning
	for _, f := range res.Verdict.Findings {
		ws = append(ws, queue.Warning{Stage: StageSynth, Chunk: &index, Code: f.Code, Message: f.Message + "; " + how})
	}
	return ws
}

// joinWarnings are the job warnings of a join's report: its heuristic
// findings, a loudness short of the target named for its cause.
func joinWarnings(r stitch.Report) []queue.Warning {
	var ws []queue.Warning
	for _, c := range r.Warnings() {
		code := c.Name
		if c.Name == stitch.CheckLoudness && r.Loudness != nil && r.Loudness.PeakLimited {
			code = "peak_limited"
		}
		ws = append(ws, queue.Warning{Stage: StageStitch, Chunk: c.Chunk, Code: code, Message: c.Detail})
	}
	return ws
}

// level is the job state's account of a join's loudness.
func level(l *stitch.LoudnessReport) *queue.Level {
	if l == nil {
		return nil
	}
	return &queue.Level{
		Target: l.Target, Achieved: l.Achieved, Peak: l.Peak, PeakLimited: l.PeakLimited,
		PeakLimitedChunks: len(l.LimitedChunks), Leveled: l.Leveled, LargestJump: l.LargestJump, Summary: l.String(),
	}
}

// warn adds warnings to the job's revision.
func (p *Pipeline) warn(ctx context.Context, t Task, ws []queue.Warning) error {
	if len(ws) == 0 {
		return nil
	}
	_, err := p.Queue.Jobs().Update(ctx, t.Job, func(j *queue.Job) error {
		if j.Revision != t.Rev || j.Ended() {
			return queue.ErrSkip
		}
		j.AddWarnings(ws...)
		return nil
	})
	return err
}
