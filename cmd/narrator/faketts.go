package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

func init() {
	register(&command{
		Name:    "fake-tts",
		Summary: "run a fake OpenAI speech server for tests and benchmarks",
		Run:     runFakeTTS,
	})
}

// runFakeTTS serves the fake until ctx ends. Its first line of stdout is the
// base URL for OPENAI_BASE_URL, so a script or test that starts it with
// --listen 127.0.0.1:0 learns the port.
func runFakeTTS(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("fake-tts", "[flags]", io)
	listen := fs.String("listen", "127.0.0.1:8089", "`address` to listen on; port 0 picks a free one")
	key := fs.String("api-key", os.Getenv("FAKE_TTS_API_KEY"), "bearer token requests must carry; empty accepts any (env FAKE_TTS_API_KEY)")
	latency := fs.Duration("latency-per-char", faketts.DefaultLatencyPerChar, "synthesis time per input character (OpenAI tts-1: about 11ms); 0 for none")
	base := fs.Duration("base-latency", 0, "time added to every successful request")
	cps := fs.Float64("chars-per-second", faketts.DefaultCharsPerSecond, "speech rate of the returned audio at speed 1")
	maxChars := fs.Int("max-chars", faketts.DefaultMaxChars, "longest input accepted, in characters (longer: 400)")
	rpm := fs.Int("rpm", 0, "requests per rate window before 429; 0 for no limit")
	cpm := fs.Int("cpm", 0, "input characters per rate window before 429; 0 for no limit")
	window := fs.Duration("rate-window", time.Minute, "the window --rpm and --cpm refill over")
	retryAfter := fs.Duration("retry-after", time.Second, "Retry-After of injected 429s")
	var f faketts.Faults
	fs.Float64Var(&f.Server5xx, "fail-5xx", 0, "`fraction` of requests answered 500")
	fs.Float64Var(&f.RateLimit, "fail-429", 0, "`fraction` of requests answered 429")
	fs.Float64Var(&f.Truncate, "fail-truncate", 0, "`fraction` of requests answered with MP3 cut mid-frame")
	fs.Float64Var(&f.Reset, "fail-reset", 0, "`fraction` of requests whose connection drops mid-body")
	fs.Float64Var(&f.Hang, "fail-hang", 0, "`fraction` of requests never answered")
	fs.Float64Var(&f.Abrupt, "fail-abrupt", 0, "`fraction` of requests whose speech is cut off mid-sound")
	fs.Float64Var(&f.Drop, "fail-drop", 0, "`fraction` of requests whose speech leaves out a sentence")
	fs.Float64Var(&f.Repeat, "fail-repeat", 0, "`fraction` of requests whose speech says a phrase twice")
	fs.Float64Var(&f.Number, "fail-number", 0, "`fraction` of requests whose speech misreads a number")
	fs.Float64Var(&f.StopEarly, "fail-stop-early", 0, "`fraction` of requests whose speech stops two fifths early")
	script := fs.String("script", "", "faults by request number, e.g. 1=429,3=hang (faults: 500 502 503 429 quota truncate reset hang garbage short abrupt drop repeat number stop_early)")
	var speech speechgen.Options
	fs.Float64Var(&speech.LUFS, "lufs", speechgen.DefaultLUFS, "loudness of the speech served, -26 to -12 LUFS")
	fs.Float64Var(&speech.Peak, "peak", 0, "true peak the speech reaches, -20 to 0 dBTP")
	tones := fs.Bool("tones", false, "serve tones, a known signal, instead of espeak-ng speech")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "seed of the random faults")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	sc, err := faketts.ParseScript(*script)
	if err != nil {
		return usageError{err.Error()}
	}
	if *latency == 0 {
		*latency = -1 // the flag's 0 means none; the config's 0 means the default
	}
	srv, err := faketts.New(faketts.Config{
		APIKey: *key, MaxChars: *maxChars,
		LatencyPerChar: *latency, BaseLatency: *base, CharsPerSecond: *cps,
		RPM: *rpm, CharsPerMinute: *cpm, RateWindow: *window, RetryAfter: *retryAfter,
		Faults: f, Script: sc, Seed: *seed, Speech: speech, Tones: *tones,
	})
	if err != nil {
		return usageError{err.Error()}
	}
	// Encode the tones now, so that the first requests are as fast as the rest.
	if err := srv.Warm(ctx); err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}
	fmt.Fprintf(io.Out, "http://%s/v1\n", ln.Addr())
	fmt.Fprintf(io.Err, "fake-tts: serving POST /v1/audio/speech, POST /v1/audio/transcriptions and GET /_log; stop with Ctrl-C\n")
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintf(io.Err, "fake-tts: served %d requests\n", len(srv.Log()))
	return nil
}
