package mp3

import (
	"math"
)

// Loudness is measured as ITU-R BS.1770-4 prescribes (and EBU R128 uses):
// K-weighting, mean square over 400 ms blocks that overlap by 75%, an
// absolute gate at -70 LUFS and a relative gate 10 LU below the loudness of
// the blocks above the absolute gate.

// Silent is the loudness reported for audio with no block above the
// absolute gate. It is a finite number so that it survives JSON.
const Silent = -100.0

const (
	absoluteGate = -70.0
	relativeGate = -10.0
	// GainStepDB is the change one global_gain step makes: a factor of
	// 2^(1/4) in amplitude.
	GainStepDB = 1.5051499783199060 // 20·log10(2^0.25)
)

// biquad is a second-order IIR filter in direct form I.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

func (f *biquad) step(x float64) float64 {
	y := f.b0*x + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
	f.x2, f.x1 = f.x1, x
	f.y2, f.y1 = f.y1, y
	return y
}

// kWeighting returns the two stages of the K-weighting filter for a sample
// rate. BS.1770 gives coefficients for 48 kHz only; these come from the
// analog prototypes behind them (a high shelf of +4 dB around 1.68 kHz and a
// high pass at 38 Hz) through the bilinear transform, and equal the
// standard's at 48 kHz.
func kWeighting(rate int) (shelf, highpass biquad) {
	fs := float64(rate)
	const (
		f0 = 1681.974450955533
		g  = 3.999843853973347
		q  = 0.7071752369554196
	)
	k := math.Tan(math.Pi * f0 / fs)
	vh := math.Pow(10, g/20)
	vb := math.Pow(vh, 0.4996667741545416)
	a0 := 1 + k/q + k*k
	shelf = biquad{
		b0: (vh + vb*k/q + k*k) / a0,
		b1: 2 * (k*k - vh) / a0,
		b2: (vh - vb*k/q + k*k) / a0,
		a1: 2 * (k*k - 1) / a0,
		a2: (1 - k/q + k*k) / a0,
	}
	const (
		f1 = 38.13547087602444
		q1 = 0.5003270373238773
	)
	k = math.Tan(math.Pi * f1 / fs)
	a0 = 1 + k/q1 + k*k
	highpass = biquad{b0: 1, b1: -2, b2: 1, a1: 2 * (k*k - 1) / a0, a2: (1 - k/q1 + k*k) / a0}
	return shelf, highpass
}

// Meter measures integrated loudness and true peak. Feed it samples with
// Add, one frame of channels at a time.
type Meter struct {
	channels int
	filters  [][2]biquad
	sub      int        // samples per 100 ms sub-block
	n        int        // samples in the current sub-block
	acc      float64    // weighted sum of squares in the current sub-block
	last     [3]float64 // the three sub-blocks before the current one
	subs     int        // complete sub-blocks so far
	blocks   []float64  // mean square of every complete 400 ms block
	peak     *truePeak
}

// NewMeter returns a meter for audio of the given rate and channel count.
// Every channel is weighted 1, as BS.1770 weights left, right and centre.
func NewMeter(rate, channels int) *Meter {
	m := &Meter{channels: channels, sub: rate / 10, peak: newTruePeak(rate, channels)}
	for range channels {
		s, h := kWeighting(rate)
		m.filters = append(m.filters, [2]biquad{s, h})
	}
	return m
}

// Add feeds one sample per channel, each in -1..1.
func (m *Meter) Add(samples ...float64) {
	for ch, x := range samples[:m.channels] {
		m.peak.add(ch, x)
		f := &m.filters[ch]
		y := f[1].step(f[0].step(x))
		m.acc += y * y
	}
	m.peak.next()
	m.n++
	if m.n == m.sub {
		if m.subs >= 3 {
			sum := m.acc + m.last[0] + m.last[1] + m.last[2]
			m.blocks = append(m.blocks, sum/float64(4*m.sub))
		}
		m.last[0], m.last[1], m.last[2] = m.last[1], m.last[2], m.acc
		m.acc, m.n = 0, 0
		m.subs++
	}
}

