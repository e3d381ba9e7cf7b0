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
	// gain is the most an interpolator can amplify (the largest sum of
	// absolute coefficients): between samples all below peak/gain, no
	// value can pass the peak, and most of speech is skipped so.
	gain float64
	// loud counts, per channel, the samples still to come whose window
	// holds a sample that could make a new peak.
	loud []int
}

func newTruePeak(rate, channels int) *truePeak {
	factor := 4
	switch {
	case rate >= 192000:
		factor = 1
	case rate >= 96000:
		factor = 2
	}
	t := &truePeak{hist: make([][2 * tpTaps]float64, channels), loud: make([]int, channels)}
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
		gain := 0.0
		for i := range c {
			c[i] /= sum // unity gain at DC
			gain += math.Abs(c[i])
		}
		t.gain = max(t.gain, gain)
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
	a := math.Abs(x)
	if a > t.peak {
		t.peak = a
	}
	if len(t.phases) == 0 {
		return
	}
	h := &t.hist[ch]
	// Each sample is stored twice, so the last tpTaps are always
	// contiguous: h[pos+1 : pos+1+tpTaps], oldest first.
	h[t.pos], h[t.pos+tpTaps] = x, x
	if a*t.gain > t.peak {
		t.loud[ch] = tpTaps
	}
	if t.loud[ch] == 0 {
		return
	}
	t.loud[ch]--
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
