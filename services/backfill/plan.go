package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
)

// Plan is what a run would do, worked out without submitting anything:
// the articles, the characters the provider would bill, what they cost
// with every provider and model, and how long they take under the rate
// limits. Articles are read, cleaned and chunked as the pipeline would;
// when only a sample is (pages to fetch one by one), the rest is
// extrapolated from it.
type Plan struct {
	Source string `json:"source"`
	Listed int    `json:"listed"`   // articles the source lists under the filter
	Sample int    `json:"measured"` // of those, read, cleaned and chunked
	// Estimated says Articles and what follows are extrapolated from the
	// sample.
	Estimated  bool      `json:"estimated"`
	Articles   int       `json:"articles"`   // to narrate
	Unchanged  int       `json:"unchanged"`  // already narrated with the same text: skipped
	Unreadable int       `json:"unreadable"` // pages with no article to read
	Excluded   int       `json:"excluded"`   // pages that say they are outside the filter
	Chars      int       `json:"chars"`      // billable characters of the articles to narrate (at most: cached chunks cost nothing)
	Requests   int       `json:"requests"`   // provider requests (chunks)
	Costs      []Cost    `json:"costs"`      // with every provider and model
	Time       Timing    `json:"time"`
	Made       time.Time `json:"made"`

	// HeardSeconds is the audio the listening check would transcribe,
	// when it is on for the run's publication; ListenCosts price it with
	// every transcription model, the configured one first.
	HeardSeconds int          `json:"heard_seconds,omitempty"`
	ListenCosts  []ListenCost `json:"listen_costs,omitempty"`
}

// Cost is what a plan's characters cost with one provider and model.
type Cost struct {
	Provider   string  `json:"provider"`
	Model      string  `json:"model"`
	PerMillion float64 `json:"usd_per_million_chars"`
	USD        float64 `json:"usd"`
	Configured bool    `json:"configured,omitempty"` // the run's own
}

// Timing is how long a plan takes: the longest of what each limit allows.
type Timing struct {
	Seconds     float64 `json:"seconds"`
	Limit       string  `json:"limit"`                    // what binds: requests a minute, characters a minute, synthesis, or none
	ByRequests  float64 `json:"by_rpm_seconds,omitempty"` // at the run's share of the requests a minute
	ByChars     float64 `json:"by_cpm_seconds,omitempty"` // at its share of the characters a minute
	BySynthesis float64 `json:"by_synthesis_seconds,omitempty"`
}

// ListenCost is what a plan's recognition costs with one transcription
// model, beside (never inside) the synthesis Costs.
type ListenCost struct {
	Model      string  `json:"model"`
	PerMinute  float64 `json:"usd_per_minute"`
	USD        float64 `json:"usd"`
	Configured bool    `json:"configured,omitempty"`
}

// defaultSample is how many pages a plan fetches when the source lists
// only URLs and no sample size is given.
const defaultSample = 200

// MakePlan works out a run's plan and keeps it in the run's record (unless
// a live process is running it).
func MakePlan(ctx context.Context, deps Deps, cfg Config) (Plan, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Plan{}, err
	}
	src, err := cfg.Source.Open(deps.Getter)
	if err != nil {
		return Plan{}, err
	}
	r := &Runner{Deps: deps, cfg: cfg, src: src, fetches: newPace(time.Second, cfg.FetchRate, 0, time.Second)}
	p := Plan{Source: src.Describe(), Made: time.Now().UTC()}

	// A sample is spread over the whole listing when its size is known.
	total, err := src.Count(ctx, cfg.Filter)
	if err != nil {
		return p, err
	}
	if cfg.Filter.Max > 0 && (total < 0 || total > cfg.Filter.Max) {
		total = cfg.Filter.Max
	}
	every := 1
	sampling := func(a Article) bool {
		n := cfg.Sample
		if n == 0 && a.HTML == "" {
			n = defaultSample
		}
		if n == 0 {
			return true
		}
		if total > n {
			every = int(math.Ceil(float64(total) / float64(n)))
		}
		return p.Listed%every == 0 && p.Sample < n
	}
	var unchanged, unreadable, excluded, articles int
	err = src.List(ctx, cfg.Filter, func(a Article) error {
		if cfg.Filter.Max > 0 && p.Listed >= cfg.Filter.Max {
			return errStop
		}
		take := sampling(a)
		p.Listed++
		if !take {
			return nil
		}
		p.Sample++
		body, m, err := r.content(ctx, a)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			unreadable++
			return nil
		}
		s, err := deps.Cleaner.Clean(ctx, clean.Input{Body: body, ContentType: "text/html; charset=utf-8", Title: a.Title})
		if err != nil {
			unreadable++
			return nil
		}
		a.Section, a.Author, a.Date = cmp.Or(a.Section, m.Section), cmp.Or(a.Author, m.Author), cmp.Or(a.Date, s.Published)
		if !cfg.Filter.dated(a.Date) || !cfg.Filter.sectioned(a.Section, true) {
			excluded++
			return nil
		}
		if j, err := deps.Pipeline.Queue.Jobs().Get(ctx, pipeline.JobID(a.ID)); err == nil && j.TextHash == s.TextHash() && (j.State == queue.Done || !j.Ended()) {
			unchanged++
			return nil
		} else if err != nil && !errors.Is(err, queue.ErrNoJob) {
			return err
		}
		opts := cfg.Options
		opts.Title, opts.Section, opts.Author = a.Title, a.Section, a.Author
		est, err := deps.Pipeline.Estimate(ctx, s, opts)
		if err != nil {
			unreadable++
			return nil
		}
		articles++
		p.Chars += est.Chars
		p.Requests += est.Requests
		p.HeardSeconds += est.HeardSeconds
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return p, err
	}
	scale := func(n int) int { return n }
	if p.Sample < p.Listed && p.Sample > 0 {
		p.Estimated = true
		f := float64(p.Listed) / float64(p.Sample)
		scale = func(n int) int { return int(math.Round(float64(n) * f)) }
	}
	p.Articles, p.Unchanged, p.Unreadable, p.Excluded = scale(articles), scale(unchanged), scale(unreadable), scale(excluded)
	p.Chars, p.Requests, p.HeardSeconds = scale(p.Chars), scale(p.Requests), scale(p.HeardSeconds)
	p.Costs = costs(p.Chars, cfg.Options)
	p.ListenCosts = listenCosts(p.HeardSeconds, cmp.Or(cfg.ListenModel, synth.DefaultListenModel))
	p.Time = timing(p, cfg)
	if err := keepPlan(ctx, deps.Store, cfg, p); err != nil {
		return p, err
	}
	return p, nil
}

