package mp3_test

import (
	"bytes"
	"io"
	"math"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

// adjusted returns b with every audio frame's gain changed by steps.
func adjusted(t *testing.T, b []byte, steps int) []byte {
	t.Helper()
	out := bytes.Clone(b)
	s := mp3.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			continue
		}
		f := out[it.Offset : it.Offset+it.Size]
		if _, err := mp3.AdjustGain(it.Header, f, steps); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func decodePCM(t *testing.T, b []byte) []int16 {
	t.Helper()
	d, err := gomp3.NewDecoder(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, len(raw)/2)
	for i := range out {
		out[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
	}
	return out
}

func rms(s []int16) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(s)))
}

func TestAdjustGainScalesByQuarterPowersOfTwo(t *testing.T) {
	cases := []struct {
		name string
		pcm  mp3test.PCM
		args []string
	}{
		{"mpeg2 mono", mp3test.Speech(24000, 1, 2*time.Second, -20, 3), []string{"-b", "160"}},
		{"mpeg1 joint stereo", mp3test.Speech(44100, 2, 2*time.Second, -20, 3), []string{"-b", "128"}},
		{"mpeg1 protected by crc", mp3test.Speech(44100, 2, 2*time.Second, -20, 3), []string{"-b", "128", "-p"}},
		{"mpeg2 protected by crc", mp3test.Speech(24000, 1, 2*time.Second, -20, 3), []string{"-b", "64", "-p"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mp3test.Encode(t, tc.pcm, tc.args...)
			base := decodePCM(t, b)
			for _, steps := range []int{-4, 3} {
				out := adjusted(t, b, steps)
				got := decodePCM(t, out)
				ratio := rms(got) / rms(base)
				if want := math.Pow(2, float64(steps)/4); math.Abs(ratio/want-1) > 0.01 {
					t.Errorf("%+d steps scale audio by %.4f, want %.4f", steps, ratio, want)
				}
				// The side info says so, and protected frames still check.
				s := mp3.NewScanner(bytes.NewReader(out))
				o := mp3.NewScanner(bytes.NewReader(b))
				for s.Scan() && o.Scan() {
					it, ot := s.Item(), o.Item()
					if it.Kind != mp3.KindFrame {
						continue
					}
					if !mp3.CheckCRC(it.Header, it.Data) {
						t.Fatalf("frame at %d fails its CRC after the change", it.Offset)
					}
					si, _ := mp3.ParseSideInfo(it.Header, it.Data)
					so, _ := mp3.ParseSideInfo(ot.Header, ot.Data)
					for gr := range it.Header.Granules() {
						for ch := range it.Header.Channels() {
							g, og := si.Granules[gr][ch], so.Granules[gr][ch]
							if want := min(max(og.GlobalGain+steps, 0), 255); og.Part23Length > 0 && g.GlobalGain != want {
								t.Fatalf("granule %d/%d gain %d, was %d, steps %d", gr, ch, g.GlobalGain, og.GlobalGain, steps)
							}
						}
					}
				}
			}
		})
	}
}

func TestAdjustGainClamps(t *testing.T) {
	b := mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 3), "-b", "160")
	s := mp3.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			continue
		}
		lo, _, ok := mp3.GainRange(it.Header, it.Data)
		if !ok {
			continue
		}
		n, err := mp3.AdjustGain(it.Header, it.Data, -lo-1)
		if err != nil || n == 0 {
			t.Fatalf("taking %d steps from a gain of %d clamped %d fields (%v)", lo+1, lo, n, err)
		}
		si, _ := mp3.ParseSideInfo(it.Header, it.Data)
		if g := si.Granules[0][0]; g.Part23Length > 0 && g.GlobalGain != 0 {
			t.Fatalf("gain %d after clamping, want 0", g.GlobalGain)
		}
		return
	}
	t.Fatal("no frame with audio")
}

func TestSilentFrameDecodesToSilence(t *testing.T) {
	for _, f := range []mp3.Format{mp3.FormatOpenAI, {Version: mp3.MPEG1, SampleRate: 44100, Channels: 2}} {
		t.Run(f.String(), func(t *testing.T) {
			h := mp3.Header{Version: f.Version, SampleRate: f.SampleRate, Bitrate: f.Bitrates()[0], Mode: mp3.Mono}
			if f.Channels == 2 {
				h.Mode = mp3.JointStereo
			}
			frame := mp3.SilentFrame(h)
			var stream []byte
			for range 10 {
				stream = append(stream, frame...)
			}
			pcm := decodePCM(t, stream)
			if len(pcm) != 10*f.FrameSamples()*2 {
				t.Fatalf("%d samples, want %d", len(pcm), 10*f.FrameSamples()*2)
			}
			for i, v := range pcm {
				if v != 0 {
					t.Fatalf("sample %d is %d", i, v)
				}
			}
			if mp3.MainDataBegin(h, frame) != 0 {
				t.Error("silent frame uses the bit reservoir")
			}
		})
	}
}
