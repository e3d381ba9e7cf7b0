package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/backfill/fakesite"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
)

// backfillBench is what narrator bench --backfill measures: an archive
// narrated by worker processes (the fake speech service without latency,
// so the pipeline's own cost shows), and high-priority articles narrated
// in the middle of a backfill against a rate-limited fake at tts-1's speed.
type backfillBench struct {
	Articles           int           `json:"articles"`
	MinChars, MaxChars int           `json:"-"`
	Seed               uint64        `json:"seed"`
	Workers            []int         `json:"workers"`
	Urgent             int           `json:"urgent_chars"` // 0: no priority run
	UrgentCount        int           `json:"urgent_articles"`
	RPM                int           `json:"rpm"`
	Slots              int           `json:"synth_concurrency"` // the priority run's worker's
	Latency            time.Duration `json:"latency_per_char"`
}

// backfillRun is one throughput run.
type backfillRun struct {
	Workers      int                `json:"workers"`
	Articles     int                `json:"articles"`
	Failed       int                `json:"failed"`
	Chars        int                `json:"chars"`
	Chunks       int                `json:"chunks"`
	Wall         benchSeconds       `json:"wall"`
	PerMinute    float64            `json:"articles_per_minute"`
	CPU          float64            `json:"worker_cpu_seconds_per_article"`
	ByStage      map[string]float64 `json:"cpu_seconds_per_article_by_stage"`
	CheckShare   float64            `json:"chunk_check_share"` // of the workers' CPU
	DecodeShare  float64            `json:"decode_share"`      // of the workers' CPU: go-mp3, for the chunk check
	FakeCPU      float64            `json:"fake_tts_cpu_seconds_per_article"`
	SubmitterCPU float64            `json:"submitter_cpu_seconds_per_article"` // this process: NATS, the site, the backfill's cleaning
}

// priorityUnderBackfill is the high-priority articles' time-to-audio,
// alone and in the middle of a backfill.
type priorityUnderBackfill struct {
	Chars   int            `json:"chars"`
	Idle    []benchSeconds `json:"idle"`
	Busy    []benchSeconds `json:"mid_backfill"`
	Ratios  []float64      `json:"ratios"`
	Worst   float64        `json:"worst_ratio"`
	LowBusy []int          `json:"low_tasks_in_progress"` // the backfill's synthesis tasks under way as each was submitted
}

type backfillReport struct {
	Config   backfillBench          `json:"config"`
	Runs     []backfillRun          `json:"runs"`
	Priority *priorityUnderBackfill `json:"priority,omitempty"`
	Took     benchSeconds           `json:"took"`
}

// benchStages are the stages the worker processes run.
var benchStages = []string{pipeline.StageClean, pipeline.StageChunk, pipeline.StageSynth, pipeline.StageStitch, pipeline.StagePublish, pipeline.StageFeed}

func runBackfillBench(ctx context.Context, b backfillBench, out io.Writer, asJSON bool) error {
	start := time.Now()
	rep := &backfillReport{Config: b}
	if !asJSON {
		fmt.Fprintf(out, "narrator bench --backfill: %d articles of %d to %d characters (seed %d) from a WordPress-shaped site, worker processes %v, fake TTS without latency\n",
			b.Articles, b.MinChars, b.MaxChars, b.Seed, b.Workers)
	}
	for _, w := range b.Workers {
		r, err := b.throughput(ctx, w)
		if err != nil {
			return err
		}
		rep.Runs = append(rep.Runs, *r)
		if !asJSON {
			r.print(out)
		}
	}
	if b.Urgent > 0 {
		pr, err := b.priority(ctx)
		if err != nil {
			return err
		}
		rep.Priority = pr
		if !asJSON {
			pr.print(out, b)
		}
	}
	rep.Took = benchSeconds(time.Since(start))
	if asJSON {
		return writeJSON(out, rep)
	}
	fmt.Fprintf(out, "\nbench took %s\n", rep.Took)
	return nil
}

// cluster is what one run starts: NATS in this process, the fake speech
// service and the workers as processes of their own, and the site.
type cluster struct {
	dir      string
	q        *queue.Queue
	fake     *child
	workers  []*child
	site     *fakesite.Site
	siteURL  string
	stopSite func()
	deps     backfill.Deps
}