// Peak returns the true peak, 1 being full scale: the highest absolute
// value of the signal between samples as well as at them.
func (m *Meter) Peak() float64 { return m.peak.peak }

// Integrated returns the gated integrated loudness in LUFS, or Silent.
func (m *Meter) Integrated() float64 { return integrate(m.blocks) }

// Histogram returns the loudness of every block, binned, for combining with
// other measurements without keeping the blocks.
func (m *Meter) Histogram() Histogram {
	var h Histogram
	for _, z := range m.blocks {
		h.add(blockLoudness(z), 1)
	}
	return h
}

func blockLoudness(z float64) float64 {
	if z <= 0 {
		return math.Inf(-1)
	}
	return -0.691 + 10*math.Log10(z)
}

func integrate(blocks []float64) float64 {
	gate := func(threshold float64) (float64, int) {
		var sum float64
		n := 0
		for _, z := range blocks {
			if blockLoudness(z) > threshold {
				sum += z
				n++
			}
		}
		return sum, n
	}
	sum, n := gate(absoluteGate)
	if n == 0 {
		return Silent
	}
	rel := blockLoudness(sum/float64(n)) + relativeGate
	sum, n = gate(max(rel, absoluteGate))
	if n == 0 {
		return Silent
	}
	return blockLoudness(sum / float64(n))
}

// Histogram counts 400 ms blocks by loudness in bins of 0.1 LU from
// -70 LUFS up. It is what a chunk's analysis keeps so that the loudness of
// a file joined from chunks, each with its own gain, can be computed without
// decoding the file again.
type Histogram struct {
	// Min is the bin of Counts[0]: bin b holds blocks of loudness
	// in [-70 + b/10, -70 + (b+1)/10).
	Min    int      `json:"min"`
	Counts []uint32 `json:"counts"`
}

const binsPerLU = 10

func (h *Histogram) add(lufs float64, n uint32) {
	if lufs <= absoluteGate || math.IsNaN(lufs) {
		return
	}
	b := int(math.Floor((lufs - absoluteGate) * binsPerLU))
	if len(h.Counts) == 0 {
		h.Min = b
	}
	if b < h.Min {
		grow := make([]uint32, h.Min-b, h.Min-b+len(h.Counts))
		h.Counts = append(grow, h.Counts...)
		h.Min = b
	}
	for b-h.Min >= len(h.Counts) {
		h.Counts = append(h.Counts, 0)
	}
	h.Counts[b-h.Min] += n
}

func binCenter(b int) float64 { return absoluteGate + (float64(b)+0.5)/binsPerLU }

// Merge adds other's blocks to h as if other's audio had been made gainDB
// louder, which is exactly what a global_gain change does to every block.
func (h *Histogram) Merge(other Histogram, gainDB float64) {
	for i, c := range other.Counts {
		if c > 0 {
			h.add(binCenter(other.Min+i)+gainDB, c)
		}
	}
}

// Blocks returns the number of blocks above the absolute gate.
func (h Histogram) Blocks() int {
	n := 0
	for _, c := range h.Counts {
		n += int(c)
	}
	return n
}

// Integrated returns the gated integrated loudness of the binned blocks.
func (h Histogram) Integrated() float64 {
	energy := func(i int) float64 { return math.Pow(10, (binCenter(h.Min+i)+0.691)/10) }
	gate := func(threshold float64) (float64, int) {
		var sum float64
		n := 0
		for i, c := range h.Counts {
			if c > 0 && binCenter(h.Min+i) > threshold {
				sum += float64(c) * energy(i)
				n += int(c)
			}
		}
		return sum, n
	}
	sum, n := gate(absoluteGate)
	if n == 0 {
		return Silent
	}
	rel := blockLoudness(sum/float64(n)) + relativeGate
	sum, n = gate(max(rel, absoluteGate))
	if n == 0 {
		return Silent
	}
	return blockLoudness(sum / float64(n))
}
