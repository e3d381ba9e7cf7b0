package synth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/fakepolly"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

const (
	awsKey    = "AKIAIOSFODNN7EXAMPLE"
	awsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func startPolly(t *testing.T, cfg fakepolly.Config) *fakepolly.Server {
	t.Helper()
	audiotest.RequireTool(t, "lame", "lame")
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = awsKey, awsSecret
	}
	return fakepolly.Start(t, cfg)
}

func newPolly(t *testing.T, fake *fakepolly.Server, cfg synth.PollyConfig) *synth.Polly {
	t.Helper()
	if cfg.AccessKeyID == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = awsKey, awsSecret
	}
	cfg.Endpoint = fake.URL()
	p, err := synth.NewPolly(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPollyThroughTheSDK(t *testing.T) {
	fake := startPolly(t, fakepolly.Config{Lexicons: []string{"newsroom"}})
	p := newPolly(t, fake, synth.PollyConfig{Lexicons: []string{"newsroom"}})
	req := synth.Request{Text: "Prices rose 5% & wages <fell>.\n\nThe minister said so.", Language: "en", Speed: 1.25}
	audio, err := p.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	audiotest.RequireFormat(t, audio, 24000, 48)
	if err := synth.BasicCheck(audio, req, p.Limits().Format); err != nil {
		t.Error(err)
	}
	log := fake.Log()
	if len(log) != 1 {
		t.Fatalf("fake saw %d requests", len(log))
	}
	e := log[0]
	wantText := `<speak><prosody rate="125%">Prices rose 5% &amp; wages &lt;fell&gt;.<break time="600ms"/>The minister said so.</prosody></speak>`
	if e.Path != "/v1/speech" || e.AccessKeyID != awsKey || e.Engine != "neural" || e.VoiceID != "Joanna" || e.OutputFormat != "mp3" ||
		e.SampleRate != "24000" || e.TextType != "ssml" || e.Text != wantText || len(e.LexiconNames) != 1 || e.LexiconNames[0] != "newsroom" {
		t.Errorf("fake saw %+v", e)
	}
	// Polly bills the text, not the tags: what the Synthesizer counts too.
	if e.Billed != len([]rune("Prices rose 5% & wages <fell>.The minister said so.")) {
		t.Errorf("billed %d", e.Billed)
	}
}

func TestPollyErrorClasses(t *testing.T) {
	text := strings.Repeat("A sentence of the story. ", 8)
	for _, tc := range []struct {
		name       string
		fake       fakepolly.Config
		cfg        synth.PollyConfig
		req        synth.Request
		sentinel   error
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "unknown key", cfg: synth.PollyConfig{AccessKeyID: "AKIAOTHER", SecretAccessKey: awsSecret}, sentinel: synth.ErrAuth, permanent: true},
		{name: "wrong secret", cfg: synth.PollyConfig{AccessKeyID: awsKey, SecretAccessKey: "not-the-secret"}, sentinel: synth.ErrAuth, permanent: true},
		{name: "text length exceeded", fake: fakepolly.Config{MaxBilledChars: 100}, sentinel: synth.ErrTooLong, permanent: true},
		{name: "engine the voice lacks", req: synth.Request{Model: "long-form", Voice: "Joanna"}, sentinel: synth.ErrRejected, permanent: true},
		{name: "lexicon not found", cfg: synth.PollyConfig{Lexicons: []string{"missing"}}, sentinel: synth.ErrRejected, permanent: true},
		{name: "throttled", fake: fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Throttle}}, sentinel: synth.ErrRateLimited},
		{name: "service failure", fake: fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Failure}}, sentinel: synth.ErrUnavailable},
		{name: "service unavailable", fake: fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Unavailable}}, sentinel: synth.ErrUnavailable},
		{name: "client timeout", fake: fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Hang}}, cfg: synth.PollyConfig{Timeout: 200 * time.Millisecond}, sentinel: synth.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := startPolly(t, tc.fake)
			p := newPolly(t, fake, tc.cfg)
			req := tc.req
			req.Text = text
			_, err := p.Synthesize(t.Context(), req)
			wantClass(t, err, tc.sentinel, tc.permanent, tc.retryAfter)
			if n := len(fake.Log()); n != 1 {
				t.Errorf("fake saw %d requests, want 1 (the SDK must not retry on its own)", n)
			}
		})
	}
}

func TestPollyTPSThrottles(t *testing.T) {
	fake := startPolly(t, fakepolly.Config{TPS: 1})
	p := newPolly(t, fake, synth.PollyConfig{})
	var throttled int
	for range 3 {
		_, err := p.Synthesize(t.Context(), synth.Request{Text: "Quick one."})
		if errors.Is(err, synth.ErrRateLimited) && !fault.IsPermanent(err) {
			throttled++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled == 0 {
		t.Error("three requests within a second at 1 TPS were all admitted")
	}
}

func TestPollyHangEndsWithTheDeadline(t *testing.T) {
	fake := startPolly(t, fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Hang}})
	p := newPolly(t, fake, synth.PollyConfig{})
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := p.Synthesize(ctx, synth.Request{Text: "hello"})
	if !errors.Is(err, context.DeadlineExceeded) || fault.IsPermanent(err) {
		t.Errorf("err = %v, want a temporary deadline error", err)
	}
}

func TestPollyTruncatedAudioFailsTheCheck(t *testing.T) {
	fake := startPolly(t, fakepolly.Config{Script: map[int]fakepolly.Fault{1: fakepolly.Truncate}})
	p := newPolly(t, fake, synth.PollyConfig{})
	s := newSynth(t, p, synth.NewMemoryCache(), synth.Config{})
	req := synth.Request{Text: strings.Repeat("Words to read aloud. ", 10)}
	_, err := s.Synthesize(t.Context(), req)
	wantClass(t, err, synth.ErrBadAudio, false, 0)
	// The retry succeeds and is cached; the third call is free.
	for i, wantCached := range []bool{false, true} {
		res, err := s.Synthesize(t.Context(), req)
		if err != nil || res.Cached != wantCached {
			t.Fatalf("call %d: cached %v, %v", i+2, res.Cached, err)
		}
	}
	if n := len(fake.Log()); n != 2 {
		t.Errorf("fake saw %d requests, want 2", n)
	}
}

func TestPollyResolve(t *testing.T) {
	fake := startPolly(t, fakepolly.Config{})
	p := newPolly(t, fake, synth.PollyConfig{Voices: map[string]string{"en": "Danielle"}, Engine: "long-form"})
	got, err := p.Resolve(synth.Request{Text: "x", Language: "en", Instructions: "calm"})
	if err != nil || got.Voice != "Danielle" || got.Model != "long-form" || got.Instructions != "" || got.Speed != 1 {
		t.Errorf("resolved %+v, %v", got, err)
	}
	for _, req := range []synth.Request{
		{Text: "x", Language: "uk"},       // Polly has no Ukrainian voice
		{Text: strings.Repeat("a", 3001)}, // over 3,000 billed characters
		{Text: "x", Model: "turbo"},       // no such engine
		{Text: "x", Speed: 0.1},           // below every provider's range
	} {
		if _, err := p.Resolve(req); !fault.IsPermanent(err) {
			t.Errorf("%+.30v: err = %v, want permanent", req, err)
		}
	}
	if n := len(fake.Log()); n != 0 {
		t.Errorf("Resolve made %d requests", n)
	}
	if l := p.Limits(); l.Format.SampleRate != 24000 || l.Format.MPEG != 2 || l.Format.Channels != 1 || l.MaxChars != 3000 || l.PricePerMillion != 100 {
		t.Errorf("limits %+v", l)
	}
}
