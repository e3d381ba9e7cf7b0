package synth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

const article = "The council approved the budget on Tuesday, after a long debate. Residents will pay lower fees next year, the mayor said. Forty-two schools get new roofs before the winter. The opposition promised to fight the plan in court."

func newListener(t *testing.T, fake *faketts.Server, cfg synth.ListenConfig) *synth.OpenAIListener {
	t.Helper()
	cfg.APIKey, cfg.BaseURL = apiKey, fake.URL()
	l, err := synth.NewOpenAIListener(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// count returns the fake's requests to path.
func count(fake *faketts.Server, path string) int {
	n := 0
	for _, e := range fake.Log() {
		if e.Path == path {
			n++
		}
	}
	return n
}

func findings(v synth.Verdict) string {
	var s []string
	for _, f := range v.Findings {
		s = append(s, f.Code+": "+f.Message)
	}
	return strings.Join(s, " | ")
}

// TestListeningCatchesWhatWasNotSaid: each way of not saying the text is
// heard; under check-and-retry the chunk is synthesized again and passes,
// under check it is kept with a finding naming the spans; clean speech
// passes with word times for every word of the text.
func TestListeningCatchesWhatWasNotSaid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		script   map[int]faketts.Fault
		policy   synth.ListenPolicy
		requests int
		finding  string // in the kept chunk's findings; empty: none
	}{
		{"clean", nil, synth.ListenRetry, 1, ""},
		{"a sentence dropped, then said", map[int]faketts.Fault{1: faketts.DropSentence}, synth.ListenRetry, 2, ""},
		{"a phrase repeated, then said", map[int]faketts.Fault{1: faketts.RepeatPhrase}, synth.ListenRetry, 2, ""},
		{"a number misread, then said", map[int]faketts.Fault{1: faketts.WrongNumber}, synth.ListenRetry, 2, ""},
		{"stopped early, then said", map[int]faketts.Fault{1: faketts.StopEarly}, synth.ListenRetry, 2, ""},
		{"a sentence dropped every time", map[int]faketts.Fault{1: faketts.DropSentence, 2: faketts.DropSentence, 3: faketts.DropSentence}, synth.ListenRetry, 2,
			`omitted "forty two schools get new roofs before the winter"`},
		{"checked, not retried", map[int]faketts.Fault{1: faketts.RepeatPhrase}, synth.ListenCheck, 1, `added "mayor said forty two schools get"`},
		{"off", map[int]faketts.Fault{1: faketts.DropSentence}, synth.ListenOff, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, faketts.Config{Script: tc.script, TranscribeLatency: -1})
			s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), synth.NewMemoryCache(), synth.Config{
				Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{})}})
			res, err := s.Synthesize(t.Context(), synth.Request{Text: article, Listen: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			got := findings(res.Verdict)
			if res.Requests != tc.requests || (tc.finding == "") != (got == "") || !strings.Contains(got, tc.finding) {
				t.Errorf("%d requests, findings %q; want %d, %q", res.Requests, got, tc.requests, tc.finding)
			}
			listens := count(fake, "/v1/audio/transcriptions")
			if tc.policy == synth.ListenOff {
				if listens != 0 || res.Verdict.Heard != nil {
					t.Errorf("off, yet %d transcriptions", listens)
				}
				return
			}
			h := res.Verdict.Heard
			if listens != tc.requests || h == nil || !h.Checked || res.HeardSeconds < 10 {
				t.Fatalf("%d transcriptions for %d answers, record %+v, %.1f s heard", listens, tc.requests, h, res.HeardSeconds)
			}
			if tc.finding == "" && len(h.Words) != 39 {
				t.Errorf("%d timed words, want the text's 39", len(h.Words))
			}
			last := 0.0
			for _, w := range h.Words {
				if w.From < last || w.To < w.From {
					t.Errorf("word %q at %.2f-%.2f after %.2f", article[w.Start:w.End], w.From, w.To, last)
				}
				last = w.From
			}
		})
	}
}

