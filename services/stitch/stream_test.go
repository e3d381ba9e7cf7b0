package stitch_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// TestStreamIsTheFileWithoutItsHead streams the rows of the real-speech
// matrix, in the matrix's order and shuffled, chunk by chunk as a listener
// gets them, and compares with the joined file: the stream is the file's
// bytes after its head, frame for frame, except for the global_gain of
// chunks whose gain the plan over later chunks moved; it logs how often
// that happens.
func TestStreamIsTheFileWithoutItsHead(t *testing.T) {
	rows, audio := matrix(t, 24000)
	checks := make([]*stitch.ChunkCheck, len(rows))
	for i, f := range rows {
		c, err := stitch.CheckChunk(context.Background(), bytes.NewReader(audio[i]), f.Text, mp3.Format{}, stitch.Config{})
		if err != nil {
			t.Fatal(err)
		}
		checks[i] = c
	}
	r := rand.New(rand.NewPCG(16, 1))
	moved, total := 0, 0
	for run := range 4 {
		order := r.Perm(len(rows))
		if run == 0 {
			for i := range order {
				order[i] = i
			}
		}
		var inputs []stitch.Input
		for i, k := range order {
			c := script.Chunk{Index: i, Text: rows[k].Text, Break: script.BreakParagraph}
			if i == 0 {
				c.Break = script.BreakNone
			}
			inputs = append(inputs, stitch.Input{Chunk: c, Check: checks[k], Open: opener(audio[k])})
		}
		res, path, err := join(t, inputs, stitch.Metadata{Title: "Matrix"}, stitch.Config{})
		if err != nil {
			t.Fatal(err)
		}
		file, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := stitch.NewStream(stitch.Config{})
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		for _, in := range inputs {
			if _, err := st.Next(context.Background(), &got, in); err != nil {
				t.Fatal(err)
			}
		}
		head := res.Chunks[0].Offset // the tag and the Xing frame: no pause comes before the first chunk
		body := file[head:]
		if got.Len() != len(body) {
			t.Fatalf("run %d: the stream has %d bytes, the file %d after its head of %d", run, got.Len(), len(body), res.Chunks[0].Offset)
		}
		stream := got.Bytes()
		gains := st.Gains()
		prevEnd := int64(0)
		for i, sp := range res.Chunks {
			from, to := sp.Offset-head, sp.Offset-head+sp.Size
			if !bytes.Equal(stream[prevEnd:from], body[prevEnd:from]) {
				t.Errorf("run %d: the silence before chunk %d differs", run, i)
			}
			prevEnd = to
			total++
			if gains[i] == sp.Gain {
				if !bytes.Equal(stream[from:to], body[from:to]) {
					t.Errorf("run %d: chunk %d has the file's gain but other bytes", run, i)
				}
				continue
			}
			moved++
			// Only global_gain may differ: moved by the difference, the
			// stream's frames are the file's.
			fixed := regain(t, stream[from:to], sp.Gain-gains[i])
			if !bytes.Equal(fixed, body[from:to]) {
				t.Errorf("run %d: chunk %d differs from the file by more than its gain (%d steps, the file %d)", run, i, gains[i], sp.Gain)
			}
		}
	}
	t.Logf("%d of %d streamed chunks had a gain the full plan moved", moved, total)
}

// regain returns frames with every granule's global_gain moved by steps.
func regain(t *testing.T, frames []byte, steps int) []byte {
	t.Helper()
	var out bytes.Buffer
	s := mp3.NewScanner(bytes.NewReader(frames))
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			t.Fatalf("a stream chunk holds a %v", it.Kind)
		}
		if _, err := mp3.AdjustGain(it.Header, it.Data, steps); err != nil {
			t.Fatal(err)
		}
		out.Write(it.Data)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
