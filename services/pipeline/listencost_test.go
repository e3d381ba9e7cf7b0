package pipeline_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/webhook"
)

// TestListeningIsEstimatedBilledAndBudgeted: with the check on for a
// publication, the job's estimate has the seconds to be heard; the
// seconds heard are billed under "listen", counted for the publication in
// their own unit, and taken from its daily budget as the characters that
// cost the same, so a budget that the synthesis alone would fit refuses
// the article when the check is on; the metrics count the requests and
// seconds. With the check off nothing of it is counted.
func TestListeningIsEstimatedBilledAndBudgeted(t *testing.T) {
	text := strings.Repeat("The council approved the budget for the harbour on Tuesday after a long debate. ", 3)
	body := []byte("Harbour budget\n\n" + text + "\n\n" + text)
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1, TranscribeLatency: -1}, synth.OpenAIConfig{PricePerMillion: 15})
	listener, err := synth.NewOpenAIListener(synth.ListenConfig{BaseURL: fake.URL(), PricePerMinute: 0.006})
	if err != nil {
		t.Fatal(err)
	}
	// Recognition at $0.0001 a second is 6.67 characters of tts-1 at $15
	// a million: the check adds about 44% at 15 characters a second.
	const charsPerSecond = 0.006 / 60 / (15 / 1e6)
	sender, received := recordWebhooks(t)
	h := start(t, prov, nil, func(d *pipeline.Deps, c *pipeline.Config, sc *synth.Config) {
		d.Webhooks = sender
		c.Publications = map[string]pipeline.Voice{"daily": {Listen: "check"}, "weekly": {Listen: "off"}}
		c.DailyChars, c.TargetChars = 100_000, 250
		sc.Listen = synth.Listening{Listener: listener}
	})
	before := gather(t)
	day := time.Now()

	j := h.narrate(t, pipeline.Request{ArticleID: "harbour", Body: body, Kind: "text", Options: queue.Options{Provider: "openai", Publication: "daily"}})
	if j.State != queue.Done {
		t.Fatalf("job %s: %s", j.State, j.Error)
	}
	cs, err := h.q.Jobs().Chunks(t.Context(), j.ID, j.Revision)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, c := range cs {
		want += synth.EstimateHeard(c.Chars)
	}
	if j.EstimateHeard != want || want < j.Estimate/16 {
		t.Errorf("estimated %d s heard for %d characters in %d chunks, want %d", j.EstimateHeard, j.Estimate, len(cs), want)
	}
	heard, requests := 0.0, 0
	for _, e := range fake.Log() {
		if e.Path == "/v1/audio/transcriptions" && e.Status == 200 {
			heard += e.Seconds
			requests++
		}
	}
	// Equal chunks share one request, and one bill.
	if requests == 0 || requests > len(cs) || j.HeardSeconds < int(heard) || j.HeardSeconds > int(heard)+requests {
		t.Fatalf("job heard %d s; the fake heard %.1f s in %d requests for %d chunks", j.HeardSeconds, heard, requests, len(cs))
	}
	billed, err := h.q.Jobs().Billed(t.Context(), queue.ListenBilling, day)
	if err != nil || billed[day.UTC().Day()] != j.HeardSeconds {
		t.Errorf("billed under listen today: %v, %v; want %d s", billed, err, j.HeardSeconds)
	}
	if n, err := h.q.Jobs().Usage(t.Context(), day, pipeline.HeardCounter("daily")); err != nil || n != j.HeardSeconds {
		t.Errorf("daily's heard seconds today: %d, %v; want %d", n, err, j.HeardSeconds)
	}
	h.waitWebhook(t, j.ID)
	for _, e := range received() {
		if e.Type == webhook.Completed && (e.Narration.HeardSeconds != j.HeardSeconds || e.Narration.BilledChars != j.BilledChars) {
			t.Errorf("completed webhook: %d s heard, %d characters billed; the job has %d and %d",
				e.Narration.HeardSeconds, e.Narration.BilledChars, j.HeardSeconds, j.BilledChars)
		}
	}
	used, err := h.q.Jobs().Usage(t.Context(), day, pipeline.BudgetCounter("daily"))
	if err != nil {
		t.Fatal(err)
	}
	lo := j.BilledChars + int(float64(j.HeardSeconds)*charsPerSecond)
	if used < lo || used > lo+len(cs) {
		t.Errorf("daily's budget counted %d characters for %d billed and %d s heard; want %d to %d", used, j.BilledChars, j.HeardSeconds, lo, lo+len(cs))
	}
	after := gather(t)
	if d := after["narrator_heard_audio_seconds_total"] - before["narrator_heard_audio_seconds_total"]; math.Abs(d-heard) > 0.01 {
		t.Errorf("narrator_heard_audio_seconds_total rose by %.2f, the fake heard %.2f", d, heard)
	}
	if d := after["narrator_listen_request_duration_seconds"] - before["narrator_listen_request_duration_seconds"]; int(d) != requests {
		t.Errorf("narrator_listen_request_duration_seconds counted %v requests, want %d", d, requests)
	}
	if d := after["narrator_listen_checks_total"] - before["narrator_listen_checks_total"]; int(d) != len(cs) {
		t.Errorf("narrator_listen_checks_total rose by %v, want a check per chunk (%d)", d, len(cs))
	}

	// The check off: nothing estimated, heard or counted.
	off := h.narrate(t, pipeline.Request{ArticleID: "harbour-weekly", Body: body, Kind: "text", Options: queue.Options{Provider: "openai", Publication: "weekly", Voice: "nova"}})
	if off.State != queue.Done || off.EstimateHeard != 0 || off.HeardSeconds != 0 {
		t.Errorf("with the check off: %s, estimated %d s, heard %d s; want done and nothing heard", off.State, off.EstimateHeard, off.HeardSeconds)
	}
	if n, _ := h.q.Jobs().Usage(t.Context(), day, pipeline.BudgetCounter("weekly")); n != off.BilledChars {
		t.Errorf("weekly's budget counted %d characters, billed %d", n, off.BilledChars)
	}

	// A budget the synthesis alone fits (a fifth over the estimate), but
	// not with the check: refused.
	t.Run("budget", func(t *testing.T) {
		h := start(t, prov, nil, func(_ *pipeline.Deps, c *pipeline.Config, sc *synth.Config) {
			c.Publications = map[string]pipeline.Voice{"daily": {Listen: "check"}, "weekly": {Listen: "off"}}
			c.DailyChars, c.TargetChars = j.Estimate*6/5, 250
			sc.Listen = synth.Listening{Listener: listener}
		})
		got := h.narrate(t, pipeline.Request{ArticleID: "tight", Body: body, Kind: "text", Options: queue.Options{Provider: "openai", Publication: "daily", Voice: "echo"}})
		if got.State != queue.Failed || !strings.Contains(got.Error, "over budget") {
			t.Errorf("%s %q; want it over the budget of %d characters", got.State, got.Error, j.Estimate*6/5)
		}
	})
}

// gather sums each of the pipeline's metrics over its labels: counters'
// values and histograms' counts.
func gather(t *testing.T) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(pipeline.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if c := m.GetCounter(); c != nil {
				out[mf.GetName()] += c.GetValue()
			}
			if h := m.GetHistogram(); h != nil {
				out[mf.GetName()] += float64(h.GetSampleCount())
			}
		}
	}
	return out
}
