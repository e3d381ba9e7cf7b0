package stitch

import (
	"context"
	"fmt"
	"io"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
)

// Stream writes a join's audio as its chunks become ready, for a listener
// who starts before the last chunk is made: each chunk's frames in order,
// after the silent frames of its pause, with no tag and no Xing frame. The
// bytes are those of the joined file after its head, except that a chunk's
// gain is planned over the chunks known when it is written (PlanGains is
// pure, so over a prefix); a later peak-limited chunk can lower an
// earlier chunk's gain in the file's plan, and then only that chunk's
// global_gain fields differ, never the frames' number or timing.
// A Stream is used by one goroutine.
type Stream struct {
	cfg    Config
	p      plan // the format, silence and frame copier of the join so far
	checks []*ChunkCheck
	levels []ChunkLevel
	scan   *mp3.Scanner
	gains  []int
}

// NewStream returns a stream for a join with cfg.
func NewStream(cfg Config) (*Stream, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fault.Permanent(err)
	}
	return &Stream{cfg: cfg, scan: mp3.NewScanner(nil)}, nil
}

// Next writes chunk in, the next in order, to w: its pause, then its
// frames with the gain planned over the chunks so far. The input must
// carry its stored check. It returns the gain applied, in steps.
func (s *Stream) Next(ctx context.Context, w io.Writer, in Input) (int, error) {
	i := len(s.checks)
	if in.Check == nil || in.Check.Analysis == nil {
		return 0, fmt.Errorf("stitch: stream chunk %d has no check", i)
	}
	a := in.Check.Analysis
	if i == 0 {
		s.p.format, s.p.like = a.Format, a.Header()
		s.p.silence = mp3.SilentFrame(s.p.like)
	}
	if a.Format != s.p.format {
		return 0, fault.Permanent(fmt.Errorf("stitch: chunk %d is %s, chunk 0 is %s: formats must match to join without re-encoding", i, a.Format, s.p.format))
	}
	if err := joinable(i, a); err != nil {
		return 0, err
	}
	cp := chunkPlan{a: a}
	if i > 0 {
		cp.silent = pauseFrames(s.checks[i-1].Analysis, a, s.cfg.Pauses.Before(in.Chunk.Break))
	}
	s.checks = append(s.checks, in.Check)
	s.levels = append(s.levels, LevelOf(a, s.cfg.PeakCeiling))
	if !s.cfg.KeepLoudness {
		cp.gain = PlanGains(s.levels, s.cfg.Target).Steps[i]
	}
	s.gains = append(s.gains, cp.gain)
	for range cp.silent {
		if _, err := w.Write(s.p.silence); err != nil {
			return 0, fmt.Errorf("stitch: write: %w", err)
		}
	}
	if err := s.p.copyChunk(ctx, w, s.scan, i, in, cp); err != nil {
		return 0, err
	}
	return cp.gain, nil
}

// Gains returns the gain (steps) each chunk written was given; where one
// differs from the joined file's Span.Gain, the listener heard that chunk
// louder or quieter than the file has it.
func (s *Stream) Gains() []int { return s.gains }
