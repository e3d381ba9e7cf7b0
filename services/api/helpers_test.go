package api_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/storage"
)

const (
	editorToken = "editor-secret-0123456789"
	readerToken = "reader-secret-0123456789"
	cmsSecret   = "cms-secret-0123456789abcdef"
)

// env is a whole narrator in this process: an embedded NATS server in a
// temporary directory, filesystem storage served under /media/, every
// pipeline stage running with OpenAI's speech API faked, and the API in
// front, on one test HTTP server.
type env struct {
	t     *testing.T
	q     *queue.Queue
	p     *pipeline.Pipeline
	api   *api.Server
	srv   *httptest.Server
	fake  *faketts.Server
	mux   *http.ServeMux
	guard *ingest.Guard
}

// start runs an env; change, if given, adjusts the API's configuration.
func start(t *testing.T, change ...func(*api.Config)) *env {
	t.Helper()
	return startWith(t, faketts.Config{APIKey: "sk-test", LatencyPerChar: -1}, pipeline.Config{}, change...)
}

// startWith runs an env whose fake speech API and pipeline have the given
// settings.
func startWith(t *testing.T, tts faketts.Config, pcfg pipeline.Config, change ...func(*api.Config)) *env {
	t.Helper()
	return startEnv(t, envConfig{tts: tts, pipeline: pcfg}, change...)
}

// envConfig is how an env is made.
type envConfig struct {
	tts      faketts.Config
	pipeline pipeline.Config
	// listen, when set, runs the listening check through the fake's
	// recognizer with this policy (off: only publications that ask).
	listen synth.ListenPolicy
	// audioDir, when set, keeps chunk audio in the object storage there
	// (--audio-cache storage) rather than in NATS.
	audioDir string
}

