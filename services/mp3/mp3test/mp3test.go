// Package mp3test makes MP3 test fixtures with real tools at test time:
// speech-like PCM generated in Go, encoded by lame, and checked by ffprobe,
// mpg123 and mp3val. Tests that need a missing tool fail naming the Debian
// package that provides it.
package mp3test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tool returns the path of an external program, failing the test with the
// Debian package to install when it is missing.
func Tool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is needed by this test: install the Debian package %s (apt-get install %s)", name, debianPackage, debianPackage)
	}
	return p
}

// PCM is interleaved 16-bit audio.
type PCM struct {
	Rate     int
	Channels int
	Samples  []int16 // interleaved
}

// Frames returns the number of samples per channel.
func (p PCM) Frames() int { return len(p.Samples) / p.Channels }

// Speech returns a speech-like signal: syllables of a voiced tone with
// harmonics and a little noise, shaped by smooth envelopes, with short gaps
// between words and 150 ms of silence at each end, at about levelDB dBFS
// RMS while sounding. The same seed gives the same audio.
func Speech(rate, channels int, d time.Duration, levelDB float64, seed uint64) PCM {
	rng := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	n := int(d.Seconds() * float64(rate))
	out := make([]float64, n)
	edge := int(0.15 * float64(rate))
	pos := edge
	for pos < n-edge {
		syl := int((0.12 + 0.18*rng.Float64()) * float64(rate))
		if pos+syl > n-edge {
			syl = n - edge - pos
		}
		f0 := 110 + 90*rng.Float64()
		for i := range syl {
			t := float64(i) / float64(rate)
			env := math.Sin(math.Pi * float64(i) / float64(syl))
			v := 0.0
			for h := 1; h <= 8; h++ {
				v += math.Sin(2*math.Pi*f0*float64(h)*t) / float64(h)
			}
			v += 0.2 * (rng.Float64()*2 - 1)
			out[pos+i] = env * env * v
		}
		pos += syl
		if rng.IntN(3) == 0 { // a gap between words
			pos += int((0.05 + 0.1*rng.Float64()) * float64(rate))
		}
	}
	// Scale to the level over the sounding part.
	var sum float64
	cnt := 0
	for _, v := range out {
		if v != 0 {
			sum += v * v
			cnt++
		}
	}
	scale := 0.0
	if cnt > 0 {
		scale = math.Pow(10, levelDB/20) / math.Sqrt(sum/float64(cnt))
	}
	p := PCM{Rate: rate, Channels: channels, Samples: make([]int16, n*channels)}
	for i, v := range out {
		s := int16(max(-32767, min(32767, math.Round(v*scale*32767))))
		for ch := range channels {
			p.Samples[i*channels+ch] = s
		}
	}
	return p
}

// Tone returns a sine wave at freq Hz and levelDB dBFS peak, with no fade:
// it starts and stops abruptly.
func Tone(rate, channels int, d time.Duration, freq, levelDB float64) PCM {
	n := int(d.Seconds() * float64(rate))
	p := PCM{Rate: rate, Channels: channels, Samples: make([]int16, n*channels)}
	a := math.Pow(10, levelDB/20) * 32767
	for i := range n {
		s := int16(math.Round(a * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
		for ch := range channels {
			p.Samples[i*channels+ch] = s
		}
	}
	return p
}

// WAV encodes p as a RIFF WAVE file.
func (p PCM) WAV() []byte {
	var b bytes.Buffer
	data := len(p.Samples) * 2
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + data))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(p.Channels))
	le(uint32(p.Rate))
	le(uint32(p.Rate * p.Channels * 2))
	le(uint16(p.Channels * 2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(data))
	le(p.Samples)
	return b.Bytes()
}

// Encode encodes p with lame and the given options (for example "-b",
// "160" for constant bitrate, "-V", "4" for variable, "-t" for no Xing/LAME
// header, "--tt", "title" for an ID3 tag) and returns the MP3.
func Encode(tb testing.TB, p PCM, args ...string) []byte {
	tb.Helper()
	lame := Tool(tb, "lame", "lame")
	dir := tb.TempDir()
	in := filepath.Join(dir, "in.wav")
	out := filepath.Join(dir, "out.mp3")
	if err := os.WriteFile(in, p.WAV(), 0o644); err != nil {
		tb.Fatal(err)
	}
	mode := "j"
	if p.Channels == 1 {
		mode = "m"
	}
	// lame resamples low bitrates to lower rates unless told not to.
	resample := strconv.FormatFloat(float64(p.Rate)/1000, 'f', -1, 64)
	opts := []string{"--quiet", "--noreplaygain", "-m", mode, "--resample", resample}
	cmd := exec.Command(lame, append(append(opts, args...), in, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("lame %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// WriteFile writes b to a new file in a temporary directory and returns its
// path.
func WriteFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// Decode decodes an MP3 file with ffmpeg into 16-bit PCM at the file's own
// rate and channel count, honouring the LAME tag's delay and padding as
// players do.
func Decode(tb testing.TB, path string) PCM {
	tb.Helper()
	ffmpeg := Tool(tb, "ffmpeg", "ffmpeg")
	probe := Probe(tb, path)
	cmd := exec.Command(ffmpeg, "-v", "error", "-i", path, "-f", "s16le", "-acodec", "pcm_s16le", "-")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg decode %s: %v\n%s", path, err, errb.String())
	}
	s := make([]int16, out.Len()/2)
	_ = binary.Read(bytes.NewReader(out.Bytes()), binary.LittleEndian, s)
	return PCM{Rate: probe.SampleRate, Channels: probe.Channels, Samples: s}
}

// PNG returns a small PNG image, for cover art.
func PNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 30), uint8(y * 30), 128, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}
