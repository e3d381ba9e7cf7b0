package mp3

import (
	"math"
	"time"
)

// Limiting, for the chunks that cannot reach the loudness target by gain
// alone: the loudest peaks are turned down just enough that the true peak,
// between samples as well as at them (BS.1770 Annex 2, as the meter
// measures it), stays under a ceiling. The gain is computed ahead of the
// audio and changes smoothly, so nothing is clipped and the gain change
// itself makes no click:
//
//  1. the gain each sample needs, from the highest of its value and the
//     interpolated values up to the next sample, on every channel;
//  2. the lowest needed anywhere in the look-ahead window, so the gain is
//     down before a peak arrives;
//  3. a moving average over the same window, which keeps the gain at or
//     below what every sample needs while smoothing the attack;
//  4. a release that lets the gain recover gradually after the peak.
//
// A slowly varying gain changes the interpolated values slightly, so the
// result is measured and limited again until it is under the ceiling.

// Limiter settings for speech: peaks seen 3 ms ahead, recovery over about
// 80 ms, as broadcast true-peak limiters do.
const (
	LimiterLookAhead = 3 * time.Millisecond
	LimiterRelease   = 80 * time.Millisecond
)

// limiterMargin is aimed below the ceiling, for the interpolation error of
// a varying gain, so that a second pass is rarely needed.
const limiterMargin = 0.1 // dB

// Limit holds the audio's true peak at or under ceiling (dBTP) with a
// look-ahead limiter, and returns the loudness (LUFS) and true peak it
// ends with. Audio already under the ceiling is left as it is.
func (p *PCM) Limit(ceiling float64) (lufs, peak float64) {
	lufs, peak = p.Measure()
	for pass := 0; pass < 4 && peak > ceiling; pass++ {
		p.limitOnce(math.Pow(10, (ceiling-limiterMargin*float64(pass+1))/20))
		lufs, peak = p.Measure()
	}
	return lufs, peak
}

// levelTolerance is how close (LU) Level gets to its target: far inside a
// gain step.
const levelTolerance = 0.1

// Level brings the audio to target (LUFS) with its true peak held at or
// under ceiling (dBTP) by the limiter, and returns the loudness and true
// peak reached.
// The limiter takes more loudness from the peaks the more gain there is,
// so the gain is found by the secant method: each try corrects by the
// shortfall over the loudness the last step of gain actually bought.
// Audio too short or quiet to measure is left as it is (mp3.Silent).
func (p *PCM) Level(target, ceiling float64) (lufs, peak float64) {
	srcL, srcPeak := p.Measure()
	if srcL <= Silent {
		return srcL, srcPeak
	}
	src := p.Samples
	l := srcL
	gain, lastGain, lastL := target-l, 0.0, l
	for range 4 {
		p.Samples = append(p.Samples[:0:0], src...)
		if l, peak = p.GainLimit(gain, ceiling, srcL, srcPeak); math.Abs(l-target) <= levelTolerance {
			break
		}
		slope := 1.0
		if gain != lastGain {
			slope = min(max((l-lastL)/(gain-lastGain), 0.2), 1)
		}
		lastGain, lastL = gain, l
		gain += (target - l) / slope
	}
	return l, peak
}

// GainLimit scales the audio by db decibels, then holds its true peak at
// or under ceiling as Limit does, given what the audio measured before
// the gain (lufs, peak): gain moves both by exactly db, so audio that
// stays under the ceiling is not measured again. It returns the loudness
// and true peak it ends with.
func (p *PCM) GainLimit(db, ceiling, lufs, peak float64) (float64, float64) {
	p.Gain(db)
	if peak+db <= ceiling {
		return lufs + db, peak + db
	}
	p.limitOnce(math.Pow(10, (ceiling-limiterMargin)/20))
	return p.Limit(ceiling)
}

func (p *PCM) limitOnce(ceiling float64) {
	n := p.Frames()
	if n == 0 {
		return
	}
	need := p.neededGain(ceiling)
	w := max(int(LimiterLookAhead.Seconds()*float64(p.Rate)), 1)
	low := slidingMin(need, w)
	// The average of the window's minima ending at i: each of them covers
	// sample i, so the average is no more than sample i needs.
	g := need // needed no more: its space holds the gain
	sum := 0.0
	for i := range n {
		sum += low[i]
		if i >= w {
			sum -= low[i-w]
		}
		g[i] = sum / float64(min(i+1, w))
	}
	k := 1 - math.Exp(-1/(LimiterRelease.Seconds()*float64(p.Rate)))
	for i := 1; i < n; i++ {
		g[i] = min(g[i], g[i-1]+(1-g[i-1])*k)
	}
	ch := p.Channels
	for i, gi := range g {
		for c := range ch {
			p.Samples[i*ch+c] *= gi
		}
	}
}

// neededGain returns, per sample, the gain that brings the sample and the
// interpolated values up to the next sample under ceiling.
func (p *PCM) neededGain(ceiling float64) []float64 {
	n, ch := p.Frames(), p.Channels
	tp := newTruePeak(p.Rate, 1)
	need := make([]float64, n)
	for i := range need {
		need[i] = 1
	}
	const half = tpTaps / 2
	at := func(c, i int) float64 {
		if i < 0 || i >= n {
			return 0
		}
		return p.Samples[i*ch+c]
	}
	// hot[i+1] counts the samples up to i loud enough that an interpolated
	// value near them might pass the ceiling; elsewhere none can.
	hot := make([]int, n+1)
	for c := range ch {
		for i := range n {
			hot[i+1] = hot[i]
			if math.Abs(at(c, i))*tp.gain > ceiling {
				hot[i+1]++
			}
		}
		for i := range n {
			lo, hi := max(i-(half-1), 0), min(i+half+1, n)
			peak := math.Abs(at(c, i))
			if hot[hi]-hot[lo] > 0 {
				for _, coef := range tp.phases {
					y := 0.0
					for k, cf := range coef {
						y += cf * at(c, i-(half-1)+k)
					}
					peak = max(peak, math.Abs(y))
				}
			}
			if peak > ceiling {
				g := ceiling / peak
				// An interpolated peak depends on both its neighbours.
				need[i] = min(need[i], g)
				if i+1 < n {
					need[i+1] = min(need[i+1], g)
				}
			}
		}
	}
	return need
}

// slidingMin returns, for each i, the least of x[i : i+w].
func slidingMin(x []float64, w int) []float64 {
	out := make([]float64, len(x))
	dq := make([]int, len(x)) // indices of increasing values, dq[head] the least
	head, tail := 0, 0
	j := 0
	for i := range x {
		for ; j < len(x) && j < i+w; j++ {
			for tail > head && x[dq[tail-1]] >= x[j] {
				tail--
			}
			dq[tail] = j
			tail++
		}
		for dq[head] < i {
			head++
		}
		out[i] = x[dq[head]]
	}
	return out
}
