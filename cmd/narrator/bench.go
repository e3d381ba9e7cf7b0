package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/storage"
)

func init() {
	register(&command{Name: "bench", Summary: "time articles through the whole pipeline against the fake TTS, beside a sequential baseline", Run: runBench})
}

// benchConfig is what one benchmark run does.
type benchConfig struct {
	Articles    int           `json:"articles"`
	MinChars    int           `json:"min_chars"`
	MaxChars    int           `json:"max_chars"`
	Seed        uint64        `json:"seed"`
	Latency     time.Duration `json:"latency_per_char"`
	BaseLatency time.Duration `json:"base_latency"`
	RPM         int           `json:"rpm"`
	CPM         int           `json:"cpm"`
	Faults      faketts.Faults
	Concurrency int  `json:"synth_concurrency"`
	ChunkTarget int  `json:"chunk_target"` // 0: the pipeline's default
	Single      int  `json:"single_chars"` // 0: no single-article run
	Urgent      int  `json:"urgent_chars"` // 0: no priority pair in the batch
	Baseline    bool `json:"baseline"`
	// Listen runs the listening check (check-and-retry) in pipeline runs;
	// ListenChunks > 0 also measures how well it catches injected faults.
	Listen       bool `json:"listen"`
	ListenChunks int  `json:"listen_chunks"`
	// Live are the sizes of articles narrated alone before and with the
	// live stream (benchLive).
	Live []int `json:"live_chars,omitempty"`
	// LiveBurst is how many articles of the middle Live size are
	// submitted at once, with listeners on the first and last (benchBurst).
	LiveBurst int `json:"live_burst,omitempty"`

	chunkFirst int // the pipeline's FirstChars
	// listener, when set, follows the run's job as it is narrated.
	listener func(ctx context.Context, p *pipeline.Pipeline, q *queue.Queue, start time.Time)
}

// benchReport is what a run measured.
type benchReport struct {
	Config   benchConfig  `json:"config"`
	Pipeline *runReport   `json:"pipeline,omitempty"`
	Baseline *runReport   `json:"baseline,omitempty"`
	Speedup  *speedup     `json:"speedup,omitempty"`
	Single   *singleRun   `json:"single,omitempty"`
	Priority *priorityRun `json:"priority,omitempty"`
	Listen   *listenRun   `json:"listen,omitempty"`
	Live     []liveRun    `json:"live,omitempty"`
	Burst    *burstRun    `json:"burst,omitempty"`
	Took     benchSeconds `json:"took"`
}

// runReport is one way of narrating a batch of articles that all arrive
// at once.
type runReport struct {
	Articles          []articleRun  `json:"articles"`
	Wall              benchSeconds  `json:"wall"`
	ArticlesPerMinute float64       `json:"articles_per_minute"`
	Buckets           []bucketStats `json:"buckets"`
	ArticleChars      int           `json:"article_chars"` // characters of the cleaned articles
	SpokenChars       int           `json:"spoken_chars"`  // characters of their chunks, as sent
	BilledChars       int64         `json:"billed_chars"`
	Chunks            int           `json:"chunks"`
	Calls             int           `json:"api_calls"`
	RateLimited       int           `json:"rate_limited"`
	CacheHits         int64         `json:"cache_hits"`
	Failed            int           `json:"failed"`

	slowest      benchSeconds // the longest successful API call
	slowestChars int          // and its characters
	priority     *priorityRun // the pair's, when one was given
}

// articleRun is one article's narration.
type articleRun struct {
	ID          string       `json:"id"`
	Chars       int          `json:"chars"`
	SpokenChars int          `json:"spoken_chars"`
	Chunks      int          `json:"chunks"`
	TimeToAudio benchSeconds `json:"time_to_audio"` // from the batch's start to the published MP3
	// Stages is the wall time of each stage: the pipeline's from job state,
	// the baseline's measured around clean, synth (all chunks) and stitch.
	Stages map[string]benchSeconds `json:"stages,omitempty"`
	Error  string                  `json:"error,omitempty"`
}

