package synth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/redact"
)

// OpenAIBaseURL is OpenAI's own API.
const OpenAIBaseURL = "https://api.openai.com/v1"

// OpenAI's speech models, voices and prices (US dollars per million input
// characters; gpt-4o-mini-tts bills tokens, about 1.5 cents a minute).
var (
	openAIModels = map[string]float64{"tts-1": 15, "tts-1-hd": 30, "gpt-4o-mini-tts": 15, "gpt-4o-mini-tts-2025-12-15": 15}
	openAIVoices = []string{"alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer", "verse"}
	// Models that ignore or refuse instructions, so they are not sent.
	noInstructions = map[string]bool{"tts-1": true, "tts-1-hd": true}
)

// OpenAIConfig configures the OpenAI provider, or any server that speaks
// OpenAI's speech API (Kokoro-FastAPI, openedai-speech, LocalAI).
type OpenAIConfig struct {
	APIKey       string            // OPENAI_API_KEY; compatible servers may need none
	BaseURL      string            // OPENAI_BASE_URL; default OpenAIBaseURL
	Model        string            // default "tts-1"
	Voice        string            // default "alloy"
	Voices       map[string]string // language → voice, for requests that name none
	Speed        float64           // default 1
	Instructions string            // style prompt for models that take one
	// Limits of compatible servers, which are usually looser. On OpenAI's
	// own API the defaults are OpenAI's: 4,096 characters, its models and
	// voices; elsewhere any model and voice is passed through.
	MaxChars        int
	Models          []string
	VoiceNames      []string
	Format          Format        // default OpenAIFormat
	PricePerMillion float64       // default OpenAI's price for Model; 0 elsewhere
	Timeout         time.Duration // whole request, body included; default 3m (tts-1 takes ~46s for 4,096 characters)
	HTTPClient      *http.Client  // replaces the default client (and Timeout) when set
}

func (c *OpenAIConfig) setDefaults() {
	official := c.BaseURL == ""
	if official {
		c.BaseURL = OpenAIBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Model == "" {
		c.Model = "tts-1"
	}
	if c.Voice == "" {
		c.Voice = "alloy"
	}
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.MaxChars == 0 {
		c.MaxChars = 4096
	}
	if c.Format == (Format{}) {
		c.Format = OpenAIFormat
	}
	if official || c.BaseURL == OpenAIBaseURL {
		if len(c.Models) == 0 {
			c.Models = slices.Sorted(maps.Keys(openAIModels))
		}
		if len(c.VoiceNames) == 0 {
			c.VoiceNames = openAIVoices
		}
		if c.PricePerMillion == 0 {
			c.PricePerMillion = openAIModels[c.Model]
		}
	}
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Minute
	}
}

// Validate reports a configuration the provider cannot run with, in words
// an operator can act on.
func (c OpenAIConfig) Validate() error {
	var errs []error
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("OPENAI_BASE_URL %q is not an http(s) URL", redact.URL(c.BaseURL)))
	}
	if c.BaseURL == OpenAIBaseURL && c.APIKey == "" {
		errs = append(errs, errors.New("OPENAI_API_KEY is empty; OpenAI's API needs a key"))
	}
	if len(c.Models) > 0 && !slices.Contains(c.Models, c.Model) {
		errs = append(errs, fmt.Errorf("model %q is not one of %v", c.Model, c.Models))
	}
	if len(c.VoiceNames) > 0 {
		for _, v := range append([]string{c.Voice}, slices.Collect(maps.Values(c.Voices))...) {
			if !slices.Contains(c.VoiceNames, v) {
				errs = append(errs, fmt.Errorf("voice %q is not one of %v", v, c.VoiceNames))
			}
		}
	}
	if err := checkSpeed(c.Speed); err != nil {
		errs = append(errs, fmt.Errorf("speed %v is outside 0.25 to 4", c.Speed))
	}
	if c.MaxChars < 1 || c.Timeout < 0 || c.PricePerMillion < 0 {
		errs = append(errs, errors.New("max characters must be positive; timeout and price not negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: openai config: %w", err)
	}
	return nil
}

// OpenAI is the provider for OpenAI's speech endpoint and compatible servers.
type OpenAI struct {
	cfg    OpenAIConfig
	client *openai.Client
}

