package stitch_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/stitch"
)

// level is a chunk at lufs whose peak allows at most maxSteps of gain.
func level(lufs float64, maxSteps int) stitch.ChunkLevel {
	return stitch.ChunkLevel{Loudness: lufs, MinSteps: -100, MaxSteps: maxSteps}
}

func TestPlanGains(t *testing.T) {
	silent := stitch.ChunkLevel{Loudness: mp3.Silent}
	cases := []struct {
		name    string
		levels  []stitch.ChunkLevel
		limited []int
		// want is each chunk's loudness after gain, within a step.
		want []float64
		// jump is the most neighbours may differ after gain.
		jump float64
	}{
		{"every chunk reaches the target",
			[]stitch.ChunkLevel{level(-20, 10), level(-21.2, 10), level(-19.4, 10), level(-22, 10)},
			nil, []float64{-16, -16, -16, -16}, stitch.MaxStep},
		{"a peak-limited chunk pulls its neighbours down gradually",
			[]stitch.ChunkLevel{level(-20, 10), level(-20, 10), level(-20, 10), level(-20, 0), level(-20, 10), level(-20, 10), level(-20, 10), level(-20, 10)},
			[]int{3}, []float64{-17, -18, -19, -20, -19, -18, -17, -16}, mp3.GainStepDB},
		{"a chunk over the ceiling is turned down, and the others with it",
			[]stitch.ChunkLevel{level(-16, 3), level(-16, -1), level(-16, 3)},
			[]int{1}, []float64{-16.5, -17.5, -16.5}, mp3.GainStepDB},
		{"an unmeasured chunk keeps its gain and is passed over",
			[]stitch.ChunkLevel{level(-19, 10), silent, level(-19.5, 10)},
			nil, []float64{-16, mp3.Silent, -16}, stitch.MaxStep},
		{"every chunk peak-limited: each as loud as the quietest allows",
			[]stitch.ChunkLevel{level(-21.5, 1), level(-21.3, 1), level(-21.6, 1)},
			[]int{0, 1, 2}, []float64{-20, -19.8, -20.1}, stitch.MaxStep},
		{"nothing to measure", []stitch.ChunkLevel{silent}, nil, []float64{mp3.Silent}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := stitch.PlanGains(tc.levels, -16)
			if !slices.Equal(g.Limited, tc.limited) {
				t.Errorf("limited %v, want %v", g.Limited, tc.limited)
			}
			for i, c := range tc.levels {
				if c.Loudness <= mp3.Silent {
					if g.Steps[i] != 0 {
						t.Errorf("chunk %d: %d steps for an unmeasured chunk", i, g.Steps[i])
					}
					continue
				}
				if g.Steps[i] > c.MaxSteps {
					t.Errorf("chunk %d: %d steps, its peak allows %d", i, g.Steps[i], c.MaxSteps)
				}
				if got := c.Loudness + float64(g.Steps[i])*mp3.GainStepDB; math.Abs(got-g.Levels[i]) > 1e-9 || math.Abs(got-tc.want[i]) > mp3.GainStepDB {
					t.Errorf("chunk %d at %.2f LUFS (plan says %.2f), want %.2f ± a step", i, got, g.Levels[i], tc.want[i])
				}
			}
			if g.LargestJump > tc.jump+0.01 {
				t.Errorf("largest jump %.2f LU at chunk %d, levels %v", g.LargestJump, g.JumpAt, g.Levels)
			}
		})
	}
}

// TestPlanGainsBalancesChunksOfAVoice plans chunks of one voice whose
// loudness varies by a few LU, as a speech service's do: after gain no
// neighbour is more than MaxStep from the next.
func TestPlanGainsBalancesChunksOfAVoice(t *testing.T) {
	var levels []stitch.ChunkLevel
	for i := range 40 {
		levels = append(levels, level(-20+2.5*math.Sin(float64(i)*1.7), 10))
	}
	g := stitch.PlanGains(levels, -16)
	if g.LargestJump > stitch.MaxStep {
		t.Errorf("largest jump after gain %.2f LU at chunk %d (before: %.2f)", g.LargestJump, g.JumpAt, stitch.LargestJump(levels))
	}
	for i, l := range g.Levels {
		if math.Abs(l+16) > mp3.GainStepDB {
			t.Errorf("chunk %d at %.2f LUFS, more than a step from the target", i, l)
		}
	}
	t.Logf("largest jump between neighbours: %.2f LU before gain, %.2f after", stitch.LargestJump(levels), g.LargestJump)
}

// TestPlanGainsOnAPrefix plans the chunks known so far, as a join that
// streams chunks as they arrive does: a prefix without a peak-limited chunk
// aims at the target, and the plan of the whole is the same function.
func TestPlanGainsOnAPrefix(t *testing.T) {
	levels := []stitch.ChunkLevel{level(-20, 10), level(-20, 10), level(-20, 10), level(-20, 10), level(-26, 0)}
	prefix := stitch.PlanGains(levels[:2], -16)
	for i, l := range prefix.Levels {
		if math.Abs(l+16) > mp3.GainStepDB/2 {
			t.Errorf("prefix chunk %d at %.2f LUFS, want the target", i, l)
		}
	}
	whole := stitch.PlanGains(levels, -16)
	if whole.Levels[3] > -24 || len(whole.Limited) != 1 {
		t.Errorf("whole plan %v, limited %v: chunk 3 should follow chunk 4 down", whole.Levels, whole.Limited)
	}
}

// TestPlanGainsFollowsInSteps plans thousands of joins of chunks far less
// alike than one voice's (-26 to -12 LUFS, some of them peak-limited): a
// neighbour is never more than a gain step and a little rounding away.
func TestPlanGainsFollowsInSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for range 5000 {
		var levels []stitch.ChunkLevel
		for range 11 {
			levels = append(levels, level(-26+14*rng.Float64(), rng.IntN(6)-1))
		}
		worst = max(worst, stitch.PlanGains(levels, -16).LargestJump)
	}
	if worst > 1.75 {
		t.Errorf("neighbours up to %.2f LU apart", worst)
	}
}
