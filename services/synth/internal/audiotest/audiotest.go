// Package audiotest checks audio in tests with real tools: ffprobe for the
// stream format, go-mp3 for a full decode, and services/mp3's analysis for
// what neither reports (MPEG version, bit reservoir, tag frames).
package audiotest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/narrator-project/narrator/services/mp3"
)

// RequireTool fails the test, saying what to install, when a tool is missing.
func RequireTool(t testing.TB, name, debianPackage string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found in PATH: install it (Debian: apt-get install %s)", name, debianPackage)
	}
}

// Stream is what ffprobe reports of an MP3's first audio stream.
type Stream struct {
	Codec      string
	SampleRate int
	Channels   int
	BitRate    int
	Duration   time.Duration
}

// Probe runs ffprobe on audio.
func Probe(t testing.TB, audio []byte) Stream {
	t.Helper()
	RequireTool(t, "ffprobe", "ffmpeg")
	// A file, not a pipe: ffprobe reports no duration for what it cannot seek.
	path := filepath.Join(t.TempDir(), "probe.mp3")
	if err := os.WriteFile(path, audio, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ffprobe", "-v", "error", "-f", "mp3", "-show_streams", "-of", "json", "-i", path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, stderr.String())
	}
	var r struct {
		Streams []struct {
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			BitRate    string `json:"bit_rate"`
			Duration   string `json:"duration"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r.Streams) == 0 {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	s := r.Streams[0]
	sr, _ := strconv.Atoi(s.SampleRate)
	br, _ := strconv.Atoi(s.BitRate)
	d, _ := strconv.ParseFloat(s.Duration, 64)
	return Stream{Codec: s.CodecName, SampleRate: sr, Channels: s.Channels, BitRate: br, Duration: time.Duration(d * float64(time.Second))}
}

// Decode decodes audio fully with go-mp3 and returns its sample rate and
// length in samples per channel.
func Decode(t testing.TB, audio []byte) (rate, samples int) {
	t.Helper()
	d, err := gomp3.NewDecoder(bytes.NewReader(audio))
	if err != nil {
		t.Fatalf("go-mp3: %v", err)
	}
	n, err := io.Copy(io.Discard, d)
	if err != nil {
		t.Fatalf("go-mp3: decode after %d bytes: %v", n, err)
	}
	return d.SampleRate(), int(n / 4) // go-mp3 writes 16-bit stereo
}

// Analyze analyses audio's structure without decoding it, failing the test
// if it holds no frame; what is wrong with it is in Problems.
func Analyze(t testing.TB, audio []byte) *mp3.Analysis {
	t.Helper()
	a, err := mp3.Analyze(t.Context(), bytes.NewReader(audio), mp3.Options{})
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	return a
}

// RequireOpenAIFormat fails unless audio is 24 kHz mono MPEG-2 Layer III at
// 160 kbit/s, by ffprobe, go-mp3 and its frame headers, with no Xing/Info
// frame and a first frame that does not use the bit reservoir.
func RequireOpenAIFormat(t testing.TB, audio []byte) Stream {
	t.Helper()
	return RequireFormat(t, audio, 24000, 160)
}

// RequireFormat is RequireOpenAIFormat for any mono MPEG-2 rate and bitrate.
func RequireFormat(t testing.TB, audio []byte, sampleRate, kbps int) Stream {
	t.Helper()
	s := Probe(t, audio)
	if s.Codec != "mp3" || s.SampleRate != sampleRate || s.Channels != 1 || s.BitRate != kbps*1000 {
		t.Errorf("ffprobe: %+v, want mp3 %d Hz mono %d kbit/s", s, sampleRate, kbps)
	}
	rate, samples := Decode(t, audio)
	if rate != sampleRate || samples == 0 {
		t.Errorf("go-mp3: %d samples at %d Hz, want audio at %d Hz", samples, rate, sampleRate)
	}
	RequireFrames(t, audio, sampleRate, kbps)
	return s
}

// RequireFrames checks RequireFormat's frame-level conditions only, without
// running a decoder: cheap enough for minutes of audio under the race detector.
func RequireFrames(t testing.TB, audio []byte, sampleRate, kbps int) {
	t.Helper()
	a := Analyze(t, audio)
	if want := (mp3.Format{Version: mp3.MPEG2, SampleRate: sampleRate, Channels: 1}); a.Format != want || !a.CBR || a.Bitrate != kbps*1000 {
		t.Fatalf("frames: %s at %d bit/s (constant: %v), want %s at %d kbit/s", a.Format, a.Bitrate, a.CBR, want, kbps)
	}
	if a.Info != nil {
		t.Fatalf("a %s frame", a.Info.Tag)
	}
	if !a.OK() {
		t.Fatalf("problems: %v", a.Problems)
	}
	if len(a.Tags) > 0 && a.Tags[0].Offset == 0 {
		t.Errorf("audio starts with %d bytes before the first frame", a.Tags[0].Size)
	}
	if a.MainDataBegin != 0 {
		t.Errorf("first frame main_data_begin = %d, want 0", a.MainDataBegin)
	}
}
