package backfill_test

import (
	"context"
	"math"
	"testing"

	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/backfill/fakesite"
	"github.com/narrator-project/narrator/services/pipeline"
)

// TestPlanPricesTheListeningCheck: a dry run for a publication whose
// chunks are checked by listening estimates the seconds to be heard and
// prices them with each transcription model, the configured one first,
// beside the characters, which do not change; with the check off it
// prices no recognition. A run's budget in dollars counts it.
func TestPlanPricesTheListeningCheck(t *testing.T) {
	e := start(t, fakesite.Config{Articles: 4, MinChars: 300, MaxChars: 500, Seed: 5})
	cfg := withProvider(backfill.Config{Name: "unheard", Source: backfill.Spec{Kind: backfill.KindWordPress, URL: e.url}, ListenModel: "gpt-4o-mini-transcribe"})
	off, err := backfill.MakePlan(context.Background(), e.deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	listening, err := pipeline.New(pipeline.Deps{Queue: e.q}, pipeline.Config{Listen: "check"})
	if err != nil {
		t.Fatal(err)
	}
	deps := e.deps
	deps.Pipeline = listening
	cfg.Name = "heard"
	on, err := backfill.MakePlan(context.Background(), deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if off.HeardSeconds != 0 || off.ListenCosts != nil {
		t.Errorf("check off: %d s heard, costs %+v; want none", off.HeardSeconds, off.ListenCosts)
	}
	if on.Chars != off.Chars || on.Chars == 0 {
		t.Errorf("characters %d with the check, %d without; want the same", on.Chars, off.Chars)
	}
	if lo := int(math.Ceil(float64(on.Chars) / 15)); on.HeardSeconds < lo || on.HeardSeconds > lo+on.Requests {
		t.Errorf("%d s heard for %d characters in %d requests; want %d to %d", on.HeardSeconds, on.Chars, on.Requests, lo, lo+on.Requests)
	}
	if c := on.ListenCosts; len(c) != 3 || c[0].Model != "gpt-4o-mini-transcribe" || !c[0].Configured || c[0].PerMinute != 0.003 ||
		math.Abs(c[0].USD-float64(on.HeardSeconds)/60*0.003) > 1e-9 || c[1].Configured {
		t.Errorf("listening costs %+v for %d s", c, on.HeardSeconds)
	}

	// A budget in dollars that the synthesis alone fits, a tenth over,
	// stops the run once recognition is counted too.
	cfg.Name, cfg.Budget.USD = "heard-budget", float64(on.Chars)*15/1e6*1.1
	r, err := backfill.Start(context.Background(), deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spent := float64(run.Chars)*15/1e6 + float64(run.HeardSeconds)/60*0.003
	if run.State != backfill.StateBudget || run.Submitted == 0 || run.Submitted >= on.Articles || run.HeardSeconds == 0 || spent > cfg.Budget.USD {
		t.Errorf("run %s (%s): %d of %d articles submitted, $%.4f of $%.4f with %d s heard", run.State, run.Reason, run.Submitted, on.Articles, spent, cfg.Budget.USD, run.HeardSeconds)
	}
}
