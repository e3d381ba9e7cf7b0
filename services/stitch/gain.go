package stitch

import (
	"math"

	"github.com/narrator-project/narrator/services/mp3"
)

// Loudness policy. Gain is lossless: it moves each granule's global_gain
// by whole steps of 1.5 dB, and never raises a chunk's true peak past the
// ceiling. A chunk whose peaks stop it short of the target is
// peak-limited: the narration is published below the target and says so,
// and what a listener hears between chunks matters more than the target,
// so its neighbours come down to meet it gradually (at most MaxStep LU
// from one chunk to the next) instead of jumping.

// MaxStep is how far (LU) a chunk's planned loudness may lie above a
// neighbour's because of a peak-limited chunk nearby.
const MaxStep = 1.0

// oneStep is one gain step with room for rounding.
const oneStep = mp3.GainStepDB + 0.01

// ChunkLevel is what the gain plan needs of one chunk.
type ChunkLevel struct {
	// Loudness is the chunk's integrated loudness (LUFS), or mp3.Silent
	// when it was not measured; such a chunk keeps its gain and takes no
	// part in the plan.
	Loudness float64 `json:"loudness"`
	// MinSteps and MaxSteps bound the chunk's gain change: above MaxSteps
	// its true peak would pass the ceiling (or a granule's global_gain
	// 255), below MinSteps a granule's global_gain would pass 0.
	MinSteps int `json:"min_steps"`
	MaxSteps int `json:"max_steps"`
}

// LevelOf returns what the gain plan needs from a chunk's analysis, for a
// true-peak ceiling in dBTP.
func LevelOf(a *mp3.Analysis, ceiling float64) ChunkLevel {
	if !a.Decoded || a.Loudness <= mp3.Silent {
		return ChunkLevel{Loudness: mp3.Silent}
	}
	c := ChunkLevel{Loudness: a.Loudness, MinSteps: math.MinInt32, MaxSteps: math.MaxInt32}
	if a.Peak > 0 {
		c.MaxSteps = int(math.Floor((ceiling - mp3.DB(a.Peak)) / mp3.GainStepDB))
	}
	if a.GainMax > a.GainMin || a.GainMax > 0 {
		c.MaxSteps = min(c.MaxSteps, 255-a.GainMax)
		c.MinSteps = -a.GainMin
	}
	c.MaxSteps = max(c.MaxSteps, c.MinSteps) // granule gains cannot go below 0 whatever the peak
	return c
}

// measured reports whether the chunk takes part in the plan.
func (c ChunkLevel) measured() bool { return c.Loudness > mp3.Silent }

// Reach is the loudness the chunk has at its highest allowed gain.
func (c ChunkLevel) Reach() float64 { return c.Loudness + float64(c.MaxSteps)*mp3.GainStepDB }

// Gains is a gain plan: each chunk's gain change and what it comes to.
type Gains struct {
	Steps  []int     `json:"steps"`  // global_gain change per chunk
	Levels []float64 `json:"levels"` // loudness per chunk after the change (mp3.Silent if not measured)
	// Limited lists the chunks whose peaks keep them more than half a
	// step below the target.
	Limited []int `json:"limited,omitempty"`
	// LargestJump is the largest difference (LU) between the planned
	// loudness of neighbouring measured chunks, and JumpAt the index of the
	// later chunk of that pair (-1 when there is no pair).
	LargestJump float64 `json:"largest_jump"`
	JumpAt      int     `json:"jump_at"`
}