// child is a narrator process the bench started.
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *strings.Builder
}

func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
}

// cpu returns the CPU seconds the process used, once it has exited.
func (c *child) cpu() float64 {
	st := c.cmd.ProcessState
	return (st.UserTime() + st.SystemTime()).Seconds()
}

// spawn starts this binary with args; env adds to the environment. With
// firstLine, it returns once the process printed its first line (the fake
// TTS prints its URL), which it returns.
func spawn(ctx context.Context, env []string, firstLine bool, args ...string) (*child, string, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	c := &child{cmd: cmd, done: make(chan struct{}), out: &strings.Builder{}}
	var stdout io.ReadCloser
	if firstLine {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, "", err
		}
	}
	cmd.Stderr = &lockedWriter{w: c.out}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { cmd.Wait(); close(c.done) }()
	if !firstLine {
		return c, "", nil
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		if !ok {
			c.stop()
			return nil, "", fmt.Errorf("%s exited: %s", strings.Join(args, " "), c.out)
		}
		return c, l, nil
	case <-ctx.Done():
		c.stop()
		return nil, "", ctx.Err()
	}
}

// start brings a cluster up: fakeArgs tune the fake TTS, workerEnv the
// workers, of which there are n, each profiling its CPU.
func (b backfillBench) start(ctx context.Context, n int, site fakesite.Config, fakeArgs, workerEnv []string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "narrator-bench-backfill-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	c.q, err = queue.Open(ctx, queue.Config{DataDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0", MaxDeliver: 10})
	if err != nil {
		c.close()
		return nil, err
	}
	var url string
	c.fake, url, err = spawn(ctx, nil, true, append([]string{"fake-tts", "--listen", "127.0.0.1:0", "--api-key", "sk-bench"}, fakeArgs...)...)
	if err != nil {
		c.close()
		return nil, err
	}
	env := append([]string{
		"NATS_URL=" + c.q.ClientURL(), "OPENAI_API_KEY=sk-bench", "OPENAI_BASE_URL=" + url, "NARRATOR_ENGINE=openai",
		"NARRATOR_DATA_DIR=" + filepath.Join(dir, "media"), "NARRATOR_LOG_LEVEL=warn", "NARRATOR_MAX_DELIVER=10",
	}, workerEnv...)
	for i := range n {
		w, _, err := spawn(ctx, append(slices.Clone(env), "NARRATOR_CPU_PROFILE="+filepath.Join(dir, fmt.Sprintf("worker-%d.prof", i))), false,
			"worker", "--stages", strings.Join(benchStages, ","))
		if err != nil {
			c.close()
			return nil, err
		}
		c.workers = append(c.workers, w)
	}
	c.site = fakesite.New(site)
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		c.close()
		return nil, err
	}
	c.siteURL = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: c.site.Handler(c.siteURL), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	c.stopSite = func() { srv.Close() }
	guard := ingest.MustGuard(ingest.GuardConfig{Allow: []string{"127.0.0.1"}})
	cl, err := clean.New(clean.Config{})
	if err != nil {
		c.close()
		return nil, err
	}
	p, err := pipeline.New(pipeline.Deps{Queue: c.q, Logger: slog.New(slog.DiscardHandler)}, pipeline.Config{})
	if err != nil {
		c.close()
		return nil, err
	}
	st, err := backfill.OpenStore(ctx, c.q)
	if err != nil {
		c.close()
		return nil, err
	}
	c.deps = backfill.Deps{Pipeline: p, Store: st, Cleaner: cl, Fetcher: ingest.New(ingest.Config{Guard: guard}),
		Getter: backfill.NewGetter(guard), Logger: slog.New(slog.DiscardHandler)}
	return c, nil
}

// stopWorkers stops the workers, so their profiles are written.
func (c *cluster) stopWorkers() {
	for _, w := range c.workers {
		w.stop()
	}
}

func (c *cluster) close() {
	c.stopWorkers()
	if c.fake != nil {
		c.fake.stop()
	}
	if c.stopSite != nil {
		c.stopSite()
	}
	if c.q != nil {
		c.q.Close()
	}
	os.RemoveAll(c.dir)
}