// NewOpenAI returns the provider; it makes no request until the first chunk.
func NewOpenAI(cfg OpenAIConfig) (*OpenAI, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout: cfg.Timeout,
			Transport: &http.Transport{
				Proxy:                 http.ProxyFromEnvironment,
				DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
				TLSHandshakeTimeout:   10 * time.Second,
				ResponseHeaderTimeout: cfg.Timeout,
				IdleConnTimeout:       90 * time.Second,
				MaxIdleConnsPerHost:   32, // synth workers run many chunks at once
				ForceAttemptHTTP2:     true,
			},
		}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = headerDoer{hc}
	return &OpenAI{cfg: cfg, client: openai.NewClientWithConfig(oc)}, nil
}

// Name implements Provider.
func (o *OpenAI) Name() string { return "openai" }

// Limits implements Provider.
func (o *OpenAI) Limits() Limits {
	models := o.cfg.Models
	if len(models) > 0 { // the configured model first: it is the default
		models = append([]string{o.cfg.Model}, slices.DeleteFunc(slices.Clone(models), func(m string) bool { return m == o.cfg.Model })...)
	}
	return Limits{
		MaxChars:        o.cfg.MaxChars,
		Voices:          o.cfg.VoiceNames,
		Models:          models,
		Format:          o.cfg.Format,
		PricePerMillion: o.cfg.PricePerMillion,
	}
}

// Resolve implements Provider. OpenAI's voices speak every language, so
// the language only picks a voice when one is configured for it.
func (o *OpenAI) Resolve(req Request) (Request, error) {
	// OpenAI's voices read every language.
	if err := checkText(req.Text, o.cfg.MaxChars, ""); err != nil {
		return req, fmt.Errorf("synth: openai: %w", err)
	}
	if req.Model == "" {
		req.Model = o.cfg.Model
	}
	if len(o.cfg.Models) > 0 && !slices.Contains(o.cfg.Models, req.Model) {
		return req, fault.Permanent(fmt.Errorf("synth: openai: %w: model %q is not one of %v", ErrRejected, req.Model, o.cfg.Models))
	}
	if req.Voice == "" {
		req.Voice = o.cfg.Voice
		if v, ok := o.cfg.Voices[req.Language]; ok {
			req.Voice = v
		}
	}
	if len(o.cfg.VoiceNames) > 0 && !slices.Contains(o.cfg.VoiceNames, req.Voice) {
		return req, fault.Permanent(fmt.Errorf("synth: openai: %w: voice %q is not one of %v", ErrRejected, req.Voice, o.cfg.VoiceNames))
	}
	if req.Speed == 0 {
		req.Speed = o.cfg.Speed
	}
	if err := checkSpeed(req.Speed); err != nil {
		return req, fmt.Errorf("synth: openai: %w", err)
	}
	if req.Instructions == "" {
		req.Instructions = o.cfg.Instructions
	}
	if noInstructions[req.Model] {
		req.Instructions = ""
	}
	return req, nil
}

// Synthesize implements Provider.
func (o *OpenAI) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	req, err := o.Resolve(req)
	if err != nil {
		return nil, err
	}
	var h http.Header
	resp, err := o.client.CreateSpeech(context.WithValue(ctx, headerKey{}, &h), openai.CreateSpeechRequest{
		Model:          openai.SpeechModel(req.Model),
		Input:          req.Text,
		Voice:          openai.SpeechVoice(req.Voice),
		Instructions:   req.Instructions,
		ResponseFormat: openai.SpeechResponseFormatMp3,
		Speed:          req.Speed,
	})
	if err != nil {
		return nil, classifyOpenAI(ctx, err, h)
	}
	defer resp.Close()
	audio, err := readAnswer("openai", resp, req, MaxAudioBytes(req, o.cfg.Format))
	if errors.Is(err, ErrBadAudio) {
		return nil, err
	}
	if err != nil {
		return nil, classifyOpenAI(ctx, err, h)
	}
	if ct := resp.Header().Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "audio/") && !strings.HasPrefix(ct, "application/octet-stream") {
		return nil, fault.Retry(fmt.Errorf("synth: openai: %w: Content-Type %q: %.200q", ErrBadAudio, ct, audio), 0)
	}
	return audio, nil
}

// headerKey carries, in a request's context, where headerDoer stores the
// response headers: go-openai drops them from error responses, and a 429's
// Retry-After is in them.
type headerKey struct{}

type headerDoer struct{ c *http.Client }

// Do sends req and hands its response headers to the caller's context.
func (d headerDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if resp != nil {
		if h, ok := req.Context().Value(headerKey{}).(*http.Header); ok {
			*h = resp.Header
		}
	}
	return resp, err
}