// costs prices chars with every provider and model, the run's first.
func costs(chars int, o queue.Options) []Cost {
	var out []Cost
	prices := synth.Prices()
	for _, prov := range slices.Sorted(maps.Keys(prices)) {
		for _, m := range slices.Sorted(maps.Keys(prices[prov])) {
			c := Cost{Provider: prov, Model: m, PerMillion: prices[prov][m], USD: float64(chars) * prices[prov][m] / 1e6}
			c.Configured = prov == o.Provider && m == model(o)
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Cost) int {
		if a.Configured != b.Configured {
			if a.Configured {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}

// listenCosts prices seconds of recognition with every transcription
// model, the configured one first; none when nothing would be heard.
func listenCosts(seconds int, configured string) []ListenCost {
	if seconds == 0 {
		return nil
	}
	var out []ListenCost
	prices := synth.ListenPrices()
	for _, m := range slices.Sorted(maps.Keys(prices)) {
		c := ListenCost{Model: m, PerMinute: prices[m], USD: synth.ListenUSD(seconds, prices[m]), Configured: m == configured}
		if c.Configured {
			out = append([]ListenCost{c}, out...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// timing is how long the plan's requests and characters take at the run's
// share of the rate limits, and synthesizing them at the provider's speed
// on the slots low-priority work may use; the longest binds.
func timing(p Plan, cfg Config) Timing {
	var t Timing
	if cfg.RPM > 0 {
		t.ByRequests = float64(p.Requests) / (cfg.Share * float64(cfg.RPM)) * 60
	}
	if cfg.CPM > 0 {
		t.ByChars = float64(p.Chars) / (cfg.Share * float64(cfg.CPM)) * 60
	}
	if cfg.Synthesis.PerChar > 0 {
		t.BySynthesis = float64(p.Chars) * cfg.Synthesis.PerChar.Seconds() / float64(cfg.Synthesis.Slots)
	}
	t.Limit = "none"
	for _, c := range []struct {
		s    float64
		name string
	}{{t.ByRequests, "requests a minute"}, {t.ByChars, "characters a minute"}, {t.BySynthesis, "synthesis"}} {
		if c.s > t.Seconds {
			t.Seconds, t.Limit = c.s, c.name
		}
	}
	return t
}

// keepPlan writes a plan into the run's record, creating it planned.
func keepPlan(ctx context.Context, st *Store, cfg Config, p Plan) error {
	now := time.Now().UTC()
	err := st.r.Create(ctx, runKey(cfg.Name), Run{Name: cfg.Name, Source: cfg.Source, Filter: cfg.Filter, Options: cfg.Options,
		Budget: cfg.Budget, State: StatePlanned, Started: now, Heartbeat: now, Total: p.Listed, Plan: &p})
	if !errors.Is(err, queue.ErrRecordExists) {
		return err
	}
	_, err = st.update(ctx, cfg.Name, func(r *Run) error {
		if r.Source != cfg.Source {
			return fmt.Errorf("%w: backfill %s reads %s; choose another name", ErrName, cfg.Name, r.Source.Describe())
		}
		r.Plan = &p
		if r.State == StatePlanning {
			r.State, r.Total = StatePlanned, p.Listed
		}
		return nil
	})
	return err
}
