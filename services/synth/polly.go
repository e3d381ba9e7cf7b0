package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/polly"
	"github.com/aws/aws-sdk-go-v2/service/polly/types"
	"github.com/aws/smithy-go"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/script"
)

// Polly's engines and their prices in US dollars per million characters.
var pollyEngines = map[string]float64{"standard": 4, "neural": 16, "long-form": 100, "generative": 30}

// Polly's limits per SynthesizeSpeech call.
const (
	pollyMaxBilled = 3000 // characters, SSML tags excluded
	pollyMaxTotal  = 6000 // characters, SSML tags included
)

// PollyConfig configures the Amazon Polly provider.
type PollyConfig struct {
	Region string // AWS_REGION; default us-east-1
	// Endpoint overrides the service endpoint (a VPC endpoint, or a fake
	// in tests).
	Endpoint string
	// Static credentials; when empty the SDK's default chain is used
	// (environment, shared config, container or instance role).
	AccessKeyID, SecretAccessKey, SessionToken string
	Engine                                     string            // neural (default), long-form, generative or standard
	Voice                                      string            // for requests that name no voice and no language; default Joanna
	Voices                                     map[string]string // language → voice; en → Joanna, de → Vicki, fr → Lea, es → Lucia, it → Bianca, pl → Ola are added
	Lexicons                                   []string          // pronunciation lexicons (PutLexicon) applied to every request
	SampleRate                                 int               // Hz; default 24000, to join with OpenAI-format audio
	// PlainText sends text as is. By default it goes as SSML, where speed
	// becomes <prosody rate> and blank lines <break time> pauses; plain
	// text refuses speeds other than 1.
	PlainText      bool
	ParagraphPause time.Duration // pause at a blank line; default script.DefaultPauses.Paragraph
	Timeout        time.Duration // per request; default 1m
}

func (c *PollyConfig) setDefaults() {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Engine == "" {
		c.Engine = "neural"
	}
	if c.Voice == "" {
		c.Voice = "Joanna"
	}
	v := map[string]string{"en": "Joanna", "de": "Vicki", "fr": "Lea", "es": "Lucia", "it": "Bianca", "pl": "Ola"}
	maps.Copy(v, c.Voices)
	c.Voices = v
	if c.SampleRate == 0 {
		c.SampleRate = 24000
	}
	if c.ParagraphPause == 0 {
		c.ParagraphPause = script.DefaultPauses.Paragraph
	}
	if c.Timeout == 0 {
		c.Timeout = time.Minute
	}
}

// Validate reports a configuration the provider cannot run with.
func (c PollyConfig) Validate() error {
	var errs []error
	if _, ok := pollyEngines[c.Engine]; !ok {
		errs = append(errs, fmt.Errorf("engine %q is not one of standard, neural, long-form, generative", c.Engine))
	}
	if !slices.Contains([]int{8000, 16000, 22050, 24000, 44100, 48000}, c.SampleRate) {
		errs = append(errs, fmt.Errorf("sample rate %d is not one Polly offers for mp3", c.SampleRate))
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		errs = append(errs, errors.New("set both the access key ID and the secret access key, or neither"))
	}
	if c.ParagraphPause < 0 || c.ParagraphPause > 10*time.Second {
		errs = append(errs, fmt.Errorf("paragraph pause %v is outside Polly's 0 to 10s", c.ParagraphPause))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: polly config: %w", err)
	}
	return nil
}

// Polly is the provider for Amazon Polly.
type Polly struct {
	cfg    PollyConfig
	client *polly.Client
}

// NewPolly returns the provider. It resolves the AWS configuration but
// makes no request.
func NewPolly(ctx context.Context, cfg PollyConfig) (*Polly, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(cfg.Region),
		// The SDK's own client, which honours AWS_CA_BUNDLE and the like.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.Timeout)),
		// Retries belong to the queue runner, which backs off and keeps count.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("synth: polly: load AWS config: %w", err)
	}
	client := polly.NewFromConfig(awsCfg, func(o *polly.Options) {
		o.HTTPClient = bufferingClient{o.HTTPClient}
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Polly{cfg: cfg, client: client}, nil
}

// bufferingClient hands the HTTP transport a copy of each request's body
// in memory. smithy-go closes the body it built as soon as the response's
// headers arrive; net/http's write loop can still be reading it then, and
// on the failed read it closes the connection under the response being
// read ("use of closed network connection", aws/aws-sdk-go-v2#2737, seen
// here in one request of about a hundred). Polly requests are a few KB.
type bufferingClient struct{ next polly.HTTPClient }

func (c bufferingClient) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		data, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("synth: polly: read the request: %w", err)
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(data))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	return c.next.Do(r)
}

