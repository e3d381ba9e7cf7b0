package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
)

// Loudness modes: how a narration meets its loudness target.
const (
	// Lossless leaves chunks as the provider made them: the stitcher raises
	// them by gain alone, losslessly, up to the true-peak ceiling, and a
	// narration whose peaks stop it short is published below the target,
	// saying so.
	Lossless = "lossless"
	// Limit levels, once at synthesis and before they are cached, the
	// chunks that gain cannot bring to the target: decoded, passed through
	// a true-peak look-ahead limiter and encoded again by lame in their own
	// format. The stitcher still never re-encodes.
	Limit = "limit"
)

// Leveling configures the Limit mode.
type Leveling struct {
	Mode    string  // Lossless (default) or Limit
	Target  float64 // LUFS; default -16, the stitcher's
	Ceiling float64 // true peak, dBTP; default -1, the stitcher's
	Lame    string  // lame executable; default "lame" from PATH
}

func (l *Leveling) setDefaults() {
	if l.Mode == "" {
		l.Mode = Lossless
	}
	if l.Target == 0 {
		l.Target = -16
	}
	if l.Ceiling == 0 {
		l.Ceiling = -1
	}
	if l.Lame == "" {
		l.Lame = "lame"
	}
}

// Validate reports a mode or level that cannot work.
func (l Leveling) Validate() error {
	var errs []error
	if l.Mode != Lossless && l.Mode != Limit {
		errs = append(errs, fmt.Errorf("loudness mode %q: want %s or %s", l.Mode, Lossless, Limit))
	}
	if l.Target > 0 || l.Target < -70 || l.Ceiling > 0 || l.Ceiling < l.Target {
		errs = append(errs, fmt.Errorf("loudness target %.1f LUFS and ceiling %.1f dBTP: want a target in -70..0 below a ceiling at most 0", l.Target, l.Ceiling))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// key returns the cache key of audio leveled to this target: a chunk
// leveled is other audio than the provider's. Lossless keys are the
// provider's own, so that a cache outlives a change to the other mode.
func (l Leveling) key(base string) string {
	if l.Mode != Limit {
		return base
	}
	return script.Hash("synth/leveled/v1", base, strconv.FormatFloat(l.Target, 'f', -1, 64), strconv.FormatFloat(l.Ceiling, 'f', -1, 64))
}

// reaches reports whether a chunk of loudness lufs and true peak peak
// (dBTP) can be raised to the target by whole gain steps under the
// ceiling: to within half a step of it.
func (l Leveling) reaches(lufs, peak float64) bool {
	if lufs <= mp3.Silent {
		return true // nothing to level
	}
	steps := math.Floor((l.Ceiling - peak) / mp3.GainStepDB)
	return lufs+steps*mp3.GainStepDB >= l.Target-mp3.GainStepDB/2
}

// Leveling passes: each encodes once and measures what lame made.
const levelPasses = 3

// Leveled audio aims this far under the ceiling and this close to the
// target, as this package measures them, so that other meters (ffmpeg's
// ebur128 reads true peaks a little higher) agree it is within.
const (
	peakMargin = 0.3 // dB
	levelClose = 0.2 // LU
)

// level returns audio that reaches the target, and the check's verdict
// on it: the audio itself if gain can bring it there, else the audio
// decoded, levelled with the true-peak limiter and encoded again in its own
// format (sample rate, channels, bitrate) with a LAME tag, so that its
// delay and padding are trimmed on joining. v is the check's verdict on the
// audio; check is run on each encoding, whose measurements (or, from a
// check that measures nothing, a decode of its own) steer the next.
func (l Leveling) level(ctx context.Context, audio []byte, v Verdict, check func(context.Context, []byte) (Verdict, error)) ([]byte, Verdict, bool, error) {
	if v.Measured && l.reaches(v.Loudness, v.Peak) {
		return audio, v, false, nil
	}
	a, src, err := mp3.DecodePCM(ctx, bytes.NewReader(audio))
	if err != nil {
		return nil, v, false, fmt.Errorf("synth: level: %w", err)
	}
	if l.reaches(a.Loudness, mp3.DB(a.Peak)) {
		return audio, v, false, nil
	}
	enc := encoding{Format: Format{SampleRate: a.Format.SampleRate, Channels: a.Format.Channels}, Tag: true}
	if a.CBR {
		enc.Bitrate = a.First.Bitrate / 1000
	} else {
		enc.ABR = a.Bitrate / 1000
	}
	// The encoder moves both figures: its low-pass takes loudness, its
	// noise adds peaks. The first pass allows for it, the next correct by
	// what it did.
	target, ceiling := l.Target+encoderLoss, l.Ceiling-peakMargin
	var best []byte
	var bestV Verdict
	bestMiss := math.Inf(1)
	for range levelPasses {
		p := &mp3.PCM{Rate: src.Rate, Channels: src.Channels, Samples: append([]float64(nil), src.Samples...)}
		p.Level(target, ceiling)
		out, err := encode(ctx, l.Lame, p, enc)
		if err != nil {
			return nil, v, false, err
		}
		ov, err := check(ctx, out)
		if err != nil {
			return nil, v, false, fmt.Errorf("synth: levelled audio: %w", err)
		}
		lufs, peak := ov.Loudness, ov.Peak
		if !ov.Measured {
			m, err := mp3.Analyze(ctx, bytes.NewReader(out), mp3.Options{Decode: true})
			if err != nil {
				return nil, v, false, fmt.Errorf("synth: level: lame's output: %w", err)
			}
			lufs, peak = m.Loudness, mp3.DB(m.Peak)
		}
		over := peak - (l.Ceiling - peakMargin)
		if miss := math.Abs(lufs-l.Target) + max(over, 0)*10; miss < bestMiss {
			best, bestV, bestMiss = out, ov, miss
		}
		if over <= 0 && math.Abs(lufs-l.Target) <= levelClose {
			break
		}
		target += l.Target - lufs
		if over > 0 {
			ceiling -= over + 0.05
		}
	}
	return best, bestV, true, nil
}

// lameFor finds the lame a Leveling runs, failing at start rather than on
// the first chunk that needs it.
func (l Leveling) lameFor() (string, error) {
	if l.Mode != Limit {
		return l.Lame, nil
	}
	p, err := exec.LookPath(l.Lame)
	if err != nil {
		return "", fmt.Errorf("synth: loudness mode %s re-encodes with lame, not found: install it (Debian: apt-get install lame): %w", Limit, err)
	}
	return p, nil
}