// TestRecognitionFailureNeverFailsTheChunk: a 429 is retried after its
// Retry-After; a recognizer that keeps failing leaves the chunk unchecked,
// with a finding, and never asks the speech service again.
func TestRecognitionFailureNeverFailsTheChunk(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  map[int]faketts.Fault
		checked bool
	}{
		{"429, then heard", map[int]faketts.Fault{1: faketts.RateLimit}, true},
		{"failing", map[int]faketts.Fault{1: faketts.Fail500, 2: faketts.Fail503, 3: faketts.Fail500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, faketts.Config{TranscribeScript: tc.script, TranscribeLatency: -1, RetryAfter: 20 * time.Millisecond})
			s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), synth.NewMemoryCache(), synth.Config{
				Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{})}})
			res, err := s.Synthesize(t.Context(), synth.Request{Text: article})
			if err != nil {
				t.Fatalf("recognition failed the chunk: %v", err)
			}
			h := res.Verdict.Heard
			if res.Requests != 1 || h == nil || h.Checked != tc.checked {
				t.Fatalf("%d requests, record %+v", res.Requests, h)
			}
			if got := findings(res.Verdict); tc.checked != (got == "") || (!tc.checked && !strings.Contains(got, "unchecked: speech recognition failed")) {
				t.Errorf("findings %q", got)
			}
			if st := s.Stats(); st.Unchecked != map[bool]int64{true: 0, false: 1}[tc.checked] {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestCachedChunksKeepWhatWasHeard: a cache hit reuses the listening
// record kept with the audio instead of paying to listen again; under
// check-and-retry, audio kept although it failed is synthesized again.
func TestCachedChunksKeepWhatWasHeard(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.DropSentence}, TranscribeLatency: -1})
	cache := synth.NewMemoryCache()
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), cache, synth.Config{
		Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{})}})
	first, err := s.Synthesize(t.Context(), synth.Request{Text: article, Listen: synth.ListenCheck})
	if err != nil || first.Verdict.Heard == nil || first.Verdict.Heard.Passed {
		t.Fatalf("%v, %+v", err, first.Verdict.Heard)
	}
	again, err := s.Synthesize(t.Context(), synth.Request{Text: article, Listen: synth.ListenCheck})
	if err != nil || !again.Cached || findings(again.Verdict) != findings(first.Verdict) || count(fake, "/v1/audio/transcriptions") != 1 {
		t.Fatalf("cache hit: %v, cached %v, findings %q, %d transcriptions", err, again.Cached, findings(again.Verdict), count(fake, "/v1/audio/transcriptions"))
	}
	fixed, err := s.Synthesize(t.Context(), synth.Request{Text: article, Listen: synth.ListenRetry})
	if err != nil || fixed.Cached || !fixed.Verdict.Heard.Passed || count(fake, "/v1/audio/speech") != 2 {
		t.Fatalf("retry policy: %v, cached %v, %+v, %d speech requests", err, fixed.Cached, fixed.Verdict.Heard, count(fake, "/v1/audio/speech"))
	}
}

// TestShortSentencesLeftOutOrRepeatedFail: a sentence of two words is
// below the run that fails a chunk, yet leaving it out or saying it twice
// fails the check; a word misheard inside it does not.
func TestShortSentencesLeftOutOrRepeatedFail(t *testing.T) {
	text := "The council approved the budget on Tuesday. He declined. The opposition promised to fight the plan in court."
	fake := startFake(t, faketts.Config{TranscribeLatency: -1})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{
		Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{}), Policy: synth.ListenCheck}})
	for _, tc := range []struct {
		said   string
		passed bool
	}{
		{"The council approved the budget on Tuesday. The opposition promised to fight the plan in court.", false},
		{"The council approved the budget on Tuesday. He declined. He declined. The opposition promised to fight the plan in court.", false},
		{"The council approved the budget on Tuesday. He reclined. The opposition promised to fight the plan in court.", true},
	} {
		// The fake hears what it said: have it say tc.said for the text.
		audio, err := newOpenAI(t, fake, synth.OpenAIConfig{}).Synthesize(t.Context(), synth.Request{Text: tc.said})
		if err != nil {
			t.Fatal(err)
		}
		h := s.Listen(t.Context(), audio, synth.Request{Text: text})
		if !h.Checked || h.Passed != tc.passed {
			t.Errorf("%q: passed %v (%+v), want %v", tc.said, h.Passed, h.Spans, tc.passed)
		}
	}
}

// TestLocalEngineIsNotListenedTo: espeak-ng reads exactly what it is
// given, so its chunks are not sent for recognition.
func TestLocalEngineIsNotListenedTo(t *testing.T) {
	fake := startFake(t, faketts.Config{TranscribeLatency: -1})
	local, err := synth.NewLocal(t.Context(), synth.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSynth(t, local, nil, synth.Config{Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{}), Policy: synth.ListenRetry}})
	res, err := s.Synthesize(t.Context(), synth.Request{Text: "The council approved the budget.", Listen: synth.ListenRetry})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(fake, "/v1/audio/transcriptions"); n != 0 || res.Verdict.Heard != nil {
		t.Errorf("%d transcriptions of the local engine's audio, record %+v", n, res.Verdict.Heard)
	}
}
