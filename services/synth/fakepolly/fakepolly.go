// Package fakepolly is a fake of Amazon Polly's SynthesizeSpeech that speaks
// its REST-JSON wire protocol, so tests drive it through the real AWS SDK
// with an endpoint override: POST /v1/speech with Polly's JSON fields,
// SigV4 signatures checked against the configured key, x-amzn-ErrorType
// errors (ThrottlingException, TextLengthExceededException,
// InvalidSsmlException, ServiceFailureException, ...), the
// x-amzn-RequestCharacters header, and real speech (espeak-ng, shaped by
// speechgen) as mono MP3 at the requested sample rate.
package fakepolly

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth/internal/tone"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// Limits Polly documents for SynthesizeSpeech.
const (
	MaxBilledChars = 3000 // characters of text, SSML tags excluded
	MaxTotalChars  = 6000 // characters of input, SSML tags included
)

// Voice is a voice the fake knows: its language and engines.
type Voice struct {
	Language string
	Engines  []string
}

// DefaultVoices is a subset of Polly's voice list.
var DefaultVoices = map[string]Voice{
	"Joanna":   {"en-US", []string{"standard", "neural", "generative"}},
	"Matthew":  {"en-US", []string{"standard", "neural", "generative"}},
	"Danielle": {"en-US", []string{"neural", "long-form", "generative"}},
	"Gregory":  {"en-US", []string{"neural", "long-form"}},
	"Ruth":     {"en-US", []string{"neural", "long-form", "generative"}},
	"Amy":      {"en-GB", []string{"standard", "neural", "generative"}},
	"Brian":    {"en-GB", []string{"standard", "neural"}},
	"Vicki":    {"de-DE", []string{"standard", "neural", "generative"}},
	"Lea":      {"fr-FR", []string{"standard", "neural", "generative"}},
	"Lucia":    {"es-ES", []string{"standard", "neural", "generative"}},
	"Bianca":   {"it-IT", []string{"standard", "neural", "generative"}},
	"Ola":      {"pl-PL", []string{"standard", "neural"}},
}

// Config sets the fake's credentials, limits, latency and faults.
type Config struct {
	// AccessKeyID and SecretAccessKey are the credentials requests must be
	// signed with (SigV4); empty accepts unsigned requests.
	AccessKeyID     string
	SecretAccessKey string
	Region          string           // signing region; default us-east-1
	Voices          map[string]Voice // default DefaultVoices
	Lexicons        []string         // lexicon names that exist
	MaxBilledChars  int              // default MaxBilledChars; lower it to provoke TextLengthExceededException
	Bitrate         int              // kbit/s of the MP3 served; default 48
	CharsPerSecond  float64          // speech rate of the audio; default 15
	LatencyPerChar  time.Duration    // synthesis time per billed character; default none
	TPS             int              // requests per second before ThrottlingException; 0: unlimited
	Faults          Faults           // random faults, as fractions of requests
	Script          map[int]Fault    // faults by request number (the first is 1)
	Seed            uint64           // seeds the random faults
	// Speech shapes the speech served (speechgen.Options: loudness, peaks,
	// silences, end, tags); the sample rate is the request's and the
	// bitrate Bitrate unless Speech sets one.
	Speech speechgen.Options
	// Vary, when set, shapes request N's speech with Vary[(N-1) % len]
	// instead, so that one narration gets a mix of speech.
	Vary []speechgen.Options
	// Tones serves tones instead of speech: a known signal, made without
	// espeak-ng.
	Tones bool
}

// Faults are the fractions of requests that fail each way.
type Faults struct {
	Throttle float64 // ThrottlingException
	Failure  float64 // ServiceFailureException (500)
	Truncate float64 // 200 whose MP3 is cut mid-frame
	Hang     float64 // no response until the client gives up
}

// Fault is one way a request fails.
type Fault string

// Faults a test can script per request.
const (
	NoFault     Fault = ""
	Throttle    Fault = "throttle"    // 400 ThrottlingException
	Failure     Fault = "failure"     // 500 ServiceFailureException
	Unavailable Fault = "unavailable" // 503 ServiceUnavailableException
	Truncate    Fault = "truncate"    // 200 with MP3 cut mid-frame
	Hang        Fault = "hang"        // never answers
)

