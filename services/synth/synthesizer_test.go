package synth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/storage"
)

func newSynth(t testing.TB, p synth.Provider, cache synth.Cache, cfg synth.Config) *synth.Synthesizer {
	t.Helper()
	s, err := synth.New(p, cache, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCacheHitMakesNoCall(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), synth.NewMemoryCache(), synth.Config{})
	req := synth.Request{Text: "The mayor resigned on Friday.", Language: "en"}
	first, err := s.Synthesize(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.Billed != 29 {
		t.Errorf("first: cached %v, billed %d; want a billed call of 29 characters", first.Cached, first.Billed)
	}
	// The same chunk with the defaults spelled out is the same audio.
	again, err := s.Synthesize(t.Context(), synth.Request{Text: req.Text, Language: "en", Voice: "alloy", Model: "tts-1", Speed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Billed != 0 || again.Key != first.Key || !bytes.Equal(again.Audio, first.Audio) {
		t.Errorf("again: cached %v, billed %d, same key %v, same audio %v", again.Cached, again.Billed, again.Key == first.Key, bytes.Equal(again.Audio, first.Audio))
	}
	if n := len(fake.Log()); n != 1 {
		t.Errorf("fake saw %d requests, want 1", n)
	}
	if st := s.Stats(); st.Calls != 1 || st.CacheHits != 1 || st.Billed != 29 {
		t.Errorf("stats %+v", st)
	}
}

func TestKeyChangesWithWhatIsHeard(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	o := newOpenAI(t, fake, synth.OpenAIConfig{})
	key := func(lex string, req synth.Request) string {
		t.Helper()
		s := newSynth(t, o, nil, synth.Config{LexiconVersion: lex})
		k, _, err := s.Key(req)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := synth.Request{Text: "Kyiv, not Kiev.", Model: "gpt-4o-mini-tts"}
	k0 := key("v1", base)
	for name, k := range map[string]string{
		"text":         key("v1", synth.Request{Text: "Kyiv, not Kiev!", Model: "gpt-4o-mini-tts"}),
		"voice":        key("v1", synth.Request{Text: base.Text, Model: "gpt-4o-mini-tts", Voice: "nova"}),
		"model":        key("v1", synth.Request{Text: base.Text, Model: "tts-1-hd"}),
		"speed":        key("v1", synth.Request{Text: base.Text, Model: "gpt-4o-mini-tts", Speed: 1.1}),
		"instructions": key("v1", synth.Request{Text: base.Text, Model: "gpt-4o-mini-tts", Instructions: "cheerful"}),
		"lexicon":      key("v2", base),
	} {
		if k == k0 {
			t.Errorf("changing the %s keeps the key", name)
		}
	}
	// tts-1 ignores instructions, so they must not split its cache.
	if key("v1", synth.Request{Text: "x"}) != key("v1", synth.Request{Text: "x", Instructions: "cheerful"}) {
		t.Error("instructions change the key of a model that ignores them")
	}
	if p := synth.CacheKey("local", synth.OpenAIFormat, synth.Request{Text: "x"}, ""); p == synth.CacheKey("openai", synth.OpenAIFormat, synth.Request{Text: "x"}, "") {
		t.Error("provider is not in the key")
	}
}

func TestBadAudioIsRetriedAndNotCached(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.Truncate, 2: faketts.Garbage, 3: faketts.Short}})
	cache := synth.NewMemoryCache()
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), cache, synth.Config{})
	req := synth.Request{Text: strings.Repeat("Words to read aloud. ", 10)}
	for _, name := range []string{"truncated", "not mp3", "too short"} {
		res, err := s.Synthesize(t.Context(), req)
		wantClass(t, err, synth.ErrBadAudio, false, 0)
		if res.Billed != 210 || res.Audio != nil {
			t.Errorf("%s: billed %d, audio %d bytes; want 210 billed and no audio", name, res.Billed, len(res.Audio))
		}
	}
	if cache.Len() != 0 {
		t.Fatal("bad audio was cached")
	}
	res, err := s.Synthesize(t.Context(), req)
	if err != nil || res.Cached || cache.Len() != 1 {
		t.Fatalf("fourth try: %v, cached %v, cache size %d", err, res.Cached, cache.Len())
	}
	if st := s.Stats(); st.BadAudio != 3 || st.Billed != 4*210 {
		t.Errorf("stats %+v", st)
	}
}

