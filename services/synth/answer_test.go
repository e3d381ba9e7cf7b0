package synth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

// flood is a speech service gone wrong: it answers every request 200 with
// an endless stream of sync-dense junk as audio/mpeg, the way OpenAI and
// Polly send audio, and counts what it managed to send.
type flood struct {
	sent atomic.Int64
	url  string
}

func startFlood(t *testing.T) *flood {
	t.Helper()
	f := &flood{}
	junk := []byte(strings.Repeat("\xff\xf3", 16<<10))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		w.Header().Set("x-amzn-RequestCharacters", "200")
		for range 2048 { // 64 MB, the old fixed cap
			n, err := w.Write(junk)
			f.sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// TestProvidersRefuseAnswersTooLongForTheText: an answer longer than the
// text could take to say is refused as bad audio (retried) once its cap is
// passed, without reading the rest.
func TestProvidersRefuseAnswersTooLongForTheText(t *testing.T) {
	req := synth.Request{Text: strings.Repeat("The council met on Tuesday. ", 7), Language: "en"} // 196 characters
	for _, tc := range []struct {
		name string
		new  func(url string) (synth.Provider, error)
	}{
		{"openai", func(url string) (synth.Provider, error) {
			return synth.NewOpenAI(synth.OpenAIConfig{APIKey: "sk-test", BaseURL: url + "/v1"})
		}},
		{"polly", func(url string) (synth.Provider, error) {
			return synth.NewPolly(t.Context(), synth.PollyConfig{Region: "us-east-1", Endpoint: url, AccessKeyID: awsKey, SecretAccessKey: awsSecret})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startFlood(t)
			p, err := tc.new(f.url)
			if err != nil {
				t.Fatal(err)
			}
			limit := synth.MaxAudioBytes(req, p.Limits().Format)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			audio, err := p.Synthesize(ctx, req)
			if !errors.Is(err, synth.ErrBadAudio) || fault.IsPermanent(err) || !strings.Contains(err.Error(), "196 characters") {
				t.Fatalf("%d bytes, err %v; want a retryable bad-audio error naming the text's length", len(audio), err)
			}
			// The provider stops at its cap: what the service managed to
			// send beyond it is what the connection's buffers held.
			if sent := f.sent.Load(); sent > limit+8<<20 {
				t.Errorf("the service sent %d bytes before the provider gave up; its cap is %d", sent, limit)
			}
		})
	}
}

// TestAnswerCapLeavesRoomForSlowSpeech: the slowest speech the local
// engine makes, a real text at a quarter of its speed, fits the cap.
func TestAnswerCapLeavesRoomForSlowSpeech(t *testing.T) {
	audiotest.RequireTool(t, "espeak-ng", "espeak-ng")
	audiotest.RequireTool(t, "lame", "lame")
	p, err := synth.NewLocal(t.Context(), synth.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	req := synth.Request{Text: "The council approved the budget on Tuesday, after a debate that lasted until midnight.", Language: "en", Speed: 0.25}
	audio, err := p.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if limit := synth.MaxAudioBytes(req, p.Limits().Format); int64(len(audio)) > limit/2 {
		t.Errorf("%d bytes of speech, more than half the cap of %d", len(audio), limit)
	}
}
