package pipeline_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/fakepolly"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/speechgen"
	"github.com/narrator-project/narrator/services/webhook"
)

// matrixArticle is an article of one paragraph per row of the real-speech
// matrix at 24 kHz, chunked a paragraph a chunk.
func matrixArticle() (pipeline.Request, int) {
	rows := speechgen.Rows(24000)
	paras := []string{"Council budget"}
	for _, f := range rows {
		paras = append(paras, f.Text)
	}
	return pipeline.Request{Body: []byte(strings.Join(paras, "\n\n")), Kind: "text", Options: queue.Options{Provider: "openai"}}, len(rows)
}

// published writes a job's published MP3 to a file and returns its path.
func (h *harness) published(t *testing.T, j queue.Job) string {
	t.Helper()
	r, _, err := h.store.Get(context.Background(), j.Output.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "narration.mp3")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRealSpeechMatrixPublishes narrates speech from every row of the
// matrix, a row a request: the 24 kHz rows from OpenAI (quiet and loud
// chunks, peaks at full scale, long silences, a cut-off ending, Xing frames
// and ID3 tags, CBR and VBR), the 22.05 kHz rows from Polly. Losslessly,
// a narration publishes below the target where peaks stop it, saying so,
// with neighbouring chunks balanced; in the limit mode it reaches the
// target.
func TestRealSpeechMatrixPublishes(t *testing.T) {
	var vary []speechgen.Options
	for _, f := range speechgen.Rows(24000) {
		vary = append(vary, f.Options)
	}
	for _, mode := range []string{synth.Lossless, synth.Limit} {
		t.Run(mode, func(t *testing.T) {
			fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1, Vary: vary}, synth.OpenAIConfig{})
			h := start(t, prov, nil, withConfig(pipeline.Config{TargetChars: 100, LoudnessMode: mode}))
			req, rows := matrixArticle()
			req.ArticleID = "matrix-" + mode
			j := h.narrate(t, req)
			h.checkNarration(t, j)
			if len(fake.Log()) < rows {
				t.Errorf("%d requests for %d rows", len(fake.Log()), rows)
			}
			checkLevel(t, h, j, mode)
		})
	}
	t.Run("polly 22.05 kHz", func(t *testing.T) {
		var vary []speechgen.Options
		for _, f := range speechgen.Rows(22050) {
			vary = append(vary, f.Options)
		}
		fake := fakepolly.Start(t, fakepolly.Config{AccessKeyID: "AKIAFAKE", SecretAccessKey: "fake-secret", Vary: vary})
		prov, err := synth.NewPolly(t.Context(), synth.PollyConfig{AccessKeyID: "AKIAFAKE", SecretAccessKey: "fake-secret", Endpoint: fake.URL(), Region: "us-east-1", SampleRate: 22050})
		if err != nil {
			t.Fatal(err)
		}
		h := start(t, prov, nil, withConfig(pipeline.Config{TargetChars: 100}))
		var paras []string
		for _, f := range speechgen.Rows(22050) {
			paras = append(paras, f.Text)
		}
		j := h.narrate(t, pipeline.Request{ArticleID: "matrix-polly", Body: []byte("Council budget\n\n" + strings.Join(paras, "\n\n")), Kind: "text", Options: queue.Options{Provider: "polly"}})
		h.checkNarration(t, j)
		checkLevel(t, h, j, synth.Lossless)
	})
}

// checkLevel checks a matrix narration's loudness against ffmpeg and what
// its mode promises.
func checkLevel(t *testing.T, h *harness, j queue.Job, mode string) {
	t.Helper()
	l := j.Output.Level
	if l == nil {
		t.Fatal("no loudness in the job's output")
	}
	lufs, peak := mp3test.Measure(t, h.published(t, j))
	t.Logf("%s: %s; ffmpeg: %.2f LUFS, %.2f dBTP; warnings %v", mode, l.Summary, lufs, peak, j.Warnings)
	if d := lufs - l.Achieved; d < -0.5 || d > 0.5 {
		t.Errorf("ffmpeg measures %.2f LUFS, the job says %.2f", lufs, l.Achieved)
	}
	if peak > -0.9 {
		t.Errorf("true peak %.2f dBTP, over the ceiling", peak)
	}
	if l.LargestJump > 1.75 {
		t.Errorf("neighbouring chunks %.2f LU apart", l.LargestJump)
	}
	switch mode {
	case synth.Lossless:
		if !l.PeakLimited || l.PeakLimitedChunks == 0 || l.Achieved > -16.75 || !strings.HasPrefix(l.Summary, "peak-limited: ") {
			t.Errorf("level %+v, want a peak-limited narration that says so", l)
		}
		if !hasWarning(j, "peak_limited") {
			t.Errorf("warnings %v, want peak_limited", j.Warnings)
		}
	case synth.Limit:
		if l.PeakLimited || l.Leveled == 0 || lufs < -16.5 || lufs > -15.5 || peak > -1 {
			t.Errorf("level %+v (ffmpeg %.2f LUFS, %.2f dBTP), want the target reached by levelled chunks under -1 dBTP", l, lufs, peak)
		}
	}
}

