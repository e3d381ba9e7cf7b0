package mp3_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

// speechPCM is speech-like audio at levelDB dBFS RMS, as floats.
func speechPCM(rate, channels int, d time.Duration, levelDB float64) *mp3.PCM {
	s := mp3test.Speech(rate, channels, d, levelDB, 7)
	p := &mp3.PCM{Rate: rate, Channels: channels, Samples: make([]float64, len(s.Samples))}
	for i, v := range s.Samples {
		p.Samples[i] = float64(v) / 32768
	}
	return p
}

func TestLimitHoldsTheTruePeakWithoutClipping(t *testing.T) {
	for _, tc := range []struct {
		name     string
		channels int
		boostDB  float64 // how far the peaks start above full scale, roughly
	}{
		{"mono, peaks 6 dB over", 1, 6},
		{"mono, peaks just over", 1, 1},
		{"stereo, peaks 6 dB over", 2, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := speechPCM(24000, tc.channels, 6*time.Second, -12)
			_, peak := p.Measure()
			p.Gain(tc.boostDB - peak)
			before := append([]float64(nil), p.Samples...)
			lufsBefore, peakBefore := p.Measure()

			gotLUFS, got := p.Limit(-1)
			lufs, peak := p.Measure()
			if peak > -1 || got != peak || gotLUFS != lufs {
				t.Errorf("true peak %.2f dBTP, %.2f LUFS (reported %.2f, %.2f), want at most -1 dBTP", peak, lufs, got, gotLUFS)
			}
			// Only the peaks are turned down: the level falls less than
			// turning the whole signal down would have made it.
			if drop := lufsBefore - lufs; drop <= 0 || drop >= peakBefore+1 {
				t.Errorf("loudness fell %.2f LU (from %.2f to %.2f) for peaks lowered %.2f dB", drop, lufsBefore, lufs, peakBefore+1)
			}
			// The gain never rises above 1, and changes smoothly: between
			// neighbouring samples by no more than a look-ahead's share.
			ch := tc.channels
			maxStep, prev, prevAt := 0.0, 1.0, -1
			for i := 0; i < len(before); i += ch {
				if math.Abs(before[i]) < 1e-3 {
					continue
				}
				g := p.Samples[i] / before[i]
				if g > 1+1e-9 || g <= 0 {
					t.Fatalf("sample %d: gain %.4f", i/ch, g)
				}
				if prevAt == i-ch {
					maxStep = max(maxStep, math.Abs(g-prev))
				}
				prev, prevAt = g, i
			}
			if maxStep > 0.02 {
				t.Errorf("gain jumps by %.3f between samples: a click", maxStep)
			}
		})
	}
}

func TestLimitLeavesQuietAudioAlone(t *testing.T) {
	p := speechPCM(22050, 1, 2*time.Second, -30)
	before := append([]float64(nil), p.Samples...)
	p.Limit(-1)
	for i := range before {
		if before[i] != p.Samples[i] {
			t.Fatalf("sample %d changed from %v to %v", i, before[i], p.Samples[i])
		}
	}
}

func TestDecodePCMPlaysTheSameAudio(t *testing.T) {
	pcm := mp3test.Speech(24000, 1, 3*time.Second, -20, 3)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"LAME tag", []string{"-b", "160"}},
		{"no tag", []string{"-b", "160", "-t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mp3test.Encode(t, pcm, tc.args...)
			a, p, err := mp3.DecodePCM(t.Context(), bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			want := a.Samples - mp3.DecoderDelay
			if a.Gapless {
				want = int64(pcm.Frames())
			}
			if int64(p.Frames()) != want {
				t.Errorf("%d samples, want %d", p.Frames(), want)
			}
			lufs, _ := p.Measure()
			if math.Abs(lufs-a.Loudness) > 0.2 {
				t.Errorf("samples measure %.2f LUFS, the analysis %.2f", lufs, a.Loudness)
			}
			w, err := mp3.ReadWAV(p.WAV())
			if err != nil || w.Frames() != p.Frames() || w.Rate != 24000 {
				t.Errorf("WAV round trip: %v, %d samples at %d Hz", err, w.Frames(), w.Rate)
			}
		})
	}
}

func TestLevelReachesTheTargetUnderTheCeiling(t *testing.T) {
	for _, from := range []float64{-30, -12} {
		p := speechPCM(24000, 1, 6*time.Second, from)
		got, gotPeak := p.Level(-16, -1.5)
		lufs, peak := p.Measure()
		if math.Abs(lufs+16) > 0.1 || math.Abs(got-lufs) > 1e-6 || math.Abs(gotPeak-peak) > 1e-6 || peak > -1.5 {
			t.Errorf("from %.0f dBFS: %.2f LUFS (reported %.2f), true peak %.2f dBTP; want -16 ± 0.1 under -1.5", from, lufs, got, peak)
		}
	}
	short := speechPCM(24000, 1, 300*time.Millisecond, -20)
	if got, _ := short.Level(-16, -1); got != mp3.Silent {
		t.Errorf("audio too short to measure leveled to %.2f LUFS", got)
	}
}