func TestCustomCheckFailureIsBadAudio(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	check := func(context.Context, []byte, synth.Request, synth.Format) (synth.Verdict, error) {
		return synth.Verdict{}, errors.New("decoder: bad huffman code")
	}
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{Check: check})
	_, err := s.Synthesize(t.Context(), synth.Request{Text: "hello"})
	wantClass(t, err, synth.ErrBadAudio, false, 0)
}

func TestAuthFailureNeedsOperator(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{APIKey: "sk-revoked"}), synth.NewMemoryCache(), synth.Config{})
	_, err := s.Synthesize(t.Context(), synth.Request{Text: "hello"})
	wantClass(t, err, synth.ErrAuth, true, 0)
	if !synth.NeedsOperator(err) {
		t.Error("NeedsOperator = false")
	}
}

func TestRejectedRequestCallsNothing(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	lim, _ := synth.NewTokenBucket(synth.TokenBucketConfig{RPM: 1, Window: time.Hour})
	o := newOpenAI(t, fake, synth.OpenAIConfig{VoiceNames: []string{"alloy", "nova"}})
	s := newSynth(t, o, nil, synth.Config{Limiter: lim})
	for _, req := range []synth.Request{{Text: ""}, {Text: strings.Repeat("a", 4097)}, {Text: "a", Voice: "bob"}} {
		_, err := s.Synthesize(t.Context(), req)
		if !fault.IsPermanent(err) {
			t.Errorf("%.20q: err = %v, want permanent", req.Text, err)
		}
	}
	if n := len(fake.Log()); n != 0 {
		t.Errorf("fake saw %d requests", n)
	}
	// The one request of the hour is still there.
	if _, err := s.Synthesize(t.Context(), synth.Request{Text: "a"}); err != nil {
		t.Error(err)
	}
}

func TestEqualChunksInFlightShareOneCall(t *testing.T) {
	fake := startFake(t, faketts.Config{BaseLatency: time.Second})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{})
	var wg sync.WaitGroup
	results := make([]synth.Result, 3)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = s.Synthesize(t.Context(), synth.Request{Text: "Repeated sentence."}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(fake.Log()); n != 1 {
		t.Errorf("fake saw %d requests, want 1", n)
	}
	billed := 0
	for _, r := range results {
		billed += r.Billed
	}
	if billed != 18 {
		t.Errorf("billed %d characters in all, want 18", billed)
	}
}

// runChunks synthesizes n distinct chunks, par at a time, and returns the
// errors.
func runChunks(t *testing.T, s *synth.Synthesizer, n, par int, text string) []error {
	t.Helper()
	errs := make([]error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			_, errs[i] = s.Synthesize(t.Context(), synth.Request{Text: fmt.Sprintf("%s %d.", text, i)})
		})
	}
	wg.Wait()
	return errs
}