// bucketStats are time-to-audio percentiles of articles of one size.
type bucketStats struct {
	Name     string       `json:"name"`
	Articles int          `json:"articles"`
	P50      benchSeconds `json:"p50"`
	P95      benchSeconds `json:"p95"`
}

// speedup compares the pipeline with the baseline on the same articles.
type speedup struct {
	Throughput float64 `json:"throughput"`        // articles a minute, pipeline ÷ baseline
	P50        float64 `json:"time_to_audio_p50"` // baseline ÷ pipeline
}

// priorityRun is two articles of one size submitted, one at high priority
// and one at normal, once a batch waits for synthesis (in a pipeline run
// of their own): what priority buys a breaking story behind a backlog.
// Times count from their submission.
type priorityRun struct {
	Chars  int          `json:"chars"`
	High   benchSeconds `json:"high"`
	Normal benchSeconds `json:"normal"`
	Ratio  float64      `json:"normal_over_high"`
}

// singleRun is one article narrated alone: the latency a newsroom sees.
type singleRun struct {
	Chars        int          `json:"chars"`
	Chunks       int          `json:"chunks"`
	Pipeline     benchSeconds `json:"pipeline"`
	Sequential   benchSeconds `json:"sequential,omitempty"`
	Limit        benchSeconds `json:"limit"` // the slowest single chunk's synthesis
	LimitChars   int          `json:"limit_chars"`
	VsSequential float64      `json:"vs_sequential,omitempty"`
	VsLimit      float64      `json:"vs_limit"`
	// Where the time went, by stage.
	Stages           map[string]benchSeconds `json:"stages"`
	SequentialStages map[string]benchSeconds `json:"sequential_stages,omitempty"`
}

// benchSeconds is a duration shown, and encoded, in seconds.
type benchSeconds time.Duration

// MarshalJSON encodes seconds with millisecond precision.
func (d benchSeconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(math.Round(time.Duration(d).Seconds()*1000) / 1000)
}

func (d benchSeconds) String() string {
	t := time.Duration(d)
	if t < time.Minute {
		return fmt.Sprintf("%.1fs", t.Seconds())
	}
	return t.Round(time.Second).String()
}

