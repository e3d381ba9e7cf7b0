package synth_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

const apiKey = "sk-test-narrator-0123456789"

// startFake runs the fake OpenAI server with no latency unless cfg sets one.
func startFake(t *testing.T, cfg faketts.Config) *faketts.Server {
	t.Helper()
	audiotest.RequireTool(t, "lame", "lame")
	if cfg.LatencyPerChar == 0 {
		cfg.LatencyPerChar = -1
	}
	if cfg.APIKey == "" {
		cfg.APIKey = apiKey
	}
	return faketts.Start(t, cfg)
}

func newOpenAI(t *testing.T, fake *faketts.Server, cfg synth.OpenAIConfig) *synth.OpenAI {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = apiKey
	}
	cfg.BaseURL = fake.URL()
	o, err := synth.NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOpenAIRequestAsTheServerSeesIt(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	o := newOpenAI(t, fake, synth.OpenAIConfig{Models: []string{"tts-1", "gpt-4o-mini-tts"}, VoiceNames: []string{"alloy", "coral"}})
	text := strings.Repeat("Ціни на пальне зросли. ", 178) // 4,094 characters, 7,476 bytes
	for _, tc := range []struct {
		name string
		req  synth.Request
		want faketts.Entry
	}{
		{"tts-1 drops instructions",
			synth.Request{Text: text, Instructions: "calm, measured news reader"},
			faketts.Entry{Model: "tts-1", Voice: "alloy", Speed: 1}},
		{"gpt-4o-mini-tts sends them",
			synth.Request{Text: text, Model: "gpt-4o-mini-tts", Voice: "coral", Speed: 1.25, Instructions: "calm, measured news reader"},
			faketts.Entry{Model: "gpt-4o-mini-tts", Voice: "coral", Speed: 1.25, Instructions: "calm, measured news reader"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			audio, err := o.Synthesize(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			// Minutes of audio: frame checks here, a full decode in the
			// fake's own tests.
			audiotest.RequireFrames(t, audio, 24000, 160)
			if err := synth.BasicCheck(audio, tc.req, o.Limits().Format); err != nil {
				t.Error(err)
			}
			log := fake.Log()
			if len(log) != 1 {
				t.Fatalf("fake saw %d requests, want 1", len(log))
			}
			e := log[0]
			if e.Path != "/v1/audio/speech" || e.Auth != "Bearer "+apiKey || e.ContentType != "application/json" {
				t.Errorf("path %q, auth %q, content type %q", e.Path, e.Auth, e.ContentType)
			}
			if e.Input != text || e.Chars != 4094 || e.Chars > 4096 {
				t.Errorf("input of %d characters differs from the text", e.Chars)
			}
			if e.Model != tc.want.Model || e.Voice != tc.want.Voice || e.Speed != tc.want.Speed || e.Instructions != tc.want.Instructions || e.ResponseFormat != "mp3" {
				t.Errorf("fields model=%q voice=%q speed=%v instructions=%q format=%q, want %+v", e.Model, e.Voice, e.Speed, e.Instructions, e.ResponseFormat, tc.want)
			}
		})
	}
}

func TestOpenAIVoiceByLanguage(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	o := newOpenAI(t, fake, synth.OpenAIConfig{Voice: "alloy", Voices: map[string]string{"uk": "nova"}})
	for lang, want := range map[string]string{"uk": "nova", "en": "alloy"} {
		got, err := o.Resolve(synth.Request{Text: "x", Language: lang})
		if err != nil || got.Voice != want {
			t.Errorf("language %s: voice %q (%v), want %q", lang, got.Voice, err, want)
		}
	}
}

// wantClass checks an error's classification.
func wantClass(t *testing.T, err error, sentinel error, permanent bool, retryAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want %v", err, sentinel)
	}
	if fault.IsPermanent(err) != permanent {
		t.Errorf("permanent = %v, want %v: %v", fault.IsPermanent(err), permanent, err)
	}
	if got := fault.RetryAfter(err); got != retryAfter {
		t.Errorf("retry after %v, want %v", got, retryAfter)
	}
}

