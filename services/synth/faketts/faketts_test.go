package faketts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/internal/audiotest"
)

const key = "sk-test-0123456789abcdef"

// start runs a fake with no latency unless the test sets one.
func start(t *testing.T, cfg faketts.Config) *faketts.Server {
	t.Helper()
	audiotest.RequireTool(t, "lame", "lame")
	if cfg.LatencyPerChar == 0 {
		cfg.LatencyPerChar = -1
	}
	if cfg.APIKey == "" {
		cfg.APIKey = key
	}
	return faketts.Start(t, cfg)
}

// post sends a speech request and returns the response with its body read.
func post(t *testing.T, ctx context.Context, s *faketts.Server, auth string, body any) (*http.Response, []byte, error) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/audio/speech", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp, data, err
}

func speech(input string) map[string]any {
	return map[string]any{"model": "tts-1", "input": input, "voice": "alloy"}
}

// openAIError decodes OpenAI's error JSON, failing unless it has exactly
// the fields message, type, param and code.
func openAIError(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var e map[string]map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	inner, ok := e["error"]
	if !ok || len(e) != 1 {
		t.Fatalf("error body %q: want one key \"error\"", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := inner[k]; !ok {
			t.Errorf("error body %q lacks %q", body, k)
		}
	}
	if len(inner) != 4 {
		t.Errorf("error body %q: want exactly message, type, param, code", body)
	}
	return inner
}

func TestSpeechServesOpenAIFormatAudio(t *testing.T) {
	s := start(t, faketts.Config{Tones: true})
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 10) // 450 characters
	resp, audio, err := post(t, t.Context(), s, key, map[string]any{
		"model": "gpt-4o-mini-tts", "input": text, "voice": "coral", "response_format": "mp3", "speed": 1.0, "instructions": "calm, measured news reader",
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("status %s, content type %q: %s", resp.Status, resp.Header.Get("Content-Type"), audio)
	}
	st := audiotest.RequireOpenAIFormat(t, audio)
	// Tones: 450 characters at 15 a second is 30 s, to the frame (24 ms).
	if d := st.Duration - 30*time.Second; d < -24*time.Millisecond || d > 24*time.Millisecond {
		t.Errorf("duration %v, want 30s", st.Duration)
	}
	log := s.Log()
	if len(log) != 1 {
		t.Fatalf("log has %d entries, want 1", len(log))
	}
	e := log[0]
	want := faketts.Entry{N: 1, Method: "POST", Path: "/v1/audio/speech", Auth: "Bearer " + key, ContentType: "application/json",
		Model: "gpt-4o-mini-tts", Input: text, Chars: 450, Voice: "coral", ResponseFormat: "mp3", Speed: 1, Instructions: "calm, measured news reader",
		Status: 200, Bytes: len(audio)}
	e.Time, e.Elapsed = time.Time{}, 0
	if e != want {
		t.Errorf("log entry\n got %+v\nwant %+v", e, want)
	}
}

func TestSpeedShortensAudio(t *testing.T) {
	for _, tones := range []bool{false, true} {
		s := start(t, faketts.Config{Tones: tones})
		durationAt := func(speed float64) time.Duration {
			b := speech(strings.Repeat("The council met again on Thursday. ", 10))
			b["speed"] = speed
			_, audio, err := post(t, t.Context(), s, key, b)
			if err != nil {
				t.Fatal(err)
			}
			return audiotest.Probe(t, audio).Duration
		}
		// 350 characters at 15 a second: about 23 s, and twice as fast
		// about half that.
		normal, fast := durationAt(1), durationAt(2)
		if normal < 18*time.Second || normal > 30*time.Second || math.Abs(fast.Seconds()/normal.Seconds()-0.5) > 0.08 {
			t.Errorf("tones %v: %v at speed 1, %v at speed 2", tones, normal, fast)
		}
	}
}

func TestAudioDiffersByTextAndJoinsFrameExactly(t *testing.T) {
	s := start(t, faketts.Config{})
	get := func(text string) []byte {
		t.Helper()
		resp, audio, err := post(t, t.Context(), s, key, speech(text))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		return audio
	}
	a1, a2, b := get("First chunk of the story, long enough for a few words."), get("First chunk of the story, long enough for a few words."), get("Second chunk of the story, long enough for a few words.")
	if !bytes.Equal(a1, a2) {
		t.Error("the same request gave different audio")
	}
	if bytes.Equal(a1, b) {
		t.Error("different texts gave the same audio")
	}
	// Each response starts with an empty bit reservoir, so the joined
	// stream decodes to exactly the sum of its parts.
	_, na := audiotest.Decode(t, a1)
	_, nb := audiotest.Decode(t, b)
	_, nj := audiotest.Decode(t, append(append([]byte{}, a1...), b...))
	if nj != na+nb {
		t.Errorf("joined audio decodes to %d samples, want %d + %d", nj, na, nb)
	}
}

func TestAuth(t *testing.T) {
	s := start(t, faketts.Config{})
	for _, tc := range []struct {
		name, auth string
		wantCode   any
	}{
		{"missing", "", nil},
		{"wrong", "sk-wrong-key-123456", "invalid_api_key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := post(t, t.Context(), s, tc.auth, speech("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %s, want 401", resp.Status)
			}
			e := openAIError(t, body)
			if e["type"] != "invalid_request_error" || e["code"] != tc.wantCode {
				t.Errorf("error %v", e)
			}
			if strings.Contains(string(body), "sk-wrong-key-123456") {
				t.Error("the error echoes the whole key")
			}
		})
	}
}

