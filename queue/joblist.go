package queue

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// States are the job states, in the order lists show them.
var States = []State{Queued, Running, Done, Failed, Unpublished}

// JobFilter selects jobs from the index. The zero filter selects every job.
type JobFilter struct {
	States  []State // any of these; none: every state
	Section string  // compared as SectionToken; empty: any
	// Since and Until bound when a job last changed:
	// Since ≤ then < Until. Zero: unbounded.
	Since, Until time.Time
}

// JobPage is one page of a listing, the most recently changed jobs first.
type JobPage struct {
	Jobs  []Job
	Total int // jobs matching the filter, on every page
	// Next is the cursor of the following page (Page's before), 0 on the
	// last page.
	Next uint64
}

// MaxPage is the most jobs one page holds.
const MaxPage = 200

// indexed is an index entry as read.
type indexed struct {
	seq     uint64
	subject string
	time    time.Time
	job     Job // as of its last change
}

func toIndexed(m directMsg) indexed {
	e := indexed{seq: m.Seq, subject: m.Subject, time: m.Time}
	_ = json.Unmarshal(m.Data, &e.job)
	e.job.IndexSeq = m.Seq
	return e
}

// filters returns the subject filters that together select f's jobs;
// "" is the whole index.
func (f JobFilter) filters() []string {
	sec := "*"
	if f.Section != "" {
		sec = SectionToken(f.Section)
	}
	all := len(f.States) == 0
	if len(f.States) >= len(States) {
		all = true
		for _, st := range States {
			all = all && slices.Contains(f.States, st)
		}
	}
	if all {
		if sec == "*" {
			return []string{""}
		}
		return []string{indexSubject + "*." + sec}
	}
	var out []string
	for _, st := range f.States {
		s := indexSubject + stateToken(st) + "." + sec
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Page returns up to limit jobs matching f from before the cursor (0: from
// the newest), the most recently changed first, and how many match in
// all. It reads about a page of index entries per state asked for, and
// no job's key: never every job, whatever the filter or the page.
func (s *Jobs) Page(ctx context.Context, f JobFilter, before uint64, limit int) (JobPage, error) {
	limit = min(max(limit, 1), MaxPage)
	page := JobPage{Jobs: []Job{}}
	lo := uint64(1)
	if !f.Since.IsZero() {
		seq, err := s.q.seqAt(ctx, IndexStream, f.Since)
		if err != nil || seq == 0 {
			return page, err
		}
		lo = seq
	}
	var until uint64 // the first sequence past Until; 0: none
	if !f.Until.IsZero() {
		seq, err := s.q.seqAt(ctx, IndexStream, f.Until)
		if err != nil {
			return page, err
		}
		until = seq
	}
	var found []indexed
	for _, filter := range f.filters() {
		total, err := s.q.count(ctx, IndexStream, filter, lo)
		if err != nil {
			return page, err
		}
		if until != 0 {
			afterUntil, err := s.q.count(ctx, IndexStream, filter, until)
			if err != nil {
				return page, err
			}
			total -= afterUntil
		}
		page.Total += total
		if total <= 0 {
			continue
		}
		// The matches' density over the filter's whole range sizes the
		// first window; counting exactly below a cursor would cost a scan.
		last, ok, err := s.q.last(ctx, IndexStream, filter)
		if err != nil || !ok {
			return page, err
		}
		end := last.Seq + 1
		if until != 0 {
			end = until
		}
		density := float64(total) / float64(max(end-lo, 1))
		hi := end
		if before != 0 && before < hi {
			hi = before
		}
		got, err := s.newest(ctx, filter, lo, hi, density, limit+1)
		if err != nil {
			return page, err
		}
		found = append(found, got...)
	}
	slices.SortFunc(found, func(a, b indexed) int { return cmp.Compare(b.seq, a.seq) })
	if len(found) > limit {
		page.Next = found[limit-1].seq
		found = found[:limit]
	}
	page.Jobs = s.read(found)
	return page, nil
}

// newest returns the last n entries matching filter with lo ≤ seq < hi,
// newest first. The stream reads only forwards, so it reads windows
// backwards from hi, each sized from the density of matches (first the
// one given, then the one seen): about the entries it returns, plus a
// little.
func (s *Jobs) newest(ctx context.Context, filter string, lo, hi uint64, density float64, n int) ([]indexed, error) {
	var got []indexed // ascending
	for end := hi; end > lo && len(got) < n; {
		want := float64(n - len(got))
		window := uint64(want/density*1.25) + 16
		start := lo
		if end-lo > window {
			start = end - window
		}
		batch := min(int(float64(end-start)*density*1.5)+16, 1024)
		seg, err := s.scan(ctx, filter, start, end, batch)
		if err != nil {
			return nil, err
		}
		got = append(seg, got...)
		if len(seg) > 0 {
			density = float64(len(seg)) / float64(end-start)
		} else {
			density /= 4
		}
		end = start
	}
	if len(got) > n {
		got = got[len(got)-n:]
	}
	slices.Reverse(got)
	return got, nil
}

// scan returns the entries matching filter with start ≤ seq < end, in
// order, reading batches of up to batch.
func (s *Jobs) scan(ctx context.Context, filter string, start, end uint64, batch int) ([]indexed, error) {
	var out []indexed
	for seq := start; seq < end; {
		got, past := 0, false
		_, err := s.q.direct(ctx, IndexStream, directRequest{Seq: seq, Filter: filter, Batch: batch}, func(m directMsg) bool {
			if m.Seq >= end {
				past = true
				return false
			}
			out = append(out, toIndexed(m))
			got++
			seq = m.Seq + 1
			return true
		})
		if err != nil {
			return nil, err
		}
		if past || got < batch {
			break
		}
	}
	return out, nil
}

// read returns the jobs of entries, newest first: each entry holds its job
// as of its last change, so no job is read. A job met twice (a writer
// died before removing its old entry, which Reconcile finds) is shown
// once, as its newest entry says.
func (s *Jobs) read(entries []indexed) []Job {
	out := make([]Job, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if e.job.ID != "" && !seen[e.job.ID] {
			seen[e.job.ID] = true
			out = append(out, e.job)
		}
	}
	return out
}

// check checks entries against their jobs' keys, removing entries a key
// does not point at: stale ones (older than the key's) at once, orphans
// (no key points at them) once they are old enough to be no writer's in
// flight.
func (s *Jobs) check(ctx context.Context, entries []indexed) error {
	errs := make([]error, len(entries))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, e := range entries {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			j, _, err := s.get(ctx, e.job.ID)
			switch {
			case err == nil && j.IndexSeq == e.seq:
			case err == nil && e.seq < j.IndexSeq,
				(err == nil || errors.Is(err, ErrNoJob)) && time.Since(e.time) > orphanAge:
				errs[i] = s.dropEntry(ctx, e.seq)
			case err != nil && !errors.Is(err, ErrNoJob):
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Counts returns how many jobs are in each state, from the server's
// subject counts: no job is read.
func (s *Jobs) Counts(ctx context.Context) (map[State]int, error) {
	out := make(map[State]int, len(States))
	for _, st := range States {
		n, err := s.q.count(ctx, IndexStream, indexSubject+string(st)+".*", 1)
		if err != nil {
			return nil, fmt.Errorf("queue: count %s jobs: %w", st, err)
		}
		out[st] = n
	}
	return out, nil
}

// ChunkStates returns the statuses of a job revision's chunks in one
// request for the last value of each chunk's key, for a list's progress
// bars: unlike Chunks it makes no consumer, but a replica may answer a
// moment behind.
func (s *Jobs) ChunkStates(ctx context.Context, id string, rev int) ([]Chunk, error) {
	var out []Chunk
	filter := "$KV." + JobsBucket + "." + chunkKey(id, rev, 0)
	filter = filter[:len(filter)-1] + "*"
	_, err := s.q.direct(ctx, "KV_"+JobsBucket, directRequest{MultiLast: []string{filter}, Batch: 1024}, func(m directMsg) bool {
		var c Chunk
		if json.Unmarshal(m.Data, &c) == nil {
			out = append(out, c)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("queue: job %s chunks: %w", id, err)
	}
	slices.SortFunc(out, func(a, b Chunk) int { return cmp.Compare(a.Index, b.Index) })
	return out, nil
}
