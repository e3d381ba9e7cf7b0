package backfill

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/synth"
)

// Deps are what runs use.
type Deps struct {
	Pipeline *pipeline.Pipeline // submits; its queue keeps the runs
	Store    *Store
	Cleaner  *clean.Cleaner  // the clean stage's, so texts hash alike
	Fetcher  *ingest.Fetcher // article pages, through the SSRF guard
	Getter   *Getter         // sitemaps, API pages, exports
	Logger   *slog.Logger
}

// Config is a run: what it reads, how it narrates, how fast.
type Config struct {
	// Name names the run's record; running a name again resumes it.
	// Default: DefaultName of the source and filter.
	Name    string
	Source  Spec
	Filter  Filter
	Options queue.Options // provider, model, voice, publication; articles give title, section, author
	Budget  Budget
	// InFlight bounds the run's narrations not yet ended (default 16).
	InFlight int
	// Backlog submits only while the workers' low-priority lanes hold at
	// most this many tasks no worker has taken (default 4): the run goes
	// as fast as the workers take its articles, and no faster.
	Backlog int
	// RPM and CPM are the provider's cluster-wide limits (NARRATOR_RPM,
	// NARRATOR_CPM); the run submits at most Share of them (default
	// 0.8), leaving the rest for the newsroom's own articles.
	RPM, CPM int
	Share    float64
	// FetchRate bounds the article pages fetched a second (default 4), to
	// be gentle with the newsroom's site.
	FetchRate float64
	// Sample, for a plan, measures at most this many articles and
	// extrapolates (0: every article the source gives with its content,
	// and up to 200 whose page must be fetched).
	Sample int
	// Synthesis models the provider's speed for a plan's time.
	Synthesis SynthesisModel
	// ListenModel is the listening check's transcription model, the one
	// a plan marks as configured (default whisper-1).
	ListenModel string
	// Progress, when set, hears of the run's record as it changes.
	Progress func(Run)
}

// SynthesisModel is how fast the provider speaks, for a plan's time.
type SynthesisModel struct {
	PerChar time.Duration // synthesis time per character (OpenAI tts-1: about 11 ms); 0: not modelled
	Slots   int           // requests the cluster's synth workers make at once for low-priority work (default 12: three quarters of one worker's 16)
}

func (c *Config) setDefaults() {
	if c.Name == "" {
		c.Name = DefaultName(c.Source, c.Filter)
	}
	if c.InFlight == 0 {
		c.InFlight = 16
	}
	if c.Backlog == 0 {
		c.Backlog = 4
	}
	if c.Share == 0 {
		c.Share = 0.8
	}
	if c.FetchRate == 0 {
		c.FetchRate = 4
	}
	if c.Synthesis.Slots == 0 {
		c.Synthesis.Slots = 12
	}
}