func TestRequestValidation(t *testing.T) {
	s := start(t, faketts.Config{})
	for _, tc := range []struct {
		name   string
		body   any
		status int
		param  any
	}{
		{"4096 characters is fine", speech(strings.Repeat("ї", 4096)), 200, nil},
		{"4097 characters", speech(strings.Repeat("ї", 4097)), 400, nil},
		{"empty input", speech(""), 400, "input"},
		{"no input", map[string]any{"model": "tts-1", "voice": "alloy"}, 400, "input"},
		{"unknown model", map[string]any{"model": "tts-9", "input": "hi", "voice": "alloy"}, 404, nil},
		{"unknown voice", map[string]any{"model": "tts-1", "input": "hi", "voice": "bob"}, 400, "voice"},
		{"speed", map[string]any{"model": "tts-1", "input": "hi", "voice": "alloy", "speed": 4.5}, 400, "speed"},
		{"unknown field", map[string]any{"model": "tts-1", "input": "hi", "voice": "alloy", "pitch": 2}, 400, nil},
		{"format", map[string]any{"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "opus"}, 400, "response_format"},
		{"stream audio", map[string]any{"model": "gpt-4o-mini-tts", "input": "hi", "voice": "alloy", "stream_format": "audio"}, 200, nil},
		{"stream sse", map[string]any{"model": "gpt-4o-mini-tts", "input": "hi", "voice": "alloy", "stream_format": "sse"}, 400, "stream_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := post(t, t.Context(), s, key, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 200 {
				return
			}
			if e := openAIError(t, body); e["param"] != tc.param {
				t.Errorf("param %v, want %v", e["param"], tc.param)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	// Two requests an hour: the third is refused, and Retry-After says
	// when a token is back (half an hour).
	s := start(t, faketts.Config{RPM: 2, RateWindow: time.Hour})
	for i := range 2 {
		resp, _, err := post(t, t.Context(), s, key, speech("hello"))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i+1, resp, err)
		}
		if got := resp.Header.Get("x-ratelimit-remaining-requests"); got != strconv.Itoa(1-i) {
			t.Errorf("request %d: remaining %q, want %d", i+1, got, 1-i)
		}
	}
	resp, body, err := post(t, t.Context(), s, key, speech("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %s, want 429", resp.Status)
	}
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if ra < 1790 || ra > 1800 {
		t.Errorf("Retry-After %q, want about 1800", resp.Header.Get("Retry-After"))
	}
	if resp.Header.Get("x-ratelimit-limit-requests") != "2" || resp.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Errorf("x-ratelimit headers %v", resp.Header)
	}
	if _, err := time.ParseDuration(resp.Header.Get("x-ratelimit-reset-requests")); err != nil {
		t.Errorf("x-ratelimit-reset-requests: %v", err)
	}
	if e := openAIError(t, body); e["code"] != "rate_limit_exceeded" {
		t.Errorf("error %v", e)
	}
}

func TestCharsPerMinute(t *testing.T) {
	s := start(t, faketts.Config{CharsPerMinute: 1000, RateWindow: time.Hour})
	resp, _, _ := post(t, t.Context(), s, key, speech(strings.Repeat("a", 900)))
	if resp.StatusCode != 200 {
		t.Fatalf("status %s", resp.Status)
	}
	resp, body, _ := post(t, t.Context(), s, key, speech(strings.Repeat("a", 200)))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %s, Retry-After %q", resp.Status, resp.Header.Get("Retry-After"))
	}
	if e := openAIError(t, body); e["type"] != "tokens" {
		t.Errorf("error %v, want type tokens", e)
	}
}

