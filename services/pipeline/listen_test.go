package pipeline_test

import (
	"strings"
	"testing"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// TestListeningCheckWarnsOrRepairs: a narration whose speech service
// leaves out a sentence is repaired under check-and-retry (the chunk is
// synthesized again and the job has no warning); a publication that only
// checks gets the narration published with a warning naming the chunk and
// the sentence; a recognizer that fails leaves chunks unchecked, with a
// warning, and the job done.
func TestListeningCheckWarnsOrRepairs(t *testing.T) {
	body := []byte("Budget passes\n\nThe council approved the budget on Tuesday. Residents will pay lower fees next year, the mayor said. Forty-two schools get new roofs.")
	for _, tc := range []struct {
		name     string
		pub      string // the publication's policy
		fc       faketts.Config
		warning  string // code of the one warning; empty: none
		mentions string
	}{
		{"retried", "", faketts.Config{Script: map[int]faketts.Fault{1: faketts.DropSentence}}, "", ""},
		{"checked", "check", faketts.Config{Faults: faketts.Faults{Drop: 1}}, synth.FindingMisheard, `omitted "residents will pay lower fees next year the mayor said"`},
		{"unheard", "", faketts.Config{TranscribeScript: map[int]faketts.Fault{1: faketts.Fail500, 2: faketts.Fail500, 3: faketts.Fail500, 4: faketts.Fail503, 5: faketts.Fail500, 6: faketts.Fail500}}, synth.FindingUnchecked, "HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fc.LatencyPerChar, tc.fc.TranscribeLatency = -1, -1
			fake, prov := openAI(t, tc.fc, synth.OpenAIConfig{})
			listener, err := synth.NewOpenAIListener(synth.ListenConfig{BaseURL: fake.URL()})
			if err != nil {
				t.Fatal(err)
			}
			h := start(t, prov, nil, func(_ *pipeline.Deps, c *pipeline.Config, sc *synth.Config) {
				c.Publications = map[string]pipeline.Voice{"daily": {Listen: tc.pub}}
				sc.Listen = synth.Listening{Listener: listener}
			})
			j := h.narrate(t, pipeline.Request{ArticleID: "budget", Body: body, Kind: "text", Options: queue.Options{Provider: "openai", Publication: "daily"}})
			if j.State != queue.Done {
				t.Fatalf("job %s: %s", j.State, j.Error)
			}
			// Recognition is billed by the second, each request rounded up.
			heard, requests := 0.0, 0
			for _, e := range fake.Log() {
				if e.Path == "/v1/audio/transcriptions" && e.Status == 200 {
					heard += e.Seconds
					requests++
				}
			}
			if float64(j.HeardSeconds) < heard || float64(j.HeardSeconds) > heard+float64(requests) || (requests > 0) != (j.HeardSeconds > 0) {
				t.Errorf("job billed %d s heard; the fake heard %.1f s in %d requests", j.HeardSeconds, heard, requests)
			}
			// The fake's speech is too peaky for the loudness target: that
			// warning, about the whole, is not this test's.
			chunks, mentioned := 0, false
			for _, w := range j.Warnings {
				if w.Chunk != nil {
					chunks++
					mentioned = mentioned || (w.Code == tc.warning && strings.Contains(w.Message, tc.mentions))
				}
			}
			switch {
			case tc.warning == "" && chunks > 0:
				t.Errorf("warnings %v, want none about chunks", j.Warnings)
			case tc.warning != "" && (chunks != j.Chunks || !mentioned):
				t.Errorf("warnings %v, want %s about each of %d chunks, one mentioning %q", j.Warnings, tc.warning, j.Chunks, tc.mentions)
			}
			// Where most words were heard as written (a sentence left out
			// takes its neighbours' times), the transcript times them;
			// unheard, it apportions.
			m, err := h.p.Publisher.Manifest(t.Context(), j.ID)
			if err != nil {
				t.Fatal(err)
			}
			timed := 0
			for _, s := range m.Sentences {
				if len(s.Words) > 0 {
					timed++
					if got := s.Words[len(s.Words)-1].Text; !strings.HasSuffix(s.Text, got) || s.Words[0].Start < s.Start {
						t.Errorf("sentence %+v: words do not cover it", s)
					}
				}
			}
			if want := tc.name != "unheard"; (timed == len(m.Sentences)) != want {
				t.Errorf("%d of %d sentences have word times; want all: %v", timed, len(m.Sentences), want)
			}
		})
	}
}
