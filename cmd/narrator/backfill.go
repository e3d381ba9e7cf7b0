package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
)

func init() {
	register(&command{Name: "backfill", Summary: "narrate an archive: plan it, or submit it paced, resumable, within a budget", Run: runBackfill})
	register(&command{Name: "backfill status", Summary: "list backfill runs, or show one", Run: runBackfillStatus})
}

// backfillFlags are a run's settings from flags.
type backfillFlags struct {
	sitemap, wordpress, ghost, export, format string
	name, since, until, sections              string
	max                                       int
	dryRun                                    bool
	sample                                    int
	budgetChars                               int
	budgetUSD                                 float64
	inFlight, backlog                         int
	share, fetchRate                          float64
	latency                                   time.Duration
	slots                                     int
	stages                                    string
	quiet, asJSON                             bool
}

func runBackfill(ctx context.Context, args []string, io stdio) error {
	var s settings
	var f backfillFlags
	fs := newFlags("backfill", "(--sitemap URL | --wordpress URL | --ghost URL | --export FILE|URL) [flags]", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	fs.StringVar(&f.sitemap, "sitemap", "", "a sitemap or sitemap index (news or plain, gzipped or not)")
	fs.StringVar(&f.wordpress, "wordpress", "", "a WordPress site, read through its REST API (/wp-json/wp/v2/posts)")
	fs.StringVar(&f.ghost, "ghost", "", "a Ghost site, read through its Content API (key in GHOST_CONTENT_API_KEY)")
	fs.StringVar(&f.export, "export", "", "a JSON Lines or CSV export (file or URL) of id, url or html, title, section, author, date")
	fs.StringVar(&f.format, "format", "", "the export's format, jsonl or csv (default: from its name)")
	fs.StringVar(&f.name, "name", "", "the run's name; running the same name again resumes it (default: from the source and filters)")
	fs.StringVar(&f.since, "since", "", "articles published on or after this date (2024-01-31) or time (RFC 3339)")
	fs.StringVar(&f.until, "until", "", "articles published before this date or time")
	fs.StringVar(&f.sections, "section", "", "articles of these sections only, comma-separated")
	fs.IntVar(&f.max, "max", 0, "at most this many articles, newest first where the source orders them; 0: all")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan (articles, characters, cost per provider and model, time under the rate limits) and submit nothing")
	fs.IntVar(&f.sample, "sample", 0, "plan from this many articles, extrapolated (default: every article a source gives with its content, 200 pages otherwise)")
	fs.IntVar(&f.budgetChars, "budget-chars", 0, "stop before the characters submitted pass this; 0: no cap")
	fs.Float64Var(&f.budgetUSD, "budget-usd", 0, "stop before the cost submitted, at the model's price, passes this many dollars; 0: no cap")
	fs.IntVar(&f.inFlight, "in-flight", 16, "narrations of this run not yet ended, at most")
	fs.IntVar(&f.backlog, "backlog", 4, "submit only while the workers' low-priority lanes hold at most this many tasks waiting")
	fs.Float64Var(&f.share, "share", 0.8, "the share of the provider's rate limits (--rpm, --cpm) the run may use")
	fs.Float64Var(&f.fetchRate, "fetch-rate", 4, "article pages fetched a second, at most")
	fs.DurationVar(&f.latency, "latency-per-char", 0, "the provider's synthesis time per character, for the plan's time (default 11ms for openai, as tts-1)")
	fs.IntVar(&f.slots, "synth-slots", 0, "synthesis requests the cluster makes at once for low-priority work, for the plan's time (default: 3/4 of --synth-concurrency)")
	fs.StringVar(&f.stages, "stages", "", "stages this process runs meanwhile (default: all with the embedded server, none with NATS_URL)")
	fs.BoolVar(&f.quiet, "quiet", false, "do not show progress")
	fs.BoolVar(&f.asJSON, "json", false, "print the plan or the run's record as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := f.config(&s)
	if err != nil {
		return err
	}
	if s.LogLevel == "info" && os.Getenv("NARRATOR_LOG_LEVEL") == "" {
		s.LogLevel = "warn" // progress goes to stderr; logs only when something is wrong
	}
	stages := splitStages(f.stages)
	if f.stages == "" && s.NATSURL == "" && !f.dryRun {
		stages = defaultStages()
	}
	r, err := s.start(ctx, stages)
	if err != nil {
		return err
	}
	defer r.close(ctx)
	if len(stages) > 0 {
		workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
		worked := make(chan error, 1)
		go func() { worked <- r.p.Run(workCtx, stages) }()
		defer func() { stopWork(); <-worked }()
	}
	deps, err := s.backfillDeps(ctx, r)
	if err != nil {
		return err
	}
	if f.dryRun {
		plan, err := backfill.MakePlan(ctx, deps, cfg)
		if err != nil {
			return err
		}
		if f.asJSON {
			return writeJSON(io.Out, plan)
		}
		printPlan(io.Out, cfg, plan)
		return nil
	}
	bar := newRunProgress(io.Err, f.quiet)
	cfg.Progress = bar.show
	run, err := backfill.Start(ctx, deps, cfg)
	if err != nil {
		return err
	}
	last, err := run.Run(ctx)
	bar.done(last)
	if f.asJSON {
		if werr := writeJSON(io.Out, last); werr != nil {
			return werr
		}
	} else {
		printRun(io.Out, last)
	}
	if err != nil {
		return err
	}
	if last.State == backfill.StateStopped {
		return fmt.Errorf("backfill %s stopped (%s); run the same command again to go on", last.Name, last.Reason)
	}
	return nil
}

// config builds the run's configuration from the flags.
func (f *backfillFlags) config(s *settings) (backfill.Config, error) {
	var spec backfill.Spec
	n := 0
	for _, src := range []struct{ kind, url string }{{backfill.KindSitemap, f.sitemap}, {backfill.KindWordPress, f.wordpress}, {backfill.KindGhost, f.ghost}} {
		if src.url != "" {
			spec, n = backfill.Spec{Kind: src.kind, URL: src.url}, n+1
		}
	}
	if f.export != "" {
		n++
		spec.Kind = f.format
		if spec.Kind == "" {
			spec.Kind = backfill.KindJSONL
			if ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(f.export, ".gz"))); ext == ".csv" {
				spec.Kind = backfill.KindCSV
			}
		}
		if strings.HasPrefix(f.export, "http://") || strings.HasPrefix(f.export, "https://") {
			spec.URL = f.export
		} else {
			spec.Path = f.export
		}
	}
	if n != 1 {
		return backfill.Config{}, usageError{"give one source: --sitemap, --wordpress, --ghost or --export"}
	}
	if spec.Kind == backfill.KindGhost {
		key, err := readSecretEnv(os.Getenv, "GHOST_CONTENT_API_KEY")
		if err != nil {
			return backfill.Config{}, err
		}
		spec.Key = key
	}
	var filt backfill.Filter
	for _, d := range []struct {
		flag, val string
		to        *time.Time
	}{{"--since", f.since, &filt.Since}, {"--until", f.until, &filt.Until}} {
		if d.val == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.val)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, d.val); err != nil {
				return backfill.Config{}, usageError{fmt.Sprintf("%s %q: want a date (2024-01-31) or an RFC 3339 time", d.flag, d.val)}
			}
		}
		*d.to = t.UTC()
	}
	filt.Sections, filt.Max = backfill.ParseSections(f.sections), f.max
	cfg := s.backfillDefaults()
	cfg.Name, cfg.Source, cfg.Filter, cfg.Budget, cfg.Sample = f.name, spec, filt, backfill.Budget{Chars: f.budgetChars, USD: f.budgetUSD}, f.sample
	cfg.InFlight, cfg.Backlog, cfg.Share, cfg.FetchRate = f.inFlight, f.backlog, f.share, f.fetchRate
	if f.latency > 0 {
		cfg.Synthesis.PerChar = f.latency
	}
	if f.slots > 0 {
		cfg.Synthesis.Slots = f.slots
	}
	return cfg, nil
}

