// Package faketts is a fake of OpenAI's speech and transcription endpoints
// that speaks their wire protocol: POST /v1/audio/speech with the real JSON
// fields and bearer
// auth, OpenAI's error JSON and status codes, rate-limit headers, a latency
// model, injected faults, and real speech (espeak-ng, shaped by speechgen)
// in OpenAI's format (24 kHz mono MPEG-2 Layer III at 160 kbit/s, no Xing
// frame) at the levels speech services deliver: about -18 LUFS with peaks
// reaching full scale. POST /v1/audio/transcriptions hears what the fake
// said in the audio uploaded, as a recognizer writes it (transcribe.go). Tests and benchmarks use it in-process; `narrator
// fake-tts` runs it for other processes, which read its request log at
// GET /_log.
package faketts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth/internal/tone"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// Defaults of the latency and audio models, from OpenAI's tts-1: about 46 s
// to synthesize 4,096 characters, and about 15 characters of speech a second.
const (
	DefaultLatencyPerChar = 11 * time.Millisecond
	DefaultCharsPerSecond = 15.0
	DefaultMaxChars       = 4096
	// DefaultTranscribeLatency: whisper-1 answers in about a sixteenth of
	// the audio's duration.
	DefaultTranscribeLatency = 0.06
)

// Config sets the fake's limits, latency and faults. The zero value is a
// fake with OpenAI's limits and latency, no auth check and no faults.
type Config struct {
	// APIKey is the bearer token requests must carry; empty accepts any
	// request, as many OpenAI-compatible servers do.
	APIKey   string
	MaxChars int      // input limit in characters; default 4096
	Models   []string // default tts-1, tts-1-hd, gpt-4o-mini-tts (and its dated snapshot)
	Voices   []string // default OpenAI's voices

	// LatencyPerChar is the synthesis time per input character before the
	// response starts; zero means DefaultLatencyPerChar, negative none.
	LatencyPerChar time.Duration
	BaseLatency    time.Duration // added to every successful request
	CharsPerSecond float64       // speech rate of the audio at speed 1; default 15

	// RPM and CharsPerMinute are token buckets that refill continuously
	// over RateWindow (default a minute); zero means unlimited. Requests
	// beyond them get 429 with Retry-After and x-ratelimit-* headers.
	RPM            int
	CharsPerMinute int
	RateWindow     time.Duration

	Faults Faults        // random faults, as fractions of requests
	Script map[int]Fault // faults by request number (the first is 1); they take precedence
	// TranscribeScript scripts faults of transcription requests by their
	// own number (the first is 1): 500, 503, 429 and hang.
	TranscribeScript map[int]Fault
	// TranscribeLatency is the time a transcription takes, as a fraction
	// of the audio's duration; zero means DefaultTranscribeLatency,
	// negative none.
	TranscribeLatency float64
	Seed              uint64        // seeds the random faults
	RetryAfter        time.Duration // Retry-After of injected 429s; default 1s

	// Speech shapes the audio served: its loudness, peaks, silences, end,
	// tags and format (speechgen.Options; the zero value is OpenAI's). Its
	// voice and speed come from each request.
	Speech speechgen.Options
	// Vary, when set, shapes request N's audio with Vary[(N-1) % len]
	// instead, so that one narration gets a mix of speech.
	Vary []speechgen.Options
	// Tones serves tones instead of speech: a known signal, made without
	// espeak-ng, whose length is exactly the text at CharsPerSecond.
	Tones bool
}

// Faults are the fractions of speech requests that fail each way.
type Faults struct {
	Server5xx float64 // 500 with OpenAI's server_error body
	RateLimit float64 // 429 with Retry-After
	Truncate  float64 // 200 whose MP3 is cut mid-frame
	Reset     float64 // the connection drops halfway through the body
	Hang      float64 // no response until the client gives up
	Abrupt    float64 // 200 whose speech is cut off mid-sound

	// Faults of what is said (see DropSentence): well-formed speech that
	// leaves out, repeats or misreads part of the text.
	Drop, Repeat, Number, StopEarly float64
}

// all lists the fractions with the faults they inject.
func (f Faults) all() []struct {
	p float64
	f Fault
} {
	return []struct {
		p float64
		f Fault
	}{{f.Server5xx, Fail500}, {f.RateLimit, RateLimit}, {f.Truncate, Truncate}, {f.Reset, Reset}, {f.Hang, Hang}, {f.Abrupt, Abrupt},
		{f.Drop, DropSentence}, {f.Repeat, RepeatPhrase}, {f.Number, WrongNumber}, {f.StopEarly, StopEarly}}
}

// Fault is one way a request fails.
type Fault string

// Faults a test can script per request.
const (
	NoFault   Fault = ""
	Fail500   Fault = "500"      // internal server error
	Fail502   Fault = "502"      // bad gateway, HTML body as from a proxy
	Fail503   Fault = "503"      // overloaded
	RateLimit Fault = "429"      // rate limited, with Retry-After
	Truncate  Fault = "truncate" // 200, MP3 cut mid-frame
	Abrupt    Fault = "abrupt"   // 200, speech cut off mid-sound (a heuristic finding, not a broken file)
	Reset     Fault = "reset"    // connection dropped mid-body
	Hang      Fault = "hang"     // never answers
	Garbage   Fault = "garbage"  // 200 with a body that is not MP3
	Short     Fault = "short"    // 200 with valid MP3 far too short for the text
	Quota     Fault = "quota"    // 429 insufficient_quota: the account is out of credit
)

