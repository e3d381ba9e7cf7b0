package synth_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// frames returns n silent-ish 24 kHz mono 160 kbit/s frames (480 bytes each)
// with main_data_begin mdb in the first.
func frames(n int, mdb byte) []byte {
	var b bytes.Buffer
	for i := range n {
		f := make([]byte, 480)
		copy(f, []byte{0xFF, 0xF3, 0xE4, 0xC4})
		if i == 0 {
			f[4] = mdb
		}
		b.Write(f)
	}
	return b.Bytes()
}

func TestBasicCheck(t *testing.T) {
	req := synth.Request{Text: strings.Repeat("x", 400)} // at least 10 s at 40 characters a second
	long := frames(500, 0)                               // 12 s
	info := append(frames(1, 0), long...)
	copy(info[4+9:], "Info")
	for _, tc := range []struct {
		name  string
		audio []byte
		req   synth.Request
		ok    bool
	}{
		{"good", long, req, true},
		{"info frame first", info, req, true},
		{"id3v2 first", append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), long...), req, true},
		{"id3v1 last", append(slices.Clip(long), append([]byte("TAG"), make([]byte, 125)...)...), req, true},
		{"id3v2 between frames", slices.Concat(long[:480*250], []byte("ID3\x04\x00\x00\x00\x00\x00\x00"), long[480*250:]), req, false},
		{"truncated", long[:len(long)-100], req, false},
		{"not mp3", []byte(`{"error":{"message":"upstream"}}`), req, false},
		{"empty", nil, req, false},
		{"too short for the text", frames(100, 0), req, false},
		{"short is fine when fast", frames(220, 0), synth.Request{Text: req.Text, Speed: 2}, true},
		{"borrows from before the stream", frames(500, 12), req, false},
		{"44.1 kHz", bytes.Repeat(append([]byte{0xFF, 0xFB, 0x90, 0xC4}, make([]byte, 413)...), 600), req, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := synth.BasicCheck(tc.audio, tc.req, synth.OpenAIFormat)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, synth.ErrBadAudio) {
				t.Errorf("err = %v, want ErrBadAudio", err)
			}
		})
	}
}

func TestBasicCheckAcceptsLameOutput(t *testing.T) {
	pcm := mp3test.Speech(24000, 1, 3*time.Second, -20, 1)
	req := synth.Request{Text: strings.Repeat("x", 100)} // 2.5 s at 40 characters a second
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", []string{"-b", "160", "-t"}},
		{"info frame", []string{"-b", "160"}},
		{"info frame and both tags", []string{"-b", "160", "--add-id3v2", "--tt", "Chunk"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := synth.BasicCheck(mp3test.Encode(t, pcm, tc.args...), req, synth.OpenAIFormat); err != nil {
				t.Error(err)
			}
		})
	}
}

func FuzzBasicCheck(f *testing.F) {
	f.Add(frames(3, 0), "hi", 1.0)
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x01x\xff\xf3\xe4\xc4"), "", 2.0)
	f.Fuzz(func(t *testing.T, audio []byte, text string, speed float64) {
		err := synth.BasicCheck(audio, synth.Request{Text: text, Speed: speed}, synth.OpenAIFormat)
		if err != nil && !errors.Is(err, synth.ErrBadAudio) {
			t.Errorf("error %v does not wrap ErrBadAudio", err)
		}
	})
}

func BenchmarkBasicCheck(b *testing.B) {
	audio := frames(11378, 0) // 4,096 characters of OpenAI audio: 273 s, 5.5 MB
	req := synth.Request{Text: strings.Repeat("x", 4096)}
	b.SetBytes(int64(len(audio)))
	for b.Loop() {
		if err := synth.BasicCheck(audio, req, synth.OpenAIFormat); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheKey(b *testing.B) {
	req := synth.Request{Text: strings.Repeat("News text. ", 372), Model: "tts-1", Voice: "alloy", Speed: 1}
	for b.Loop() {
		synth.CacheKey("openai", synth.OpenAIFormat, req, "v1")
	}
}

func BenchmarkSynthesizeCacheHit(b *testing.B) {
	fake := faketts.Start(b, faketts.Config{LatencyPerChar: -1})
	o, err := synth.NewOpenAI(synth.OpenAIConfig{BaseURL: fake.URL()})
	if err != nil {
		b.Fatal(err)
	}
	s, _ := synth.New(o, synth.NewMemoryCache(), synth.Config{})
	req := synth.Request{Text: strings.Repeat("News text. ", 372)}
	if _, err := s.Synthesize(b.Context(), req); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if res, err := s.Synthesize(b.Context(), req); err != nil || !res.Cached {
			b.Fatal(err)
		}
	}
}

func BenchmarkLocal(b *testing.B) {
	l := newLocal(b)
	text := strings.Repeat("The council approved the budget on Tuesday after a long debate. ", 16) // 1,024 characters
	for b.Loop() {
		if _, err := l.Synthesize(b.Context(), synth.Request{Text: text}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(text))*float64(b.N)/b.Elapsed().Seconds(), "chars/s")
}
