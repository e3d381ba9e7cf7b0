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
// response, short or long, passes the stitcher's chunk check (a fade and
// silence at the end, plausible duration, not silent) at TTS loudness.
func TestAudioPassesTheChunkCheck(t *testing.T) {
	s := start(t, faketts.Config{})
	for _, n := range []int{3, 12, 40, 300, 1500, 4096} {
		text := sentence(n)
		c, err := stitch.CheckChunk(t.Context(), bytes.NewReader(fakeAudio(t, s, text)), text, mp3.FormatOpenAI, stitch.Config{})
		if err != nil {
			t.Errorf("%d characters: %v", n, err)
			continue
		}
		a := c.Analysis
		t.Logf("%d characters: %v, %.1f LUFS, peak %.1f dBFS, end %.1f dBFS, trailing silence %v", n, a.Duration, a.Loudness, 20*math.Log10(a.Peak), a.EndLevel, a.TrailingSilence)
		if n >= 40 && (a.Loudness < -20 || a.Loudness > -15) {
			t.Errorf("%d characters: loudness %.1f LUFS, want a TTS service's -15 to -20", n, a.Loudness)
		}
		if peak := 20 * math.Log10(a.Peak); peak > -6 {
			t.Errorf("%d characters: peak %.1f dBFS, want well below full scale", n, peak)
		}
		if a.TrailingSilence < 200e6 || a.TrailingSilence > 450e6 {
			t.Errorf("%d characters: ends in %v of silence, want 200 to 450 ms", n, a.TrailingSilence)
		}
	}
}

// TestChunksStitchAtTargetLoudness joins several responses as the stitch
// stage does and checks that the result passes validation, loudness
// within tolerance of -16 LUFS included.
func TestChunksStitchAtTargetLoudness(t *testing.T) {
	s := start(t, faketts.Config{})
	var inputs []stitch.Input
	for i, n := range []int{900, 1400, 60, 1500} {
		text := sentence(n) + strings.Repeat("!", i) // distinct texts, distinct melodies
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
	t.Logf("stitched: %v, %.1f LUFS, peak %.1f dBFS", res.Duration, res.Loudness, res.Peak)
	if math.Abs(res.Loudness-stitch.DefaultTarget) > stitch.DefaultTolerance {
		t.Errorf("loudness %.1f LUFS, want %.1f", res.Loudness, stitch.DefaultTarget)
	}
}