func (c *Config) setDefaults() {
	if c.MaxChars == 0 {
		c.MaxChars = DefaultMaxChars
	}
	if len(c.Models) == 0 {
		c.Models = []string{"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"}
	}
	if len(c.Voices) == 0 {
		c.Voices = []string{"alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse"}
	}
	if c.LatencyPerChar == 0 {
		c.LatencyPerChar = DefaultLatencyPerChar
	}
	if c.LatencyPerChar < 0 {
		c.LatencyPerChar = 0
	}
	if c.CharsPerSecond == 0 {
		c.CharsPerSecond = DefaultCharsPerSecond
	}
	if c.RateWindow == 0 {
		c.RateWindow = time.Minute
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	if c.TranscribeLatency == 0 {
		c.TranscribeLatency = DefaultTranscribeLatency
	}
}

// Validate reports settings the fake cannot run with.
func (c Config) Validate() error {
	var errs []error
	if c.MaxChars < 1 || c.CharsPerSecond <= 0 || c.RPM < 0 || c.CharsPerMinute < 0 || c.RateWindow < 0 || c.BaseLatency < 0 {
		errs = append(errs, errors.New("limits, rates and latencies must not be negative"))
	}
	sum := 0.0
	for _, f := range c.Faults.all() {
		if f.p < 0 || f.p > 1 {
			errs = append(errs, fmt.Errorf("fault fraction %v is outside 0 to 1", f.p))
		}
		sum += f.p
	}
	if s := sum; s > 1 {
		errs = append(errs, fmt.Errorf("fault fractions add up to %v, more than 1", s))
	}
	for _, o := range append([]speechgen.Options{c.Speech}, c.Vary...) {
		if err := o.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("faketts: %w", err)
	}
	return nil
}

// Server is the fake. It is an http.Handler; Start and Serve run it.
type Server struct {
	cfg     Config
	gen     *tone.Generator
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	n        int
	log      []*Entry
	rng      *rand.Rand
	requests *bucket
	chars    *bucket
	heardN   int                          // transcription requests
	spoken   map[[sha256.Size]byte]spoken // what each response said, by its audio's hash

	url string
}

// New returns a fake with cfg. It needs espeak-ng and lame to make its
// speech (lame only, for tones).
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	avail := speechgen.Available
	if cfg.Tones {
		avail = tone.Available
	}
	if err := avail(); err != nil {
		return nil, fmt.Errorf("faketts: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		gen:     tone.Shared(24000, 160),
		closing: make(chan struct{}),
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x6f70656e6169)),
	}
	if cfg.RPM > 0 {
		s.requests = newBucket(cfg.RPM, cfg.RateWindow)
	}
	if cfg.CharsPerMinute > 0 {
		s.chars = newBucket(cfg.CharsPerMinute, cfg.RateWindow)
	}
	return s, nil
}

// Start runs a fake on a random local port until the test ends and
// returns it; its URL is the base URL for OPENAI_BASE_URL.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(s)
	s.url = ts.URL + "/v1"
	tb.Cleanup(func() {
		s.Close() // releases hanging handlers, which ts.Close waits for
		ts.Close()
	})
	return s
}

// Serve answers on ln until ctx ends, then shuts down, dropping hanging
// requests.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.url = "http://" + ln.Addr().String() + "/v1"
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return fmt.Errorf("faketts: %w", err)
	case <-ctx.Done():
	}
	s.Close()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("faketts: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("faketts: %w", err)
	}
	return nil
}

// Warm makes the fake's tones now rather than on the first requests, so
// that a benchmark's first calls do not pay for encoding them. Speech is
// rendered per request and needs no warming.
func (s *Server) Warm(ctx context.Context) error {
	if !s.cfg.Tones {
		return nil
	}
	return s.gen.Warm(ctx)
}

// URL returns the base URL clients use, ending in /v1, once the server
// runs (Start or Serve).
func (s *Server) URL() string { return s.url }

// Close releases requests that hang; it does not stop a listener.
func (s *Server) Close() { s.once.Do(func() { close(s.closing) }) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v1/audio/speech" && r.Method == http.MethodPost:
		s.speech(w, r)
	case r.URL.Path == "/v1/audio/transcriptions" && r.Method == http.MethodPost:
		s.transcribe(w, r)
	case r.URL.Path == "/_log" && r.Method == http.MethodGet:
		s.serveLog(w, r)
	case r.URL.Path == "/_log" && r.Method == http.MethodDelete:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, apiError{
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path),
			Type:    "invalid_request_error",
		})
	}
}

// fault picks the fault for request n: scripted, else random.
func (s *Server) fault(n int) Fault {
	if f, ok := s.cfg.Script[n]; ok {
		return f
	}
	s.mu.Lock()
	p := s.rng.Float64()
	s.mu.Unlock()
	for _, c := range s.cfg.Faults.all() {
		if p < c.p {
			return c.f
		}
		p -= c.p
	}
	return NoFault
}

// trimV1 returns the server root of a base URL ending in /v1.
func trimV1(base string) string {
	return strings.TrimSuffix(strings.TrimRight(base, "/"), "/v1")
}