// backfillDefaults are a run's settings from the worker flags: the
// provider and model, the cluster's rate limits, and the provider's speed
// for plans (tts-1's 11 ms a character on three quarters of the synth
// slots of one worker).
func (s *settings) backfillDefaults() backfill.Config {
	cfg := backfill.Config{Options: s.options(), RPM: s.RPM, CPM: s.CPM, ListenModel: s.ListenModel}
	cfg.Options.Model = s.Model
	if s.Engine == "openai" {
		cfg.Synthesis.PerChar = 11 * time.Millisecond
	}
	c := s.SynthWorkers
	if c == 0 {
		c = 16
	}
	cfg.Synthesis.Slots = max(c-c/4, 1)
	return cfg
}

// backfillDeps builds what a run needs beside the pipeline: the clean
// stage's cleaner, and fetchers behind the SSRF guard.
func (s *settings) backfillDeps(ctx context.Context, r *running) (backfill.Deps, error) {
	guard, err := s.guard()
	if err != nil {
		return backfill.Deps{}, err
	}
	cl, err := clean.New(clean.Config{})
	if err != nil {
		return backfill.Deps{}, err
	}
	st, err := backfill.OpenStore(ctx, r.q)
	if err != nil {
		return backfill.Deps{}, err
	}
	return backfill.Deps{Pipeline: r.p, Store: st, Cleaner: cl, Fetcher: ingest.New(ingest.Config{Guard: guard}),
		Getter: backfill.NewGetter(guard), Logger: r.log}, nil
}

func runBackfillStatus(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("backfill status", "[--json] [NAME]", io)
	s.queueFlags(fs)
	asJSON := fs.Bool("json", false, "print the records as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{"give at most one run name"}
	}
	_, q, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	st, err := backfill.OpenStore(ctx, q)
	if err != nil {
		return err
	}
	var runs []backfill.Run
	if fs.NArg() == 1 {
		run, err := st.Get(ctx, fs.Arg(0))
		if err != nil {
			return err
		}
		runs = []backfill.Run{run}
	} else if runs, err = st.Runs(ctx); err != nil {
		return err
	}
	for i := range runs {
		runs[i] = runs[i].Shown()
	}
	if *asJSON {
		return writeJSON(io.Out, runs)
	}
	if len(runs) == 0 {
		fmt.Fprintln(io.Out, "no backfill runs")
	}
	for _, run := range runs {
		printRun(io.Out, run)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
