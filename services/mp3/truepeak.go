package mp3

import "math"

// True peak is measured as ITU-R BS.1770 Annex 2 describes: the highest
// absolute value of the signal oversampled four times (twice from 96 kHz,
// not at all from 192 kHz), which finds the peaks between samples that a
// player's reconstruction reaches. The interpolator is a Hann-windowed
// sinc of tpTaps taps per phase; its first phase is the samples themselves.

const tpTaps = 12

type truePeak struct {
	phases [][tpTaps]float64 // one interpolator per fraction 1/F … (F−1)/F between samples
	hist   [][2 * tpTaps]float64
	pos    int
	peak   float64
}

func newTruePeak(rate, channels int) *truePeak {
	factor := 4
	switch {
	case rate >= 192000:
		factor = 1
	case rate >= 96000:
		factor = 2
	}
	t := &truePeak{hist: make([][2 * tpTaps]float64, channels)}
	const half = tpTaps / 2
	for p := 1; p < factor; p++ {
		var c [tpTaps]float64
		sum := 0.0
		for i := range tpTaps {
			// Tap i weighs the sample i−(half−1) after the left neighbour
			// of the point interpolated, which lies p/F past it.
			u := float64(i-(half-1)) - float64(p)/float64(factor)
			c[i] = sinc(u) * 0.5 * (1 + math.Cos(math.Pi*u/half))
			sum += c[i]
		}
		for i := range c {
			c[i] /= sum // unity gain at DC
		}
		t.phases = append(t.phases, c)
	}
	return t
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// add takes one sample of a channel; call next once every channel of the
// sample has been added.
func (t *truePeak) add(ch int, x float64) {
	if a := math.Abs(x); a > t.peak {
		t.peak = a
	}
	if len(t.phases) == 0 {
		return
	}
	h := &t.hist[ch]
	// Each sample is stored twice, so the last tpTaps are always
	// contiguous: h[pos+1 : pos+1+tpTaps], oldest first.
	h[t.pos], h[t.pos+tpTaps] = x, x
	win := h[t.pos+1 : t.pos+1+tpTaps]
	for _, c := range t.phases {
		y := 0.0
		for i, v := range win {
			y += c[i] * v
		}
		if a := math.Abs(y); a > t.peak {
			t.peak = a
		}
	}
}

func (t *truePeak) next() { t.pos = (t.pos + 1) % tpTaps }
