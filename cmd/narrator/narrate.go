package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/storage"
)

func init() {
	register(&command{Name: "narrate", Summary: "narrate an article (file, URL or -) to an MP3", Run: runNarrate})
}

func runNarrate(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("narrate", "[flags] FILE|URL|-", io)
	s.queueFlags(fs)
	s.workerFlags(fs)
	out := fs.String("o", "", "write the MP3 here (default: the input's name with .mp3, or narration.mp3)")
	articleID := fs.String("article-id", "", "the article's stable id; narrating it again makes a new revision (default: from the file name or URL)")
	title := fs.String("title", "", "use this title instead of the one found in the page")
	force := fs.Bool("force", false, "narrate again even if the article and options are unchanged")
	quiet := fs.Bool("quiet", false, "do not show progress")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give one FILE, URL or - (standard input)"}
	}
	if s.LogLevel == "info" && os.Getenv("NARRATOR_LOG_LEVEL") == "" {
		s.LogLevel = "warn" // progress goes to stderr; logs only when something is wrong
	}
	req, err := narrationRequest(fs.Arg(0), io.In)
	if err != nil {
		return err
	}
	if *articleID != "" {
		req.ArticleID = *articleID
	}
	req.Force = *force
	req.Options = s.options()
	req.Options.Title = *title
	if *out == "" {
		*out = defaultOutput(fs.Arg(0))
	}

	stages := defaultStages()
	r, err := s.start(ctx, stages)
	if err != nil {
		return err
	}
	defer r.close(ctx)
	q, p := r.q, r.p
	// The stages run in this process; with NATS_URL set, they join the
	// cluster's workers and share its tasks.
	workCtx, stopWork := context.WithCancel(ctx)
	worked := make(chan error, 1)
	go func() { worked <- p.Run(workCtx, stages) }()
	defer func() { stopWork(); <-worked }()

	start := time.Now()
	job, err := p.Submit(ctx, req)
	if err != nil {
		return err
	}
	if !*quiet {
		fmt.Fprintf(io.Err, "job %s (revision %d): %s with %s\n", job.ID, job.Revision, describeRequest(req), s.Engine)
	}
	// An unchanged article already narrated is done at once; its events may
	// have expired, so only a job still under way is followed.
	if !job.Ended() {
		err = q.Follow(ctx, job.ID, job.Revision, func(e queue.Event) bool {
			if !*quiet {
				printEvent(io.Err, start, e)
			}
			return true
		})
		if err != nil {
			return err
		}
	}
	job, err = q.Jobs().Get(ctx, job.ID)
	if err != nil {
		return err
	}
	if job.State != queue.Done {
		return fmt.Errorf("job %s failed in %s: %s", job.ID, job.FailedStage, job.Error)
	}
	// The feeds are rebuilt just after the job is done; let that finish, so
	// that narrator serve on the same data directory lists the narration.
	idle, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := q.WaitIdle(idle, pipeline.StageFeed); err != nil {
		return fmt.Errorf("rebuild the feeds: %w", err)
	}
	st, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	if err := download(ctx, st, job.Output.Key, *out); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "%s\nduration %s\njob %s\n", *out, job.Output.Duration.Round(time.Millisecond), job.ID)
	if l := job.Output.Level; l != nil {
		fmt.Fprintf(io.Out, "loudness %s\n", l.Summary)
	}
	// Published anyway, but worth an editor's ear.
	for _, w := range job.Warnings {
		fmt.Fprintf(io.Err, "warning: %s\n", w)
	}
	return nil
}

// allStages are the stages a single process runs; the webhook stage runs
// too where endpoints are configured (defaultStages).
var allStages = []string{pipeline.StageClean, pipeline.StageChunk, pipeline.StageSynth, pipeline.StageStitch, pipeline.StagePublish, pipeline.StageFeed}

// defaultStages are the stages a process runs unless told otherwise.
func defaultStages() []string {
	if os.Getenv("NARRATOR_WEBHOOK_URLS") != "" {
		return append(slices.Clone(allStages), pipeline.StageWebhook)
	}
	return allStages
}

// narrationRequest reads the article argument: a URL, a file, or - for
// standard input.
func narrationRequest(arg string, stdin io.Reader) (pipeline.Request, error) {
	if u, err := url.Parse(arg); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return pipeline.Request{URL: arg, ArticleID: arg}, nil
	}
	var (
		body []byte
		err  error
		name = arg
	)
	if arg == "-" {
		body, err = io.ReadAll(io.LimitReader(stdin, 64<<20))
		name = "standard input"
	} else {
		body, err = os.ReadFile(arg)
	}
	if err != nil {
		return pipeline.Request{}, fmt.Errorf("read the article: %w", err)
	}
	if body == nil {
		body = []byte{}
	}
	r := pipeline.Request{Body: body, Name: name}
	switch strings.ToLower(filepath.Ext(arg)) {
	case ".md", ".markdown":
		r.Kind = "markdown"
	case ".txt":
		r.Kind = "text"
	case ".html", ".htm":
		r.Kind = "html"
	}
	if arg != "-" {
		r.ArticleID = slug(strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)))
	}
	return r, nil
}

// slug keeps letters, digits, - and _ of s, for ids made from file names.
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ' || r == '.':
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

func defaultOutput(arg string) string {
	if arg == "-" || strings.Contains(arg, "://") {
		return "narration.mp3"
	}
	return strings.TrimSuffix(filepath.Base(arg), filepath.Ext(arg)) + ".mp3"
}

func describeRequest(r pipeline.Request) string {
	if r.URL != "" {
		return r.URL
	}
	return r.Name
}

// printEvent shows one progress event as a line.
func printEvent(w io.Writer, start time.Time, e queue.Event) {
	at := fmt.Sprintf("[%6.1fs]", time.Since(start).Seconds())
	switch e.Kind {
	case queue.EventQueued:
		fmt.Fprintf(w, "%s queued\n", at)
	case queue.EventStageStart:
		fmt.Fprintf(w, "%s %-7s started\n", at, e.Stage)
	case queue.EventStageDone:
		if e.Chunks > 0 {
			fmt.Fprintf(w, "%s %-7s done: %d chunks\n", at, e.Stage, e.Chunks)
		} else {
			fmt.Fprintf(w, "%s %-7s done\n", at, e.Stage)
		}
	case queue.EventChunkDone:
		fmt.Fprintf(w, "%s synth   chunk %d done (%d/%d)\n", at, e.Chunk+1, e.Done, e.Chunks)
	case queue.EventRetry:
		fmt.Fprintf(w, "%s %-7s retrying: %s\n", at, e.Stage, e.Message)
	case queue.EventDone:
		fmt.Fprintf(w, "%s done\n", at)
	case queue.EventFailed:
		fmt.Fprintf(w, "%s failed in %s: %s\n", at, e.Stage, e.Message)
	}
}

// download copies a published object to a file, replacing it only when the
// copy is whole.
func download(ctx context.Context, st storage.Store, key, path string) error {
	r, _, err := st.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("fetch the published MP3: %w", err)
	}
	defer r.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".narrate-*.mp3")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return errors.Join(fmt.Errorf("write %s", path), err)
	}
	return nil
}
