package stitch_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// matrix renders the rows of the real-speech matrix at a sample rate.
func matrix(t *testing.T, rate int) ([]speechgen.Fixture, [][]byte) {
	t.Helper()
	rows := speechgen.Rows(rate)
	audio := make([][]byte, len(rows))
	for i, f := range rows {
		b, err := speechgen.Render(context.Background(), f.Text, f.Options)
		if err != nil {
			t.Fatal(err)
		}
		audio[i] = b
	}
	return rows, audio
}

// TestMatrixChunksPassTheCheck runs the chunk check over every row of the
// real-speech matrix: none is rejected, and only the row cut off mid-sound
// (and the row without silence after it, whose speech ends right at the
// end) is warned about, as ending abruptly.
func TestMatrixChunksPassTheCheck(t *testing.T) {
	for _, rate := range []int{24000, 22050} {
		rows, audio := matrix(t, rate)
		for i, f := range rows {
			t.Run(f.Name, func(t *testing.T) {
				c, err := stitch.CheckChunk(context.Background(), bytes.NewReader(audio[i]), f.Text, mp3.Format{Version: mp3.MPEG2, SampleRate: rate, Channels: 1}, stitch.Config{})
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				var warned []string
				for _, w := range c.Report.Warnings() {
					warned = append(warned, w.Name)
				}
				want := ""
				if f.Options.AbruptEnd {
					want = stitch.CheckAbruptEnd
				}
				if got := strings.Join(warned, ","); got != want && !(f.Options.NoTrail && got == stitch.CheckAbruptEnd) {
					t.Errorf("warnings %v, want %q: %s", warned, want, c.Report.Summary())
				}
			})
		}
	}
}

// TestMatrixJoins joins the rows of each sample rate as the stitch stage
// and `narrator mp3 join` do: every join publishes, frame-exact, clean to
// mpg123 and mp3val, its loudness as ffmpeg measures it, its report saying
// what happened; with loudness kept, structure only.
func TestMatrixJoins(t *testing.T) {
	for _, rate := range []int{24000, 22050} {
		rows, audio := matrix(t, rate)
		var inputs []stitch.Input
		for i, f := range rows {
			c := script.Chunk{Index: i, Text: f.Text}
			if i > 0 {
				c.Break = script.BreakParagraph
			}
			inputs = append(inputs, stitch.Input{Chunk: c, Open: opener(audio[i])})
		}
		for _, keep := range []bool{false, true} {
			t.Run(strconv.Itoa(rate)+"/keep-loudness="+strconv.FormatBool(keep), func(t *testing.T) {
				res, path, err := join(t, inputs, stitch.Metadata{Title: "Matrix"}, stitch.Config{KeepLoudness: keep})
				if err != nil {
					t.Fatalf("join: %v", err)
				}
				if !res.Report.OK {
					t.Errorf("report: %s", res.Report.Summary())
				}
				if dec := mp3test.Decode(t, path); int64(dec.Frames()) != res.Samples {
					t.Errorf("ffmpeg decodes %d samples, the result says %d", dec.Frames(), res.Samples)
				}
				if w := mp3test.MPG123Warnings(t, path); len(w) > 0 {
					t.Errorf("mpg123: %v", w)
				}
				if p := mp3test.MP3ValProblems(t, path); len(p) > 0 {
					t.Errorf("mp3val: %v", p)
				}
				l := res.Report.Loudness
				if keep {
					if l != nil {
						t.Errorf("a join that keeps loudness reports a plan: %+v", l)
					}
					return
				}
				lufs, peak := mp3test.Measure(t, path)
				var levels []stitch.ChunkLevel
				for _, b := range audio {
					c, err := stitch.CheckChunk(context.Background(), bytes.NewReader(b), "", mp3.Format{}, stitch.Config{})
					if err != nil {
						t.Fatal(err)
					}
					levels = append(levels, stitch.LevelOf(c.Analysis, stitch.DefaultPeakCeiling))
				}
				t.Logf("%s; ffmpeg %.2f LUFS, %.2f dBTP; largest step between neighbours %.1f LU before gain, %.1f after",
					l, lufs, peak, stitch.LargestJump(levels), l.LargestJump)
				if d := lufs - res.Loudness; d < -0.5 || d > 0.5 {
					t.Errorf("ffmpeg measures %.2f LUFS, the result says %.2f", lufs, res.Loudness)
				}
				if peak > stitch.DefaultPeakCeiling+0.1 || !l.PeakLimited || l.LargestJump > 1.75 {
					t.Errorf("true peak %.2f dBTP; loudness report %+v", peak, l)
				}
				if !strings.Contains(res.Report.Summary(), "peak-limited") {
					t.Errorf("the report does not say the join is peak-limited: %s", res.Report.Summary())
				}
			})
		}
	}
}
