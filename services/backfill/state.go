package backfill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/script"
)

// Bucket is the NATS key-value bucket holding runs and their articles.
const Bucket = "narrator-backfill"

// Run states.
const (
	StateRunning  = "running"  // submitting, or waiting for its last jobs
	StatePlanning = "planning" // a dry run started from the API, at work
	StatePlanned  = "planned"  // a dry run: the plan is in the record
	StateStopped  = "stopped"  // interrupted (Ctrl-C, shutdown, or the stop button); resume to go on
	StateBudget   = "budget"   // stopped at its budget
	StateDone     = "done"     // every article submitted and every job ended
	StateFailed   = "failed"   // the source could not be read; Reason says why
	StateDetached = "detached" // running, but its process stopped without a word: resume to go on
)

// Run is a backfill run's record: what it reads, how far it is.
type Run struct {
	Name    string        `json:"name"`
	Source  Spec          `json:"source"`
	Filter  Filter        `json:"filter"`
	Options queue.Options `json:"options"`
	Budget  Budget        `json:"budget"`

	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Owner  string `json:"owner,omitempty"` // host and process running it
	// Heartbeat is when its process last wrote: a running run whose
	// heartbeat is old lost its process.
	Heartbeat time.Time `json:"heartbeat"`
	Started   time.Time `json:"started"`
	Ended     time.Time `json:"ended,omitzero"`

	Total     int   `json:"total"`     // articles the source holds under the filter; -1: unknown
	Seen      int   `json:"seen"`      // articles listed so far, this pass
	Submitted int   `json:"submitted"` // narrations started
	Unchanged int   `json:"unchanged"` // already narrated with the same text
	Failed    int   `json:"failed"`    // articles that could not be read or narrated
	Done      int   `json:"jobs_done"` // submitted narrations finished
	JobFailed int   `json:"jobs_failed"`
	Chars     int   `json:"chars"`    // billable characters submitted (an upper bound: cached chunks cost nothing)
	Requests  int   `json:"requests"` // provider requests submitted
	Plan      *Plan `json:"plan,omitempty"`
	// HeardSeconds is the audio the listening check would hear of what was
	// submitted, as estimated (zero with the check off).
	HeardSeconds int `json:"heard_seconds,omitempty"`
}

// Budget caps what a run may submit; zero fields are no cap.
type Budget struct {
	Chars int     `json:"chars,omitempty"`
	USD   float64 `json:"usd,omitempty"` // at the price of the run's provider and model
}

// heartbeatAge is how old a running run's heartbeat must be before
// another process may take it over.
const heartbeatAge = 30 * time.Second

// Active reports whether a live process is running the run.
func (r Run) Active() bool {
	return r.State == StateRunning && time.Since(r.Heartbeat) < heartbeatAge
}

// Shown returns the run as the API and dashboard show it: a running run
// whose process is gone is detached, and the source's key is not shown.
func (r Run) Shown() Run {
	if r.State == StateRunning && !r.Active() {
		r.State = StateDetached
	}
	if r.Source.Key != "" {
		r.Source.Key = "…"
	}
	return r
}

// articleRecord is what a run knows of one article.
type articleRecord struct {
	ID       string    `json:"id"`
	State    string    `json:"state"`               // submitted, unchanged, failed, done, job_failed, excluded
	Raw      string    `json:"raw,omitempty"`       // hash of the listing's HTML, to skip unchanged ones unread
	Date     time.Time `json:"date,omitzero"`       // as listed, to skip unchanged sitemap entries unread
	TextHash string    `json:"text_hash,omitempty"` // of the cleaned script
	Job      string    `json:"job,omitempty"`
	Rev      int       `json:"revision,omitempty"`
	Chars    int       `json:"chars,omitempty"`
	Requests int       `json:"requests,omitempty"`
	Heard    int       `json:"heard_seconds,omitempty"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// Article states.
const (
	artSubmitted = "submitted"
	artUnchanged = "unchanged"
	artFailed    = "failed"
	artDone      = "done"
	artJobFailed = "job_failed"
	artExcluded  = "excluded" // its page says it is outside the filter
)

// ErrName wraps a run name that cannot be used.
var ErrName = errors.New("backfill: run name")

// CheckName reports whether a run name is usable: letters, digits, - and
// _, at most 64.
func CheckName(name string) error {
	if name == "" || len(name) > 64 || strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return fmt.Errorf("%w %q: use letters, digits, - and _ (64 at most)", ErrName, name)
	}
	return nil
}

// DefaultName names a run after what it reads, so that running the same
// command again resumes it.
func DefaultName(s Spec, f Filter) string {
	sections := slices.Clone(f.Sections)
	slices.Sort(sections)
	return "bf-" + script.Hash(s.Kind, s.URL, s.Path, f.Since.String(), f.Until.String(), strings.Join(sections, "\x00"), fmt.Sprint(f.Max))[:12]
}

func runKey(name string) string { return "run." + name }

func articleKey(run, id string) string { return "art." + run + "." + script.Hash(id)[:32] }

// Store is where runs and their articles are kept.
type Store struct{ r *queue.Records }

// OpenStore returns the runs kept in the queue's NATS.
func OpenStore(ctx context.Context, q *queue.Queue) (*Store, error) {
	r, err := q.Records(ctx, Bucket, "narrator backfill runs and the articles each has read")
	if err != nil {
		return nil, err
	}
	return &Store{r}, nil
}

// Get returns a run's record, or queue.ErrNoRecord.
func (s *Store) Get(ctx context.Context, name string) (Run, error) {
	var r Run
	_, err := s.r.Get(ctx, runKey(name), &r)
	return r, err
}

// Runs returns every run, the latest started first.
func (s *Store) Runs(ctx context.Context) ([]Run, error) {
	keys, err := s.r.Keys(ctx, "run.*")
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(keys))
	for _, k := range keys {
		var r Run
		if _, err := s.r.Get(ctx, k, &r); err == nil {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Run) int { return b.Started.Compare(a.Started) })
	return out, nil
}

// update applies fn to a run's record with compare-and-swap.
func (s *Store) update(ctx context.Context, name string, fn func(*Run) error) (Run, error) {
	for {
		var r Run
		rev, err := s.r.Get(ctx, runKey(name), &r)
		if err != nil {
			return r, err
		}
		if err := fn(&r); err != nil {
			return r, err
		}
		if err = s.r.Update(ctx, runKey(name), r, rev); err == nil {
			return r, nil
		}
		if !errors.Is(err, queue.ErrRecordChanged) {
			return r, err
		}
	}
}

// RequestStop asks the process running a run to stop after the article
// it is on; a run no process runs is marked stopped at once.
func (s *Store) RequestStop(ctx context.Context, name string) (Run, error) {
	return s.update(ctx, name, func(r *Run) error {
		if r.State != StateRunning {
			return fmt.Errorf("%w: backfill %s is %s", ErrNotRunning, name, r.Shown().State)
		}
		if !r.Active() {
			r.State, r.Reason, r.Ended = StateStopped, "stopped by an editor", time.Now().UTC()
			return nil
		}
		r.Reason = stopRequested
		return nil
	})
}

// ErrNotRunning is returned for stopping a run that does not run.
var ErrNotRunning = errors.New("backfill: not running")

// stopRequested in a running run's Reason asks its process to stop.
const stopRequested = "stop requested"