func runBench(ctx context.Context, args []string, io stdio) error {
	cfg := benchConfig{Baseline: true}
	fs := newFlags("bench", "[flags]", io)
	fs.IntVar(&cfg.Articles, "articles", 6, "articles narrated at once; 0 for none")
	fs.IntVar(&cfg.MinChars, "min-chars", 2000, "shortest article, in characters")
	fs.IntVar(&cfg.MaxChars, "max-chars", 12000, "longest article, in characters")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated articles")
	fs.DurationVar(&cfg.Latency, "latency-per-char", faketts.DefaultLatencyPerChar, "the fake's synthesis time per character (OpenAI tts-1: about 11ms)")
	fs.DurationVar(&cfg.BaseLatency, "base-latency", 0, "the fake's time added to every request")
	fs.IntVar(&cfg.RPM, "rpm", 0, "the fake's requests per minute (and the cluster limiter's); 0 for no limit")
	fs.IntVar(&cfg.CPM, "cpm", 0, "the fake's characters per minute (and the cluster limiter's); 0 for no limit")
	fs.Float64Var(&cfg.Faults.RateLimit, "fail-429", 0, "`fraction` of requests the fake answers 429")
	fs.Float64Var(&cfg.Faults.Server5xx, "fail-5xx", 0, "`fraction` of requests the fake answers 500")
	fs.Float64Var(&cfg.Faults.Truncate, "fail-truncate", 0, "`fraction` of requests the fake answers with a cut MP3")
	fs.IntVar(&cfg.Concurrency, "synth-concurrency", 16, "chunks the pipeline synthesizes at once")
	fs.IntVar(&cfg.ChunkTarget, "chunk-target", 0, "characters a chunk aims at; 0 for the pipeline's default")
	fs.IntVar(&cfg.Single, "single", 9000, "characters of the article narrated alone; 0 to skip")
	fs.IntVar(&cfg.Urgent, "urgent", 3000, "characters of two articles submitted once the batch waits for synthesis, one at high priority and one at normal; 0 to skip")
	fs.BoolVar(&cfg.Baseline, "baseline", true, "also narrate sequentially, one chunk at a time, for comparison")
	fs.BoolVar(&cfg.Listen, "listen", false, "run the listening check (check-and-retry) in the pipeline runs")
	fs.IntVar(&cfg.ListenChunks, "listen-chunks", 0, "also measure the listening check on this many chunks, clean and with each injected fault; 0 to skip")
	live := fs.String("live", "2000,9000,20000", "characters of articles narrated alone before and with the live stream, for time to first audio and stall at 1×; empty to skip")
	fs.IntVar(&cfg.LiveBurst, "live-burst", 0, "also submit this many articles of the middle --live size at once, and time first audio and stall on the first and the last submitted; 0 to skip")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	backfillN := fs.Int("backfill", 0, "instead: narrate an archive of this many articles through narrator backfill and worker processes (see --workers), then time --urgent-count high-priority articles alone and in the middle of a backfill at --latency-per-char and --rpm")
	workers := fs.String("workers", "1,2", "with --backfill: the numbers of worker processes to measure throughput with")
	urgentCount := fs.Int("urgent-count", 3, "with --backfill: high-priority articles timed alone and mid-backfill")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *backfillN > 0 {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		b := backfillBench{Articles: *backfillN, MinChars: cfg.MinChars, MaxChars: cfg.MaxChars, Seed: cfg.Seed,
			Urgent: cfg.Urgent, UrgentCount: *urgentCount, RPM: cfg.RPM, Latency: cfg.Latency}
		if !set["min-chars"] && !set["max-chars"] {
			b.MinChars, b.MaxChars = 1500, 6000 // archive articles: shorter than the batch's long reads
		}
		if b.RPM == 0 {
			b.RPM = 120
		}
		b.Slots = cfg.Concurrency
		if !set["synth-concurrency"] {
			// Enough that the backfill is bound by its share of the rate
			// limit rather than by the slots it may take.
			b.Slots = 32
		}
		for _, w := range splitList(*workers) {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 {
				return usageError{fmt.Sprintf("--workers %q: want numbers of worker processes, such as 1,2", *workers)}
			}
			b.Workers = append(b.Workers, n)
		}
		if b.Latency <= 0 || b.UrgentCount < 1 && b.Urgent > 0 {
			return usageError{"with --backfill, want --latency-per-char > 0 and --urgent-count ≥ 1 (or --urgent 0)"}
		}
		return runBackfillBench(ctx, b, io.Out, *asJSON)
	}
	var err error
	if cfg.Live, err = parseSizes(*live); err != nil {
		return usageError{err.Error()}
	}
	if cfg.Articles < 0 || cfg.MinChars < 100 || cfg.MaxChars < cfg.MinChars || cfg.Concurrency < 1 || cfg.Single < 0 || cfg.Urgent < 0 {
		return usageError{"want --articles ≥ 0, 100 ≤ --min-chars ≤ --max-chars, --synth-concurrency ≥ 1, --single ≥ 0, --urgent ≥ 0"}
	}
	if cfg.Latency == 0 {
		cfg.Latency = -1 // the flag's 0 means none; the fake's 0 means its default
	}
	if !*asJSON {
		fmt.Fprintf(io.Out, "narrator bench: %d articles of %d to %d characters (seed %d), fake TTS at %s a character, synth concurrency %d, chunk target %s\n",
			cfg.Articles, cfg.MinChars, cfg.MaxChars, cfg.Seed, max(cfg.Latency, 0), cfg.Concurrency, targetName(cfg.ChunkTarget))
	}
	rep, err := bench(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(io.Out)
	return nil
}

func targetName(n int) string {
	if n == 0 {
		return fmt.Sprintf("%d (default)", pipeline.DefaultTargetChars)
	}
	return fmt.Sprint(n)
}

// bench runs the batch through the pipeline and the baseline side by side,
// each against its own fake, then the single article the same way.
func bench(ctx context.Context, cfg benchConfig) (*benchReport, error) {
	start := time.Now()
	rep := &benchReport{Config: cfg}
	both := func(articles []benchArticle, pipe, base **runReport) error {
		var wg sync.WaitGroup
		var perr, berr error
		wg.Go(func() { *pipe, perr = benchPipeline(ctx, cfg, articles, nil) })
		if cfg.Baseline {
			wg.Go(func() { *base, berr = benchBaseline(ctx, cfg, articles) })
		}
		wg.Wait()
		return errors.Join(perr, berr)
	}
	if cfg.Articles > 0 {
		articles := benchArticles(cfg.Seed, cfg.Articles, cfg.MinChars, cfg.MaxChars)
		if err := both(articles, &rep.Pipeline, &rep.Baseline); err != nil {
			return nil, err
		}
		if b := rep.Baseline; b != nil && b.Failed == 0 && rep.Pipeline.Failed == 0 {
			rep.Speedup = &speedup{Throughput: rep.Pipeline.ArticlesPerMinute / b.ArticlesPerMinute}
			if p50 := median(rep.Pipeline.Articles); p50 > 0 {
				rep.Speedup.P50 = float64(median(b.Articles)) / float64(p50)
			}
		}
		if cfg.Urgent > 0 {
			// Their own seeds: no chunk of theirs is in the batch's cache.
			pair := []benchArticle{makeArticle(cfg.Seed^0xface, cfg.Urgent), makeArticle(cfg.Seed^0xfade, cfg.Urgent)}
			r, err := benchPipeline(ctx, cfg, articles, pair)
			if err != nil {
				return nil, err
			}
			rep.Priority = r.priority
		}
	}
	if cfg.Single > 0 {
		// Its own seed: no chunk of it is in the batch's cache.
		a := []benchArticle{makeArticle(cfg.Seed^0x5eed, cfg.Single)}
		var pipe, base *runReport
		if err := both(a, &pipe, &base); err != nil {
			return nil, err
		}
		if e := pipe.Articles[0].Error; e != "" {
			return nil, fmt.Errorf("the single article: %s", e)
		}
		s := &singleRun{Stages: pipe.Articles[0].Stages, Chars: pipe.Articles[0].Chars, Chunks: pipe.Articles[0].Chunks, Pipeline: pipe.Articles[0].TimeToAudio, Limit: pipe.slowest, LimitChars: pipe.slowestChars}
		if base != nil {
			s.SequentialStages = base.Articles[0].Stages
			s.Sequential = base.Articles[0].TimeToAudio
			s.VsSequential = float64(s.Sequential) / float64(s.Pipeline)
		}
		if s.Limit > 0 {
			s.VsLimit = float64(s.Pipeline) / float64(s.Limit)
		}
		rep.Single = s
	}
	if cfg.ListenChunks > 0 {
		r, err := benchListen(ctx, cfg)
		if err != nil {
			return nil, err
		}
		rep.Listen = r
	}
	if len(cfg.Live) > 0 {
		var err error
		if rep.Live, err = benchLive(ctx, cfg); err != nil {
			return nil, err
		}
		if cfg.LiveBurst > 1 {
			if rep.Burst, err = benchBurst(ctx, cfg); err != nil {
				return nil, err
			}
		}
	}
	rep.Took = benchSeconds(time.Since(start))
	return rep, nil
}

// startFake runs a fake OpenAI server until stop is called, and returns
// its base URL.
func startFake(ctx context.Context, cfg benchConfig) (srv *faketts.Server, url string, stop func(), err error) {
	return startFakeWith(ctx, faketts.Config{
		LatencyPerChar: cfg.Latency, BaseLatency: cfg.BaseLatency,
		RPM: cfg.RPM, CharsPerMinute: cfg.CPM, Faults: cfg.Faults, Seed: cfg.Seed,
	})
}

// startFakeWith runs a fake OpenAI server with fc (and the bench's key).
func startFakeWith(ctx context.Context, fc faketts.Config) (srv *faketts.Server, url string, stop func(), err error) {
	fc.APIKey = "sk-bench"
	srv, err = faketts.New(fc)
	if err != nil {
		return nil, "", nil, err
	}
	if err := srv.Warm(ctx); err != nil {
		return nil, "", nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { srv.Serve(ctx, ln); close(done) }()
	return srv, "http://" + ln.Addr().String() + "/v1", func() { cancel(); <-done }, nil
}

func openAIFor(url string) (*synth.OpenAI, error) {
	return synth.NewOpenAI(synth.OpenAIConfig{APIKey: "sk-bench", BaseURL: url})
}

// benchPipeline narrates the articles through every stage in this process:
// an embedded NATS server on a temporary store, all submitted at once.
// The pair, when given, is submitted with them, the first at high
// priority and the second at normal, and reported apart from the batch.
func benchPipeline(ctx context.Context, cfg benchConfig, articles, pair []benchArticle) (*runReport, error) {
	fake, url, stopFake, err := startFake(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer stopFake()
	dir, err := os.MkdirTemp("", "narrator-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	q, err := queue.Open(ctx, queue.Config{DataDir: filepath.Join(dir, "data"), MaxDeliver: 10})
	if err != nil {
		return nil, err
	}
	defer q.Close()
	store, err := storage.NewFS(filepath.Join(dir, "media"), "http://127.0.0.1/media")
	if err != nil {
		return nil, err
	}
	cl, err := clean.New(clean.Config{})
	if err != nil {
		return nil, err
	}
	prov, err := openAIFor(url)
	if err != nil {
		return nil, err
	}
	var lim synth.Limiter
	if cfg.RPM > 0 || cfg.CPM > 0 {
		if lim, err = q.RateLimiter(ctx, "openai.tts-1", queue.RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: cfg.RPM, CharsPerMinute: cfg.CPM}}); err != nil {
			return nil, err
		}
	}
	log := slog.New(slog.DiscardHandler)
	pcfg := pipeline.Config{TargetChars: cfg.ChunkTarget, FirstChars: cfg.chunkFirst, Concurrency: map[string]int{pipeline.StageSynth: cfg.Concurrency}}
	sc := synth.Config{Limiter: lim, Logger: log}
	if cfg.Listen {
		l, err := synth.NewOpenAIListener(synth.ListenConfig{APIKey: "sk-bench", BaseURL: url})
		if err != nil {
			return nil, err
		}
		sc.Listen = synth.Listening{Listener: l, Policy: synth.ListenRetry, Limiter: lim} // one account: the fake
	}
	sy, err := pipeline.NewSynthesizer(pipeline.AudioCache(q), prov, pcfg, sc)
	if err != nil {
		return nil, err
	}
	pub, err := publish.New(store, publish.Config{})
	if err != nil {
		return nil, err
	}
	p, err := pipeline.New(pipeline.Deps{
		Queue: q, Publisher: pub, Fetcher: ingest.New(ingest.Config{}), Cleaner: cl,
		Synths: map[string]*synth.Synthesizer{"openai": sy}, Logger: log,
	}, pcfg)
	if err != nil {
		return nil, err
	}
	workCtx, stopWork := context.WithCancel(ctx)
	worked := make(chan error, 1)
	go func() { worked <- p.Run(workCtx, allStages) }()
	defer func() { stopWork(); <-worked }()

	rep := &runReport{Articles: make([]articleRun, len(articles))}
	start := time.Now()
	var wg, submitted sync.WaitGroup
	if cfg.listener != nil {
		wg.Go(func() { cfg.listener(ctx, p, q, start) })
	}
	submitted.Add(len(articles))
	for i, a := range articles {
		wg.Go(func() { rep.Articles[i] = narrateOne(ctx, p, q, a, queue.Normal, start, submitted.Done) })
	}
	var high, normal articleRun
	if len(pair) == 2 {
		// The pair arrives like breaking news: once the whole batch
		// waits for synthesis. Their time-to-audio counts from then.
		submitted.Wait()
		for _, st := range []string{pipeline.StageClean, pipeline.StageChunk} {
			if err := q.WaitIdle(ctx, pipeline.Consumers(st)); err != nil {
				return nil, err
			}
		}
		at := time.Now()
		wg.Go(func() { high = narrateOne(ctx, p, q, pair[0], queue.High, at, nil) })
		wg.Go(func() { normal = narrateOne(ctx, p, q, pair[1], queue.Normal, at, nil) })
	}
	wg.Wait()
	rep.Wall = benchSeconds(time.Since(start))
	if len(pair) == 2 {
		if err := cmp.Or(high.Error, normal.Error); err != "" {
			return nil, fmt.Errorf("the priority pair: %s", err)
		}
		rep.priority = &priorityRun{Chars: high.Chars, High: high.TimeToAudio, Normal: normal.TimeToAudio,
			Ratio: float64(normal.TimeToAudio) / float64(high.TimeToAudio)}
	}

	st := sy.Stats()
	rep.BilledChars, rep.CacheHits = st.Billed, st.CacheHits
	for _, e := range fake.Log() {
		rep.Calls++
		switch {
		case e.Status == 429:
			rep.RateLimited++
		case e.Status == 200 && e.Fault == faketts.NoFault && time.Duration(rep.slowest) < e.Elapsed:
			rep.slowest, rep.slowestChars = benchSeconds(e.Elapsed), e.Chars
		}
	}
	rep.summarize()
	return rep, nil
}

// narrateOne submits one article, calls submitted (when not nil) once it
// has, and follows the article to its end.
func narrateOne(ctx context.Context, p *pipeline.Pipeline, q *queue.Queue, a benchArticle, prio queue.Priority, start time.Time, submitted func()) articleRun {
	r := articleRun{ID: a.ID}
	fail := func(err error) articleRun { r.Error = err.Error(); return r }
	j, err := p.Submit(ctx, pipeline.Request{ArticleID: a.ID, Body: a.HTML, Kind: "html", Options: queue.Options{Provider: "openai"}, Priority: prio})
	if submitted != nil {
		submitted()
	}
	if err != nil {
		return fail(err)
	}
	if err := q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
		return fail(err)
	}
	r.TimeToAudio = benchSeconds(time.Since(start))
	if j, err = q.Jobs().Get(ctx, j.ID); err != nil {
		return fail(err)
	}
	r.Chars, r.Chunks = j.Chars, j.Chunks
	r.Stages = map[string]benchSeconds{}
	for name, t := range j.Timings {
		r.Stages[name] = benchSeconds(t.Duration())
	}
	chunks, err := q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		return fail(err)
	}
	for _, c := range chunks {
		r.SpokenChars += c.Chars
	}
	if j.State != queue.Done {
		return fail(fmt.Errorf("failed in %s: %s", j.FailedStage, j.Error))
	}
	return r
}

