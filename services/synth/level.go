package synth

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/narrator-project/narrator/services/mp3"
)

// Leveling of the local engine's speech. espeak-ng speaks at about -21.5
// LUFS and stops dead on the last phoneme; a TTS service delivers about
// -16 LUFS and ends in silence. The stitcher matches loudness only in
// 1.5 dB steps and only while peaks stay under its ceiling, and rejects
// chunks whose last 50 ms are loud, so the PCM is leveled before lame
// encodes it.
const (
	// levelTarget is the podcast norm the stitcher aims at, -16 LUFS, plus
	// what lame's low-pass takes from espeak-ng's sibilants at 24 kHz and
	// 160 kbit/s: the encoded chunks measure about 0.5 LU below the PCM.
	levelTarget  = -15.5 // LUFS
	levelCeiling = -1.5  // dBFS sample peak: room for the encoder's overshoot
	levelTol     = 0.1   // LU: close enough, far inside a gain step
	lookAhead    = 0.005 // seconds the limiter sees a peak coming
	release      = 0.08  // seconds for the limiter's gain to recover
	endFade      = 0.005 // seconds faded out where the speech stops
	endSilence   = 0.3   // seconds of silence after it
)

// pcm is mono audio as samples in -1..1.
type pcm struct {
	rate    int
	samples []float64
}

// errWAV is what readWAV returns for output it cannot read.
var errWAV = errors.New("not a 16-bit PCM WAV stream")

// readWAV reads the 16-bit PCM WAV that espeak-ng writes to stdout. A
// stream's data chunk states a placeholder size, so the data runs to the
// end; several channels are mixed to one.
func readWAV(b []byte) (pcm, error) {
	le := binary.LittleEndian
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return pcm{}, errWAV
	}
	var rate, channels, bits int
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(le.Uint32(b[p+4:p+8]))
		p += 8
		switch id {
		case "fmt ":
			if size < 16 || p+16 > len(b) || le.Uint16(b[p:]) != 1 {
				return pcm{}, errWAV
			}
			channels, rate, bits = int(le.Uint16(b[p+2:])), int(le.Uint32(b[p+4:])), int(le.Uint16(b[p+14:]))
		case "data":
			if bits != 16 || channels < 1 || rate < 8000 {
				return pcm{}, errWAV
			}
			data := b[p:min(len(b), p+size)]
			n := len(data) / (2 * channels)
			out := pcm{rate: rate, samples: make([]float64, n)}
			for i := range n {
				var sum float64
				for c := range channels {
					sum += float64(int16(le.Uint16(data[2*(i*channels+c):])))
				}
				out.samples[i] = sum / float64(channels) / 32768
			}
			return out, nil
		}
		p += size + size&1
	}
	return pcm{}, errWAV
}

// wav encodes p as a mono 16-bit WAV file, clamping to ceiling (linear).
func (p pcm) wav(ceiling float64) []byte {
	le := binary.LittleEndian
	n := len(p.samples)
	var b bytes.Buffer
	b.Grow(44 + 2*n)
	b.WriteString("RIFF")
	b.Write(le.AppendUint32(nil, uint32(36+2*n)))
	b.WriteString("WAVEfmt ")
	b.Write(le.AppendUint32(nil, 16))
	b.Write(le.AppendUint16(nil, 1)) // PCM
	b.Write(le.AppendUint16(nil, 1)) // mono
	b.Write(le.AppendUint32(nil, uint32(p.rate)))
	b.Write(le.AppendUint32(nil, uint32(2*p.rate)))
	b.Write(le.AppendUint16(nil, 2))
	b.Write(le.AppendUint16(nil, 16))
	b.WriteString("data")
	b.Write(le.AppendUint32(nil, uint32(2*n)))
	top := math.Floor(ceiling * 32767) // rounding must not lift a peak over the ceiling
	buf := make([]byte, 2*n)
	for i, x := range p.samples {
		s := min(max(math.Round(x*32767), -top), top)
		le.PutUint16(buf[2*i:], uint16(int16(s)))
	}
	b.Write(buf)
	return b.Bytes()
}

// loudness measures p's integrated loudness (LUFS) as BS.1770 does.
func (p pcm) loudness() float64 {
	m := mp3.NewMeter(p.rate, 1)
	for _, x := range p.samples {
		m.Add(x)
	}
	return m.Integrated()
}

// level brings p to the target loudness with its sample peak held under
// the ceiling by a look-ahead limiter. The limiter takes some loudness
// from the peaks, so the gain is measured again and corrected a few times.
func (p *pcm) level() error {
	l := p.loudness()
	if l <= mp3.Silent {
		return nil // nothing to level; the chunk check rejects silence
	}
	src := p.samples
	out := make([]float64, len(src))
	gainDB := levelTarget - l
	for range 4 {
		g := math.Pow(10, gainDB/20)
		for i, x := range src {
			out[i] = x * g
		}
		limit(out, p.rate, math.Pow(10, levelCeiling/20))
		p.samples = out
		l = p.loudness()
		if math.Abs(l-levelTarget) <= levelTol {
			break
		}
		gainDB += levelTarget - l
	}
	if l <= mp3.Silent || math.IsNaN(l) {
		return fmt.Errorf("leveling lost the signal (%.1f LUFS)", l)
	}
	return nil
}

// limit holds every sample of x within ±ceiling with a gain that falls
// linearly over the look-ahead before a peak and recovers exponentially
// after it, so the peaks are turned down rather than clipped.
func limit(x []float64, rate int, ceiling float64) {
	n := len(x)
	if n == 0 {
		return
	}
	g := make([]float64, n)
	for i, v := range x {
		g[i] = 1
		if a := math.Abs(v); a > ceiling {
			g[i] = ceiling / a
		}
	}
	// Attack, backwards: seen from a peak, the gain before it may rise by
	// at most one look-ahead's share a sample, so it is down in time.
	step := 1 / max(lookAhead*float64(rate), 1)
	for i := n - 2; i >= 0; i-- {
		g[i] = min(g[i], g[i+1]+step)
	}
	// Release, forwards: never above what the attack allows.
	k := 1 - math.Exp(-1/(release*float64(rate)))
	for i := 1; i < n; i++ {
		g[i] = min(g[i], g[i-1]+(1-g[i-1])*k)
	}
	for i := range x {
		x[i] *= g[i]
	}
}

// endInSilence fades out the last few milliseconds, where espeak-ng cuts
// the speech off, and appends silence, as a TTS service's audio ends.
func (p *pcm) endInSilence() {
	f := min(int(endFade*float64(p.rate)), len(p.samples))
	for i := range f {
		p.samples[len(p.samples)-1-i] *= float64(i) / float64(f)
	}
	p.samples = append(p.samples, make([]float64, int(endSilence*float64(p.rate)))...)
}
