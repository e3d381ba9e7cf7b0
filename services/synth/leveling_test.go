package synth_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// recorded is a Provider that answers every request with the same audio:
// a speech service's response, recorded.
type recorded struct {
	audio  []byte
	format synth.Format
}

func (r recorded) Name() string                                              { return "recorded" }
func (r recorded) Limits() synth.Limits                                      { return synth.Limits{MaxChars: 4096, Format: r.format} }
func (r recorded) Resolve(req synth.Request) (synth.Request, error)          { return req, nil }
func (r recorded) Synthesize(context.Context, synth.Request) ([]byte, error) { return r.audio, nil }

// TestLimitModeReachesTheTarget levels every row of the real-speech matrix
// in the Limit mode: a chunk gain can raise to -16 LUFS under -1 dBTP is
// left as the service made it; every other is levelled, and ffmpeg then
// measures it within 0.5 LU of the target with a true peak of at most -1
// dBTP, in the chunk's own format.
func TestLimitModeReachesTheTarget(t *testing.T) {
	mp3test.Tool(t, "ffmpeg", "ffmpeg")
	for _, f := range speechgen.Matrix {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			audio, err := speechgen.Render(ctx, f.Text, f.Options)
			if err != nil {
				t.Fatal(err)
			}
			before, err := mp3.Analyze(ctx, bytes.NewReader(audio), mp3.Options{Decode: true})
			if err != nil {
				t.Fatal(err)
			}
			format := synth.Format{SampleRate: before.Format.SampleRate, Channels: 1, MPEG: 2}
			s := newSynth(t, recorded{audio, format}, nil, synth.Config{Check: endCheck, Leveling: synth.Leveling{Mode: synth.Limit}})
			start := time.Now()
			res, err := s.Synthesize(ctx, synth.Request{Text: f.Text})
			if err != nil {
				t.Fatal(err)
			}
			lossless := synth.Leveling{Target: -16, Ceiling: -1}
			wantLeveled := !reaches(lossless, before.Loudness, mp3.DB(before.Peak))
			if res.Leveled != wantLeveled {
				t.Fatalf("levelled %v at %.1f LUFS, true peak %.1f dBTP; want %v", res.Leveled, before.Loudness, mp3.DB(before.Peak), wantLeveled)
			}
			if !res.Leveled {
				if !bytes.Equal(res.Audio, audio) {
					t.Error("audio that reaches the target was changed")
				}
				return
			}
			path := mp3test.WriteFile(t, "leveled.mp3", res.Audio)
			lufs, peak := mp3test.Measure(t, path)
			after, err := mp3.Analyze(ctx, bytes.NewReader(res.Audio), mp3.Options{Decode: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.1f LUFS, %.1f dBTP → ffmpeg: %.2f LUFS, %.2f dBTP (ours %.2f, %.2f) in %v", before.Loudness, mp3.DB(before.Peak), lufs, peak, after.Loudness, mp3.DB(after.Peak), time.Since(start).Round(time.Millisecond))
			if lufs < -16.5 || lufs > -15.5 || peak > -1 {
				t.Errorf("ffmpeg measures %.2f LUFS, true peak %.2f dBTP; want -16 ± 0.5 LUFS under -1 dBTP", lufs, peak)
			}
			if after.Format != before.Format || after.CBR != before.CBR || (before.CBR && after.Bitrate != before.Bitrate) {
				t.Errorf("levelled to %s at %d bit/s (CBR %v), the chunk was %s at %d (CBR %v)",
					after.Format, after.Bitrate, after.CBR, before.Format, before.Bitrate, before.CBR)
			}
			// The speech plays as long as it did: lame's delay and padding
			// are in its LAME tag, where a frame has room for one.
			slack := 60 * time.Millisecond
			if after.Info == nil {
				slack += after.Format.Duration(mp3.DecoderDelay + 576 + int64(after.Format.FrameSamples()))
			}
			if d := after.Duration - before.Duration; d < -slack || d > slack {
				t.Errorf("plays %s, was %s (LAME tag: %v)", after.Duration, before.Duration, after.Info != nil)
			}
		})
	}
}

// reaches mirrors the rule: gain in whole steps under the ceiling gets
// within half a step of the target.
func reaches(l synth.Leveling, lufs, peak float64) bool {
	steps := int((l.Ceiling - peak) / mp3.GainStepDB)
	if l.Ceiling-peak < 0 {
		steps--
	}
	return lufs+float64(steps)*mp3.GainStepDB >= l.Target-mp3.GainStepDB/2
}

func TestLimitModeKeysItsOwnCache(t *testing.T) {
	p := recorded{nil, synth.OpenAIFormat}
	lossless := newSynth(t, p, nil, synth.Config{})
	limit := newSynth(t, p, nil, synth.Config{Leveling: synth.Leveling{Mode: synth.Limit}})
	other := newSynth(t, p, nil, synth.Config{Leveling: synth.Leveling{Mode: synth.Limit, Target: -18}})
	req := synth.Request{Text: "x"}
	k0, _, _ := lossless.Key(req)
	k1, _, _ := limit.Key(req)
	k2, _, _ := other.Key(req)
	if k0 != synth.CacheKey("recorded", synth.OpenAIFormat, req, "") {
		t.Error("the lossless mode changed the cache key: existing caches would be lost")
	}
	if k1 == k0 || k2 == k1 {
		t.Error("levelled audio shares a cache key with audio levelled otherwise")
	}
	if _, err := synth.New(p, nil, synth.Config{Leveling: synth.Leveling{Mode: "loud"}}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}

// BenchmarkLevel synthesizes a minute of quiet speech with full-scale
// peaks from a recorded response in both modes, side by side: lossless
// (the check's decode only) and limit (also a decode, the limiter, lame,
// and the check of lame's output per pass). The difference is the CPU the
// limit mode adds per minute of audio it levels, counted in CPU seconds of
// this process and lame, so that a busy machine does not inflate it.
func BenchmarkLevel(b *testing.B) {
	f := speechgen.Matrix[3] // quiet with full-scale peaks
	text := f.Text
	for len(text) < 850 {
		text += " " + f.Text
	}
	audio, err := speechgen.Render(b.Context(), text, f.Options)
	if err != nil {
		b.Fatal(err)
	}
	a, err := mp3.Analyze(b.Context(), bytes.NewReader(audio), mp3.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{synth.Lossless, synth.Limit} {
		b.Run(mode, func(b *testing.B) {
			s := newSynth(b, recorded{audio, synth.OpenAIFormat}, nil, synth.Config{Check: endCheck, Leveling: synth.Leveling{Mode: mode}})
			cpu := cpuTime()
			for b.Loop() {
				if res, err := s.Synthesize(b.Context(), synth.Request{Text: text}); err != nil || res.Leveled != (mode == synth.Limit) {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime()-cpu).Seconds()/float64(b.N)/a.Duration.Minutes(), "cpu-s/audio-min")
		})
	}
}

// cpuTime is the CPU time this process and its children have used.
func cpuTime() time.Duration {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	d := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return d(self.Utime) + d(self.Stime) + d(children.Utime) + d(children.Stime)
}
