package synth_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// endCheck is a check with one heuristic: speech whose last 50 ms are loud
// was cut off. It measures the audio for leveling too.
func endCheck(ctx context.Context, audio []byte, req synth.Request, want synth.Format) (synth.Verdict, error) {
	if err := synth.BasicCheck(audio, req, want); err != nil {
		return synth.Verdict{}, err
	}
	a, err := mp3.Analyze(ctx, bytes.NewReader(audio), mp3.Options{Decode: true})
	if err != nil {
		return synth.Verdict{}, err
	}
	v := synth.Verdict{Measured: true, Loudness: a.Loudness, Peak: mp3.DB(a.Peak)}
	if a.EndLevel > -40 {
		v.Findings = []synth.Finding{{Code: "abrupt_end", Message: "the last 50 ms are loud"}}
	}
	return v, nil
}

func TestHeuristicFindingsAreAskedAgainThenKept(t *testing.T) {
	abrupt := speechgen.Options{AbruptEnd: true}
	cases := []struct {
		name     string
		cfg      faketts.Config
		requests int  // the provider is asked this often
		findings bool // and the chunk is kept with findings
	}{
		{"clean at once", faketts.Config{}, 1, false},
		{"cut off, then clean", faketts.Config{Script: map[int]faketts.Fault{1: faketts.Abrupt}}, 2, false},
		// A service that answers the same text with the same bytes is not
		// asked a third time.
		{"the same bytes again", faketts.Config{Speech: abrupt}, 2, true},
		// Different audio, cut off every time: asked twice more, then kept.
		{"cut off every time", faketts.Config{Vary: []speechgen.Options{abrupt, {AbruptEnd: true, Lead: 100 * time.Millisecond}, {AbruptEnd: true, Lead: 200 * time.Millisecond}}}, 3, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := startFake(t, tc.cfg)
			cache := synth.NewMemoryCache()
			s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), cache, synth.Config{Check: endCheck})
			req := synth.Request{Text: "The council will meet again on Thursday to discuss the final figures."}
			res, err := s.Synthesize(t.Context(), req)
			if err != nil {
				t.Fatalf("a heuristic finding failed the chunk: %v", err)
			}
			if res.Requests != tc.requests || len(fake.Log()) != tc.requests || res.Billed != tc.requests*len(req.Text) {
				t.Errorf("%d requests (fake saw %d), billed %d; want %d requests, each billed", res.Requests, len(fake.Log()), res.Billed, tc.requests)
			}
			if got := len(res.Verdict.Findings) > 0; got != tc.findings {
				t.Errorf("findings %v, want some: %v", res.Verdict.Findings, tc.findings)
			}
			if st := s.Stats(); st.Rerequests != int64(tc.requests-1) || st.BadAudio != 0 {
				t.Errorf("stats %+v", st)
			}
			// What was kept is cached, findings and all: not asked again.
			again, err := s.Synthesize(t.Context(), req)
			if err != nil || !again.Cached || !bytes.Equal(again.Audio, res.Audio) || len(again.Verdict.Findings) != len(res.Verdict.Findings) {
				t.Errorf("again: cached %v, same audio %v, findings %v, err %v", again.Cached, bytes.Equal(again.Audio, res.Audio), again.Verdict.Findings, err)
			}
		})
	}
}

// TestStructuralFaultsStillFail: a truncated answer is bad audio, retried
// by the caller, never kept; but once usable audio is in hand, a second
// request that fails keeps it.
func TestStructuralFaultsStillFail(t *testing.T) {
	fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.Truncate, 2: faketts.Abrupt, 3: faketts.Fail500}})
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), synth.NewMemoryCache(), synth.Config{Check: endCheck})
	req := synth.Request{Text: strings.Repeat("Words to read aloud. ", 5)}
	_, err := s.Synthesize(t.Context(), req)
	wantClass(t, err, synth.ErrBadAudio, false, 0)
	res, err := s.Synthesize(t.Context(), req)
	if err != nil || res.Requests != 2 || len(res.Verdict.Findings) != 1 {
		t.Errorf("second try: %v, %d requests, findings %v; want the cut-off audio kept after a failed request", err, res.Requests, res.Verdict.Findings)
	}
}
