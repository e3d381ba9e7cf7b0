package stitch_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// chunkAudio is one synthetic chunk: speech-like audio encoded by lame.
type chunkAudio struct {
	dur      time.Duration
	levelDB  float64
	section  int
	brk      script.Break
	lameArgs []string
}

// fixtureChunks encodes each chunk and returns the join's inputs, with
// text of a length plausible for the audio's duration.
func fixtureChunks(t testing.TB, rate, channels int, specs []chunkAudio) ([]stitch.Input, [][]byte) {
	t.Helper()
	var inputs []stitch.Input
	var raw [][]byte
	for i, c := range specs {
		pcm := mp3test.Speech(rate, channels, c.dur, c.levelDB, uint64(i+1))
		args := c.lameArgs
		if args == nil {
			args = []string{"-b", "160"}
		}
		b := mp3test.Encode(t, pcm, args...)
		raw = append(raw, b)
		chars := int(c.dur.Minutes() * stitch.DefaultCharsPerMinute)
		inputs = append(inputs, stitch.Input{
			Chunk: script.Chunk{Index: i, Text: strings.Repeat("a", chars), Section: c.section, Break: c.brk},
			Open:  opener(b),
		})
	}
	return inputs, raw
}

func opener(b []byte) func(context.Context) (io.ReadCloser, error) {
	return func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// join stitches inputs into a file in a temporary directory.
func join(t testing.TB, inputs []stitch.Input, meta stitch.Metadata, cfg stitch.Config) (*stitch.Result, string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.mp3")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := stitch.Stitch(context.Background(), f, inputs, meta, cfg)
	if cerr := f.Close(); cerr != nil {
		t.Fatal(cerr)
	}
	return res, path, err
}
