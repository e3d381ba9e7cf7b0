package speechgen_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// TestMatrixSoundsAsAsked renders every row of the matrix and measures it:
// the loudness, peaks, silences, end, format, tags and headers each row
// asks for are what the audio has.
func TestMatrixSoundsAsAsked(t *testing.T) {
	for _, f := range speechgen.Matrix {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			b, err := speechgen.Render(context.Background(), f.Text, f.Options)
			if err != nil {
				t.Fatal(err)
			}
			a, err := mp3.Analyze(context.Background(), bytes.NewReader(b), mp3.Options{Decode: true})
			if err != nil {
				t.Fatal(err)
			}
			o := f.Options
			lufs, peak := cmpOr(o.LUFS, speechgen.DefaultLUFS), o.Peak
			t.Logf("%s, %s, %.1f LUFS, true peak %.1f dBTP, silence %s before, %s after, end %.1f dBFS",
				a.Format, a.Duration.Round(time.Millisecond), a.Loudness, mp3.DB(a.Peak), a.LeadingSilence, a.TrailingSilence, a.EndLevel)
			if !a.OK() || !a.Decoded || a.DecodedSamples != a.Samples || a.MainDataBegin != 0 {
				t.Errorf("not a clean stream: problems %v, decoded %d of %d", a.Problems, a.DecodedSamples, a.Samples)
			}
			if math.Abs(a.Loudness-lufs) > 0.7 {
				t.Errorf("%.2f LUFS, want %.1f", a.Loudness, lufs)
			}
			// Peaks are shaped before encoding, which moves them a little.
			if got := mp3.DB(a.Peak); got > peak+0.6 || got < peak-1.2 {
				t.Errorf("true peak %.2f dBTP, want about %.1f", got, peak)
			}
			rate := cmpOr(o.SampleRate, 24000)
			if a.Format != (mp3.Format{Version: mp3.MPEG2, SampleRate: rate, Channels: 1}) {
				t.Errorf("format %s, want %d Hz mono MPEG-2", a.Format, rate)
			}
			if wantCBR := o.Bitrate >= 0; a.CBR != wantCBR {
				t.Errorf("constant bitrate %v, want %v", a.CBR, wantCBR)
			}
			if (a.Info != nil) != o.Xing {
				t.Errorf("Xing frame present %v, want %v", a.Info != nil, o.Xing)
			}
			if (len(a.Tags) > 0) != o.ID3 {
				t.Errorf("tags %v, want an ID3v2 tag: %v", a.Tags, o.ID3)
			}
			// Encoders and espeak-ng add about 60 ms of their own.
			if d := a.LeadingSilence - o.Lead; d < 0 || d > 120*time.Millisecond {
				t.Errorf("%s of silence before, want about %s", a.LeadingSilence, o.Lead)
			}
			switch {
			case o.AbruptEnd:
				if a.EndLevel < -30 {
					t.Errorf("the last 50 ms are at %.1f dBFS: not cut off", a.EndLevel)
				}
			case o.NoTrail:
				if a.TrailingSilence > 150*time.Millisecond {
					t.Errorf("%s of silence after, want almost none", a.TrailingSilence)
				}
			default:
				want := cmpOr(o.Trail, speechgen.DefaultTrail)
				if d := a.TrailingSilence - want; d < -20*time.Millisecond || d > 120*time.Millisecond || a.EndLevel > -40 {
					t.Errorf("%s of silence after, end at %.1f dBFS; want about %s after a fade", a.TrailingSilence, a.EndLevel, want)
				}
			}
		})
	}
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func TestRenderKeepsWhatItRendered(t *testing.T) {
	ctx := context.Background()
	a, err := speechgen.Render(ctx, "The same text twice.", speechgen.Options{Voice: "nova"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := speechgen.Render(ctx, "The same text twice.", speechgen.Options{Voice: "nova"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := speechgen.Render(ctx, "The same text twice.", speechgen.Options{Voice: "onyx"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the same text and options gave different audio")
	}
	if bytes.Equal(a, c) {
		t.Error("another voice gave the same audio")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []speechgen.Options{{LUFS: -30}, {LUFS: -5}, {Peak: 1}, {Lead: time.Second}, {SampleRate: 44000}, {Speed: 9}} {
		if _, err := speechgen.Render(context.Background(), "text", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
