package tone

import (
	"bytes"
	"os/exec"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
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
	var mdb []int // each frame's main_data_begin
	s := mp3.NewScanner(bytes.NewReader(audio))
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			t.Fatalf("%s of %d bytes at byte %d", it.Kind, it.Size, it.Offset)
		}
		mdb = append(mdb, mp3.MainDataBegin(it.Header, it.Data))
	}
	if len(mdb) != n {
		t.Fatalf("%d frames, %v; want %d", len(mdb), s.Err(), n)
	}
	starts, borrowing := 0, 0
	for _, m := range mdb {
		if m == 0 {
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
	if mdb[0] != 0 {
		t.Error("first frame borrows")
	}
}
