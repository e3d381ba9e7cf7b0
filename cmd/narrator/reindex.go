package main

import (
	"context"
	"fmt"

	"github.com/narrator-project/narrator/queue"
)

func init() {
	register(&command{Name: "reindex", Summary: "check every job against the job index and mend it", Run: runReindex})
}

// runReindex checks every job and index entry: after restoring a backup,
// or to see the counts per state. API servers reconcile the index on their
// own every few minutes.
func runReindex(ctx context.Context, args []string, io stdio) error {
	var s settings
	fs := newFlags("reindex", "[flags]", io)
	s.queueFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"reindex takes no arguments"}
	}
	_, q, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	if err := q.Jobs().Repair(ctx); err != nil {
		return err
	}
	counts, err := q.Jobs().Counts(ctx)
	if err != nil {
		return err
	}
	for _, st := range queue.States {
		fmt.Fprintf(io.Out, "%-12s %d\n", st, counts[st])
	}
	return nil
}