func count429(log []faketts.Entry) (ok, limited int) {
	for _, e := range log {
		switch e.Status {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	return ok, limited
}

func TestTokenBucketKeepsUnderTheProviderLimit(t *testing.T) {
	// The fake allows 6 requests and 600 characters per 500 ms window; the
	// limiter is set a little under both. The fake counts: no 429 may occur.
	window := 500 * time.Millisecond
	fakeCfg := faketts.Config{RPM: 6, CharsPerMinute: 600, RateWindow: window}
	text := strings.Repeat("x", 60)

	t.Run("without limiter the fake refuses some", func(t *testing.T) {
		fake := startFake(t, fakeCfg)
		s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{})
		runChunks(t, s, 24, 8, text)
		if _, limited := count429(fake.Log()); limited == 0 {
			t.Fatal("no 429 without a limiter: the test below could not fail")
		}
	})
	t.Run("with limiter none", func(t *testing.T) {
		fake := startFake(t, fakeCfg)
		lim, err := synth.NewTokenBucket(synth.TokenBucketConfig{RPM: 5, CharsPerMinute: 550, Window: window, Concurrency: 4})
		if err != nil {
			t.Fatal(err)
		}
		s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{Limiter: lim})
		for i, err := range runChunks(t, s, 24, 8, text) {
			if err != nil {
				t.Errorf("chunk %d: %v", i, err)
			}
		}
		ok, limited := count429(fake.Log())
		if ok != 24 || limited != 0 {
			t.Errorf("fake answered %d × 200 and %d × 429; want 24 and 0", ok, limited)
		}
	})
}

func TestTokenBucketConcurrency(t *testing.T) {
	lim, err := synth.NewTokenBucket(synth.TokenBucketConfig{Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := lim.Acquire(t.Context(), 1)
	r2, _ := lim.Acquire(t.Context(), 1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := lim.Acquire(ctx, 1); err == nil {
		t.Fatal("third request got a slot while two were held")
	}
	r1()
	r1() // release is idempotent: a second call must not free another slot
	r3, err := lim.Acquire(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lim.Acquire(ctx, 1); err == nil {
		t.Fatal("a double release freed an extra slot")
	}
	r2()
	r3()
}

func Test429HoldsBackEveryCaller(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.RateLimit}, RetryAfter: 400 * time.Millisecond})
	lim, _ := synth.NewTokenBucket(synth.TokenBucketConfig{})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{Limiter: lim})
	if _, err := s.Synthesize(t.Context(), synth.Request{Text: "one"}); !errors.Is(err, synth.ErrRateLimited) {
		t.Fatalf("err = %v, want rate limited", err)
	}
	errs := runChunks(t, s, 3, 3, "another")
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	log := fake.Log()
	for _, e := range log[1:] {
		if gap := e.Time.Sub(log[0].Time); gap < 400*time.Millisecond {
			t.Errorf("request %d sent %v after the 429, before its Retry-After of 400ms", e.N, gap)
		}
	}
	if s.Stats().Throttled != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestStoreCache(t *testing.T) {
	fs, err := storage.NewFS(t.TempDir(), "http://localhost/media")
	if err != nil {
		t.Fatal(err)
	}
	c := synth.NewStoreCache(fs, "cache/tts/")
	key := synth.CacheKey("openai", synth.OpenAIFormat, synth.Request{Text: "x"}, "")
	if _, err := c.Get(t.Context(), key); !errors.Is(err, synth.ErrNotCached) {
		t.Fatalf("empty cache: %v, want ErrNotCached", err)
	}
	audio := []byte("\xff\xf3\xe4\xc4 pretend frames")
	for range 2 { // a redelivered task puts the same key again
		if err := c.Put(t.Context(), key, audio); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.Get(t.Context(), key)
	if err != nil || !bytes.Equal(got, audio) {
		t.Fatalf("get: %q, %v", got, err)
	}
	objs, err := fs.List(t.Context(), "cache/tts/")
	if err != nil || len(objs) != 1 || objs[0].Meta.ContentType != "audio/mpeg" {
		t.Errorf("stored objects %+v, %v", objs, err)
	}
}

func TestSynthesizerWithLocalEngine(t *testing.T) {
	l := newLocal(t)
	s := newSynth(t, l, synth.NewMemoryCache(), synth.Config{})
	res, err := s.Synthesize(t.Context(), synth.Request{Text: "Local narration works offline.", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Request.Voice != "en-us" || res.Billed != 30 || len(res.Audio) == 0 {
		t.Errorf("result: voice %q, billed %d, %d bytes", res.Request.Voice, res.Billed, len(res.Audio))
	}
	if s.Cost(1_000_000) != 0 {
		t.Error("the local engine costs nothing")
	}
}
