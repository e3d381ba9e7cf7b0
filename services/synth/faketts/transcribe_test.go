package faketts_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

const story = "The council approved the budget on Tuesday. Residents will pay lower fees next year, the mayor said. Forty-two schools get new roofs before the winter."

// speak asks the fake to say text and returns the audio.
func speak(t *testing.T, s *faketts.Server, text string) []byte {
	t.Helper()
	resp, audio, err := post(t, context.Background(), s, key, speech(text))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("speech: %v %v", resp, err)
	}
	return audio
}

func client(s *faketts.Server) *openai.Client {
	c := openai.DefaultConfig(key)
	c.BaseURL = s.URL()
	return openai.NewClientWithConfig(c)
}

func transcribe(t *testing.T, s *faketts.Server, audio []byte, req openai.AudioRequest) (openai.AudioResponse, error) {
	t.Helper()
	req.Reader, req.FilePath = bytes.NewReader(audio), "chunk.mp3"
	if req.Model == "" {
		req.Model = openai.Whisper1
	}
	return client(s).CreateTranscription(context.Background(), req)
}

// TestTranscriptionHearsWhatWasSaid: the transcript of the fake's speech is
// the text as a recognizer writes it (digits for number words), with word
// times that run forwards inside the audio, and it matches the text once
// both are normalized.
func TestTranscriptionHearsWhatWasSaid(t *testing.T) {
	s := start(t, faketts.Config{TranscribeLatency: -1})
	audio := speak(t, s, story)
	got, err := transcribe(t, s, audio, openai.AudioRequest{Format: openai.AudioResponseFormatVerboseJSON,
		TimestampGranularities: []openai.TranscriptionTimestampGranularity{openai.TranscriptionTimestampGranularityWord, openai.TranscriptionTimestampGranularitySegment}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Text, "42 schools") {
		t.Errorf("transcript %q does not write forty-two in digits", got.Text)
	}
	if r := align.Align(align.Words(story), align.Words(got.Text)); r.WER > 0.1 {
		t.Errorf("clean speech heard with WER %.2f: %q", r.WER, got.Text)
	}
	if len(got.Words) != len(strings.Fields(got.Text)) || len(got.Segments) != 3 {
		t.Fatalf("%d words and %d segments for %q", len(got.Words), len(got.Segments), got.Text)
	}
	last := 0.0
	for _, w := range got.Words {
		if w.Start < last || w.End <= w.Start || w.End > got.Duration {
			t.Errorf("word %q at %.3f-%.3f after %.3f in %.3f s", w.Word, w.Start, w.End, last, got.Duration)
		}
		last = w.End
	}
	if got.Duration < 5 || got.Duration > 15 {
		t.Errorf("duration %.2f s for %d characters", got.Duration, len(story))
	}
	log := s.Log()
	if e := log[len(log)-1]; e.Path != "/v1/audio/transcriptions" || e.N != 1 || e.Model != "whisper-1" || e.Seconds != got.Duration || e.Status != 200 {
		t.Errorf("log entry %+v", e)
	}
}

// TestSpeechFaultsChangeWhatIsSaid: each fault of what is said is heard,
// and the alignment names it.
func TestSpeechFaultsChangeWhatIsSaid(t *testing.T) {
	s := start(t, faketts.Config{TranscribeLatency: -1, Script: map[int]faketts.Fault{
		1: faketts.DropSentence, 2: faketts.RepeatPhrase, 3: faketts.WrongNumber, 4: faketts.StopEarly}})
	for _, tc := range []struct {
		fault faketts.Fault
		want  func(align.Result) bool
	}{
		{faketts.DropSentence, func(r align.Result) bool { return r.Longest(align.Omitted) >= 8 }},
		{faketts.RepeatPhrase, func(r align.Result) bool { return r.Longest(align.Inserted) >= 5 }},
		{faketts.WrongNumber, func(r align.Result) bool { return r.Longest(align.Substituted) >= 1 && r.Errors <= 3 }},
		{faketts.StopEarly, func(r align.Result) bool { return r.Longest(align.Omitted) >= 8 }},
	} {
		got, err := transcribe(t, s, speak(t, s, story), openai.AudioRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if r := align.Align(align.Words(story), align.Words(got.Text)); !tc.want(r) {
			t.Errorf("%s: heard %q: spans %+v", tc.fault, got.Text, r.Spans)
		}
	}
}

// TestTranscriptionErrorsAsOpenAI: bad requests, unknown audio and
// scripted failures answer as OpenAI's API does.
func TestTranscriptionErrorsAsOpenAI(t *testing.T) {
	s := start(t, faketts.Config{TranscribeLatency: -1, TranscribeScript: map[int]faketts.Fault{1: faketts.RateLimit, 2: faketts.Fail500}})
	audio := speak(t, s, "Hello there.")
	for _, tc := range []struct {
		name   string
		audio  []byte
		req    openai.AudioRequest
		status int
		param  string
	}{
		{"rate limited", audio, openai.AudioRequest{}, 429, ""},
		{"server error", audio, openai.AudioRequest{}, 500, ""},
		{"unknown model", audio, openai.AudioRequest{Model: "whisper-9"}, 404, ""},
		{"no timestamps from gpt-4o", audio, openai.AudioRequest{Model: openai.GPT4oMiniTranscribe, Format: openai.AudioResponseFormatVerboseJSON}, 400, "response_format"},
		{"not audio", []byte("<html>not audio</html>"), openai.AudioRequest{}, 400, "file"},
	} {
		_, err := transcribe(t, s, tc.audio, tc.req)
		var apiErr *openai.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != tc.status || (tc.param != "" && (apiErr.Param == nil || *apiErr.Param != tc.param)) {
			t.Errorf("%s: %v, want HTTP %d about %q", tc.name, err, tc.status, tc.param)
		}
	}
	// Audio the fake did not make is heard as silence.
	other := speak(t, start(t, faketts.Config{}), "Someone else said this.")
	if got, err := transcribe(t, s, other, openai.AudioRequest{}); err != nil || got.Text != "" {
		t.Errorf("unknown audio heard as %q, %v", got.Text, err)
	}
}
