package main

import (
	"testing"
)

// TestBenchListenCatchesEachFault measures the listening check on a few
// chunks: no clean chunk is flagged, every changed chunk of every fault
// is, and recognition has a cost.
func TestBenchListenCatchesEachFault(t *testing.T) {
	rep, err := benchListen(t.Context(), benchConfig{ListenChunks: 4, Concurrency: 4, Seed: 7, ChunkTarget: 300})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Kinds) != 5 || rep.Words < 4*15 || rep.CostPer1000Words <= 0 {
		t.Fatalf("report %+v", rep)
	}
	for _, k := range rep.Kinds {
		want := k.Applied
		if k.Fault == "" {
			want = 0
		}
		if k.Flagged != want || k.Applied == 0 {
			t.Errorf("%q: flagged %d of %d changed chunks, want %d", k.Fault, k.Flagged, k.Applied, want)
		}
	}
}