// throughput narrates the archive with n worker processes.
func (b backfillBench) throughput(ctx context.Context, n int) (*backfillRun, error) {
	c, err := b.start(ctx, n, fakesite.Config{Articles: b.Articles, MinChars: b.MinChars, MaxChars: b.MaxChars, Seed: b.Seed}, []string{"--latency-per-char", "0"}, nil)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var before syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	runner, err := backfill.Start(ctx, c.deps, backfill.Config{Name: "bench", Source: backfill.Spec{Kind: backfill.KindWordPress, URL: c.siteURL},
		Options: queue.Options{Provider: "openai"}, InFlight: 64, Backlog: 16})
	if err != nil {
		return nil, err
	}
	run, err := runner.Run(ctx)
	if err != nil {
		return nil, err
	}
	wall := time.Since(start)
	var after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	c.stopWorkers()
	c.fake.stop()

	r := &backfillRun{Workers: n, Articles: run.Submitted, Failed: run.JobFailed + run.Failed, Chars: run.Chars, Chunks: run.Requests,
		Wall: benchSeconds(wall), ByStage: map[string]float64{}}
	if run.Submitted == 0 {
		return nil, fmt.Errorf("the backfill submitted nothing: %+v", run)
	}
	r.PerMinute = float64(run.Done) / wall.Minutes()
	per := float64(run.Submitted)
	var total, prof float64
	check, decode := 0.0, 0.0
	for i, w := range c.workers {
		total += w.cpu()
		p, err := readCPUProfile(filepath.Join(c.dir, fmt.Sprintf("worker-%d.prof", i)), "stitch.CheckChunk", "hajimehoshi/go-mp3")
		if err != nil {
			return nil, fmt.Errorf("worker %d: %w (output: %s)", i, err, w.out)
		}
		for st, ns := range p.ByStage {
			name := cmp.Or(st, "other")
			if strings.HasPrefix(st, "synth.") {
				name = "synth"
			}
			r.ByStage[name] += float64(ns) / 1e9
		}
		prof += float64(p.Total) / 1e9
		for _, ns := range p.Within["stitch.CheckChunk"] {
			check += float64(ns) / 1e9
		}
		for _, ns := range p.Within["hajimehoshi/go-mp3"] {
			decode += float64(ns) / 1e9
		}
	}
	// Profiles sample; the processes' own CPU time is exact: shares from
	// the first, seconds scaled to the second.
	if prof > 0 {
		for st, s := range r.ByStage {
			r.ByStage[st] = s / prof * total / per
		}
		r.CheckShare, r.DecodeShare = check/prof, decode/prof
	}
	r.CPU = total / per
	r.FakeCPU = c.fake.cpu() / per
	r.SubmitterCPU = (time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano()).Seconds()) / per
	return r, nil
}

func (r *backfillRun) print(w io.Writer) {
	fmt.Fprintf(w, "\n%d worker process(es): %d articles (%s characters, %s chunks) in %s: %.1f articles a minute",
		r.Workers, r.Articles, group(r.Chars), group(r.Chunks), r.Wall, r.PerMinute)
	if r.Failed > 0 {
		fmt.Fprintf(w, " (%d failed)", r.Failed)
	}
	fmt.Fprintf(w, "\n  worker CPU %.2f s an article:", r.CPU)
	for _, st := range append(slices.Clone(benchStages), "other") {
		if s, ok := r.ByStage[st]; ok {
			fmt.Fprintf(w, " %s %.3f", st, s)
		}
	}
	fmt.Fprintf(w, "\n  the chunk check is %.0f%% of the workers' CPU, its go-mp3 decoding %.0f%%\n", r.CheckShare*100, r.DecodeShare*100)
	fmt.Fprintf(w, "  beside them: the fake TTS %.2f s an article, this process (NATS, the site, the backfill's own cleaning) %.2f s\n", r.FakeCPU, r.SubmitterCPU)
}