func hasWarning(j queue.Job, code string) bool {
	for _, w := range j.Warnings {
		if w.Code == code {
			return true
		}
	}
	return false
}

// TestHeuristicFindingsWarnAndPublish: a service that cuts every response
// off mid-sound, and answers again with the same bytes, is asked once more
// per chunk; the narration publishes with a warning per chunk in job state
// and in the webhook; a re-narration from the cache warns again, once.
func TestHeuristicFindingsWarnAndPublish(t *testing.T) {
	sender, received := recordWebhooks(t)
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1, Speech: speechgen.Options{AbruptEnd: true}}, synth.OpenAIConfig{})
	h := start(t, prov, nil, func(d *pipeline.Deps, c *pipeline.Config, _ *synth.Config) { d.Webhooks, c.TargetChars = sender, 100 })
	req := pipeline.Request{ArticleID: "cut-off", Body: []byte("Cut off\n\nThe council met on Tuesday and approved the budget.\n\nThe mayor said the plan balances the books."), Kind: "text", Options: queue.Options{Provider: "openai"}}
	j := h.narrate(t, req)
	h.checkNarration(t, j)
	if n := len(fake.Log()); n != 2*j.Chunks {
		t.Errorf("%d requests for %d chunks, want two each: the same bytes came back", n, j.Chunks)
	}
	abrupt := 0
	for _, w := range j.Warnings {
		if w.Code == stitch.CheckAbruptEnd && w.Chunk != nil && strings.Contains(w.Message, "the same audio") {
			abrupt++
		}
	}
	if abrupt != j.Chunks {
		t.Errorf("warnings %v, want abrupt_end for each of %d chunks, once", j.Warnings, j.Chunks)
	}
	h.waitWebhook(t, j.ID)
	events := received()
	completed := slices.DeleteFunc(slices.Clone(events), func(e webhook.Event) bool { return e.Type != webhook.Completed })
	if len(completed) != 1 || len(completed[0].Narration.Warnings) != len(j.Warnings) {
		t.Errorf("webhook events %+v, want one completed event carrying the %d warnings", events, len(j.Warnings))
	}

	again := h.narrate(t, pipeline.Request{ArticleID: req.ArticleID, Body: req.Body, Kind: req.Kind, Options: req.Options, Force: true})
	if again.State != queue.Done || again.Revision != j.Revision+1 || len(again.Warnings) != len(j.Warnings) {
		t.Fatalf("re-narration: %s, revision %d, warnings %v", again.State, again.Revision, again.Warnings)
	}
	for _, w := range again.Warnings {
		if w.Chunk != nil && !strings.Contains(w.Message, "from the cache") {
			t.Errorf("re-narration warning %q does not say the audio came from the cache", w)
		}
	}
}

// recordWebhooks returns a webhook sender to a receiver that keeps every
// event, and a function that returns those received so far.
func recordWebhooks(t *testing.T) (*webhook.Sender, func() []webhook.Event) {
	t.Helper()
	var mu sync.Mutex
	var events []webhook.Event
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e webhook.Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			t.Error(err)
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	sender, err := webhook.New(webhook.Config{URLs: []string{recv.URL}, Secret: "webhook-secret-0123456789"})
	if err != nil {
		t.Fatal(err)
	}
	return sender, func() []webhook.Event {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(events)
	}
}

// waitWebhook waits until a job's narration.completed webhook was
// delivered.
func (h *harness) waitWebhook(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		j, err := h.q.Jobs().Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(j.Webhooks, func(d webhook.Delivery) bool {
			return d.State == webhook.StateDelivered && strings.HasSuffix(d.ID, "."+string(webhook.Completed))
		}) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s deliveries: %+v", id, j.Webhooks)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
