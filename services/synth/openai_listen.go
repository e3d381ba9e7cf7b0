package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/narrator-project/narrator/services/mp3"
)

// OpenAI's transcription models and prices (US dollars a minute). Only
// whisper-1 gives word times (verbose_json); the others give text.
var openAIListenModels = map[string]float64{"whisper-1": 0.006, "gpt-4o-transcribe": 0.006, "gpt-4o-mini-transcribe": 0.003}

// DefaultListenPrice is what a listener of model at baseURL costs a
// minute unless told otherwise: OpenAI's price of the model at OpenAI's
// endpoint (empty baseURL), 0 (unknown) at any other server.
func DefaultListenPrice(baseURL, model string) float64 {
	c := ListenConfig{BaseURL: baseURL, Model: model}
	c.setDefaults()
	return c.PricePerMinute
}

// ListenConfig configures the OpenAI listener, for OpenAI's transcription
// endpoint or a compatible server (LocalAI, speaches, whisper.cpp's server).
type ListenConfig struct {
	APIKey  string // LISTEN_API_KEY, else OPENAI_API_KEY
	BaseURL string // LISTEN_BASE_URL; default OpenAIBaseURL
	Model   string // LISTEN_MODEL; default "whisper-1"
	// WordTimes asks for word timestamps (verbose_json); default on for
	// whisper-1 and for servers other than OpenAI's, which mostly serve
	// Whisper models.
	WordTimes      *bool
	PricePerMinute float64       // default OpenAI's price for Model; 0 elsewhere
	Timeout        time.Duration // default 2m
	HTTPClient     *http.Client  // replaces the default client (and Timeout) when set
}

func (c *ListenConfig) setDefaults() {
	official := c.BaseURL == ""
	if official {
		c.BaseURL = OpenAIBaseURL
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if c.Model == "" {
		c.Model = DefaultListenModel
	}
	if c.WordTimes == nil {
		w := c.Model == openai.Whisper1 || c.BaseURL != OpenAIBaseURL
		c.WordTimes = &w
	}
	if c.PricePerMinute == 0 && c.BaseURL == OpenAIBaseURL {
		c.PricePerMinute = openAIListenModels[c.Model]
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
}

// Validate reports a configuration the listener cannot run with.
func (c ListenConfig) Validate() error {
	var errs []error
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("LISTEN_BASE_URL %q is not an http(s) URL", c.BaseURL))
	}
	if c.BaseURL == OpenAIBaseURL && c.APIKey == "" {
		errs = append(errs, errors.New("no API key for OpenAI's transcription endpoint: set LISTEN_API_KEY or OPENAI_API_KEY"))
	}
	if _, ok := openAIListenModels[c.Model]; c.BaseURL == OpenAIBaseURL && !ok {
		errs = append(errs, fmt.Errorf("LISTEN_MODEL %q is not one of whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe", c.Model))
	}
	if c.PricePerMinute < 0 || c.Timeout < 0 {
		errs = append(errs, errors.New("listening price and timeout must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: listen config: %w", err)
	}
	return nil
}

// OpenAIListener transcribes chunks through OpenAI's transcription
// endpoint (go-openai's CreateTranscription) or a compatible server.
type OpenAIListener struct {
	cfg    ListenConfig
	client *openai.Client
}

// NewOpenAIListener returns the listener; it makes no request until the
// first chunk.
func NewOpenAIListener(cfg ListenConfig) (*OpenAIListener, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = headerDoer{hc}
	return &OpenAIListener{cfg: cfg, client: openai.NewClientWithConfig(oc)}, nil
}

// Name implements Listener.
func (o *OpenAIListener) Name() string { return "openai" }

// PricePerMinute implements Listener.
func (o *OpenAIListener) PricePerMinute() float64 { return o.cfg.PricePerMinute }

// Model returns the transcription model.
func (o *OpenAIListener) Model() string { return o.cfg.Model }

// Transcribe implements Listener.
func (o *OpenAIListener) Transcribe(ctx context.Context, audio []byte, language string) (Transcript, error) {
	req := openai.AudioRequest{Model: o.cfg.Model, Reader: bytes.NewReader(audio), FilePath: "chunk.mp3", Language: language, Format: openai.AudioResponseFormatJSON}
	if *o.cfg.WordTimes {
		req.Format = openai.AudioResponseFormatVerboseJSON
		req.TimestampGranularities = []openai.TranscriptionTimestampGranularity{openai.TranscriptionTimestampGranularityWord, openai.TranscriptionTimestampGranularitySegment}
	}
	var h http.Header
	resp, err := o.client.CreateTranscription(context.WithValue(ctx, headerKey{}, &h), req)
	if err != nil {
		return Transcript{}, fmt.Errorf("listen: %w", classifyOpenAI(ctx, err, h))
	}
	t := Transcript{Text: resp.Text, Seconds: resp.Duration}
	for _, w := range resp.Words {
		t.Words = append(t.Words, TimedWord{Word: w.Word, Start: w.Start, End: w.End})
	}
	if t.Seconds == 0 { // json gives no duration: bill what was sent
		if a, err := mp3.Analyze(ctx, bytes.NewReader(audio), mp3.Options{}); err == nil {
			t.Seconds = a.Duration.Seconds()
		}
	}
	return t, nil
}
