package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
)

func init() {
	register(&command{Name: "status", Summary: "print a job's state", Run: runStatus})
}

func runStatus(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("status", "[--json] JOB", io)
	s.queueFlags(fs)
	asJSON := fs.Bool("json", false, "print the job state as JSON, with per-chunk status")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give one job id"}
	}
	_, q, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	j, err := q.Jobs().Get(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	chunks, err := q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			queue.Job
			ChunkStatus []queue.Chunk `json:"chunk_status"`
		}{j, chunks})
	}
	printJob(io.Out, j, chunks)
	return nil
}

// printJob writes a job's state for people.
func printJob(w io.Writer, j queue.Job, chunks []queue.Chunk) {
	fmt.Fprintf(w, "job       %s (article %s, revision %d)\n", j.ID, j.ArticleID, j.Revision)
	fmt.Fprintf(w, "state     %s", j.State)
	if j.State == queue.Running {
		fmt.Fprintf(w, " (%s)", j.Stage)
	}
	fmt.Fprintln(w)
	if j.Title != "" {
		fmt.Fprintf(w, "title     %s\n", j.Title)
	}
	voice := queue.Chunk{Model: j.Options.Model, Voice: j.Options.Voice}
	if len(chunks) > 0 && chunks[0].Voice != "" {
		voice = chunks[0] // as the provider resolved it
	}
	fmt.Fprintln(w, strings.TrimSpace(fmt.Sprintf("provider  %s %s %s", j.Options.Provider, voice.Model, voice.Voice)))
	if j.Error != "" {
		fmt.Fprintf(w, "error     %s (in %s)\n", j.Error, j.FailedStage)
	}
	done := 0
	for _, c := range chunks {
		if c.State == queue.ChunkDone {
			done++
		}
	}
	fmt.Fprintf(w, "chunks    %d/%d done, %d characters, %d billed\n", done, j.Chunks, j.Chars, j.BilledChars)
	if j.HeardSeconds > 0 || j.EstimateHeard > 0 {
		fmt.Fprintf(w, "heard     %d s of audio by the listening check (estimated %d s)\n", j.HeardSeconds, j.EstimateHeard)
	}
	for _, st := range allStages {
		if t, ok := j.Timings[st]; ok {
			d := "running"
			if !t.End.IsZero() {
				d = t.Duration().Round(time.Millisecond).String()
			}
			fmt.Fprintf(w, "  %-8s %s\n", st, d)
		}
	}
	if j.Output != nil {
		fmt.Fprintf(w, "output    %s\n          %s, %d bytes\n", j.Output.URL, j.Output.Duration.Round(time.Millisecond), j.Output.Bytes)
		if l := j.Output.Level; l != nil {
			fmt.Fprintf(w, "loudness  %s\n", l.Summary)
		}
	}
	printWarnings(w, j.Warnings)
}

// printWarnings lists a job's warnings, one a line.
func printWarnings(w io.Writer, ws []queue.Warning) {
	for i, x := range ws {
		label := "warnings"
		if i > 0 {
			label = ""
		}
		fmt.Fprintf(w, "%-9s %s\n", label, x)
	}
}