// priority measures high-priority articles' time-to-audio alone, then in
// the middle of a backfill, against a fake at tts-1's speed with a rate
// limit the workers share.
func (b backfillBench) priority(ctx context.Context) (*priorityUnderBackfill, error) {
	rpm := strconv.Itoa(b.RPM)
	c, err := b.start(ctx, 1, fakesite.Config{Articles: max(b.Articles, 200), MinChars: b.MinChars, MaxChars: b.MaxChars, Seed: b.Seed ^ 0xbac},
		[]string{"--latency-per-char", b.Latency.String(), "--rpm", rpm}, []string{"NARRATOR_RPM=" + rpm, "NARRATOR_SYNTH_CONCURRENCY=" + strconv.Itoa(b.Slots)})
	if err != nil {
		return nil, err
	}
	defer c.close()
	p := c.deps.Pipeline
	pr := &priorityUnderBackfill{}
	narrate := func(seed uint64, voice string) (benchSeconds, error) {
		s := fakesite.Generate(seed, b.Urgent)
		pr.Chars = s.Chars
		id := fmt.Sprintf("urgent-%x-%s", seed, voice)
		start := time.Now()
		j, err := p.Submit(ctx, pipeline.Request{ArticleID: id, Body: []byte(fakesite.Page(s, fakesite.PageMeta{})), Kind: "html",
			Options: queue.Options{Provider: "openai", Voice: voice}, Priority: queue.High})
		if err != nil {
			return 0, err
		}
		if err := c.q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
			return 0, err
		}
		if j, err = c.q.Jobs().Get(ctx, j.ID); err != nil {
			return 0, err
		}
		if j.State != queue.Done {
			return 0, fmt.Errorf("urgent article failed in %s: %s", j.FailedStage, j.Error)
		}
		return benchSeconds(time.Since(start)), nil
	}
	seeds := make([]uint64, b.UrgentCount)
	for i := range seeds {
		seeds[i] = b.Seed ^ uint64(0xface0+i)
	}
	// Alone: each article in one voice.
	for _, seed := range seeds {
		d, err := narrate(seed, "alloy")
		if err != nil {
			return nil, err
		}
		pr.Idle = append(pr.Idle, d)
	}
	// Mid-backfill: the same articles in another voice, so that none is
	// in the cache and their chunks are the same size.
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runner, err := backfill.Start(ctx, c.deps, backfill.Config{Name: "busy", Source: backfill.Spec{Kind: backfill.KindWordPress, URL: c.siteURL},
		Options: queue.Options{Provider: "openai"}, RPM: b.RPM})
	if err != nil {
		return nil, err
	}
	ran := make(chan error, 1)
	go func() { _, err := runner.Run(runCtx); ran <- err }()
	for i, seed := range seeds {
		busy, err := c.waitLowBusy(ctx, 6)
		if err != nil {
			return nil, err
		}
		pr.LowBusy = append(pr.LowBusy, busy)
		d, err := narrate(seed, "nova")
		if err != nil {
			return nil, err
		}
		pr.Busy = append(pr.Busy, d)
		ratio := float64(d) / float64(pr.Idle[i])
		pr.Ratios = append(pr.Ratios, ratio)
		pr.Worst = max(pr.Worst, ratio)
	}
	stopRun()
	if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
		return nil, err
	}
	return pr, nil
}

// waitLowBusy waits until at least n of the backfill's synthesis tasks are
// under way, and returns how many are.
func (c *cluster) waitLowBusy(ctx context.Context, n int) (int, error) {
	for deadline := time.Now().Add(5 * time.Minute); ; {
		_, working, err := c.q.Backlog(ctx, queue.Low, "synth.openai")
		if err == nil && working >= n {
			return working, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("the backfill never had %d synthesis tasks under way", n)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (pr *priorityUnderBackfill) print(w io.Writer, b backfillBench) {
	fmt.Fprintf(w, "\nhigh priority in the middle of a backfill (fake TTS at %s a character, %d requests a minute for the cluster, one worker synthesizing %d chunks at once):\n", b.Latency, b.RPM, b.Slots)
	for i := range pr.Idle {
		fmt.Fprintf(w, "  %d-character article: time-to-audio %s alone, %s with %d of the backfill's chunks in synthesis: %.2f×\n",
			pr.Chars, pr.Idle[i], pr.Busy[i], pr.LowBusy[i], pr.Ratios[i])
	}
	verdict := "within"
	if pr.Worst > 1.2 {
		verdict = "OVER"
	}
	fmt.Fprintf(w, "  worst %.2f× its time alone: %s the goal of 1.2×\n", pr.Worst, verdict)
}

// lockedWriter serializes a child's output.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