// Name implements Provider.
func (p *Polly) Name() string { return "polly" }

// Limits implements Provider. Polly does not document its MP3 bitrate, and
// every frame carries its own, so Bitrate is 0.
func (p *Polly) Limits() Limits {
	engines := append([]string{p.cfg.Engine}, slices.DeleteFunc(slices.Sorted(maps.Keys(pollyEngines)), func(e string) bool { return e == p.cfg.Engine })...)
	mpeg := 2
	switch {
	case p.cfg.SampleRate >= 32000:
		mpeg = 1
	case p.cfg.SampleRate <= 12000:
		mpeg = 25
	}
	return Limits{
		MaxChars:        pollyMaxBilled,
		SSML:            true,
		Languages:       slices.Sorted(maps.Keys(p.cfg.Voices)),
		Voices:          slices.Sorted(maps.Values(p.cfg.Voices)),
		Models:          engines,
		Format:          Format{SampleRate: p.cfg.SampleRate, Channels: 1, MPEG: mpeg},
		PricePerMillion: pollyEngines[p.cfg.Engine],
	}
}

// Resolve implements Provider. The model is Polly's engine. Polly has no
// voice for some languages (Ukrainian among them): such requests are
// refused here rather than read in the wrong accent.
func (p *Polly) Resolve(req Request) (Request, error) {
	if req.Model == "" {
		req.Model = p.cfg.Engine
	}
	if _, ok := pollyEngines[req.Model]; !ok {
		return req, fault.Permanent(fmt.Errorf("synth: polly: %w: engine %q", ErrRejected, req.Model))
	}
	if req.Voice == "" {
		switch v, ok := p.cfg.Voices[req.Language]; {
		case ok:
			req.Voice = v
		case req.Language == "":
			req.Voice = p.cfg.Voice
		default:
			return req, fault.Permanent(fmt.Errorf("synth: polly: %w: no voice for language %q (configure one, or use another provider)", ErrRejected, req.Language))
		}
	}
	// Each Polly voice reads one language: the one it is configured for.
	lang := ""
	for l, v := range p.cfg.Voices {
		if strings.EqualFold(v, req.Voice) {
			lang = l
		}
	}
	if err := checkText(req.Text, pollyMaxBilled, lang); err != nil {
		return req, fmt.Errorf("synth: polly: voice %s: %w", req.Voice, err)
	}
	if err := checkSpeed(req.Speed); err != nil {
		return req, fmt.Errorf("synth: polly: %w", err)
	}
	req.Speed = speed(req.Speed)
	if p.cfg.PlainText && req.Speed != 1 {
		return req, fault.Permanent(fmt.Errorf("synth: polly: %w: speed %v needs SSML, which is turned off", ErrRejected, req.Speed))
	}
	req.Instructions = ""
	return req, nil
}

// ssml renders a request as Polly SSML: escaped text, blank lines as pauses
// and the speed as a prosody rate.
func (p *Polly) ssml(req Request) string {
	var b strings.Builder
	b.WriteString("<speak>")
	if req.Speed != 1 {
		fmt.Fprintf(&b, `<prosody rate="%d%%">`, int(req.Speed*100+0.5))
	}
	brk := fmt.Sprintf(`<break time="%dms"/>`, p.cfg.ParagraphPause.Milliseconds())
	for i, para := range strings.Split(strings.ReplaceAll(req.Text, "\r\n", "\n"), "\n\n") {
		if i > 0 {
			b.WriteString(brk)
		}
		b.WriteString(xmlEscaper.Replace(strings.Map(xmlChar, para)))
	}
	if req.Speed != 1 {
		b.WriteString("</prosody>")
	}
	b.WriteString("</speak>")
	return b.String()
}

