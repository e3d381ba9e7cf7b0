package pipeline_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/narrator-project/narrator/services/race"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/webhook"
	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// harness is a whole pipeline in this process: an embedded NATS server,
// filesystem storage and every stage running.
type harness struct {
	q     *queue.Queue
	store storage.Store
	p     *pipeline.Pipeline
}

// start runs a pipeline publishing to store, or to a filesystem store in
// a temporary directory when store is nil.
// option changes a harness's pipeline before it starts.
type option func(*pipeline.Deps, *pipeline.Config, *synth.Config)

func withConfig(c pipeline.Config) option {
	return func(_ *pipeline.Deps, cfg *pipeline.Config, _ *synth.Config) { *cfg = c }
}

func start(t *testing.T, prov synth.Provider, store storage.Store, opts ...option) *harness {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// Listening, so that a test can reach NATS as another client would.
	q, err := queue.Open(ctx, queue.Config{DataDir: dir, Listen: "127.0.0.1:0", AckWait: 5 * time.Second, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	if store == nil {
		if store, err = storage.NewFS(filepath.Join(dir, "media"), "http://media.test"); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := clean.New(clean.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(store, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	deps := pipeline.Deps{
		Queue:     q,
		Publisher: pub,
		// Test sites run on loopback, which the fetcher refuses by default.
		Fetcher: ingest.New(ingest.Config{Timeout: 5 * time.Second, Guard: ingest.MustGuard(ingest.GuardConfig{Allow: []string{"127.0.0.1"}})}),
		Cleaner: cl,
	}
	var cfg pipeline.Config
	var sc synth.Config
	for _, o := range opts {
		o(&deps, &cfg, &sc)
	}
	if deps.Audio == nil {
		deps.Audio = pipeline.AudioCache(q)
	}
	sy, err := pipeline.NewSynthesizer(deps.Audio, prov, cfg, sc)
	if err != nil {
		t.Fatal(err)
	}
	deps.Synths = map[string]*synth.Synthesizer{prov.Name(): sy}
	p, err := pipeline.New(deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stages := []string{"clean", "chunk", "synth", "stitch", "publish", "feed"}
	if deps.Webhooks != nil {
		stages = append(stages, "webhook")
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, stages) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("pipeline: %v", err)
		}
		q.Close()
	})
	return &harness{q: q, store: store, p: p}
}

// openAI starts a fake OpenAI server and returns it with a provider of the
// given settings pointed at it.
func openAI(t *testing.T, fc faketts.Config, oc synth.OpenAIConfig) (*faketts.Server, *synth.OpenAI) {
	t.Helper()
	fake := faketts.Start(t, fc)
	oc.BaseURL = fake.URL()
	prov, err := synth.NewOpenAI(oc)
	if err != nil {
		t.Fatal(err)
	}
	return fake, prov
}

// narrate submits a request and waits for its job to end.
func (h *harness) narrate(t *testing.T, r pipeline.Request) queue.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	j, err := h.p.Submit(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
		t.Fatalf("follow job %s: %v", j.ID, err)
	}
	j, err = h.q.Jobs().Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("../../testdata/sample-article.html")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNarration verifies a finished job's published MP3: it decodes fully,
// its Xing frame count is the frames present, and it lasts exactly as long
// as its chunks plus the pauses between them.
func (h *harness) checkNarration(t *testing.T, j queue.Job) {
	t.Helper()
	ctx := context.Background()
	if j.State != queue.Done {
		t.Fatalf("job %s ended %s: %s", j.ID, j.State, j.Error)
	}
	r, obj, err := h.store.Get(ctx, j.Output.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if obj.Meta.ContentType != "audio/mpeg" {
		t.Errorf("published Content-Type %q", obj.Meta.ContentType)
	}
	if !strings.Contains(obj.Meta.CacheControl, "immutable") {
		t.Errorf("published Cache-Control %q; a content-hashed key is immutable", obj.Meta.CacheControl)
	}
	if obj.Size != j.Output.Bytes {
		t.Errorf("published %d bytes, job says %d", obj.Size, j.Output.Bytes)
	}
	a, err := mp3.Analyze(ctx, r, mp3.Options{Decode: true})
	if err != nil {
		t.Fatalf("published MP3: %v", err)
	}
	if a.Info == nil {
		t.Fatal("published MP3 has no Xing/Info frame")
	}
	if a.Info.Frames != a.Frames {
		t.Errorf("Xing frame count %d, frames present %d", a.Info.Frames, a.Frames)
	}
	if !a.Decoded || a.DecodedSamples != a.Samples {
		t.Errorf("decoded %d samples, frames promise %d", a.DecodedSamples, a.Samples)
	}

	chunks, err := h.q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != j.Chunks || j.Chunks == 0 {
		t.Fatalf("%d chunk statuses for %d chunks", len(chunks), j.Chunks)
	}
	var res stitch.Result
	blob, err := h.q.Blobs().Bytes(ctx, "output/"+j.ID+"/"+strconv.Itoa(j.Revision)+".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(blob, &res); err != nil {
		t.Fatal(err)
	}
	// Every chunk's frames, and the silence before it, are in the file.
	var frames int
	for i, c := range chunks {
		var chk stitch.ChunkCheck
		if err := json.Unmarshal(c.Analysis, &chk); err != nil {
			t.Fatal(err)
		}
		pause := a.Format.SamplesIn(res.Chunks[i].Pause) / int64(a.Format.FrameSamples())
		frames += chk.Analysis.Frames + int(pause)
	}
	if frames != a.Frames {
		t.Errorf("file has %d frames; chunks and pauses add up to %d", a.Frames, frames)
	}
	if a.Duration != j.Output.Duration {
		t.Errorf("file plays %s, job says %s", a.Duration, j.Output.Duration)
	}
	// Published, the stitched file is no longer kept in NATS.
	if _, err := h.q.Blobs().Size(ctx, "output/"+j.ID+"/"+strconv.Itoa(j.Revision)+".mp3"); !errors.Is(err, queue.ErrNoBlob) {
		t.Errorf("the stitched file is still in NATS after publishing: %v", err)
	}
}

func TestNarrateSampleWithLocalEngine(t *testing.T) {
	skipUnderRace(t)
	local, err := synth.NewLocal(context.Background(), synth.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, local, nil)
	j := h.narrate(t, pipeline.Request{ArticleID: "sample", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "local"}})
	h.checkNarration(t, j)
	if j.Chunks < 2 {
		t.Errorf("the sample became %d chunk(s); it should need several", j.Chunks)
	}
	for _, st := range []string{"clean", "chunk", "synth", "stitch", "publish"} {
		if j.Timings[st].End.IsZero() {
			t.Errorf("stage %s has no end time", st)
		}
	}
}

func TestNarrateSampleWithOpenAI(t *testing.T) {
	skipUnderRace(t)
	fake, prov := openAI(t, faketts.Config{APIKey: "sk-test", LatencyPerChar: -1}, synth.OpenAIConfig{APIKey: "sk-test", Voice: "nova"})
	h := start(t, prov, nil)
	j := h.narrate(t, pipeline.Request{ArticleID: "sample", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}})
	h.checkNarration(t, j)

	log := fake.Log()
	if len(log) != j.Chunks {
		t.Errorf("%d requests for %d chunks", len(log), j.Chunks)
	}
	billed := 0
	for _, e := range log {
		if e.Method != http.MethodPost || e.Path != "/v1/audio/speech" {
			t.Errorf("request %d: %s %s", e.N, e.Method, e.Path)
		}
		if e.Auth != "Bearer sk-test" {
			t.Errorf("request %d: Authorization %q", e.N, e.Auth)
		}
		if e.Model != "tts-1" || e.Voice != "nova" || e.ResponseFormat != "mp3" {
			t.Errorf("request %d: model %q voice %q format %q", e.N, e.Model, e.Voice, e.ResponseFormat)
		}
		if n := utf8.RuneCountInString(e.Input); n == 0 || n > 4096 {
			t.Errorf("request %d: input of %d characters", e.N, n)
		}
		billed += e.Chars
	}
	if j.BilledChars != billed {
		t.Errorf("job billed %d characters, the provider saw %d", j.BilledChars, billed)
	}

	// The same article again costs nothing: every chunk comes from the cache.
	again := h.narrate(t, pipeline.Request{ArticleID: "sample", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}, Force: true})
	h.checkNarration(t, again)
	if n := len(fake.Log()); n != len(log) {
		t.Errorf("re-narrating unchanged text made %d more requests", n-len(log))
	}
	if again.BilledChars != 0 {
		t.Errorf("re-narration billed %d characters", again.BilledChars)
	}
}

func TestBadInputFailsWithAReason(t *testing.T) {
	_, prov := openAI(t, faketts.Config{APIKey: "sk-right", LatencyPerChar: -1}, synth.OpenAIConfig{APIKey: "sk-wrong"})
	h := start(t, prov, nil)
	site := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(site.Close)
	nav := `<html><head><title>Front page</title></head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav><footer>© 2026</footer></body></html>`
	for _, tc := range []struct {
		name string
		req  pipeline.Request
		want string // in the reason
	}{
		{"empty page", pipeline.Request{Body: []byte{}, Kind: "html"}, "empty"},
		{"no article", pipeline.Request{Body: []byte(nav), Kind: "html"}, "no article"},
		{"binary", pipeline.Request{Body: bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 0xff}, 64)}, "not a web page or text"},
		{"404", pipeline.Request{URL: site.URL + "/missing"}, "404"},
		{"401 from the provider", pipeline.Request{Body: sample(t), Kind: "html"}, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.ArticleID = strings.ReplaceAll(tc.name, " ", "-")
			tc.req.Options = queue.Options{Provider: "openai"}
			j := h.narrate(t, tc.req)
			if j.State != queue.Failed {
				t.Fatalf("job ended %s, want failed", j.State)
			}
			if !strings.Contains(strings.ToLower(j.Error), tc.want) {
				t.Errorf("reason %q does not mention %q", j.Error, tc.want)
			}
		})
	}
}

