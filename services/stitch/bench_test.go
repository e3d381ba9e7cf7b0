package stitch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// benchChunk is the length of one chunk: about what 4,096 characters take.
const benchChunk = 4 * time.Minute

// benchFiles holds 60 minutes of 24 kHz mono 160 kbps chunks, made once.
var benchFiles struct {
	once  sync.Once
	dir   string
	paths []string
	check *stitch.ChunkCheck
	size  int64
	err   error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}

// benchChunks returns n chunk files and the stored check they share.
func benchChunks(b *testing.B, n int) ([]string, *stitch.ChunkCheck, int64) {
	b.Helper()
	bf := &benchFiles
	bf.once.Do(func() {
		bf.dir, bf.err = os.MkdirTemp("", "stitch-bench-")
		if bf.err != nil {
			return
		}
		audio := mp3test.Encode(b, mp3test.Speech(24000, 1, benchChunk, -20, 42), "-b", "160")
		bf.check, bf.err = stitch.CheckChunk(context.Background(), bytes.NewReader(audio), strings.Repeat("a", 3800), mp3.FormatOpenAI, stitch.Config{})
		for i := range int(time.Hour / benchChunk) {
			p := filepath.Join(bf.dir, fmt.Sprintf("chunk%02d.mp3", i))
			if err := os.WriteFile(p, audio, 0o644); err != nil {
				bf.err = err
				return
			}
			bf.paths = append(bf.paths, p)
		}
		bf.size = int64(len(audio))
	})
	if bf.err != nil {
		b.Fatal(bf.err)
	}
	return bf.paths[:n], bf.check, bf.size * int64(n)
}

func inputsFor(paths []string, check *stitch.ChunkCheck) []stitch.Input {
	var in []stitch.Input
	for i, p := range paths {
		c := script.Chunk{Index: i, Text: strings.Repeat("a", 3800)}
		if i > 0 {
			c.Break = script.BreakParagraph
		}
		in = append(in, stitch.Input{Chunk: c, Check: check, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(p) }})
	}
	return in
}

func stitchFile(b *testing.B, inputs []stitch.Input, out string, cfg stitch.Config) {
	f, err := os.Create(out)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := stitch.Stitch(context.Background(), f, inputs, stitch.Metadata{Title: "bench"}, cfg); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkJoin joins 60 minutes of chunks (about 70 MB) four ways, in
// turn within each iteration so that a busy machine slows them alike, and
// reports the median time of each: "ours" as the stitch stage runs it
// (chunk checks already stored); "keep" as `narrator mp3 join
// --keep-loudness` does in process (each input's structure checked, then
// copied); cat (every byte read once and written once: the floor); ffmpeg's
// concat demuxer in copy mode (what people use).
func BenchmarkJoin(b *testing.B) {
	paths, check, size := benchChunks(b, int(time.Hour/benchChunk))
	out := filepath.Join(b.TempDir(), "out.mp3")
	ffmpeg := mp3test.Tool(b, "ffmpeg", "ffmpeg")
	var list strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&list, "file '%s'\n", p)
	}
	lp := filepath.Join(b.TempDir(), "list.txt")
	if err := os.WriteFile(lp, []byte(list.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	stored, bare := inputsFor(paths, check), inputsFor(paths, nil)
	ways := []struct {
		name string
		join func()
	}{
		{"ours", func() { stitchFile(b, stored, out, stitch.Config{}) }},
		{"keep", func() { stitchFile(b, bare, out, stitch.Config{KeepLoudness: true}) }},
		{"cat", func() { run(b, exec.Command("sh", append([]string{"-c", `cat "$@" > "$0"`, out}, paths...)...)) }},
		{"ffmpeg", func() {
			run(b, exec.Command(ffmpeg, "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", lp, "-c", "copy", out))
		}},
	}
	took := make([][]time.Duration, len(ways))
	b.SetBytes(size)
	for b.Loop() {
		for i, w := range ways {
			start := time.Now()
			w.join()
			took[i] = append(took[i], time.Since(start))
		}
	}
	for i, w := range ways {
		b.ReportMetric(float64(median(took[i]))/1e6, w.name+"-ms")
	}
	b.ReportMetric(float64(median(took[1]))/float64(median(took[2])), "keep/cat")
}

// BenchmarkJoinVerify joins 60 minutes as `narrator mp3 join
// --keep-loudness --verify` does, or a join matching loudness: every input
// decoded in full first.
func BenchmarkJoinVerify(b *testing.B) {
	paths, _, size := benchChunks(b, int(time.Hour/benchChunk))
	out := filepath.Join(b.TempDir(), "out.mp3")
	inputs := inputsFor(paths, nil)
	b.SetBytes(size)
	for b.Loop() {
		stitchFile(b, inputs, out, stitch.Config{KeepLoudness: true, Verify: true})
	}
}

func run(b *testing.B, cmd *exec.Cmd) {
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v %s", cmd.Args[0], err, o)
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkJoinSigned joins the same hour with and without Content
// Credentials, side by side: signing adds one read of the file to hash it,
// an ECDSA signature and the write of the store into its reserved place.
func BenchmarkJoinSigned(b *testing.B) {
	paths, check, size := benchChunks(b, int(time.Hour/benchChunk))
	out := filepath.Join(b.TempDir(), "out.mp3")
	signer := testSigner(b)
	for _, c := range []struct {
		name string
		cfg  stitch.Config
	}{{"unsigned", stitch.Config{}}, {"signed", stitch.Config{Signer: signer}}} {
		b.Run(c.name, func(b *testing.B) {
			inputs := inputsFor(paths, check)
			b.SetBytes(size)
			for b.Loop() {
				stitchFile(b, inputs, out, c.cfg)
			}
		})
	}
}

// BenchmarkJoinMemory joins 15 and 60 minutes and reports the peak heap in
// use during the join, sampled every millisecond: it must not grow with
// the length.
func BenchmarkJoinMemory(b *testing.B) {
	for _, minutes := range []int{16, 60} {
		b.Run(fmt.Sprintf("%dmin", minutes), func(b *testing.B) {
			paths, check, size := benchChunks(b, minutes/int(benchChunk.Minutes()))
			inputs := inputsFor(paths, check)
			out := filepath.Join(b.TempDir(), "out.mp3")
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				t := time.NewTicker(time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						if m.HeapInuse > peak.Load() {
							peak.Store(m.HeapInuse)
						}
					}
				}
			}()
			b.SetBytes(size)
			for b.Loop() {
				stitchFile(b, inputs, out, stitch.Config{})
			}
			close(stop)
			<-done
			b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkCheckChunk measures the chunk check, which decodes a whole
// chunk with go-mp3: it runs in the synth stage as each chunk arrives.
func BenchmarkCheckChunk(b *testing.B) {
	paths, _, size := benchChunks(b, 1)
	audio, err := os.ReadFile(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	for b.Loop() {
		if _, err := stitch.CheckChunk(context.Background(), bytes.NewReader(audio), strings.Repeat("a", 3800), mp3.FormatOpenAI, stitch.Config{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(benchChunk.Seconds()*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
}
