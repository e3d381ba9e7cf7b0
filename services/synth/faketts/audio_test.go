package faketts_test

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
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// fakeAudio returns the fake's audio for text.
func fakeAudio(t *testing.T, s *faketts.Server, text string) []byte {
	t.Helper()
	resp, audio, err := post(t, t.Context(), s, key, speech(text))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("speech: %v %v", resp, err)
	}
	return audio
}

// sentence returns about n characters of news-like text.
func sentence(n int) string {
	const s = "The council approved the budget on Tuesday after a long debate. "
	return strings.Repeat(s, n/len(s)+1)[:n]
}

// TestAudioPassesTheChunkCheck guards what the pipeline relies on: every
// response, short or long, passes the stitcher's chunk check without a
// warning (a fade and silence at the end, plausible duration, not silent)
// at the level speech services deliver: about -18 LUFS, peaks near full
// scale.
func TestAudioPassesTheChunkCheck(t *testing.T) {
	s := start(t, faketts.Config{})
	for _, n := range []int{3, 40, 1500, 4096} {
		text := sentence(n)
		c, err := stitch.CheckChunk(t.Context(), bytes.NewReader(fakeAudio(t, s, text)), text, mp3.FormatOpenAI, stitch.Config{})
		if err != nil {
			t.Errorf("%d characters: %v", n, err)
			continue
		}
		a := c.Analysis
		t.Logf("%d characters: %v, %.1f LUFS, true peak %.1f dBTP, end %.1f dBFS, trailing silence %v", n, a.Duration, a.Loudness, mp3.DB(a.Peak), a.EndLevel, a.TrailingSilence)
		if w := c.Report.Warnings(); len(w) > 0 {
			t.Errorf("%d characters: warnings %v", n, w)
		}
		if n >= 40 && math.Abs(a.Loudness-speechgen.DefaultLUFS) > 1 {
			t.Errorf("%d characters: loudness %.1f LUFS, want about %.0f", n, a.Loudness, speechgen.DefaultLUFS)
		}
		if peak := mp3.DB(a.Peak); n >= 40 && (peak < -2 || peak > 0.5) {
			t.Errorf("%d characters: true peak %.1f dBTP, want near full scale, as services deliver", n, peak)
		}
		if a.TrailingSilence < 200e6 || a.TrailingSilence > 450e6 {
			t.Errorf("%d characters: ends in %v of silence, want 200 to 450 ms", n, a.TrailingSilence)
		}
	}
}

// TestChunksStitchPeakLimited joins several responses as the stitch stage
// does: speech that peaks at full scale cannot be raised to -16 LUFS
// losslessly, so the join publishes below the target and says so, with
// the chunks balanced and the peak under the ceiling.
func TestChunksStitchPeakLimited(t *testing.T) {
	s := start(t, faketts.Config{})
	var inputs []stitch.Input
	for i, n := range []int{900, 1400, 60, 1500} {
		text := sentence(n) + strings.Repeat("!", i) // distinct texts, distinct audio
		audio := fakeAudio(t, s, text)
		inputs = append(inputs, stitch.Input{
			Chunk: script.Chunk{Index: i, Text: text, Break: script.BreakParagraph},
			Open: func(context.Context) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(audio)), nil
			},
		})
	}
	var out stitch.Buffer
	res, err := stitch.Stitch(t.Context(), &out, inputs, stitch.Metadata{Title: "Budget"}, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Report.Loudness
	t.Logf("stitched: %v; %s", res.Duration, l)
	if l == nil || !l.PeakLimited || l.Achieved > stitch.DefaultTarget-1 || res.Peak > stitch.DefaultPeakCeiling || l.LargestJump > stitch.MaxStep {
		t.Errorf("loudness report %+v, want peak-limited below the target, the peak under the ceiling, neighbours within %.0f LU", l, stitch.MaxStep)
	}
}
