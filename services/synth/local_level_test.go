package synth_test

import (
	"bytes"
	"context"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
)

// newsText returns about n characters of news copy.
func newsText(n int) string {
	const s = "The city council approved the budget on Tuesday, after a debate that ran past midnight. " +
		"Residents will pay lower fees next year, while the transport department gets four new buses. "
	return strings.TrimSpace(strings.Repeat(s, n/len(s)+1)[:n])
}

// TestLocalOutputPassesTheChunkCheck guards the local engine's leveling:
// its chunks end in silence, not mid-phoneme, and sit at the stitcher's
// target loudness with the peak under the ceiling.
func TestLocalOutputPassesTheChunkCheck(t *testing.T) {
	l := newLocal(t)
	for _, n := range []int{20, 1400} {
		text := newsText(n)
		audio, err := l.Synthesize(t.Context(), synth.Request{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		c, err := stitch.CheckChunk(t.Context(), bytes.NewReader(audio), text, mp3.FormatOpenAI, stitch.Config{})
		if err != nil {
			t.Errorf("%d characters: %v", n, err)
			continue
		}
		a := c.Analysis
		peak := 20 * math.Log10(a.Peak)
		t.Logf("%d characters: %v, %.1f LUFS, peak %.1f dBFS, end %.1f dBFS, trailing silence %v", n, a.Duration, a.Loudness, peak, a.EndLevel, a.TrailingSilence)
		if n > 100 && math.Abs(a.Loudness-stitch.DefaultTarget) > 0.7 {
			t.Errorf("%d characters: %.1f LUFS, want %.1f within a gain step", n, a.Loudness, stitch.DefaultTarget)
		}
		if peak > -0.5 {
			t.Errorf("%d characters: peak %.1f dBFS after encoding", n, peak)
		}
		if a.TrailingSilence < 200e6 {
			t.Errorf("%d characters: ends in %v of silence, want about 300 ms", n, a.TrailingSilence)
		}
	}
}

// TestLocalChunksStitchAtTargetLoudness joins local chunks as the stitch
// stage does: the file passes validation, loudness within 1 LU of -16.
func TestLocalChunksStitchAtTargetLoudness(t *testing.T) {
	l := newLocal(t)
	var inputs []stitch.Input
	for i, n := range []int{600, 40, 900} {
		text := newsText(n)
		audio, err := l.Synthesize(t.Context(), synth.Request{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, stitch.Input{
			Chunk: script.Chunk{Index: i, Text: text, Break: script.BreakParagraph},
			Open:  func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(audio)), nil },
		})
	}
	var out stitch.Buffer
	res, err := stitch.Stitch(t.Context(), &out, inputs, stitch.Metadata{Title: "Budget"}, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stitched: %v, %.1f LUFS, peak %.1f dBFS", res.Duration, res.Loudness, res.Peak)
	if math.Abs(res.Loudness-stitch.DefaultTarget) > stitch.DefaultTolerance {
		t.Errorf("loudness %.1f LUFS, want %.1f ± %.1f", res.Loudness, stitch.DefaultTarget, stitch.DefaultTolerance)
	}
}
