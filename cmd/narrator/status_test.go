package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
)

func TestStatusShowsLoudnessAndWarnings(t *testing.T) {
	three := 3
	j := queue.Job{
		ID: "budget", ArticleID: "budget", Revision: 2, State: queue.Done, Chunks: 9, HeardSeconds: 431, EstimateHeard: 420,
		Output: &queue.Output{URL: "http://media.test/budget.mp3", Duration: time.Minute, Bytes: 1200000,
			Level: &queue.Level{Target: -16, Achieved: -19.3, PeakLimited: true, Summary: "peak-limited: -19.3 LUFS, target -16.0"}},
		Warnings: []queue.Warning{
			{Stage: "synth", Chunk: &three, Code: "abrupt_end", Message: "the last 50 ms are at -15.4 dBFS (limit -40.0); kept: asked again, the provider returned the same audio"},
			{Stage: "stitch", Code: "peak_limited", Message: "peak-limited: -19.3 LUFS, target -16.0"},
		},
	}
	var b bytes.Buffer
	printJob(&b, j, nil)
	for _, want := range []string{
		"loudness  peak-limited: -19.3 LUFS, target -16.0\n",
		"heard     431 s of audio by the listening check (estimated 420 s)\n",
		"warnings  chunk 3: abrupt_end: the last 50 ms are at -15.4 dBFS",
		"\n          peak_limited: peak-limited: -19.3 LUFS",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, b.String())
		}
	}
}