// TestPublishToS3 publishes to a real S3 server, and keeps chunk audio
// there: narrating again is served from the bucket.
func TestPublishToS3(t *testing.T) {
	gw := storagetest.StartVersityGW(t)
	store, err := storage.NewS3(context.Background(), gw.S3Config())
	if err != nil {
		t.Fatal(err)
	}
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	// Chunk audio is kept in the bucket too, with its index in NATS.
	h := start(t, prov, store, withStoreAudio(t, store, pipeline.AudioStoreConfig{Prefix: "chunks/"}))
	req := pipeline.Request{ArticleID: "s3-sample", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}}
	j := h.narrate(t, req)
	h.checkNarration(t, j)
	checkChunksIn(t, h, j, store, "chunks/")
	calls := len(fake.Log())
	req.Force = true
	h.checkNarration(t, h.narrate(t, req))
	if n := len(fake.Log()) - calls; n != 0 {
		t.Errorf("narrating again asked the provider %d times; every chunk is in the bucket", n)
	}

	// The object is served by the S3 server itself with the right headers.
	resp, err := gw.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: &gw.Bucket, Key: &j.Output.Key})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(resp.ContentType); got != "audio/mpeg" {
		t.Errorf("Content-Type %q", got)
	}
	if got := aws.ToString(resp.CacheControl); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", got)
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != j.Output.Bytes || hex.EncodeToString(sum[:]) != j.Output.SHA256 {
		t.Errorf("S3 holds %d bytes with another hash than the %d bytes published", len(body), j.Output.Bytes)
	}
}

