package stitch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
)

// ChunkCheck is the verdict on one synthesized chunk: its analysis and the
// checks it passed. It is stored as JSON in job state and handed back to
// Stitch, which then neither scans nor decodes the chunk again.
type ChunkCheck struct {
	Analysis *mp3.Analysis `json:"analysis"`
	Chars    int           `json:"chars"`    // characters of spoken text
	Expected time.Duration `json:"expected"` // plausible playing time for them
	Report   Report        `json:"report"`
	// Leveled is set by the caller when the chunk's audio was levelled by
	// the limiter at synthesis, for the join's loudness report.
	Leveled bool `json:"leveled,omitempty"`
}

// CheckChunk reads a chunk's MP3 once, decoding it, and checks it against
// its spoken text and the job's format (zero: any). It returns ErrRejected,
// with the check saying why, when the chunk should be synthesized again;
// any other error is a failure to read.
func CheckChunk(ctx context.Context, r io.Reader, text string, want mp3.Format, cfg Config) (*ChunkCheck, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := mp3.Analyze(ctx, r, mp3.Options{Decode: true, SilenceThreshold: cfg.SilenceThreshold})
	if err != nil && !errors.Is(err, mp3.ErrNoFrames) {
		return nil, fmt.Errorf("stitch: check chunk: %w", err)
	}
	c := &ChunkCheck{Analysis: a, Chars: utf8.RuneCountInString(text)}
	c.Expected = cfg.expected(c.Chars)
	if errors.Is(err, mp3.ErrNoFrames) {
		c.Report.add(CheckStructure, nil, false, "no MPEG audio Layer III frames (%d bytes of other data)", a.Junk)
		c.Report.finish()
		return c, fmt.Errorf("%w: %s", ErrRejected, c.Report.Summary())
	}
	c.Report = chunkReport(a, c.Chars, want, cfg, nil)
	if !c.Report.OK {
		return c, fmt.Errorf("%w: %s", ErrRejected, c.Report.Summary())
	}
	return c, nil
}

// checkStructure is CheckChunk without the decode: the frames, the format
// and the bit reservoir are checked, not the audio. A chunk with no frame
// is an error.
func checkStructure(ctx context.Context, r io.Reader, text string, cfg Config) (*ChunkCheck, error) {
	a, err := mp3.Analyze(ctx, r, mp3.Options{})
	if errors.Is(err, mp3.ErrNoFrames) {
		return nil, fault.Permanent(fmt.Errorf("%w (%d bytes of other data)", err, a.Junk))
	}
	if err != nil {
		return nil, fmt.Errorf("stitch: check chunk: %w", err)
	}
	c := &ChunkCheck{Analysis: a, Chars: utf8.RuneCountInString(text)}
	c.Expected = cfg.expected(c.Chars)
	c.Report = chunkReport(a, c.Chars, mp3.Format{}, cfg, nil)
	return c, nil
}

// chunkReport checks one chunk's analysis. chunk labels the checks when the
// report is part of a join's. Checks of the audio itself are made only if
// it was decoded.
func chunkReport(a *mp3.Analysis, chars int, want mp3.Format, cfg Config, chunk *int) Report {
	var r Report
	var structural []string
	for _, p := range a.Problems {
		switch p.Code {
		case mp3.ProblemDecode, mp3.ProblemUnsupported, mp3.ProblemReservoir, mp3.ProblemFormatChanged:
			continue // checked below under their own names
		}
		structural = append(structural, p.String())
	}
	r.add(CheckStructure, chunk, len(structural) == 0, "%d frames, %d bytes%s", a.Frames, a.Bytes, listed(structural))

	formatOK := want.IsZero() || a.Format == want
	detail := a.Format.String()
	if !formatOK {
		detail = fmt.Sprintf("%s, the job is %s", a.Format, want)
	}
	var changed []string
	for _, p := range a.Problems {
		if p.Code == mp3.ProblemFormatChanged {
			changed = append(changed, p.String())
		}
	}
	r.add(CheckFormat, chunk, formatOK && len(changed) == 0, "%s%s", detail, listed(changed))
	r.add(CheckReservoir, chunk, a.MainDataBegin == 0, "main_data_begin of the first frame is %d", a.MainDataBegin)

	var dec []string
	for _, p := range a.Problems {
		if p.Code == mp3.ProblemDecode || p.Code == mp3.ProblemUnsupported {
			dec = append(dec, p.Message)
		}
	}
	if a.Decoded || len(dec) > 0 {
		r.add(CheckDecode, chunk, a.Decoded && a.DecodedSamples == a.Samples && len(dec) == 0,
			"decoded %d of %d samples%s", a.DecodedSamples, a.Samples, listed(dec))
	}

	if chars > 0 {
		exp := cfg.expected(chars)
		lo, hi := exp/2, 2*exp
		// Very short texts carry a fixed overhead of breath and silence.
		hi += time.Second
		r.add(CheckDuration, chunk, a.Duration >= lo && a.Duration <= hi,
			"%s for %d characters; plausible %s to %s", a.Duration.Round(time.Millisecond), chars, lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	}

	if a.Decoded {
		r.add(CheckSilent, chunk, a.Loudness > mp3.Silent && a.Peak > dbToLinear(cfg.SilenceThreshold),
			"loudness %.1f LUFS, true peak %.1f dBTP", a.Loudness, mp3.DB(a.Peak))
		r.add(CheckAbruptEnd, chunk, a.EndLevel <= cfg.AbruptLevel,
			"the last 50 ms are at %.1f dBFS (limit %.1f)", a.EndLevel, cfg.AbruptLevel)
		r.add(CheckSilence, chunk, a.LongestSilence <= cfg.Pauses.Longest(),
			"longest silence %s, longest pause %s", a.LongestSilence, cfg.Pauses.Longest())
	}
	r.finish()
	return r
}

func listed(items []string) string {
	if len(items) == 0 {
		return ""
	}
	s := ": "
	for i, it := range items {
		if i == 3 {
			return s + fmt.Sprintf("; and %d more", len(items)-3)
		}
		if i > 0 {
			s += "; "
		}
		s += it
	}
	return s
}
