package tone

import (
	"os/exec"
	"testing"

	"github.com/narrator-project/narrator/services/synth/internal/mpframe"
)

func TestAudioIsExactAndJoinable(t *testing.T) {
	if _, err := exec.LookPath("lame"); err != nil {
		t.Fatal("lame not found in PATH: install it (Debian: apt-get install lame)")
	}
	g := New(24000, 160)
	const n = 250 // several notes and a partial one
	audio, err := g.Audio(t.Context(), "seed", n)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := mpframe.Scan(audio)
	if err != nil || len(fs) != n {
		t.Fatalf("%d frames, %v; want %d", len(fs), err, n)
	}
	starts, borrowing := 0, 0
	for _, f := range fs {
		if mpframe.MainDataBegin(audio[f.Offset:], f.Header) == 0 {
			starts++
		} else {
			borrowing++
		}
	}
	// Every note starts self-contained; inside a note lame uses its bit
	// reservoir, as a real provider's stream does.
	per := 0 // frames per note, the same for every pitch
	for _, nt := range g.notes {
		per = max(per, len(nt[parts-1].frames))
	}
	notes := (n + per - 1) / per
	if starts < notes || borrowing == 0 {
		t.Errorf("%d self-contained frames for %d notes, %d borrowing", starts, notes, borrowing)
	}
	if mpframe.MainDataBegin(audio, fs[0].Header) != 0 {
		t.Error("first frame borrows")
	}
}