func TestBudgets(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	t.Run("job cap", func(t *testing.T) {
		h := start(t, prov, nil, withConfig(pipeline.Config{JobMaxChars: 1000}))
		j := h.narrate(t, pipeline.Request{ArticleID: "capped", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}})
		if j.State != queue.Failed || !strings.Contains(j.Error, "over budget") || !strings.Contains(j.Error, strconv.Itoa(j.Estimate)) {
			t.Errorf("job %s: %q; want a failure naming the estimate %d", j.State, j.Error, j.Estimate)
		}
		if n := len(fake.Log()); n != 0 {
			t.Errorf("%d API calls for a job over its cap", n)
		}
	})
	t.Run("daily budget", func(t *testing.T) {
		fake.Reset()
		text := strings.Repeat("The council met on Tuesday to discuss the budget. ", 20) // about 1,000 characters
		// One chunk a story, so the second story's first request is refused.
		h := start(t, prov, nil, withConfig(pipeline.Config{DailyChars: 1500, FirstChars: -1}))
		first := h.narrate(t, pipeline.Request{ArticleID: "first", Body: []byte("First story\n\n" + text), Kind: "text", Options: queue.Options{Provider: "openai"}})
		if first.State != queue.Done {
			t.Fatalf("first job within budget: %s %s", first.State, first.Error)
		}
		calls := len(fake.Log())
		second := h.narrate(t, pipeline.Request{ArticleID: "second", Body: []byte("Second story\n\n" + strings.ToUpper(text)), Kind: "text", Options: queue.Options{Provider: "openai"}})
		if second.State != queue.Failed || !strings.Contains(second.Error, "over budget") {
			t.Errorf("second job: %s %q; want it over the daily budget", second.State, second.Error)
		}
		// A narration served from the cache costs nothing and passes.
		again := h.narrate(t, pipeline.Request{ArticleID: "first", Body: []byte("First story\n\n" + text), Kind: "text", Options: queue.Options{Provider: "openai"}, Force: true})
		if again.State != queue.Done {
			t.Errorf("cached re-narration: %s %s", again.State, again.Error)
		}
		if n := len(fake.Log()); n > calls+1 {
			t.Errorf("%d calls after the budget ran out", n-calls)
		}
	})
	t.Run("daily budget with chunks in flight together", func(t *testing.T) {
		fake.Reset()
		// Six paragraphs of about 300 characters, a chunk each, all
		// synthesized at once, against a budget for four of them.
		var ps []string
		for i := range 6 {
			ps = append(ps, fmt.Sprintf("Paragraph %d. ", i+1)+strings.Repeat("The committee weighed the plan for the harbour. ", 6))
		}
		h := start(t, prov, nil, withConfig(pipeline.Config{DailyChars: 1300, TargetChars: 300}))
		j := h.narrate(t, pipeline.Request{ArticleID: "parallel", Body: []byte("Harbour\n\n" + strings.Join(ps, "\n\n")), Kind: "text", Options: queue.Options{Provider: "openai"}})
		if j.State != queue.Failed || !strings.Contains(j.Error, "over budget") {
			t.Errorf("job %s %q; want it over the daily budget", j.State, j.Error)
		}
		// The job failed with the first chunk refused; let the chunks
		// already in flight finish and settle.
		if err := h.q.WaitIdle(t.Context(), pipeline.Consumers("synth.openai")); err != nil {
			t.Fatal(err)
		}
		billed := 0
		for _, e := range fake.Log() {
			billed += e.Chars
		}
		used, err := h.q.Jobs().Usage(t.Context(), time.Now(), "publication."+pipeline.DefaultPublication)
		if err != nil {
			t.Fatal(err)
		}
		if billed > 1300 || used > 1300 || used != billed {
			t.Errorf("billed %d characters, counted %d, against a budget of 1,300", billed, used)
		}
	})
}