// startEnv runs an env made as c says.
func startEnv(t *testing.T, c envConfig, change ...func(*api.Config)) *env {
	t.Helper()
	tts, pcfg := c.tts, c.pipeline
	e := &env{t: t, mux: http.NewServeMux()}
	e.srv = httptest.NewServer(e.mux)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// A TCP listener lets tests look at the server with a client of their own.
	q, err := queue.Open(ctx, queue.Config{DataDir: dir, Listen: "127.0.0.1:0", AckWait: 5 * time.Second, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	e.q = q
	store, err := storage.NewFS(filepath.Join(dir, "media"), e.srv.URL+"/media")
	if err != nil {
		t.Fatal(err)
	}
	e.mux.Handle("/media/", http.StripPrefix("/media", store.Handler()))
	cl, err := clean.New(clean.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e.fake = faketts.Start(t, tts)
	prov, err := synth.NewOpenAI(synth.OpenAIConfig{APIKey: "sk-test", BaseURL: e.fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	audio := pipeline.AudioCache(q)
	if c.audioDir != "" {
		audio = storeAudio(t, q, c.audioDir)
	}
	var sc synth.Config
	// The listening check, through the same fake: the env's policy, else
	// the pipeline's.
	if listen := cmp.Or(c.listen, synth.ListenPolicy(pcfg.Listen)); listen != "" {
		l, err := synth.NewOpenAIListener(synth.ListenConfig{APIKey: "sk-test", BaseURL: e.fake.URL()})
		if err != nil {
			t.Fatal(err)
		}
		sc.Listen = synth.Listening{Listener: l, Policy: cmp.Or(c.listen, synth.ListenPolicy(pcfg.Listen))}
	}
	sy, err := pipeline.NewSynthesizer(audio, prov, pcfg, sc)
	if err != nil {
		t.Fatal(err)
	}
	// Articles are served by test servers on loopback, which the fetch
	// guard opens only to an allow-list.
	e.guard = ingest.MustGuard(ingest.GuardConfig{Allow: []string{"127.0.0.1"}})
	pub, err := publish.New(store, publish.Config{Settings: pipeline.Feeds(q)})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	e.p, err = pipeline.New(pipeline.Deps{
		Logger: log, Queue: q, Publisher: pub, Cleaner: cl, Audio: audio,
		Fetcher: ingest.New(ingest.Config{Timeout: 5 * time.Second, Guard: e.guard}),
		Synths:  map[string]*synth.Synthesizer{"openai": sy},
	}, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.p.Run(ctx, []string{"clean", "chunk", "synth", "stitch", "publish", "feed"}) }()

	tokens, err := api.ParseTokens("newsdesk:editor:" + editorToken + ",stats:read:" + readerToken)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		Tokens: tokens, CMSSecret: cmsSecret,
		Options: queue.Options{Provider: "openai"}, Prices: map[string]float64{"openai": 15},
		MaxBody: 256 << 10, HookMaxBody: 256 << 10,
	}
	for _, c := range change {
		c(&cfg)
	}
	bfStore, err := backfill.OpenStore(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	bf := backfill.NewManager(backfill.Deps{Pipeline: e.p, Store: bfStore, Cleaner: cl, Logger: log,
		Fetcher: ingest.New(ingest.Config{Timeout: 5 * time.Second, Guard: e.guard}), Getter: backfill.NewGetter(e.guard)},
		backfill.Config{Options: queue.Options{Provider: "openai"}})
	e.api, err = api.New(api.Deps{Pipeline: e.p, Guard: e.guard, Backfills: bf, Logger: log}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range api.Prefixes {
		e.mux.Handle(p, e.api)
	}
	t.Cleanup(func() {
		e.srv.CloseClientConnections() // ends open event streams
		e.srv.Close()
		bf.Close()
		cancel()
		// A test may end before every stage has its consumer.
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("pipeline: %v", err)
		}
		q.Close()
	})
	return e
}

// storeAudio is chunk audio kept in a directory store, indexed in q.
func storeAudio(t *testing.T, q *queue.Queue, dir string) *pipeline.StoreAudio {
	t.Helper()
	st, err := storage.NewFS(dir, "http://127.0.0.1/not-served")
	if err != nil {
		t.Fatal(err)
	}
	a, err := pipeline.NewStoreAudio(context.Background(), q, st, pipeline.AudioStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// do sends a request with an optional bearer token and JSON body (a
// string or []byte is sent as is) and returns the status and body.
func (e *env) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	resp := e.request(method, path, token, body, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (e *env) request(method, path, token string, body any, header http.Header) *http.Response {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// narration mirrors the fields of the API's narration view that tests read.
type narration struct {
	ID        string `json:"id"`
	ArticleID string `json:"article_id"`
	Revision  int    `json:"revision"`
	State     string `json:"state"`
	Stage     string `json:"stage"`
	Progress  int    `json:"progress"`
	Title     string `json:"title"`
	Section   string `json:"section"`
	Priority  string `json:"priority"`
	Chunks    struct {
		Total int `json:"total"`
		Done  int `json:"done"`
		Items []struct {
			Index int    `json:"index"`
			State string `json:"state"`
			Chars int    `json:"chars"`
		} `json:"items"`
	} `json:"chunks"`
	Billed   int                                  `json:"billed_chars"`
	Estimate int                                  `json:"estimated_chars"`
	CostUSD  *float64                             `json:"cost_usd"`
	Error    string                               `json:"error"`
	Timings  map[string]struct{ Seconds float64 } `json:"timings"`
	Warnings []queue.Warning                      `json:"warnings"`
	Audio    *struct {
		URL      string       `json:"url"`
		Bytes    int64        `json:"bytes"`
		Duration float64      `json:"duration_seconds"`
		Level    *queue.Level `json:"level"`
	} `json:"audio"`
	Links struct {
		Self, Events string
	} `json:"links"`
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

// wait follows a job until its current revision ends and returns it.
func (e *env) wait(id string) narration {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	j, err := e.q.Jobs().Get(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.q.Follow(ctx, id, j.Revision, func(queue.Event) bool { return true }); err != nil {
		e.t.Fatalf("follow %s: %v", id, err)
	}
	status, body := e.do("GET", "/api/narrations/"+id, readerToken, nil)
	if status != http.StatusOK {
		e.t.Fatalf("GET narration %s: %d %s", id, status, body)
	}
	return decode[narration](e.t, body)
}

// sse is one server-sent event.
type sse struct {
	ID, Event string
	Data      string
}

// readSSE reads events until the stream ends or stop says so.
func readSSE(t *testing.T, body io.Reader, stop func(sse) bool) []sse {
	t.Helper()
	var out []sse
	var cur sse
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Data != "" || cur.Event != "" {
				out = append(out, cur)
				if stop != nil && stop(cur) {
					return out
				}
			}
			cur = sse{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			cur.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			cur.Event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

// article returns a short news text that mentions names a lexicon would
// not know.
func article(headline string) string {
	return headline + "\n\n" +
		"The city council of Zaporizhzhia approved the new budget on Tuesday after a long debate. " +
		"Councillor Oleksandr Syrskyi said the plan would repair the bridges before winter.\n\n" +
		"The mayor, Ivan Fedorov, thanked the OSCE observers for their report. " +
		"Residents of Zaporizhzhia will see the first works in spring, Syrskyi added."
}

// testLog sends logs to the test's log, shown when it fails or with -v.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