func (c *Config) setDefaults() {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Voices == nil {
		c.Voices = DefaultVoices
	}
	if c.MaxBilledChars == 0 {
		c.MaxBilledChars = MaxBilledChars
	}
	if c.Bitrate == 0 {
		c.Bitrate = 48
	}
	if c.CharsPerSecond == 0 {
		c.CharsPerSecond = 15
	}
}

// Validate reports settings the fake cannot run with.
func (c Config) Validate() error {
	f := c.Faults
	if f.Throttle < 0 || f.Failure < 0 || f.Truncate < 0 || f.Hang < 0 || f.Throttle+f.Failure+f.Truncate+f.Hang > 1 {
		return errors.New("fakepolly: fault fractions must be between 0 and 1 and add up to at most 1")
	}
	if c.TPS < 0 || c.CharsPerSecond < 0 || c.LatencyPerChar < 0 {
		return errors.New("fakepolly: rates and latencies must not be negative")
	}
	for _, o := range append([]speechgen.Options{c.Speech}, c.Vary...) {
		if err := o.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Entry records one request as the fake saw it.
type Entry struct {
	N            int       `json:"n"`
	Time         time.Time `json:"time"`
	Path         string    `json:"path"`
	AccessKeyID  string    `json:"access_key_id"` // from the SigV4 credential scope
	Engine       string    `json:"engine"`
	VoiceID      string    `json:"voice_id"`
	LanguageCode string    `json:"language_code,omitempty"`
	LexiconNames []string  `json:"lexicon_names,omitempty"`
	OutputFormat string    `json:"output_format"`
	SampleRate   string    `json:"sample_rate"`
	TextType     string    `json:"text_type"`
	Text         string    `json:"text"`
	Billed       int       `json:"billed"` // x-amzn-RequestCharacters
	Status       int       `json:"status"`
	ErrorType    string    `json:"error_type,omitempty"`
	Fault        Fault     `json:"fault,omitempty"`
}

// Server is the fake; it is an http.Handler.
type Server struct {
	cfg     Config
	closing chan struct{}
	once    sync.Once
	url     string

	mu     sync.Mutex
	n      int
	log    []*Entry
	rng    *rand.Rand
	window time.Time // start of the current one-second TPS window
	inWin  int
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
		return nil, fmt.Errorf("fakepolly: %w", err)
	}
	return &Server{cfg: cfg, closing: make(chan struct{}), rng: rand.New(rand.NewPCG(cfg.Seed, 0x706f6c6c79))}, nil
}

// Start runs a fake on a random local port until the test ends; its URL is
// the endpoint to give the SDK.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(s)
	s.url = ts.URL
	tb.Cleanup(func() {
		s.Close()
		ts.Close()
	})
	return s
}

// URL returns the endpoint once Start has run.
func (s *Server) URL() string { return s.url }

// Close releases hanging requests.
func (s *Server) Close() { s.once.Do(func() { close(s.closing) }) }

// Log returns a copy of the request log in arrival order.
func (s *Server) Log() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, len(s.log))
	for i, e := range s.log {
		out[i] = *e
	}
	return out
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/speech" {
		writeError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	s.speech(w, r)
}

// fault picks the fault for request n: scripted, else random.
func (s *Server) fault(n int) Fault {
	if f, ok := s.cfg.Script[n]; ok {
		return f
	}
	f := s.cfg.Faults
	s.mu.Lock()
	p := s.rng.Float64()
	s.mu.Unlock()
	for _, c := range []struct {
		p float64
		f Fault
	}{{f.Throttle, Throttle}, {f.Failure, Failure}, {f.Truncate, Truncate}, {f.Hang, Hang}} {
		if p < c.p {
			return c.f
		}
		p -= c.p
	}
	return NoFault
}

// admit counts a request against the TPS limit.
func (s *Server) admit(now time.Time) bool {
	if s.cfg.TPS == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.window) >= time.Second {
		s.window, s.inWin = now, 0
	}
	if s.inWin >= s.cfg.TPS {
		return false
	}
	s.inWin++
	return true
}