// xmlChar drops the characters XML cannot carry (most control
// characters), which would make Polly refuse the whole chunk as bad SSML.
func xmlChar(r rune) rune {
	switch {
	case r == '\t' || r == '\n' || r == '\r',
		r >= 0x20 && r <= 0xD7FF,
		r >= 0xE000 && r <= 0xFFFD,
		r >= 0x10000 && r <= 0x10FFFF:
		return r
	}
	return -1
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

// Synthesize implements Provider.
func (p *Polly) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	req, err := p.Resolve(req)
	if err != nil {
		return nil, err
	}
	in := &polly.SynthesizeSpeechInput{
		Engine:       types.Engine(req.Model),
		OutputFormat: types.OutputFormatMp3,
		SampleRate:   aws.String(strconv.Itoa(p.cfg.SampleRate)),
		VoiceId:      types.VoiceId(req.Voice),
		LexiconNames: p.cfg.Lexicons,
		Text:         aws.String(req.Text),
		TextType:     types.TextTypeText,
	}
	if !p.cfg.PlainText {
		in.Text, in.TextType = aws.String(p.ssml(req)), types.TextTypeSsml
		if n := utf8.RuneCountInString(*in.Text); n > pollyMaxTotal {
			return nil, fault.Permanent(fmt.Errorf("synth: polly: %w: %d characters with SSML, limit %d", ErrTooLong, n, pollyMaxTotal))
		}
	}
	out, err := p.client.SynthesizeSpeech(ctx, in)
	if err != nil {
		return nil, classifyPolly(ctx, err)
	}
	defer out.AudioStream.Close()
	audio, err := readAnswer("polly", out.AudioStream, req, MaxAudioBytes(req, p.Limits().Format))
	if errors.Is(err, ErrBadAudio) {
		return nil, err
	}
	if err != nil {
		return nil, classifyPolly(ctx, err)
	}
	if ct := aws.ToString(out.ContentType); ct != "audio/mpeg" {
		return nil, fault.Retry(fmt.Errorf("synth: polly: %w: Content-Type %q", ErrBadAudio, ct), 0)
	}
	return audio, nil
}

// pollyAuthCodes are the error codes AWS gives for credentials it refuses.
var pollyAuthCodes = []string{
	"UnrecognizedClientException", "InvalidSignatureException", "AccessDeniedException", "AccessDenied",
	"ExpiredTokenException", "MissingAuthenticationTokenException", "InvalidClientTokenId",
	"SignatureDoesNotMatch", "IncompleteSignature", "NotAuthorized",
}

// classifyPolly turns an SDK error into a classified error.
func classifyPolly(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("synth: polly: %w", ctx.Err())
	}
	status, header := 0, http.Header(nil)
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil {
			header = re.Response.Header
		}
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		if strings.Contains(err.Error(), "retrieve credentials") {
			return fault.Permanent(fmt.Errorf("synth: polly: %w: %w", ErrAuth, err))
		}
		return classifyTransport("polly", err)
	}
	code := api.ErrorCode()
	detail := fmt.Sprintf("%s (HTTP %d): %s", code, status, api.ErrorMessage())
	// By code, not by type: the SDK decodes only the errors the operation
	// declares, and throttling reaches callers as a generic API error.
	switch {
	case slices.Contains(pollyAuthCodes, code) || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fault.Permanent(fmt.Errorf("synth: polly: %w: %s", ErrAuth, detail))
	case code == "TextLengthExceededException":
		return fault.Permanent(fmt.Errorf("synth: polly: %w: %s", ErrTooLong, detail))
	case slices.Contains([]string{"ThrottlingException", "ServiceQuotaExceededException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}, code) || status == http.StatusTooManyRequests:
		return fault.Retry(fmt.Errorf("synth: polly: %w: %s", ErrRateLimited, detail), RetryAfter(header))
	case api.ErrorFault() == smithy.FaultServer || status >= 500 || status == http.StatusRequestTimeout:
		return fault.Retry(fmt.Errorf("synth: polly: %w: %s", ErrUnavailable, detail), RetryAfter(header))
	}
	return fault.Permanent(fmt.Errorf("synth: polly: %w: %s", ErrRejected, detail))
}