func TestOpenAIErrorClasses(t *testing.T) {
	text := strings.Repeat("A sentence of the story. ", 8)
	for _, tc := range []struct {
		name       string
		fault      faketts.Fault
		key        string
		sentinel   error
		permanent  bool
		retryAfter time.Duration
	}{
		{"401 bad key", faketts.NoFault, "sk-wrong", synth.ErrAuth, true, 0},
		{"429 with Retry-After", faketts.RateLimit, "", synth.ErrRateLimited, false, 3 * time.Second},
		{"429 out of quota", faketts.Quota, "", synth.ErrQuota, true, 0},
		{"500", faketts.Fail500, "", synth.ErrUnavailable, false, 0},
		{"503", faketts.Fail503, "", synth.ErrUnavailable, false, 0},
		{"502 from a proxy, not JSON", faketts.Fail502, "", synth.ErrUnavailable, false, 0},
		{"connection reset mid-body", faketts.Reset, "", synth.ErrUnavailable, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: tc.fault}, RetryAfter: 3 * time.Second})
			o := newOpenAI(t, fake, synth.OpenAIConfig{APIKey: tc.key})
			_, err := o.Synthesize(t.Context(), synth.Request{Text: text})
			wantClass(t, err, tc.sentinel, tc.permanent, tc.retryAfter)
			// The message names the package and provider once, then the sentinel.
			if want := "synth: openai: " + tc.sentinel.Error() + ": "; err != nil && (!strings.HasPrefix(err.Error(), want) || strings.Count(err.Error(), "synth:") != 1) {
				t.Errorf("error reads %q, want it to start %q and say synth: once", err, want)
			}
			if tc.sentinel == synth.ErrAuth || tc.sentinel == synth.ErrQuota {
				if !synth.NeedsOperator(err) {
					t.Errorf("NeedsOperator(%v) = false", err)
				}
			}
			if n := len(fake.Log()); n != 1 {
				t.Errorf("fake saw %d requests, want 1 (the provider must not retry on its own)", n)
			}
		})
	}
}

func TestOpenAITooLong(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	long := strings.Repeat("її ", 1365) + "її" // 4,097 characters of words
	t.Run("refused before sending", func(t *testing.T) {
		o := newOpenAI(t, fake, synth.OpenAIConfig{})
		_, err := o.Synthesize(t.Context(), synth.Request{Text: long})
		wantClass(t, err, synth.ErrTooLong, true, 0)
		if n := len(fake.Log()); n != 0 {
			t.Errorf("fake saw %d requests, want none", n)
		}
	})
	t.Run("400 from the server", func(t *testing.T) {
		// A compatible-server limit configured too high: the server's 400
		// is still recognised as input too long.
		o := newOpenAI(t, fake, synth.OpenAIConfig{MaxChars: 5000})
		_, err := o.Synthesize(t.Context(), synth.Request{Text: long})
		wantClass(t, err, synth.ErrTooLong, true, 0)
		if log := fake.Log(); len(log) != 1 || log[0].Status != 400 {
			t.Errorf("fake log %+v, want one 400", log)
		}
	})
	t.Run("rejected parameter", func(t *testing.T) {
		o := newOpenAI(t, fake, synth.OpenAIConfig{Models: []string{"tts-1", "tts-9"}})
		_, err := o.Synthesize(t.Context(), synth.Request{Text: "hi", Model: "tts-9"})
		wantClass(t, err, synth.ErrRejected, true, 0)
	})
}

func TestOpenAIRateLimitHeaders(t *testing.T) {
	// One request an hour: the second is refused by the fake's bucket and
	// retry-after-ms gives the wait to the millisecond.
	fake := startFake(t, faketts.Config{RPM: 1, RateWindow: time.Hour})
	o := newOpenAI(t, fake, synth.OpenAIConfig{})
	if _, err := o.Synthesize(t.Context(), synth.Request{Text: "first"}); err != nil {
		t.Fatal(err)
	}
	_, err := o.Synthesize(t.Context(), synth.Request{Text: "second"})
	if !errors.Is(err, synth.ErrRateLimited) || fault.IsPermanent(err) {
		t.Fatalf("err = %v, want retryable rate limit", err)
	}
	if d := fault.RetryAfter(err); d < 59*time.Minute || d > time.Hour {
		t.Errorf("retry after %v, want about an hour", d)
	}
}

