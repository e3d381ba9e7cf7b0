package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// IndexStream is the job index. Each job has one message in it, on the
// subject narrator.jobidx.<state>.<section>, holding the job as of its
// last change: every update writes the job's new entry, then its key,
// which records the entry's sequence (Job.IndexSeq), then removes the old
// entry. Subjects are few (states × sections), so the server's subject
// index answers a filter or a count per state at once; the stream's order
// is the order jobs last changed, so a listing reads about one page of it
// from the end; and the entries are the list's views, so no job's key is
// read.
const IndexStream = "NARRATOR_JOB_INDEX"

const indexSubject = "narrator.jobidx."

// declareIndex creates or updates the index stream.
func (q *Queue) declareIndex(ctx context.Context) error {
	var err error
	q.index, err = q.ensureStream(ctx, jetstream.StreamConfig{
		Name:        IndexStream,
		Description: "narrator job index: one message per job, subject narrator.jobidx.<state>.<section>",
		Subjects:    []string{indexSubject + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    q.cfg.Replicas,
		Discard:     jetstream.DiscardOld,
		AllowDirect: true,
	})
	if err != nil {
		return q.declareErr("stream "+IndexStream, err)
	}
	return nil
}

// SectionToken is how a section is spelled in index subjects: lower-case
// letters, digits and dashes, or a hash when the name has other letters;
// "_" for none. Sections that differ only in case or punctuation share a
// token, so listing by section matches them alike.
func SectionToken(section string) string {
	s := strings.ToLower(strings.TrimSpace(section))
	if s == "" {
		return "_"
	}
	hash := func() string {
		h := sha256.Sum256([]byte(s))
		return "h" + hex.EncodeToString(h[:8])
	}
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 0x80:
			return hash() // letters beyond ASCII: plain, distinct subjects
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	t := strings.TrimRight(b.String(), "-")
	if t == "" || len(t) > 48 {
		return hash()
	}
	return t
}

func stateToken(s State) string {
	if s == "" {
		return "_"
	}
	return string(s)
}

// entrySubject is where a job's index entry lives.
func entrySubject(j Job) string {
	return indexSubject + stateToken(j.State) + "." + SectionToken(j.Options.Section)
}

// putEntry writes an index entry for j and returns its sequence.
func (s *Jobs) putEntry(ctx context.Context, j Job) (uint64, error) {
	j.IndexSeq, j.Webhooks = 0, nil // its own sequence is known when read; deliveries are not listed
	data, err := json.Marshal(j)
	if err != nil {
		return 0, err
	}
	// A de-duplication id makes a repeated try (its answer lost) the same
	// entry, not an orphan.
	id := "idx-" + j.ID + "-" + nonce()
	var seq uint64
	err = s.q.call(ctx, func(ctx context.Context) error {
		ack, err := s.q.js.Publish(ctx, entrySubject(j), data, jetstream.WithMsgID(id))
		if err == nil {
			seq = ack.Sequence
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("queue: index job %s: %w", j.ID, err)
	}
	return seq, nil
}

// dropEntry removes an index entry; one already gone is not an error.
func (s *Jobs) dropEntry(ctx context.Context, seq uint64) error {
	if seq == 0 {
		return nil
	}
	err := s.q.call(ctx, func(ctx context.Context) error {
		_, err := s.q.deleteMsg(ctx, IndexStream, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: index entry %d: %w", seq, err)
	}
	return nil
}

// ensureIndexed checks that the entry j's key points at exists and says
// what the key says, and writes a new one if not: the repair for a writer
// that died between the two, run when a retried task or a repeated
// submit finds nothing to change.
func (s *Jobs) ensureIndexed(ctx context.Context, j Job) error {
	if j.IndexSeq != 0 {
		m, err := s.q.index.GetMsg(ctx, j.IndexSeq)
		if err == nil {
			var e Job
			if json.Unmarshal(m.Data, &e) == nil && e.ID == j.ID && m.Subject == entrySubject(j) {
				return nil
			}
		} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("queue: index job %s: %w", j.ID, err)
		}
	}
	return s.Reindex(ctx, j.ID)
}

// Reindex gives a job a new index entry as its key says, and removes the
// one it had.
func (s *Jobs) Reindex(ctx context.Context, id string) error {
	for attempt := 0; ; attempt++ {
		j, rev, err := s.get(ctx, id)
		if err != nil {
			return err
		}
		old := j.IndexSeq
		if j.IndexSeq, err = s.putEntry(ctx, j); err != nil {
			return err
		}
		data, err := json.Marshal(j)
		if err != nil {
			return err
		}
		err = s.keys.update(ctx, jobKey(id), data, rev)
		if err == nil {
			return s.dropEntry(ctx, old)
		}
		if derr := s.dropEntry(ctx, j.IndexSeq); derr != nil || !isWrongRevision(err) || attempt > 100 {
			return errors.Join(fmt.Errorf("queue: index job %s: %w", id, err), derr)
		}
	}
}

// orphanAge is how old an index entry that its job does not point at must
// be before it is removed: younger, it may be a writer's that has not yet
// recorded it in the job's key.
var orphanAge = time.Minute

// Reconcile finds and mends what writers that died between an index entry
// and a job's key left behind: entries no job points at, and jobs whose
// entry is missing (as every job of a version without the index has). It
// compares the number of entries with the number of jobs, both from the
// server's counts, and when they differ checks every job and every entry.
// Otherwise it checks the next scrub entries and scrub jobs after those
// the last call checked, so that calling it now and then goes round the
// whole index in time, finding what the counts cannot (an orphan and a
// missing entry cancel out). API servers run it every few minutes;
// running it in several at once is harmless.
func (s *Jobs) Reconcile(ctx context.Context, scrub int) error {
	jobs, err := s.q.count(ctx, "KV_"+JobsBucket, jobKeys, 0)
	if err != nil {
		return err
	}
	entries, err := s.q.count(ctx, IndexStream, "", 0)
	if err != nil {
		return err
	}
	if jobs != entries {
		return s.Repair(ctx)
	}
	if scrub <= 0 {
		return nil
	}
	s.q.scrubMu.Lock()
	from := s.q.scrub
	s.q.scrubMu.Unlock()
	next := from
	if next.entries, err = s.verifyEntries(ctx, from.entries, scrub); err != nil {
		return err
	}
	if next.jobs, err = s.indexJobs(ctx, from.jobs, scrub); err != nil {
		return err
	}
	s.q.scrubMu.Lock()
	s.q.scrub = next
	s.q.scrubMu.Unlock()
	return nil
}

// Repair checks every job and every index entry: what Reconcile does when
// the counts differ, and what an operator runs after restoring a backup
// (narrator reindex).
func (s *Jobs) Repair(ctx context.Context) error {
	if _, err := s.indexJobs(ctx, 1, 0); err != nil {
		return err
	}
	_, err := s.verifyEntries(ctx, 1, 0)
	return err
}

// KeepIndex runs Reconcile at once and then every interval until ctx is
// done, scrubbing scrub entries and jobs each time, and logs what fails:
// what API servers run beside the listing they serve.
func (q *Queue) KeepIndex(ctx context.Context, every time.Duration, scrub int, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := q.Jobs().Reconcile(ctx, scrub); err != nil && ctx.Err() == nil {
			log.Warn("job index reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scrubCursor is where Reconcile's next scrub starts: sequences in the
// index and in the jobs bucket's stream.
type scrubCursor struct{ entries, jobs uint64 }

const jobKeys = "$KV." + JobsBucket + ".job.*"

// verifyEntries checks up to n index entries (0: all) from sequence seq
// against their jobs, removing stale entries and old orphans, and returns
// the sequence to go on from: 1 once the end is reached.
func (s *Jobs) verifyEntries(ctx context.Context, seq uint64, n int) (uint64, error) {
	return s.q.batches(ctx, IndexStream, "", max(seq, 1), n, func(batch []directMsg) error {
		entries := make([]indexed, len(batch))
		for i, m := range batch {
			entries[i] = toIndexed(m)
		}
		return s.check(ctx, entries)
	})
}

// indexJobs checks that up to n jobs (0: all), from sequence seq of the
// jobs bucket's stream, have their entry, and returns where to go on from.
func (s *Jobs) indexJobs(ctx context.Context, seq uint64, n int) (uint64, error) {
	return s.q.batches(ctx, "KV_"+JobsBucket, jobKeys, max(seq, 1), n, func(batch []directMsg) error {
		for _, m := range batch {
			var j Job
			if len(m.Data) == 0 || json.Unmarshal(m.Data, &j) != nil {
				continue // a deleted key, or a value this version cannot read
			}
			if err := s.ensureIndexed(ctx, j); err != nil {
				return err
			}
		}
		return nil
	})
}
