package mp3

import (
	"math"
	"testing"
)

func TestKWeightingMatchesBS1770At48k(t *testing.T) {
	shelf, hp := kWeighting(48000)
	// ITU-R BS.1770-4, tables 1 and 2.
	want := []struct {
		name string
		got  float64
		want float64
	}{
		{"shelf b0", shelf.b0, 1.53512485958697},
		{"shelf b1", shelf.b1, -2.69169618940638},
		{"shelf b2", shelf.b2, 1.19839281085285},
		{"shelf a1", shelf.a1, -1.69065929318241},
		{"shelf a2", shelf.a2, 0.73248077421585},
		{"high pass a1", hp.a1, -1.99004745483398},
		{"high pass a2", hp.a2, 0.99007225036621},
	}
	for _, w := range want {
		if math.Abs(w.got-w.want) > 1e-8 {
			t.Errorf("%s = %.14f, want %.14f", w.name, w.got, w.want)
		}
	}
}

func sine(m *Meter, rate int, secs, freq, amp float64) {
	for i := range int(secs * float64(rate)) {
		m.Add(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
}

func TestMeter(t *testing.T) {
	cases := []struct {
		name string
		rate int
		feed func(m *Meter)
		want float64
		tol  float64
	}{
		// A 997 Hz sine at -20 dBFS in one channel reads -23.0 LUFS.
		{"sine 48k", 48000, func(m *Meter) { sine(m, 48000, 5, 997, 0.1) }, -23.01, 0.02},
		{"sine 24k", 24000, func(m *Meter) { sine(m, 24000, 5, 997, 0.1) }, -23.01, 0.05},
		{"sine 44.1k", 44100, func(m *Meter) { sine(m, 44100, 5, 997, 0.1) }, -23.01, 0.05},
		// Silence is gated out: it does not pull the loudness down, but for
		// the few blocks that straddle the edge.
		{"sine then silence", 24000, func(m *Meter) {
			sine(m, 24000, 5, 997, 0.1)
			for range 24000 * 10 {
				m.Add(0)
			}
		}, -23.01, 0.15},
		// A quiet passage 20 LU down is below the relative gate.
		{"loud and very quiet", 24000, func(m *Meter) {
			sine(m, 24000, 5, 997, 0.1)
			sine(m, 24000, 5, 997, 0.01)
		}, -23.01, 0.15},
		{"silence", 24000, func(m *Meter) {
			for range 24000 * 2 {
				m.Add(0)
			}
		}, Silent, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMeter(tc.rate, 1)
			tc.feed(m)
			if got := m.Integrated(); math.Abs(got-tc.want) > tc.tol {
				t.Errorf("%.3f LUFS, want %.2f", got, tc.want)
			}
			h := m.Histogram()
			if got := h.Integrated(); math.Abs(got-m.Integrated()) > 0.06 {
				t.Errorf("histogram says %.3f LUFS, blocks %.3f", got, m.Integrated())
			}
		})
	}
}

func TestHistogramMergeShiftsByGain(t *testing.T) {
	a, b := NewMeter(24000, 1), NewMeter(24000, 1)
	sine(a, 24000, 5, 440, 0.1)
	sine(b, 24000, 5, 440, 0.05)
	var h Histogram
	h.Merge(a.Histogram(), 0)
	h.Merge(b.Histogram(), 4*GainStepDB) // +6.02 dB: b now matches a
	if got, want := h.Integrated(), a.Integrated(); math.Abs(got-want) > 0.1 {
		t.Errorf("merged %.3f LUFS, want %.3f", got, want)
	}
	if h.Blocks() != a.Histogram().Blocks()+b.Histogram().Blocks() {
		t.Errorf("merged %d blocks", h.Blocks())
	}
}

func TestTruePeakFindsPeaksBetweenSamples(t *testing.T) {
	// A sine at a quarter of the sample rate, a quarter period off: every
	// sample lands at ±amp/√2, 3 dB below the wave's true crest.
	for _, rate := range []int{24000, 44100, 48000, 96000, 192000} {
		const amp = 0.5
		m := NewMeter(rate, 1)
		sample := 0.0
		for i := range rate {
			x := amp * math.Sin(math.Pi/2*float64(i)+math.Pi/4)
			sample = max(sample, math.Abs(x))
			m.Add(x)
		}
		samplePeak, truePeak := 20*math.Log10(sample), 20*math.Log10(m.Peak())
		want := 20 * math.Log10(amp)
		if rate >= 192000 {
			want = samplePeak // Annex 2: no oversampling from 192 kHz
		}
		if math.Abs(truePeak-want) > 0.1 {
			t.Errorf("%d Hz: true peak %.2f dBTP, want %.2f (sample peak %.2f dBFS)", rate, truePeak, want, samplePeak)
		}
	}
}
