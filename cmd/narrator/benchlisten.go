package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// listenRun is how the listening check did on the same chunks spoken
// cleanly and with each injected fault.
type listenRun struct {
	Chunks int               `json:"chunks"`
	Words  int               `json:"words"` // of the chunks' text
	Kinds  []listenKind      `json:"kinds"`
	Sweep  []listenThreshold `json:"sweep"` // what WER alone would catch at each threshold
	// HeardMinutes and CostPer1000Words are the recognition of clean
	// speech, at the listener's price (whisper-1: $0.006 a minute).
	HeardMinutes     float64 `json:"heard_minutes"`
	CostPer1000Words float64 `json:"cost_per_1000_words"`
}

// listenKind is one way of speaking: clean, or one fault.
type listenKind struct {
	Fault   string  `json:"fault"` // "" for clean speech
	Flagged int     `json:"flagged"`
	Share   float64 `json:"share"`   // flagged ÷ chunks the fault changed
	Applied int     `json:"applied"` // chunks it changed (a number misread needs a number)
	WERs    []float64
	P50     float64 `json:"wer_p50"`
	Low     float64 `json:"wer_p1"`  // 1st percentile
	High    float64 `json:"wer_p99"` // 99th percentile
}

// listenThreshold is what a WER threshold alone would flag.
type listenThreshold struct {
	MaxWER      float64            `json:"max_wer"`
	FalseAlarms float64            `json:"false_alarms"` // share of clean chunks
	Caught      map[string]float64 `json:"caught"`       // share of each fault's chunks
}