func TestLanguagePicksTheVoice(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{Voice: "nova", Voices: map[string]string{"uk": "onyx"}})
	h := start(t, prov, nil)
	uk := "Міська рада ухвалила бюджет\n\nДепутати міської ради в понеділок ухвалили бюджет на наступний рік. " +
		"Найбільше коштів спрямують на ремонт шкіл і лікарень. Голова бюджетної комісії сказав, що місто вперше " +
		"за три роки не матиме дефіциту, а частину коштів відкладуть на захист від повеней."
	j := h.narrate(t, pipeline.Request{ArticleID: "uk-budget", Body: []byte(uk), Kind: "text", Options: queue.Options{Provider: "openai"}})
	if j.State != queue.Done || j.Language != "uk" {
		t.Fatalf("job %s, language %q: %s", j.State, j.Language, j.Error)
	}
	for _, e := range fake.Log() {
		if e.Voice != "onyx" {
			t.Errorf("a Ukrainian article was read with voice %q, want the Ukrainian voice onyx", e.Voice)
		}
	}
}

func TestWebhooksRetryUntilDelivered(t *testing.T) {
	const secret = "webhook-secret-0123456789"
	var mu sync.Mutex
	var got []webhook.Event
	attempts := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts <= 2 { // down for the first two attempts
			w.Header().Set("Retry-After", "0")
			http.Error(w, "starting up", http.StatusServiceUnavailable)
			return
		}
		var e webhook.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Error(err)
		}
		got = append(got, e)
	}))
	t.Cleanup(recv.Close)
	sender, err := webhook.New(webhook.Config{URLs: []string{recv.URL + "/hooks"}, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	h := start(t, prov, nil, func(d *pipeline.Deps, _ *pipeline.Config, _ *synth.Config) { d.Webhooks = sender })
	ok := h.narrate(t, pipeline.Request{ArticleID: "hooked", Body: []byte("Hooked\n\nThe council met on Tuesday."), Kind: "text", Options: queue.Options{Provider: "openai"}})
	bad := h.narrate(t, pipeline.Request{ArticleID: "hooked-empty", Body: []byte{}, Kind: "html", Options: queue.Options{Provider: "openai"}})
	if ok.State != queue.Done || bad.State != queue.Failed {
		t.Fatalf("jobs ended %s and %s", ok.State, bad.State)
	}
	// Deliveries are recorded in job state as they happen: the narration
	// that played has two events, the one that failed first one.
	for id, n := range map[string]int{"hooked": 2, "hooked-empty": 1} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			j, err := h.q.Jobs().Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if len(j.Webhooks) == n && !slices.ContainsFunc(j.Webhooks, func(d webhook.Delivery) bool { return d.State != webhook.StateDelivered }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s deliveries: %+v", id, j.Webhooks)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Retries may deliver the events of a job in either order.
	types := map[string][]webhook.Type{}
	for _, e := range got {
		types[e.Narration.ID] = append(types[e.Narration.ID], e.Type)
	}
	slices.Sort(types["hooked"])
	if !slices.Equal(types["hooked"], []webhook.Type{webhook.Completed, webhook.StartedAudio}) ||
		!slices.Equal(types["hooked-empty"], []webhook.Type{webhook.Failed}) || len(got) != 3 {
		t.Errorf("received %v, want started_audio and completed, and one failed event", types)
	}
	for _, e := range got {
		n := e.Narration
		switch {
		case e.Type == webhook.Completed && (n.AudioURL == "" || n.Duration <= 0):
			t.Errorf("completed event lacks the audio: %+v", n)
		case e.Type == webhook.StartedAudio && (n.StreamURL != "/listen/hooked" || n.FirstAudio <= 0 || n.FirstAudio != ok.TimeToFirstAudio().Seconds()):
			t.Errorf("started_audio event: stream %q, first audio after %gs; job state says %s", n.StreamURL, n.FirstAudio, ok.TimeToFirstAudio())
		}
	}
}

func TestRenarrationSynthesizesOnlyChangedChunks(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	// Small chunks, so each paragraph is a chunk of its own.
	h := start(t, prov, nil, withConfig(pipeline.Config{TargetChars: 60}))
	paragraphs := []string{
		"The council met on Tuesday to discuss the flood wall along the river.",
		"Engineers said the wall would protect four hundred homes from a once-in-a-century flood.",
		"Residents asked how long the work would close the riverside path.",
		"The mayor said the path would reopen before the summer festival.",
	}
	article := func(ps []string) []byte { return []byte("Flood wall\n\n" + strings.Join(ps, "\n\n")) }
	req := pipeline.Request{ArticleID: "edited", Kind: "text", Options: queue.Options{Provider: "openai"}}

	req.Body = article(paragraphs)
	first := h.narrate(t, req)
	h.checkNarration(t, first)
	firstCalls := fake.Log()
	if len(firstCalls) != first.Chunks || first.Chunks < 4 {
		t.Fatalf("%d calls for %d chunks", len(firstCalls), first.Chunks)
	}

	edited := slices.Clone(paragraphs)
	edited[2] = "Residents asked how long the work would close the riverside path and the boat ramp."
	req.Body = article(edited)
	second := h.narrate(t, req)
	h.checkNarration(t, second)
	calls := fake.Log()[len(firstCalls):]
	if len(calls) != 1 || !strings.Contains(calls[0].Input, "boat ramp") {
		var inputs []string
		for _, c := range calls {
			inputs = append(inputs, c.Input)
		}
		t.Errorf("editing one paragraph requested %d chunks: %q; want only the edited one", len(calls), inputs)
	}
	if second.BilledChars != calls[0].Chars {
		t.Errorf("re-narration billed %d characters, the changed chunk has %d", second.BilledChars, calls[0].Chars)
	}

	third := h.narrate(t, pipeline.Request{ArticleID: "edited", Kind: "text", Body: article(edited), Options: queue.Options{Provider: "openai"}, Force: true})
	h.checkNarration(t, third)
	if n := len(fake.Log()) - len(firstCalls) - 1; n != 0 {
		t.Errorf("an unchanged re-narration made %d requests", n)
	}
}

func TestJobSurvivesRateLimitsAndServerErrors(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{
		LatencyPerChar: -1,
		Faults:         faketts.Faults{RateLimit: 0.3, Server5xx: 0.05},
		RetryAfter:     100 * time.Millisecond,
		Seed:           7,
	}, synth.OpenAIConfig{})
	h := start(t, prov, nil)
	j := h.narrate(t, pipeline.Request{ArticleID: "faulty", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}})
	h.checkNarration(t, j)
	var ok, limited, failed, billed int
	for _, e := range fake.Log() {
		switch {
		case e.Status == http.StatusOK:
			ok++
			billed += e.Chars
		case e.Status == http.StatusTooManyRequests:
			limited++
		case e.Status >= 500:
			failed++
		}
	}
	if ok != j.Chunks {
		t.Errorf("%d successful calls for %d chunks", ok, j.Chunks)
	}
	if limited == 0 {
		t.Error("the fake never answered 429: the test did not exercise retries")
	}
	if j.BilledChars != billed {
		t.Errorf("job billed %d characters, successful calls carried %d", j.BilledChars, billed)
	}
	t.Logf("%d chunks: %d calls answered 200, %d 429, %d 5xx; billed %d of %d characters of the article", j.Chunks, ok, limited, failed, j.BilledChars, j.Chars)
}