func TestOpenAIHangEndsWithTheDeadline(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.Hang, 2: faketts.Hang}})
	t.Run("caller's deadline", func(t *testing.T) {
		o := newOpenAI(t, fake, synth.OpenAIConfig{})
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		_, err := o.Synthesize(ctx, synth.Request{Text: "hello"})
		if !errors.Is(err, context.DeadlineExceeded) || fault.IsPermanent(err) {
			t.Errorf("err = %v, want a temporary deadline error", err)
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		o := newOpenAI(t, fake, synth.OpenAIConfig{Timeout: 200 * time.Millisecond})
		_, err := o.Synthesize(t.Context(), synth.Request{Text: "hello"})
		wantClass(t, err, synth.ErrUnavailable, false, 0)
	})
}

func TestOpenAIConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	o, err := synth.NewOpenAI(synth.OpenAIConfig{BaseURL: "http://" + addr + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = o.Synthesize(t.Context(), synth.Request{Text: "hello"})
	wantClass(t, err, synth.ErrUnavailable, false, 0)
}

func TestOpenAIBadAudioIsReturnedForTheCheck(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.Truncate, 2: faketts.Garbage, 3: faketts.Short}})
	o := newOpenAI(t, fake, synth.OpenAIConfig{})
	req := synth.Request{Text: strings.Repeat("Words to read aloud. ", 10)}
	for _, name := range []string{"truncated", "not mp3", "too short"} {
		audio, err := o.Synthesize(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := synth.BasicCheck(audio, req, synth.OpenAIFormat); !errors.Is(err, synth.ErrBadAudio) {
			t.Errorf("%s: BasicCheck = %v, want ErrBadAudio", name, err)
		}
	}
}

func TestOpenAIConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.OpenAIConfig
		ok   bool
	}{
		{"official needs a key", synth.OpenAIConfig{}, false},
		{"official with key", synth.OpenAIConfig{APIKey: "k"}, true},
		{"compatible server needs none, any voice", synth.OpenAIConfig{BaseURL: "http://localhost:8880/v1", Voice: "af_bella", Model: "kokoro"}, true},
		{"unknown official voice", synth.OpenAIConfig{APIKey: "k", Voice: "bob"}, false},
		{"unknown official model", synth.OpenAIConfig{APIKey: "k", Model: "tts-2"}, false},
		{"bad URL", synth.OpenAIConfig{BaseURL: "localhost:8880"}, false},
		{"speed", synth.OpenAIConfig{APIKey: "k", Speed: 9}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := synth.NewOpenAI(tc.cfg)
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", http.Header{}, 0},
		{"ms first", http.Header{"Retry-After-Ms": {"1500"}, "Retry-After": {"2"}}, 1500 * time.Millisecond},
		{"seconds", http.Header{"Retry-After": {"20"}}, 20 * time.Second},
		{"requests reset", http.Header{"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"6m0s"}}, 6 * time.Minute},
		{"longest exhausted reset", http.Header{"X-Ratelimit-Remaining-Requests": {"0"}, "X-Ratelimit-Reset-Requests": {"1s"},
			"X-Ratelimit-Remaining-Tokens": {"0"}, "X-Ratelimit-Reset-Tokens": {"20ms"}}, time.Second},
		{"reset of a budget with room is ignored", http.Header{"X-Ratelimit-Remaining-Requests": {"5"}, "X-Ratelimit-Reset-Requests": {"1s"}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := synth.RetryAfter(tc.h); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzRetryAfter(f *testing.F) {
	f.Add("1500", "2", "0", "6m0s")
	f.Add("", "Wed, 21 Oct 2015 07:28:00 GMT", "", "")
	f.Add("-1", "1e300", "0", "-5s")
	f.Add("1e300", "", "", "")
	f.Fuzz(func(t *testing.T, ms, ra, remaining, reset string) {
		h := http.Header{}
		h.Set("retry-after-ms", ms)
		h.Set("Retry-After", ra)
		h.Set("x-ratelimit-remaining-requests", remaining)
		h.Set("x-ratelimit-reset-requests", reset)
		if d := synth.RetryAfter(h); d < 0 {
			t.Errorf("negative wait %v", d)
		}
	})
}
