package main

import (
	"cmp"
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
	out := fs.String("o", "", "write the MP3 here (default: the input's name with .mp3, or narration.mp3)")
	articleID := fs.String("article-id", "", "the article's stable id; narrating it again makes a new revision (default: from the file name or URL)")
	title := fs.String("title", "", "use this title instead of the one found in the page")
	section := fs.String("section", "", "the article's section: it is listed in that section's feed too")
	author := fs.String("author", "", "the article's author: it is listed in that author's feed too (default: from the byline)")
	publication := fs.String("publication", "", "the publication it belongs to: its voice, lexicon, budget and feed")
	force := fs.Bool("force", false, "narrate again even if the article and options are unchanged")
	mode := fs.String("progress", "auto", "auto (bars on a terminal, else lines), bars, plain (timestamped lines) or none")
	quiet := fs.Bool("quiet", false, "do not show progress (--progress=none)")
	s.queueFlags(fs)
	s.workerFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give one FILE, URL or - (standard input)"}
	}
	if s.LogLevel == "info" && os.Getenv("NARRATOR_LOG_LEVEL") == "" {
		// Progress goes to stderr, and a failure's reason is the command's
		// error: logs only for what else goes wrong.
		s.LogLevel = "error"
	}
	if *quiet {
		*mode = "none"
	}
	start := time.Now()
	show, err := newProgress(*mode, io.Err, start)
	if err != nil {
		return err
	}
	req, err := narrationRequest(fs.Arg(0), io.In)
	if err != nil {
		return err
	}
	if req.URL != "" {
		// A misspelt host fails now, not after minutes of retries.
		guard, err := s.guard()
		if err != nil {
			return err
		}
		if err := guard.Vet(ctx, req.URL); err != nil {
			return err
		}
	}
	if *articleID != "" {
		req.ArticleID = *articleID
	}
	req.Force = *force
	req.Options = s.options()
	req.Options.Title = *title
	req.Options.Section = *section
	req.Options.Author = *author
	req.Options.Publication = *publication
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

	before, _ := q.Jobs().Get(ctx, pipeline.JobID(cmp.Or(req.ArticleID, "-")))
	job, err := p.Submit(ctx, req)
	if err != nil {
		return err
	}
	reused := job.State == queue.Done && job.Revision == before.Revision && before.State == queue.Done
	if *mode != "none" {
		fmt.Fprintf(io.Err, "job %s (revision %d): %s with %s\n", job.ID, job.Revision, describeRequest(req), s.Engine)
		if reused {
			fmt.Fprintf(io.Err, "unchanged since revision %d of %s: reused that narration; nothing synthesized, nothing billed (--force narrates it again)\n",
				job.Revision, job.Submitted.Local().Format("2006-01-02 15:04"))
		}
	}
	// An unchanged article already narrated is done at once; its events may
	// have expired, so only a job still under way is followed.
	if !job.Ended() {
		err = q.Follow(ctx, job.ID, job.Revision, func(e queue.Event) bool {
			show.event(e)
			return true
		})
		show.close()
		if err != nil {
			return err
		}
	}
	job, err = q.Jobs().Get(ctx, job.ID)
	if err != nil {
		return err
	}
	if job.State != queue.Done {
		return fmt.Errorf("job %s failed in %s: %s", job.ID, job.FailedStage, strings.TrimPrefix(job.Error, job.FailedStage+": "))
	}
	// The feeds are rebuilt just after the job is done; let that finish, so
	// that narrator serve on the same data directory lists the narration.
	// The publish task is acked only once it has queued the rebuild, so
	// once publish is idle the rebuild is queued or done.
	idle, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for _, stage := range []string{pipeline.StagePublish, pipeline.StageFeed} {
		if err := q.WaitIdle(idle, pipeline.Consumers(stage)); err != nil {
			return fmt.Errorf("rebuild the feeds: %w", err)
		}
	}
	st, err := s.openStore(ctx)
	if err != nil {
		return err
	}
	if err := download(ctx, st, job.Output.Key, *out); err != nil {
		return err
	}
	if *mode != "none" && !reused {
		cached := 0
		if chunks, err := q.Jobs().Chunks(ctx, job.ID, job.Revision); err == nil {
			for _, c := range chunks {
				if c.CacheHit {
					cached++
				}
			}
		}
		fmt.Fprintf(io.Err, "billed %d characters; %d of %d chunks from the cache\n", job.BilledChars, cached, job.Chunks)
		if job.HeardSeconds > 0 {
			fmt.Fprintf(io.Err, "heard %d s of audio by the listening check\n", job.HeardSeconds)
		}
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
	u, perr := url.Parse(arg)
	if perr == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return pipeline.Request{URL: arg, ArticleID: arg}, nil
	}
	if arg != "-" {
		if _, err := os.Stat(arg); err != nil && strings.Contains(arg, "://") {
			return pipeline.Request{}, usageError{fmt.Sprintf("%q is neither a URL narrator can fetch (http:// or https:// and a host) nor an existing file", arg)}
		} else if err != nil && looksLikeHost(arg) {
			return pipeline.Request{}, usageError{fmt.Sprintf("%q is not an existing file; for a web page, give its URL: https://%s", arg, arg)}
		}
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

// looksLikeHost reports whether a missing file's name reads as a URL
// without its scheme: news.example.com/story.
func looksLikeHost(arg string) bool {
	host, _, _ := strings.Cut(arg, "/")
	return strings.Count(host, ".") >= 1 && !strings.ContainsAny(host, " \\") && filepath.Ext(host) != ".html" &&
		filepath.Ext(host) != ".txt" && filepath.Ext(host) != ".md" && filepath.Ext(host) != ".htm" && filepath.Ext(host) != ".markdown"
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