// PlanGains chooses every chunk's gain toward target (LUFS). Each chunk
// aims at the target, or lower where a peak-limited chunk is near: at no
// more than its neighbour's reach plus MaxStep per chunk between them.
// Steps are then chosen, among those near each aim, so that neighbours
// differ as little as the 1.5 dB steps allow: within MaxStep where the
// chunks' own loudness lets them, else by one step. The plan depends only on
// its arguments, so it can be worked out for the chunks known so far.
func PlanGains(levels []ChunkLevel, target float64) Gains {
	n := len(levels)
	g := Gains{Steps: make([]int, n), Levels: make([]float64, n), JumpAt: -1}
	aim := make([]float64, n)
	// The lower envelope of every chunk's reach widened by MaxStep per
	// chunk of distance, in two passes, capped at the target.
	run := math.Inf(1)
	for i, c := range levels {
		run += MaxStep
		if c.measured() {
			run = min(run, c.Reach())
		}
		aim[i] = run
	}
	run = math.Inf(1)
	for i := n - 1; i >= 0; i-- {
		run += MaxStep
		if levels[i].measured() {
			run = min(run, levels[i].Reach())
		}
		aim[i] = min(aim[i], run, target)
	}

	// The steps: a shortest path through each chunk's candidate steps,
	// costing the distance from the aim and a price for every LU between
	// neighbours beyond what they may differ: MaxStep where both aim at
	// the target, one gain step where they follow a peak-limited chunk
	// (chunks of about the same loudness can differ by no less), and a far
	// higher price beyond one gain step anywhere.
	type node struct {
		steps int
		level float64
		cost  float64
		from  int
	}
	var layers [][]node
	var idx []int // chunk of each layer
	for i, c := range levels {
		g.Levels[i] = mp3.Silent
		if !c.measured() {
			continue
		}
		if c.Reach() < target-mp3.GainStepDB/2 {
			g.Limited = append(g.Limited, i)
		}
		base := int(math.Floor((aim[i] - c.Loudness) / mp3.GainStepDB))
		var layer []node
		// Steps from two under the aim to two over it: room to follow a
		// neighbour down or up by a step without passing it.
		for k := base - 2; k <= base+3; k++ {
			if k < c.MinSteps || k > c.MaxSteps {
				continue
			}
			layer = append(layer, node{steps: k, level: c.Loudness + float64(k)*mp3.GainStepDB})
		}
		if len(layer) == 0 {
			k := min(max(base, c.MinSteps), c.MaxSteps)
			layer = append(layer, node{steps: k, level: c.Loudness + float64(k)*mp3.GainStepDB})
		}
		for j := range layer {
			nd := &layer[j]
			nd.cost, nd.from = math.Abs(nd.level-aim[i]), -1
			if len(layers) == 0 {
				continue
			}
			allowed := MaxStep
			if prev := idx[len(idx)-1]; aim[prev] < target || aim[i] < target {
				allowed = oneStep
			}
			best := math.Inf(1)
			for f, p := range layers[len(layers)-1] {
				d := math.Abs(nd.level - p.level)
				c := p.cost + 10*max(0, d-allowed) + 100*max(0, d-oneStep)
				if c < best {
					best, nd.from = c, f
				}
			}
			nd.cost += best
		}
		layers = append(layers, layer)
		idx = append(idx, i)
	}
	if len(layers) == 0 {
		return g
	}
	at := 0
	last := layers[len(layers)-1]
	for j := range last {
		if last[j].cost < last[at].cost {
			at = j
		}
	}
	for l := len(layers) - 1; l >= 0; l-- {
		nd := layers[l][at]
		g.Steps[idx[l]], g.Levels[idx[l]] = nd.steps, nd.level
		at = nd.from
	}
	for l := 1; l < len(idx); l++ {
		if d := math.Abs(g.Levels[idx[l]] - g.Levels[idx[l-1]]); d > g.LargestJump || g.JumpAt < 0 {
			g.LargestJump, g.JumpAt = d, idx[l]
		}
	}
	return g
}

// LargestJump returns the largest difference (LU) between the loudness of
// neighbouring measured chunks, before any gain: the balance a join starts
// from.
func LargestJump(levels []ChunkLevel) float64 {
	jump, prev := 0.0, math.NaN()
	for _, c := range levels {
		if !c.measured() {
			continue
		}
		if !math.IsNaN(prev) {
			jump = max(jump, math.Abs(c.Loudness-prev))
		}
		prev = c.Loudness
	}
	return jump
}