func TestPublicationAndArticleChooseTheVoice(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{Voice: "alloy"})
	h := start(t, prov, nil, withConfig(pipeline.Config{Publications: map[string]pipeline.Voice{
		"Daily News": {Voice: "onyx", Model: "tts-1-hd", Speed: 1.1},
	}}))
	body := []byte("Council\n\nThe council met on Tuesday to discuss the flood wall.")
	for _, tc := range []struct {
		name, publication, voice, wantVoice, wantModel string
	}{
		{"provider default", "", "", "alloy", "tts-1"},
		{"publication", "Daily News", "", "onyx", "tts-1-hd"},
		{"article wins", "Daily News", "echo", "echo", "tts-1-hd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			j := h.narrate(t, pipeline.Request{ArticleID: strings.ReplaceAll(tc.name, " ", "-"), Body: body, Kind: "text",
				Options: queue.Options{Provider: "openai", Publication: tc.publication, Voice: tc.voice}})
			h.checkNarration(t, j)
			for _, e := range fake.Log() {
				if e.Voice != tc.wantVoice || e.Model != tc.wantModel {
					t.Errorf("read with %s %s, want %s %s", e.Model, e.Voice, tc.wantModel, tc.wantVoice)
				}
			}
			m, err := h.p.Publisher.Manifest(context.Background(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Voice != tc.wantVoice {
				t.Errorf("manifest names voice %q, want %q", m.Voice, tc.wantVoice)
			}
		})
	}
}