// Validate reports settings a run cannot go with.
func (c *Config) Validate() error {
	errs := []error{CheckName(c.Name), c.Source.Validate(), c.Filter.Validate()}
	if c.Options.Provider == "" {
		errs = append(errs, errors.New("backfill: no speech provider"))
	}
	if c.InFlight < 1 || c.Backlog < 0 || c.Share <= 0 || c.Share > 1 || c.FetchRate <= 0 || c.Sample < 0 || c.RPM < 0 || c.CPM < 0 {
		errs = append(errs, errors.New("backfill: want in-flight ≥ 1, backlog ≥ 0, 0 < share ≤ 1, fetch rate > 0, sample ≥ 0, rpm and cpm ≥ 0"))
	}
	if c.Budget.Chars < 0 || c.Budget.USD < 0 {
		errs = append(errs, errors.New("backfill: a budget must not be negative"))
	}
	if c.Budget.USD > 0 && price(c.Options) == 0 {
		errs = append(errs, fmt.Errorf("backfill: a budget in dollars needs a priced model; %s %s costs nothing (use a budget in characters)", c.Options.Provider, model(c.Options)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// ErrInvalid wraps every reason Config.Validate gives.
var ErrInvalid = errors.New("backfill: invalid settings")

func model(o queue.Options) string {
	if o.Model != "" {
		return o.Model
	}
	return synth.DefaultModel(o.Provider)
}

// price is US dollars per million characters of the run's provider and model.
func price(o queue.Options) float64 { return synth.Prices()[o.Provider][model(o)] }

// cost is US dollars of chars characters of synthesis and seconds of
// recognition at OpenAI's price of the listening model.
func (c Config) cost(chars, heard int) float64 {
	return float64(chars)*price(c.Options)/1e6 + synth.ListenUSD(heard, synth.DefaultListenPrice("", c.ListenModel))
}

// ErrBusy is returned for a run another live process is running.
var ErrBusy = errors.New("backfill: run in progress elsewhere")

// Runner is one run in this process.
type Runner struct {
	Deps
	cfg   Config
	src   Source
	owner string

	rate     *pace // provider requests and characters a minute
	fetches  *pace // pages a second
	inflight map[string]int
	polled   time.Time
	backlog  int
	checked  time.Time
	beat     time.Time
	run      Run // as last written
}

// Start claims the run's record (creating it, or resuming it unless a
// live process holds it) and returns its Runner.
func Start(ctx context.Context, deps Deps, cfg Config) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	src, err := cfg.Source.Open(deps.Getter)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	r := &Runner{Deps: deps, cfg: cfg, src: src, owner: owner(host, os.Getpid()), inflight: map[string]int{}}
	// Ten seconds of burst: a run starts at its pace, not with a minute's worth.
	r.rate = newPace(time.Minute, cfg.Share*float64(cfg.RPM), cfg.Share*float64(cfg.CPM), 10*time.Second)
	r.fetches = newPace(time.Second, cfg.FetchRate, 0, time.Second)
	now := time.Now().UTC()
	fresh := Run{Name: cfg.Name, Source: cfg.Source, Filter: cfg.Filter, Options: cfg.Options, Budget: cfg.Budget,
		State: StateRunning, Owner: r.owner, Heartbeat: now, Started: now, Total: -1}
	err = deps.Store.r.Create(ctx, runKey(cfg.Name), fresh)
	switch {
	case err == nil:
		r.run = fresh
		return r, nil
	case !errors.Is(err, queue.ErrRecordExists):
		return nil, err
	}
	r.run, err = deps.Store.update(ctx, cfg.Name, func(run *Run) error {
		if run.Active() && run.Owner != r.owner && !gone(run.Owner) {
			return fmt.Errorf("%w: backfill %s is running on %s; stop it first", ErrBusy, cfg.Name, run.Owner)
		}
		if run.Source != cfg.Source || run.Filter.Since != cfg.Filter.Since || run.Filter.Until != cfg.Filter.Until {
			return fmt.Errorf("%w: backfill %s reads %s; resume it with the same source and dates, or choose another name", ErrName, cfg.Name, run.Source.Describe())
		}
		run.Filter, run.Options, run.Budget = cfg.Filter, cfg.Options, cfg.Budget
		run.State, run.Reason, run.Owner, run.Heartbeat, run.Ended = StateRunning, "", r.owner, now, time.Time{}
		run.Seen = 0 // this pass's; the rest are totals over every pass
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Name returns the run's name.
func (r *Runner) Name() string { return r.cfg.Name }

// Run submits the run's articles until every one is submitted and every
// narration ended, the budget stops it, a stop is asked for, or ctx ends
// (Ctrl-C, shutdown): then it records where it is and returns, and
// running it again goes on from there. It returns the run's last record.
func (r *Runner) Run(ctx context.Context) (Run, error) {
	total, err := r.src.Count(ctx, r.cfg.Filter)
	if err != nil {
		return r.finish(ctx, StateFailed, "the source could not be read: "+err.Error(), err)
	}
	if r.cfg.Filter.Max > 0 && (total < 0 || total > r.cfg.Filter.Max) {
		total = r.cfg.Filter.Max
	}
	if err := r.write(ctx, func(run *Run) { run.Total = total }); err != nil {
		return r.run, err
	}
	listed := 0
	err = r.src.List(ctx, r.cfg.Filter, func(a Article) error {
		if r.cfg.Filter.Max > 0 && listed >= r.cfg.Filter.Max {
			return errStop
		}
		listed++
		return r.article(ctx, a)
	})
	var stop stopError
	switch {
	case errors.As(err, &stop):
		return r.finish(ctx, stop.state, stop.reason, nil)
	case ctx.Err() != nil:
		return r.finish(context.WithoutCancel(ctx), StateStopped, "interrupted", nil)
	case err != nil && !errors.Is(err, errStop):
		return r.finish(ctx, StateFailed, "the source could not be read: "+err.Error(), err)
	}
	// Every article is in: wait for the last narrations to end.
	for len(r.inflight) > 0 {
		if err := r.poll(ctx, true); err != nil {
			if ctx.Err() != nil {
				return r.finish(context.WithoutCancel(ctx), StateStopped, "interrupted", nil)
			}
			return r.finish(ctx, StateFailed, err.Error(), err)
		}
		if len(r.inflight) > 0 {
			if err := sleep(ctx, time.Second); err != nil {
				return r.finish(context.WithoutCancel(ctx), StateStopped, "interrupted", nil)
			}
		}
	}
	return r.finish(ctx, StateDone, "", nil)
}

// stopError ends a listing for a reason that is not a failure.
type stopError struct{ state, reason string }

func (e stopError) Error() string { return e.reason }

func (r *Runner) finish(ctx context.Context, state, reason string, cause error) (Run, error) {
	werr := r.write(ctx, func(run *Run) {
		run.State, run.Reason, run.Ended = state, reason, time.Now().UTC()
	})
	return r.run, errors.Join(cause, werr)
}

// write applies fn to the run's record and tells Progress.
func (r *Runner) write(ctx context.Context, fn func(*Run)) error {
	run, err := r.Store.update(ctx, r.cfg.Name, func(run *Run) error {
		if run.Owner != r.owner {
			return fmt.Errorf("%w: backfill %s was taken over by %s", ErrBusy, r.cfg.Name, run.Owner)
		}
		fn(run)
		run.Heartbeat = time.Now().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	r.run, r.beat = run, time.Now()
	if r.cfg.Progress != nil {
		r.cfg.Progress(run)
	}
	return nil
}

// article brings one listed article to its end in this pass: skipped as
// read before, as unchanged, or as unreadable, or submitted.
func (r *Runner) article(ctx context.Context, a Article) error {
	if err := r.heartbeat(ctx); err != nil {
		return err
	}
	key := articleKey(r.cfg.Name, a.ID)
	var prev *articleRecord
	var old articleRecord
	if _, err := r.Store.r.Get(ctx, key, &old); err == nil {
		prev = &old
	} else if !errors.Is(err, queue.ErrNoRecord) {
		return err
	}
	raw := ""
	if a.HTML != "" {
		raw = script.Hash(a.HTML)
	}
	if prev != nil && prev.State != artFailed && (raw != "" && raw == prev.Raw || raw == "" && !a.Date.After(prev.Date)) {
		// Read before and not changed since: nothing to fetch.
		return r.seen(ctx, *prev)
	}
	fail := func(err error) error {
		r.Logger.Warn("backfill: article skipped", "backfill", r.cfg.Name, "article", a.ID, "err", err)
		return r.record(ctx, key, prev, articleRecord{ID: a.ID, State: artFailed, Raw: raw, Date: a.Date, Error: err.Error(), At: time.Now().UTC()})
	}
	body, m, err := r.content(ctx, a)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fail(err)
	}
	a.Section, a.Author = cmp.Or(a.Section, m.Section), cmp.Or(a.Author, m.Author)
	s, err := r.Cleaner.Clean(ctx, clean.Input{Body: body, ContentType: "text/html; charset=utf-8", Title: a.Title})
	if err != nil {
		return fail(err)
	}
	if a.Date.IsZero() {
		a.Date = s.Published
	}
	rec := articleRecord{ID: a.ID, Raw: raw, Date: a.Date, TextHash: s.TextHash(), At: time.Now().UTC()}
	if !r.cfg.Filter.dated(a.Date) || !r.cfg.Filter.sectioned(a.Section, true) {
		rec.State = artExcluded // its page says it is not one of the run's
		return r.record(ctx, key, prev, rec)
	}
	opts := r.cfg.Options
	opts.Title, opts.Section, opts.Author = a.Title, a.Section, a.Author
	est, err := r.Pipeline.Estimate(ctx, s, opts)
	if err != nil {
		return fail(err)
	}
	rec.Chars, rec.Requests, rec.Heard = est.Chars, est.Requests, est.HeardSeconds
	job, err := r.Pipeline.Queue.Jobs().Get(ctx, pipeline.JobID(a.ID))
	switch {
	case err == nil && job.TextHash == rec.TextHash && (job.State == queue.Done || !job.Ended()):
		rec.State, rec.Job, rec.Rev = artUnchanged, job.ID, job.Revision
		if !job.Ended() {
			rec.State = artSubmitted // submitted by this run before it died: follow it
			r.inflight[job.ID] = job.Revision
		}
		return r.record(ctx, key, prev, rec)
	case err != nil && !errors.Is(err, queue.ErrNoJob):
		return err
	}
	if b := r.cfg.Budget.Chars; b > 0 && r.run.Chars+rec.Chars > b {
		return stopError{StateBudget, fmt.Sprintf("the budget of %d characters is reached: %d submitted, and the next article needs %d", b, r.run.Chars, rec.Chars)}
	}
	// A budget in dollars covers the listening check's recognition too.
	if b, spent, next := r.cfg.Budget.USD, r.cfg.cost(r.run.Chars, r.run.HeardSeconds), r.cfg.cost(rec.Chars, rec.Heard); b > 0 && spent+next > b {
		return stopError{StateBudget, fmt.Sprintf("the budget of $%.2f is reached: $%.2f submitted, and the next article needs $%.2f", b, spent, next)}
	}
	if err := r.wait(ctx, rec.Requests, rec.Chars); err != nil {
		return err
	}
	j, err := r.Pipeline.Submit(ctx, pipeline.Request{ArticleID: a.ID, Body: body, Kind: "html", Options: opts, Priority: queue.Low})
	if errors.Is(err, pipeline.ErrBadRequest) || fault.IsPermanent(err) {
		return fail(err)
	}
	if err != nil {
		return err
	}
	r.rate.take(float64(rec.Requests), float64(rec.Chars))
	rec.State, rec.Job, rec.Rev = artSubmitted, j.ID, j.Revision
	if !j.Ended() {
		r.inflight[j.ID] = j.Revision
	}
	return r.record(ctx, key, prev, rec)
}

// content returns an article's HTML, fetching its page when the source
// gave none, and what its head says.
func (r *Runner) content(ctx context.Context, a Article) ([]byte, pageMeta, error) {
	if a.HTML != "" {
		return []byte(a.HTML), pageMeta{}, nil
	}
	if err := r.fetches.wait(ctx, 1, 0); err != nil {
		return nil, pageMeta{}, err
	}
	r.fetches.take(1, 0)
	page, err := r.Fetcher.Fetch(ctx, a.URL)
	if err != nil {
		return nil, pageMeta{}, err
	}
	return page.Body, readMeta(page.Body), nil
}

// seen counts an article read in an earlier pass and follows its
// narration if it has not ended.
func (r *Runner) seen(ctx context.Context, rec articleRecord) error {
	if rec.State == artSubmitted {
		j, err := r.Pipeline.Queue.Jobs().Get(ctx, rec.Job)
		if err != nil && !errors.Is(err, queue.ErrNoJob) {
			return err
		}
		switch {
		case err == nil && j.Revision == rec.Rev && !j.Ended():
			r.inflight[j.ID] = j.Revision
		case err == nil && j.Revision == rec.Rev:
			if err := r.ended(ctx, j); err != nil {
				return err
			}
		}
	}
	return r.bump(ctx, func(*Run) {})
}

// record writes an article's record, then counts its move from its
// previous state (nil: new) in the run's record.
func (r *Runner) record(ctx context.Context, key string, prev *articleRecord, rec articleRecord) error {
	if err := r.Store.r.Put(ctx, key, rec); err != nil {
		return err
	}
	return r.bump(ctx, func(run *Run) {
		if prev != nil && prev.State == rec.State {
			return
		}
		if prev != nil && prev.State == artFailed {
			run.Failed--
		}
		switch rec.State {
		case artSubmitted:
			run.Submitted++
			run.Chars += rec.Chars
			run.Requests += rec.Requests
			run.HeardSeconds += rec.Heard
		case artUnchanged:
			run.Unchanged++
		case artFailed:
			run.Failed++
		}
	})
}

// bump counts one more article seen this pass, and whatever else count does.
func (r *Runner) bump(ctx context.Context, count func(*Run)) error {
	return r.write(ctx, func(run *Run) {
		run.Seen++
		count(run)
	})
}

// heartbeat polls the narrations in flight, keeps the run's heartbeat
// fresh, and stops when asked to.
func (r *Runner) heartbeat(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.poll(ctx, false); err != nil {
		return err
	}
	if time.Since(r.beat) > heartbeatAge/3 {
		if err := r.write(ctx, func(*Run) {}); err != nil {
			return err
		}
	}
	if r.run.Reason == stopRequested {
		return stopError{StateStopped, "stopped by an editor"}
	}
	return nil
}

// wait holds the next submission until the run may make it: fewer than
// InFlight of its narrations in flight, the workers' low lanes nearly
// empty, and its share of the provider's rate limits free.
func (r *Runner) wait(ctx context.Context, requests, chars int) error {
	for {
		if err := r.poll(ctx, false); err != nil {
			return err
		}
		if len(r.inflight) < r.cfg.InFlight {
			if time.Since(r.checked) > 250*time.Millisecond {
				n, _, err := r.Pipeline.Queue.Backlog(ctx, queue.Low, pipelineStages(r.cfg.Options.Provider)...)
				if err != nil {
					return err
				}
				r.backlog, r.checked = n, time.Now()
			}
			if r.backlog <= r.cfg.Backlog {
				return r.rate.wait(ctx, float64(requests), float64(chars))
			}
		}
		if err := r.heartbeat(ctx); err != nil {
			return err
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// pipelineStages are the stages whose low lanes a run watches.
func pipelineStages(provider string) []string {
	return []string{pipeline.StageClean, pipeline.StageChunk, "synth." + provider, pipeline.StageStitch, pipeline.StagePublish}
}

// poll looks at the narrations in flight (at most every half second,
// unless now) and counts those that ended.
func (r *Runner) poll(ctx context.Context, now bool) error {
	if len(r.inflight) == 0 || !now && time.Since(r.polled) < 500*time.Millisecond {
		return nil
	}
	r.polled = time.Now()
	for id, rev := range r.inflight {
		j, err := r.Pipeline.Queue.Jobs().Get(ctx, id)
		if errors.Is(err, queue.ErrNoJob) {
			delete(r.inflight, id)
			continue
		}
		if err != nil {
			return err
		}
		if j.Revision != rev || j.Ended() {
			delete(r.inflight, id)
			if err := r.ended(ctx, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// ended records a submitted narration's end in its article's record and
// the run's counts.
func (r *Runner) ended(ctx context.Context, j queue.Job) error {
	key := articleKey(r.cfg.Name, j.ArticleID)
	var rec articleRecord
	if _, err := r.Store.r.Get(ctx, key, &rec); err != nil {
		return err
	}
	if rec.State != artSubmitted {
		return nil
	}
	rec.State = artDone
	if j.State == queue.Failed {
		rec.State, rec.Error = artJobFailed, j.Error
	}
	if err := r.Store.r.Put(ctx, key, rec); err != nil {
		return err
	}
	return r.write(ctx, func(run *Run) {
		if rec.State == artDone {
			run.Done++
		} else {
			run.JobFailed++
		}
	})
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// owner names the process running a run.
func owner(host string, pid int) string { return fmt.Sprintf("%s pid %d", host, pid) }
