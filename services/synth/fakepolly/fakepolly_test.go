package fakepolly_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/polly"
	"github.com/aws/aws-sdk-go-v2/service/polly/types"
	"github.com/aws/smithy-go"

	"github.com/narrator-project/narrator/services/synth/fakepolly"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

const (
	key    = "AKIAIOSFODNN7EXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// client returns the real SDK client pointed at a fake.
func client(t *testing.T, s *fakepolly.Server, creds aws.CredentialsProvider) *polly.Client {
	t.Helper()
	return polly.New(polly.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  creds,
		Retryer:      aws.NopRetryer{},
	})
}

func start(t *testing.T, cfg fakepolly.Config) *fakepolly.Server {
	t.Helper()
	audiotest.RequireTool(t, "lame", "lame")
	audiotest.RequireTool(t, "espeak-ng", "espeak-ng")
	cfg.AccessKeyID, cfg.SecretAccessKey = key, secret
	return fakepolly.Start(t, cfg)
}

func input(text string, mod func(*polly.SynthesizeSpeechInput)) *polly.SynthesizeSpeechInput {
	in := &polly.SynthesizeSpeechInput{Engine: types.EngineNeural, OutputFormat: types.OutputFormatMp3, VoiceId: types.VoiceIdJoanna, Text: aws.String(text)}
	if mod != nil {
		mod(in)
	}
	return in
}

func TestSynthesizeSpeech(t *testing.T) {
	s := start(t, fakepolly.Config{})
	c := client(t, s, credentials.NewStaticCredentialsProvider(key, secret, "session-token"))
	out, err := c.SynthesizeSpeech(t.Context(), input(`<speak>Hello <break time="300ms"/> world &amp; all.</speak>`, func(in *polly.SynthesizeSpeechInput) {
		in.TextType = types.TextTypeSsml
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer out.AudioStream.Close()
	audio, err := io.ReadAll(out.AudioStream)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.ContentType) != "audio/mpeg" || out.RequestCharacters != int32(len("Hello  world & all.")) {
		t.Errorf("content type %q, request characters %d", aws.ToString(out.ContentType), out.RequestCharacters)
	}
	// Neural voices default to 24 kHz.
	audiotest.RequireFormat(t, audio, 24000, 48)
}

func TestStandardEngineDefaultsTo22050(t *testing.T) {
	s := start(t, fakepolly.Config{})
	out, err := client(t, s, credentials.NewStaticCredentialsProvider(key, secret, "")).SynthesizeSpeech(t.Context(), input("Hello there.", func(in *polly.SynthesizeSpeechInput) {
		in.Engine = types.EngineStandard
	}))
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := io.ReadAll(out.AudioStream)
	out.AudioStream.Close()
	audiotest.RequireFormat(t, audio, 22050, 48)
}

func TestErrors(t *testing.T) {
	s := start(t, fakepolly.Config{Lexicons: []string{"news"}})
	good := credentials.NewStaticCredentialsProvider(key, secret, "")
	for _, tc := range []struct {
		name   string
		creds  aws.CredentialsProvider
		in     *polly.SynthesizeSpeechInput
		code   string
		status int
	}{
		{"unsigned", aws.AnonymousCredentials{}, input("hi", nil), "MissingAuthenticationTokenException", 403},
		{"unknown key", credentials.NewStaticCredentialsProvider("AKIAOTHER", secret, ""), input("hi", nil), "UnrecognizedClientException", 403},
		{"bad signature", credentials.NewStaticCredentialsProvider(key, "wrong", ""), input("hi", nil), "InvalidSignatureException", 403},
		{"invalid ssml", good, input("<speak>unclosed", func(in *polly.SynthesizeSpeechInput) { in.TextType = types.TextTypeSsml }), "InvalidSsmlException", 400},
		{"unsupported tag", good, input("<speak><audio src='x'/></speak>", func(in *polly.SynthesizeSpeechInput) { in.TextType = types.TextTypeSsml }), "InvalidSsmlException", 400},
		{"break too long", good, input(`<speak>a<break time="11s"/>b</speak>`, func(in *polly.SynthesizeSpeechInput) { in.TextType = types.TextTypeSsml }), "InvalidSsmlException", 400},
		{"3,001 characters", good, input(strings.Repeat("a", 3001), nil), "TextLengthExceededException", 400},
		{"unknown voice", good, input("hi", func(in *polly.SynthesizeSpeechInput) { in.VoiceId = "Nobody" }), "ValidationException", 400},
		{"engine", good, input("hi", func(in *polly.SynthesizeSpeechInput) { in.Engine = types.EngineLongForm }), "EngineNotSupportedException", 400},
		{"sample rate", good, input("hi", func(in *polly.SynthesizeSpeechInput) { in.SampleRate = aws.String("11025") }), "InvalidSampleRateException", 400},
		{"lexicon", good, input("hi", func(in *polly.SynthesizeSpeechInput) { in.LexiconNames = []string{"gone"} }), "LexiconNotFoundException", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client(t, s, tc.creds).SynthesizeSpeech(t.Context(), tc.in)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			var re interface{ HTTPStatusCode() int }
			if !errors.As(err, &re) || re.HTTPStatusCode() != tc.status {
				t.Errorf("HTTP status of %v, want %d", err, tc.status)
			}
		})
	}
	if got := s.Log(); len(got) != 11 || got[2].Status != http.StatusForbidden || got[2].ErrorType != "InvalidSignatureException" {
		t.Errorf("log %+v", got)
	}
}

func TestScriptedFaults(t *testing.T) {
	s := start(t, fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Throttle, 2: fakepolly.Failure}})
	c := client(t, s, credentials.NewStaticCredentialsProvider(key, secret, ""))
	for _, want := range []string{"ThrottlingException", "ServiceFailureException"} {
		_, err := c.SynthesizeSpeech(t.Context(), input("hi", nil))
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != want {
			t.Errorf("err = %v, want %s", err, want)
		}
	}
	if _, err := c.SynthesizeSpeech(t.Context(), input("hi", nil)); err != nil {
		t.Errorf("third request: %v", err)
	}
}