func TestScriptedFaults(t *testing.T) {
	s := start(t, faketts.Config{Script: map[int]faketts.Fault{
		1: faketts.Fail500, 2: faketts.Fail503, 3: faketts.Fail502, 4: faketts.RateLimit,
		5: faketts.Truncate, 6: faketts.Garbage, 7: faketts.Short, 8: faketts.Reset, 9: faketts.Hang,
	}, RetryAfter: 7 * time.Second})
	text := strings.Repeat("A sentence of news. ", 10)
	check := func(wantStatus int, f func(resp *http.Response, body []byte)) {
		t.Helper()
		resp, body, err := post(t, t.Context(), s, key, speech(text))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("status %s, want %d", resp.Status, wantStatus)
		}
		f(resp, body)
	}
	check(500, func(_ *http.Response, b []byte) { openAIError(t, b) })
	check(503, func(_ *http.Response, b []byte) { openAIError(t, b) })
	check(502, func(r *http.Response, _ []byte) {
		if r.Header.Get("Content-Type") != "text/html" {
			t.Errorf("502 content type %q", r.Header.Get("Content-Type"))
		}
	})
	check(429, func(r *http.Response, _ []byte) {
		if r.Header.Get("Retry-After") != "7" || r.Header.Get("retry-after-ms") != "7000" {
			t.Errorf("Retry-After %q, retry-after-ms %q", r.Header.Get("Retry-After"), r.Header.Get("retry-after-ms"))
		}
	})
	check(200, func(_ *http.Response, b []byte) {
		a := audiotest.Analyze(t, b)
		if !slices.ContainsFunc(a.Problems, func(p mp3.Problem) bool { return p.Code == mp3.ProblemTruncated }) {
			t.Errorf("truncated audio analyses with problems %v", a.Problems)
		}
	})
	check(200, func(_ *http.Response, b []byte) {
		if _, err := mp3.Analyze(t.Context(), bytes.NewReader(b), mp3.Options{}); !errors.Is(err, mp3.ErrNoFrames) {
			t.Errorf("garbage analyses with %v", err)
		}
	})
	check(200, func(_ *http.Response, b []byte) {
		if a := audiotest.Analyze(t, b); a.Frames != 1 || !a.OK() {
			t.Errorf("short audio has %d frames, problems %v", a.Frames, a.Problems)
		}
	})
	if _, _, err := post(t, t.Context(), s, key, speech(text)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reset: err %v, want unexpected EOF", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := post(t, ctx, s, key, speech(text)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang: err %v, want deadline exceeded", err)
	}
	check(200, func(_ *http.Response, b []byte) { audiotest.RequireOpenAIFormat(t, b) })

	log, err := faketts.FetchLog(t.Context(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	var faults []faketts.Fault
	for _, e := range log {
		faults = append(faults, e.Fault)
	}
	want := []faketts.Fault{"500", "503", "502", "429", "truncate", "garbage", "short", "reset", "hang", ""}
	if len(faults) != len(want) {
		t.Fatalf("logged faults %q, want %q", faults, want)
	}
	for i := range want {
		if faults[i] != want[i] {
			t.Errorf("request %d logged fault %q, want %q", i+1, faults[i], want[i])
		}
	}
}

func TestRandomFaultFractions(t *testing.T) {
	s := start(t, faketts.Config{Faults: faketts.Faults{Server5xx: 0.3, RateLimit: 0.2}, Seed: 1})
	counts := map[int]int{}
	const n = 300
	for range n {
		resp, _, err := post(t, t.Context(), s, key, speech("hi"))
		if err != nil {
			t.Fatal(err)
		}
		counts[resp.StatusCode]++
	}
	// Binomial with n=300: three standard deviations are about 24 and 21.
	if c := counts[500]; c < 90-27 || c > 90+27 {
		t.Errorf("%d of %d requests got 500, want about 30%%", c, n)
	}
	if c := counts[429]; c < 60-24 || c > 60+24 {
		t.Errorf("%d of %d requests got 429, want about 20%%", c, n)
	}
}

func TestLatencyModel(t *testing.T) {
	s := start(t, faketts.Config{LatencyPerChar: time.Millisecond})
	if _, _, err := post(t, t.Context(), s, key, speech(strings.Repeat("a", 150))); err != nil {
		t.Fatal(err)
	}
	if e := s.Log()[0]; e.Elapsed < 150*time.Millisecond {
		t.Errorf("answered after %v, want at least 150ms for 150 characters at 1ms", e.Elapsed)
	}
}

func TestLogOverHTTP(t *testing.T) {
	s := start(t, faketts.Config{})
	post(t, t.Context(), s, key, speech("one"))
	post(t, t.Context(), s, "", speech("two"))
	log, err := faketts.FetchLog(t.Context(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || log[0].Input != "one" || log[0].Status != 200 || log[1].Status != 401 || log[1].Auth != "" {
		t.Errorf("log %+v", log)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodDelete, strings.TrimSuffix(s.URL(), "/v1")+"/_log", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.Log()) != 0 {
		t.Error("DELETE /_log left entries")
	}
}

func TestValidate(t *testing.T) {
	for _, cfg := range []faketts.Config{
		{Faults: faketts.Faults{Server5xx: 1.5}},
		{Faults: faketts.Faults{Server5xx: 0.6, Hang: 0.6}},
		{RPM: -1},
	} {
		if _, err := faketts.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func BenchmarkSpeech4096(b *testing.B) {
	audiotest.RequireTool(b, "lame", "lame")
	s := faketts.Start(b, faketts.Config{LatencyPerChar: -1})
	body, _ := json.Marshal(speech(strings.Repeat("News text. ", 372)))
	for b.Loop() {
		resp, err := http.Post(s.URL()+"/audio/speech", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