// benchListen speaks chunks of generated articles through the fake,
// cleanly and with each fault of what is said, and runs the listening
// check (check only) on each: what it flags, the WER it measures, and
// what each WER threshold alone would have flagged.
func benchListen(ctx context.Context, cfg benchConfig) (*listenRun, error) {
	cl, err := clean.New(clean.Config{})
	if err != nil {
		return nil, err
	}
	target := cmp.Or(cfg.ChunkTarget, pipeline.DefaultTargetChars)
	ch, err := chunk.New(chunk.Config{Max: 4096, Target: target})
	if err != nil {
		return nil, err
	}
	var texts []string
	for i := uint64(0); len(texts) < cfg.ListenChunks; i++ {
		a := makeArticle(cfg.Seed^(0x1157e0+i), 4000)
		s, err := cl.Clean(ctx, clean.Input{Body: a.HTML, ContentType: "text/html; charset=utf-8"})
		if err != nil {
			return nil, err
		}
		cs, err := ch.Split(s)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			if utf8.RuneCountInString(c.Text) >= target*3/10 && len(texts) < cfg.ListenChunks { // titles are checked too, but say little about rates
				texts = append(texts, c.Text)
			}
		}
	}
	rep := &listenRun{Chunks: len(texts)}
	for _, t := range texts {
		rep.Words += len(align.Words(t))
	}
	faults := []faketts.Fault{faketts.NoFault, faketts.DropSentence, faketts.RepeatPhrase, faketts.WrongNumber, faketts.StopEarly}
	var heardSeconds float64
	var price float64
	for _, f := range faults {
		k := listenKind{Fault: string(f)}
		wers, flagged := make([]float64, len(texts)), make([]bool, len(texts))
		fc := faketts.Config{LatencyPerChar: -1, TranscribeLatency: -1, Seed: cfg.Seed, Script: map[int]faketts.Fault{}}
		for n := 1; n <= len(texts); n++ {
			fc.Script[n] = f // one request per chunk: the check only warns
		}
		fake, url, stop, err := startFakeWith(ctx, fc)
		if err != nil {
			return nil, err
		}
		prov, err := openAIFor(url)
		if err != nil {
			stop()
			return nil, err
		}
		l, err := synth.NewOpenAIListener(synth.ListenConfig{APIKey: "sk-bench", BaseURL: url, PricePerMinute: 0.006})
		if err != nil {
			stop()
			return nil, err
		}
		price = l.PricePerMinute()
		sy, err := synth.New(prov, nil, synth.Config{Listen: synth.Listening{Listener: l, Policy: synth.ListenCheck}})
		if err != nil {
			stop()
			return nil, err
		}
		var mu sync.Mutex
		var errs []error
		var wg sync.WaitGroup
		sem := make(chan struct{}, max(cfg.Concurrency, 1))
		for i, text := range texts {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				res, err := sy.Synthesize(ctx, synth.Request{Text: text})
				mu.Lock()
				defer mu.Unlock()
				if err != nil || res.Verdict.Heard == nil || !res.Verdict.Heard.Checked {
					errs = append(errs, fmt.Errorf("chunk %d (%s): %v", i, f, err))
					return
				}
				h := res.Verdict.Heard
				wers[i], flagged[i] = h.WER, !h.Passed
				if f == faketts.NoFault {
					heardSeconds += h.Seconds
				}
			})
		}
		wg.Wait()
		// A fault counts where it changed what was said.
		applied := map[string]bool{}
		for _, e := range fake.Log() {
			if e.Path == "/v1/audio/speech" && e.Fault == f {
				applied[e.Input] = true
			}
		}
		stop()
		for i, t := range texts {
			if f == faketts.NoFault || applied[t] {
				k.Applied++
				k.WERs = append(k.WERs, wers[i])
				if flagged[i] {
					k.Flagged++
				}
			}
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("listen bench: %d chunks unheard, first: %w", len(errs), errs[0])
		}
		if k.Applied == 0 {
			return nil, fmt.Errorf("listen bench: fault %s changed no chunk", f)
		}
		k.Share = float64(k.Flagged) / float64(max(k.Applied, 1))
		s := slices.Clone(k.WERs)
		slices.Sort(s)
		k.P50, k.Low, k.High = s[len(s)/2], s[len(s)/100], s[len(s)-1-len(s)/100]
		rep.Kinds = append(rep.Kinds, k)
	}
	for _, th := range []float64{0.02, 0.04, 0.06, 0.08, 0.10, 0.15} {
		t := listenThreshold{MaxWER: th, Caught: map[string]float64{}}
		for _, k := range rep.Kinds {
			n := 0
			for _, w := range k.WERs {
				if w > th {
					n++
				}
			}
			if k.Fault == "" {
				t.FalseAlarms = float64(n) / float64(len(k.WERs))
			} else {
				t.Caught[k.Fault] = float64(n) / float64(len(k.WERs))
			}
		}
		rep.Sweep = append(rep.Sweep, t)
	}
	rep.HeardMinutes = heardSeconds / 60
	rep.CostPer1000Words = rep.HeardMinutes * price / float64(rep.Words) * 1000
	return rep, nil
}

func (l *listenRun) print(w io.Writer) {
	fmt.Fprintf(w, "\nlistening check (check only, WER threshold %.2f, runs of %d words) on %d chunks, %d words:\n", synth.DefaultMaxWER, synth.DefaultMaxRun, l.Chunks, l.Words)
	fmt.Fprintf(w, "  %-11s %8s %8s %9s %9s %9s\n", "speech", "flagged", "share", "WER p1", "p50", "p99")
	for _, k := range l.Kinds {
		name := cmpOr(k.Fault, "clean")
		fmt.Fprintf(w, "  %-11s %4d/%-3d %7.1f%% %9.3f %9.3f %9.3f\n", name, k.Flagged, k.Applied, k.Share*100, k.Low, k.P50, k.High)
	}
	fmt.Fprintf(w, "  WER alone, by threshold: false alarms on clean speech; share caught of each fault\n")
	for _, t := range l.Sweep {
		var parts []string
		for _, k := range l.Kinds[1:] {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", k.Fault, t.Caught[k.Fault]*100))
		}
		fmt.Fprintf(w, "    > %.2f: false alarms %.1f%%; %s\n", t.MaxWER, t.FalseAlarms*100, strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "  recognition: %.1f minutes for %d words of clean speech: $%.4f per 1,000 words at $0.006 a minute\n", l.HeardMinutes, l.Words, l.CostPer1000Words)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
