// Package synth turns chunk text into MP3 audio through a speech provider
// (OpenAI or a compatible server, AWS Polly, or the local espeak-ng engine).
// Providers state their limits and classify their failures with
// services/fault; a Synthesizer adds the content-addressed cache, the rate
// limiter and the audio check around one provider. Nothing here knows NATS.
package synth

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
)

// Provider is a speech synthesis service. Implementations must be safe for
// concurrent use.
type Provider interface {
	// Name identifies the provider in cache keys, logs and metrics: "openai",
	// "polly", "local".
	Name() string
	// Limits states what one request may ask for and what it returns.
	Limits() Limits
	// Resolve fills the request's unset fields with the provider's defaults
	// (model, the voice for the language, speed) and rejects, with a
	// permanent error, what the provider cannot do. Equal resolved requests
	// produce the same audio, which is what makes them cacheable.
	Resolve(req Request) (Request, error)
	// Synthesize returns the MP3 audio for a resolved request, whole (a
	// chunk is a few MB at most). Errors are classified with services/fault.
	Synthesize(ctx context.Context, req Request) ([]byte, error)
}

// Request is one chunk of text to speak.
type Request struct {
	Text         string  `json:"text"`                   // normalized text, as spoken
	Voice        string  `json:"voice,omitempty"`        // provider's voice name; empty: the language's default
	Model        string  `json:"model,omitempty"`        // model or engine: "tts-1", "neural", ...
	Speed        float64 `json:"speed,omitempty"`        // 1 is normal; 0 means 1
	Instructions string  `json:"instructions,omitempty"` // style prompt, for models that take one
	Language     string  `json:"language,omitempty"`     // BCP 47 primary tag: "en", "uk"
	// Listen is the publication's listening policy; empty: the
	// Synthesizer's. It is not part of the cache key.
	Listen ListenPolicy `json:"listen,omitempty"`
}

// Limits is what a provider accepts and returns.
type Limits struct {
	MaxChars        int      // characters (runes) per request, as billed
	SSML            bool     // accepts SSML markup
	Languages       []string // BCP 47 primary tags it can speak; empty: any
	Voices          []string // voice names; empty: any the engine knows
	Models          []string // models or engines; first is the default
	Format          Format   // the audio every response is in
	PricePerMillion float64  // US dollars per million billed characters
}

// Format is an MP3 stream format. Chunks in the same format join frame by
// frame without re-encoding.
type Format struct {
	SampleRate int // Hz
	Channels   int
	MPEG       int // MPEG version: 1, 2, or 25 for 2.5; always Layer III
	Bitrate    int // kbit/s of a constant-bitrate stream; 0 if it varies
}

// MP3 returns the format as package mp3 describes it, without the bitrate.
// An MPEG version other than 1, 2 or 25 matches no stream.
func (f Format) MP3() mp3.Format {
	v := mp3.Version(1) // reserved: no frame has it
	switch f.MPEG {
	case 1:
		v = mp3.MPEG1
	case 2:
		v = mp3.MPEG2
	case 25:
		v = mp3.MPEG25
	}
	return mp3.Format{Version: v, SampleRate: f.SampleRate, Channels: f.Channels}
}

// OpenAIFormat is what OpenAI's speech endpoint returns for mp3 and what the
// local engine is encoded to: 24 kHz mono MPEG-2 Layer III at 160 kbit/s.
var OpenAIFormat = Format{SampleRate: 24000, Channels: 1, MPEG: 2, Bitrate: 160}

// String describes the format, as in "MPEG-2 L3 24000Hz mono 160kbps".
func (f Format) String() string {
	v := strconv.Itoa(f.MPEG)
	if f.MPEG == 25 {
		v = "2.5"
	}
	ch := "mono"
	if f.Channels != 1 {
		ch = strconv.Itoa(f.Channels) + "ch"
	}
	br := "VBR"
	if f.Bitrate > 0 {
		br = strconv.Itoa(f.Bitrate) + "kbps"
	}
	return fmt.Sprintf("MPEG-%s L3 %dHz %s %s", v, f.SampleRate, ch, br)
}

// Errors a provider's failures wrap, so that callers can branch with
// errors.Is. Each is further classified permanent or retryable by fault.
var (
	// ErrAuth: the provider refused the credentials (HTTP 401/403). No
	// retry can succeed until the configuration is fixed, so the stage
	// should stop taking work rather than fail every chunk in the queue.
	ErrAuth = errors.New("provider refused the credentials")
	// ErrTooLong: the text is longer than the provider accepts; the chunker
	// should have prevented it.
	ErrTooLong = errors.New("input too long for the provider")
	// ErrRejected: the provider refused the request itself (bad voice,
	// model, SSML, language or parameter).
	ErrRejected = errors.New("provider rejected the request")
	// ErrRateLimited: the provider answered 429 or throttled the request.
	ErrRateLimited = errors.New("provider rate limit reached")
	// ErrUnavailable: a server error, timeout or broken connection.
	ErrUnavailable = errors.New("provider unavailable")
	// ErrBadAudio: the response is not valid audio in the expected format,
	// is truncated, or is too short for its text.
	ErrBadAudio = errors.New("provider returned bad audio")
	// ErrUnreadable: the text is nothing a voice can read (see Readable).
	// Found before any request is made.
	ErrUnreadable = errors.New("the text cannot be read aloud")
	// ErrStore: the cache, where a chunk's audio is kept for stitching,
	// could not be read or written. The chunk is retried.
	ErrStore = errors.New("chunk audio could not be stored")
)

// CacheKey returns the content address of a resolved request's audio: the
// hash of the provider, model, voice, speed, instructions, language,
// output format, pronunciation lexicon version and text. Any change to
// what is heard changes the key; nothing else does.
func CacheKey(provider string, f Format, req Request, lexiconVersion string) string {
	return script.Hash("synth/v1", provider, req.Model, req.Voice,
		strconv.FormatFloat(speed(req.Speed), 'f', -1, 64),
		req.Instructions, req.Language, f.String(), lexiconVersion, req.Text)
}

// speed returns the effective speed of a request.
func speed(s float64) float64 {
	if s == 0 {
		return 1
	}
	return s
}