// gated holds the first chunk that mentions the backlog until released,
// and records the order in which chunks were spoken.
type gated struct {
	synth.Provider
	started, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	spoken           []string
}

func (g *gated) Synthesize(ctx context.Context, req synth.Request) ([]byte, error) {
	if strings.Contains(req.Text, "backlog") {
		g.once.Do(func() {
			close(g.started)
			<-g.release
		})
	}
	g.mu.Lock()
	g.spoken = append(g.spoken, req.Text)
	g.mu.Unlock()
	return g.Provider.Synthesize(ctx, req)
}

// behind narrates first, holding its first chunk that mentions the
// backlog in g while second is submitted; once second's chunks wait for
// synthesis beside first's, it releases the worker and returns both jobs
// when they have ended.
func (h *harness) behind(ctx context.Context, t *testing.T, g *gated, first, second pipeline.Request) (queue.Job, queue.Job) {
	t.Helper()
	a, err := h.p.Submit(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.started:
	case <-ctx.Done():
		t.Fatalf("%s never reached synthesis", first.ArticleID)
	}
	b, err := h.p.Submit(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	// Release the worker once the second article's chunks wait for it
	// alongside the first's: its chunk stage has run and handed them on.
	err = h.q.Follow(ctx, b.ID, b.Revision, func(e queue.Event) bool {
		return e.Kind != queue.EventStageDone || e.Stage != pipeline.StageChunk
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.q.WaitIdle(ctx, pipeline.Consumers(pipeline.StageChunk)); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	for _, j := range []queue.Job{b, a} {
		if err := h.q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

func TestHighPriorityOvertakesTheBacklog(t *testing.T) {
	_, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	g := &gated{Provider: prov, started: make(chan struct{}), release: make(chan struct{})}
	// One chunk at a time, a paragraph each, so the backlog queues up.
	h := start(t, g, nil, withConfig(pipeline.Config{TargetChars: 60, Concurrency: map[string]int{"synth": 1}}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var ps []string
	for i := range 6 {
		ps = append(ps, fmt.Sprintf("Paragraph %d of the backlog is read in its turn, after any urgent news.", i+1))
	}
	backlog, urgent := h.behind(ctx, t, g,
		pipeline.Request{ArticleID: "backlog", Kind: "text", Body: []byte("Archive\n\n" + strings.Join(ps, "\n\n")), Options: queue.Options{Provider: "openai"}, Priority: queue.Low},
		pipeline.Request{ArticleID: "urgent", Kind: "text", Body: []byte("Bridge reopens\n\nThe bridge reopened to traffic this morning."), Options: queue.Options{Provider: "openai"}, Priority: queue.High})
	u, err := h.q.Jobs().Get(ctx, urgent.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.q.Jobs().Get(ctx, backlog.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.checkNarration(t, u)
	h.checkNarration(t, b)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.spoken) != b.Chunks+u.Chunks {
		t.Fatalf("spoke %d chunks, want %d", len(g.spoken), b.Chunks+u.Chunks)
	}
	// The chunk held while the urgent article arrived finishes first; the
	// urgent article's chunks go next, ahead of every backlog chunk still
	// waiting.
	held := slices.IndexFunc(g.spoken, func(s string) bool { return strings.Contains(s, "backlog") })
	next := g.spoken[held+1 : held+1+u.Chunks]
	if slices.ContainsFunc(next, func(s string) bool { return strings.Contains(s, "backlog") }) {
		t.Errorf("chunks spoken in the order %q: the urgent article waited behind the backlog", g.spoken)
	}
	if !u.Updated.Before(b.Updated) {
		t.Errorf("urgent narration done at %s, backlog at %s", u.Updated, b.Updated)
	}
	if u.Priority != queue.High || b.Priority != queue.Low {
		t.Errorf("priorities recorded %q and %q", u.Priority, b.Priority)
	}
}

// TestOpeningOvertakesEarlierStories: at the same priority, the chunks a
// listener hears first go before the later chunks of a story submitted
// earlier, so a story's playback can start while a long read synthesizes.
func TestOpeningOvertakesEarlierStories(t *testing.T) {
	_, prov := openAI(t, faketts.Config{LatencyPerChar: -1, Tones: true}, synth.OpenAIConfig{})
	g := &gated{Provider: prov, started: make(chan struct{}), release: make(chan struct{})}
	h := start(t, g, nil, withConfig(pipeline.Config{TargetChars: 300, FirstChars: -1, Concurrency: map[string]int{"synth": 1}}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Five paragraphs of about 230 characters, a chunk each: only the fifth
	// starts after the first minute of listening (900 characters).
	var ps []string
	for i := range 5 {
		p := fmt.Sprintf("Paragraph %d of the long read.", i+1)
		for len(p) < 220 {
			p += " The council met again on Tuesday to weigh the plan for the harbour."
		}
		ps = append(ps, p)
	}
	h.behind(ctx, t, g,
		pipeline.Request{ArticleID: "long", Kind: "text", Body: []byte("The harbour plan: a backlog of years\n\n" + strings.Join(ps, "\n\n")), Options: queue.Options{Provider: "openai"}},
		pipeline.Request{ArticleID: "short", Kind: "text", Body: []byte("Bridge reopens\n\nThe bridge reopened to traffic this morning."), Options: queue.Options{Provider: "openai"}})
	g.mu.Lock()
	defer g.mu.Unlock()
	at := func(marker string) int {
		i := slices.IndexFunc(g.spoken, func(s string) bool { return strings.Contains(s, marker) })
		if i < 0 {
			t.Fatalf("%q never spoken: %q", marker, g.spoken)
		}
		return i
	}
	// The long read's first minute, then the short story, whole; then the
	// rest of the long read.
	bridge := at("bridge reopened")
	if p4, p5 := at("Paragraph four "), at("Paragraph five "); !(p4 < bridge && bridge < p5) {
		t.Errorf("chunks spoken in the order %q: want the short story between paragraphs four and five of the long read", g.spoken)
	}
}

// skipUnderRace skips a test that narrates a whole article with in-process
// speech fakes and checks: minutes under the race detector, where the other
// tests here already run the pipeline's concurrency. make test runs it in
// its second step, without -race.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if race.Enabled {
		t.Skip("runs without -race: go test -run TestNarrateSample ./services/pipeline (make test does)")
	}
}