// benchBaseline narrates the articles as a simple tool does: one article
// after another, each chunk synthesized after the last, then stitched.
func benchBaseline(ctx context.Context, cfg benchConfig, articles []benchArticle) (*runReport, error) {
	fake, url, stopFake, err := startFake(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer stopFake()
	prov, err := openAIFor(url)
	if err != nil {
		return nil, err
	}
	cl, err := clean.New(clean.Config{})
	if err != nil {
		return nil, err
	}
	ch, err := chunk.New(chunk.Config{Max: prov.Limits().MaxChars, Target: cmp.Or(cfg.ChunkTarget, pipeline.DefaultTargetChars)})
	if err != nil {
		return nil, err
	}
	rep := &runReport{Articles: make([]articleRun, len(articles))}
	start := time.Now()
	for i, a := range articles {
		r := articleRun{ID: a.ID}
		if err := sequential(ctx, cl, ch, prov, a, &r, rep); err != nil {
			r.Error = err.Error()
		}
		r.TimeToAudio = benchSeconds(time.Since(start))
		rep.Articles[i] = r
	}
	rep.Wall = benchSeconds(time.Since(start))
	for _, e := range fake.Log() {
		rep.Calls++
		if e.Status == 429 {
			rep.RateLimited++
		}
	}
	rep.summarize()
	return rep, nil
}

// sequential narrates one article chunk after chunk, waiting out 429s and
// retrying failures as a careful script would.
func sequential(ctx context.Context, cl *clean.Cleaner, ch *chunk.Chunker, prov synth.Provider, a benchArticle, r *articleRun, rep *runReport) error {
	r.Stages = map[string]benchSeconds{}
	t := time.Now()
	lap := func(stage string) {
		r.Stages[stage] = benchSeconds(time.Since(t))
		t = time.Now()
	}
	s, err := cl.Clean(ctx, clean.Input{Body: a.HTML, ContentType: "text/html; charset=utf-8"})
	if err != nil {
		return err
	}
	lap(pipeline.StageClean)
	chunks, err := ch.Split(s)
	if err != nil {
		return err
	}
	lap(pipeline.StageChunk)
	r.Chars, r.Chunks = s.Chars(), len(chunks)
	inputs := make([]stitch.Input, len(chunks))
	for i, c := range chunks {
		r.SpokenChars += utf8.RuneCountInString(c.Text)
		var audio []byte
		for attempt := 0; ; attempt++ {
			audio, err = prov.Synthesize(ctx, synth.Request{Text: c.Text})
			if err == nil {
				err = synth.BasicCheck(audio, synth.Request{Text: c.Text}, prov.Limits().Format)
			}
			if err == nil || fault.IsPermanent(err) || attempt == 10 || ctx.Err() != nil {
				break
			}
			wait := max(fault.RetryAfter(err), 500*time.Millisecond)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if err != nil {
			return err
		}
		rep.BilledChars += int64(utf8.RuneCountInString(c.Text))
		inputs[i] = stitch.Input{Chunk: c, Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(audio)), nil }}
	}
	lap(pipeline.StageSynth)
	_, err = stitch.Stitch(ctx, new(stitch.Buffer), inputs, stitch.MetadataFromScript(s), stitch.Config{})
	lap(pipeline.StageStitch)
	return err
}

// summarize fills in the totals and percentiles from the articles.
func (r *runReport) summarize() {
	for _, a := range r.Articles {
		r.ArticleChars += a.Chars
		r.SpokenChars += a.SpokenChars
		r.Chunks += a.Chunks
		if a.Error != "" {
			r.Failed++
		}
	}
	if r.Wall > 0 {
		r.ArticlesPerMinute = float64(len(r.Articles)-r.Failed) / time.Duration(r.Wall).Minutes()
	}
	for _, b := range benchBuckets {
		var tta []benchSeconds
		for _, a := range r.Articles {
			if a.Error == "" && a.Chars >= b.lo && a.Chars < b.hi {
				tta = append(tta, a.TimeToAudio)
			}
		}
		if len(tta) > 0 {
			r.Buckets = append(r.Buckets, bucketStats{Name: b.name, Articles: len(tta), P50: percentile(tta, 50), P95: percentile(tta, 95)})
		}
	}
}

// benchBuckets group articles by size: briefs, standard stories, long reads.
var benchBuckets = []struct {
	name   string
	lo, hi int
}{
	{"< 4k", 0, 4000},
	{"4k–7k", 4000, 7000},
	{"7k–10k", 7000, 10000},
	{"≥ 10k", 10000, math.MaxInt},
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []benchSeconds, p float64) benchSeconds {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func median(as []articleRun) benchSeconds {
	var ds []benchSeconds
	for _, a := range as {
		if a.Error == "" {
			ds = append(ds, a.TimeToAudio)
		}
	}
	if len(ds) == 0 {
		return 0
	}
	return percentile(ds, 50)
}

func (rep *benchReport) print(w io.Writer) {
	run := func(name string, r *runReport) {
		fmt.Fprintf(w, "\n%s: %d articles in %s: %.2f articles a minute", name, len(r.Articles), r.Wall, r.ArticlesPerMinute)
		if r.Failed > 0 {
			fmt.Fprintf(w, " (%d failed)", r.Failed)
		}
		fmt.Fprintf(w, "\n  %-8s %8s %8s %8s\n", "size", "articles", "p50", "p95")
		for _, b := range r.Buckets {
			fmt.Fprintf(w, "  %-8s %8d %8s %8s\n", b.Name, b.Articles, b.P50, b.P95)
		}
		ratio := 0.0
		if r.ArticleChars > 0 {
			ratio = float64(r.BilledChars) / float64(r.ArticleChars)
		}
		fmt.Fprintf(w, "  characters: article %d, spoken %d, billed %d (%.3f× article); chunks %d, API calls %d, 429s %d, cache hits %d\n",
			r.ArticleChars, r.SpokenChars, r.BilledChars, ratio, r.Chunks, r.Calls, r.RateLimited, r.CacheHits)
		for _, a := range r.Articles {
			if a.Error != "" {
				fmt.Fprintf(w, "  %s failed: %s\n", a.ID, a.Error)
			}
		}
	}
	if rep.Pipeline != nil {
		run("pipeline", rep.Pipeline)
	}
	if rep.Baseline != nil {
		run("sequential baseline (one article, one chunk at a time)", rep.Baseline)
	}
	if s := rep.Speedup; s != nil {
		fmt.Fprintf(w, "\nspeed-up over the baseline: %.1f× articles a minute, %.1f× median time-to-audio\n", s.Throughput, s.P50)
	}
	if pr := rep.Priority; pr != nil {
		fmt.Fprintf(w, "\ntwo %d-character articles submitted once the batch waits for synthesis: time-to-audio %s at high priority, %s at normal (%.1f×)\n",
			pr.Chars, pr.High, pr.Normal, pr.Ratio)
	}
	if s := rep.Single; s != nil {
		fmt.Fprintf(w, "\none %d-character article alone (%d chunks): time-to-audio %s", s.Chars, s.Chunks, s.Pipeline)
		if s.Sequential > 0 {
			fmt.Fprintf(w, "; sequential %s (%.1f× slower)", s.Sequential, s.VsSequential)
		}
		fmt.Fprintf(w, "; limit %s, the slowest chunk's synthesis (%d characters): %.2f× the limit\n", s.Limit, s.LimitChars, s.VsLimit)
		stages := func(name string, m map[string]benchSeconds) {
			if len(m) == 0 {
				return
			}
			fmt.Fprintf(w, "  %s stages:", name)
			for _, st := range allStages {
				if d, ok := m[st]; ok {
					fmt.Fprintf(w, " %s %s", st, d)
				}
			}
			fmt.Fprintln(w)
		}
		stages("pipeline", s.Stages)
		stages("sequential", s.SequentialStages)
	}
	if l := rep.Listen; l != nil {
		l.print(w)
	}
	printLive(w, rep.Live)
	rep.Burst.print(w)
	fmt.Fprintf(w, "\nbench took %s\n", rep.Took)
}
