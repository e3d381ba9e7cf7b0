package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/services/webhook"
)

// ErrNoJob is returned for a job id that is not in job state.
var ErrNoJob = errors.New("queue: no such job")

// State is where a job is in its life.
type State string

// Job states. A job's revision ends done or failed, never anywhere else;
// a done narration may later be unpublished.
const (
	Queued      State = "queued"
	Running     State = "running"
	Done        State = "done"
	Failed      State = "failed"
	Unpublished State = "unpublished"
)

// Source is what a job narrates: a URL to fetch, or content kept as a blob.
type Source struct {
	Kind        string `json:"kind"` // "url", "html", "text" or "markdown"
	URL         string `json:"url,omitempty"`
	Blob        string `json:"blob,omitempty"` // blob name of the content, for inline sources
	Name        string `json:"name,omitempty"` // file name it came from, for display
	ContentHash string `json:"content_hash,omitempty"`
}

// Options are the choices a job is narrated with.
type Options struct {
	Provider     string  `json:"provider"` // "local", "openai", "polly"
	Model        string  `json:"model,omitempty"`
	Voice        string  `json:"voice,omitempty"`
	Speed        float64 `json:"speed,omitempty"`
	Instructions string  `json:"instructions,omitempty"`
	Language     string  `json:"language,omitempty"`
	Publication  string  `json:"publication,omitempty"`
	Section      string  `json:"section,omitempty"`
	Author       string  `json:"author,omitempty"`
	Title        string  `json:"title,omitempty"`
}

// Timing is when a stage started and ended for the job's current revision.
type Timing struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Duration is the stage's wall time, zero while it runs.
func (t Timing) Duration() time.Duration {
	if t.End.IsZero() {
		return 0
	}
	return t.End.Sub(t.Start)
}

// Output is what a finished job published.
type Output struct {
	Key      string            `json:"key"`
	URL      string            `json:"url"`
	Bytes    int64             `json:"bytes"`
	Duration time.Duration     `json:"duration"`
	SHA256   string            `json:"sha256"`
	Files    map[string]string `json:"files,omitempty"` // other published files by kind: "transcript", "chapters", "manifest"
	Loudness float64           `json:"loudness_lufs,omitempty"`
	// Level says how the loudness came out against its target.
	Level *Level `json:"level,omitempty"`
}

// Level is how a narration's loudness came out against its target.
type Level struct {
	Target   float64 `json:"target_lufs"`
	Achieved float64 `json:"achieved_lufs"`
	Peak     float64 `json:"true_peak_dbtp"`
	// PeakLimited is set when chunks' peaks kept the narration below the
	// target (PeakLimitedChunks of them); Leveled counts the chunks the
	// limiter levelled at synthesis.
	PeakLimited       bool `json:"peak_limited"`
	PeakLimitedChunks int  `json:"peak_limited_chunks,omitempty"`
	Leveled           int  `json:"leveled_chunks,omitempty"`
	// LargestJump is the largest loudness difference (LU) between
	// neighbouring chunks.
	LargestJump float64 `json:"largest_jump_lu"`
	Summary     string  `json:"summary"` // all of it, for an editor
}

// Warning is something an editor should know about a narration that was
// published anyway: a heuristic finding about a chunk (speech that seems
// cut off, a duration implausible for the text, a long silence) or about
// the whole (a loudness short of its target). Warnings belong to a
// revision: a re-narration starts without them.
type Warning struct {
	Stage   string `json:"stage"`
	Chunk   *int   `json:"chunk,omitempty"` // the chunk it is about, if one
	Code    string `json:"code"`            // abrupt_end, duration, long_silence, peak_limited, ...
	Message string `json:"message"`
}

// String says the warning in a line: "chunk 3: abrupt_end: ...".
func (w Warning) String() string {
	s := w.Code + ": " + w.Message
	if w.Chunk != nil {
		s = "chunk " + strconv.Itoa(*w.Chunk) + ": " + s
	}
	return s
}

// AddWarnings adds warnings to the job, one per chunk and code: one
// already there is kept as it is, so a redelivered task adds nothing.
func (j *Job) AddWarnings(ws ...Warning) {
	for _, w := range ws {
		dup := false
		for _, have := range j.Warnings {
			if have.Code == w.Code && (have.Chunk == nil) == (w.Chunk == nil) && (w.Chunk == nil || *have.Chunk == *w.Chunk) {
				dup = true
				break
			}
		}
		if !dup {
			j.Warnings = append(j.Warnings, w)
		}
	}
}

// Job is one narration of one article, as kept in job state.
type Job struct {
	ID          string            `json:"id"`
	ArticleID   string            `json:"article_id"`
	Revision    int               `json:"revision"`
	Source      Source            `json:"source"`
	Options     Options           `json:"options"`
	Priority    Priority          `json:"priority,omitempty"` // the lane the revision's tasks wait in
	State       State             `json:"state"`
	Stage       string            `json:"stage"`
	Title       string            `json:"title,omitempty"`
	Language    string            `json:"language,omitempty"` // the article's, as given or detected
	Chunks      int               `json:"chunks"`
	Lexicon     string            `json:"lexicon_version,omitempty"` // of the lexicon the chunks were spoken with
	Chars       int               `json:"chars"`
	BilledChars int               `json:"billed_chars"`
	Estimate    int               `json:"estimated_chars,omitempty"` // billable characters at most, known before any API call
	Timings     map[string]Timing `json:"timings,omitempty"`
	// FirstAudio is when the revision's first chunk was ready to play.
	FirstAudio  time.Time          `json:"first_audio,omitzero"`
	Error       string             `json:"error,omitempty"`
	FailedStage string             `json:"failed_stage,omitempty"`
	Warnings    []Warning          `json:"warnings,omitempty"` // of this revision
	Output      *Output            `json:"output,omitempty"`
	Webhooks    []webhook.Delivery `json:"webhooks,omitempty"` // the latest attempt to tell each endpoint of each event
	Created     time.Time          `json:"created"`            // the first revision's submission
	Submitted   time.Time          `json:"submitted"`          // this revision's submission
	Updated     time.Time          `json:"updated"`
	// IndexSeq is the sequence of the job's entry in the job index.
	IndexSeq uint64 `json:"index_seq,omitempty"`
	// TextHash is the cleaned script's (script.Script.TextHash), so that
	// a backfill can tell an article already narrated unchanged.
	TextHash string `json:"text_hash,omitempty"`
	// HeardSeconds is the audio the listening check transcribed for the
	// revision, as billed (ListenBilling).
	HeardSeconds int `json:"heard_seconds,omitempty"`
	// EstimateHeard is the audio the listening check would transcribe, in
	// seconds, estimated with Estimate; zero when the check is off.
	EstimateHeard int `json:"estimated_heard_seconds,omitempty"`
}

// TimeToFirstAudio is how long after submission the revision's first
// chunk was ready to play; zero until then.
func (j Job) TimeToFirstAudio() time.Duration {
	if j.FirstAudio.IsZero() {
		return 0
	}
	return j.FirstAudio.Sub(j.Submitted)
}

// Ended reports whether the job's revision has ended: done, failed or
// unpublished.
func (j Job) Ended() bool { return j.State == Done || j.State == Failed || j.State == Unpublished }

// ChunkState is where one chunk's synthesis is.
type ChunkState string

// Chunk states.
const (
	ChunkPending ChunkState = "pending"
	ChunkWorking ChunkState = "synthesizing"
	ChunkDone    ChunkState = "done"
	ChunkFailed  ChunkState = "failed"
)

// Chunk is one chunk's status, a key of its own so that synth workers never
// contend for the job's key.
type Chunk struct {
	Index       int             `json:"index"`
	State       ChunkState      `json:"state"`
	Chars       int             `json:"chars"`
	Audio       string          `json:"audio,omitempty"` // audio object name (the cache key)
	CacheHit    bool            `json:"cache_hit,omitempty"`
	BilledChars int             `json:"billed_chars,omitempty"`
	Attempts    int             `json:"attempts,omitempty"`
	Voice       string          `json:"voice,omitempty"` // as the provider resolved the request
	Model       string          `json:"model,omitempty"`
	Speed       float64         `json:"speed,omitempty"`
	Analysis    json.RawMessage `json:"analysis,omitempty"` // the MP3 check's findings
	Error       string          `json:"error,omitempty"`
	Start       time.Time       `json:"start,omitzero"`
	End         time.Time       `json:"end,omitzero"`
}

// Jobs is job state in the KV bucket: a key per job, a key per chunk,
// with each job's entry in the job index (jobindex.go) kept in step.
type Jobs struct {
	kv    jetstream.KeyValue
	keys  kv // kv through the queue's deadlines and retries
	bills kv // the billing records
	q     *Queue
}

// Jobs returns the job state store.
func (q *Queue) Jobs() *Jobs {
	return &Jobs{kv: q.jobs, keys: q.kv(q.jobs), bills: q.kv(q.usage), q: q}
}

func jobKey(id string) string { return "job." + id }

func chunkKey(id string, rev, index int) string {
	return "chunk." + id + "." + strconv.Itoa(rev) + "." + strconv.Itoa(index)
}

// ValidID reports whether s can name a job in subjects and keys.
func ValidID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Create stores a new job; it fails if the id is taken.
func (s *Jobs) Create(ctx context.Context, j Job) error {
	if !ValidID(j.ID) {
		return fmt.Errorf("queue: job id %q: use letters, digits, - and _", j.ID)
	}
	now := time.Now().UTC()
	j.Created, j.Updated = now, now
	// The index entry is written first and the key records it, so a key
	// never points at an entry that is not there.
	seq, err := s.putEntry(ctx, j)
	if err != nil {
		return err
	}
	j.IndexSeq = seq
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if err := s.keys.create(ctx, jobKey(j.ID), data); err != nil {
		return errors.Join(fmt.Errorf("queue: create job %s: %w", j.ID, err), s.dropEntry(ctx, j.IndexSeq))
	}
	return nil
}

// Get returns a job.
func (s *Jobs) Get(ctx context.Context, id string) (Job, error) {
	j, _, err := s.get(ctx, id)
	return j, err
}

func (s *Jobs) get(ctx context.Context, id string) (Job, uint64, error) {
	if !ValidID(id) {
		return Job{}, 0, fmt.Errorf("%w: %q", ErrNoJob, id)
	}
	e, err := s.keys.get(ctx, jobKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Job{}, 0, fmt.Errorf("%w: %s", ErrNoJob, id)
	}
	if err != nil {
		return Job{}, 0, fmt.Errorf("queue: get job %s: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(e.Value(), &j); err != nil {
		return Job{}, 0, fmt.Errorf("queue: job %s: %w", id, err)
	}
	return j, e.Revision(), nil
}

// Update applies fn to the job with compare-and-swap, retrying when
// another writer got there first. fn may be called more than once and
// returns ErrSkip to leave the job as it is.
func (s *Jobs) Update(ctx context.Context, id string, fn func(*Job) error) (Job, error) {
	for attempt := 0; ; attempt++ {
		j, rev, err := s.get(ctx, id)
		if err != nil {
			return Job{}, err
		}
		stored := j // fn may change j; its index entry and state stay here
		if err := fn(&j); err != nil {
			// Nothing to change: a retried task or a repeated submit, which
			// is also where a writer that died between the index and the
			// key is found out, so the index is checked here.
			ierr := s.ensureIndexed(ctx, stored)
			if errors.Is(err, ErrSkip) {
				return j, ierr
			}
			return j, errors.Join(err, ierr)
		}
		// The job's new index entry is written before the key that points
		// at it; the old one goes after.
		j.Updated = time.Now().UTC()
		entry, err := s.putEntry(ctx, j)
		if err != nil {
			return j, err
		}
		j.IndexSeq = entry
		data, err := json.Marshal(j)
		if err != nil {
			return j, err
		}
		err = s.keys.update(ctx, jobKey(id), data, rev)
		if err == nil {
			// Left behind if this fails, for Reconcile.
			_ = s.dropEntry(ctx, stored.IndexSeq)
			return j, nil
		}
		if derr := s.dropEntry(ctx, entry); derr != nil || !isWrongRevision(err) || attempt > 100 {
			return j, errors.Join(fmt.Errorf("queue: update job %s: %w", id, err), derr)
		}
	}
}

// ErrSkip, returned by an Update function, leaves the job unchanged.
var ErrSkip = errors.New("queue: skip update")

// isWrongRevision reports a compare-and-swap write that found another
// revision: a key created meanwhile or updated meanwhile. Replicated
// streams report it with another code than single ones (10164, not 10071).
func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// PutChunk records a chunk's status.
func (s *Jobs) PutChunk(ctx context.Context, id string, rev int, c Chunk) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := s.keys.put(ctx, chunkKey(id, rev, c.Index), data); err != nil {
		return fmt.Errorf("queue: job %s chunk %d: %w", id, c.Index, err)
	}
	return nil
}

// Chunks returns the chunk statuses of a job revision, by index.
func (s *Jobs) Chunks(ctx context.Context, id string, rev int) ([]Chunk, error) {
	var out []Chunk
	err := s.keys.each(ctx, "chunk."+id+"."+strconv.Itoa(rev)+".*", func() { out = nil }, func(e jetstream.KeyValueEntry) error {
		var c Chunk
		if err := json.Unmarshal(e.Value(), &c); err != nil {
			return fmt.Errorf("queue: job %s chunk key %s: %w", id, e.Key(), err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue: job %s chunks: %w", id, err)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Index < out[b].Index })
	return out, nil
}

// List returns every job, newest first.
func (s *Jobs) List(ctx context.Context) ([]Job, error) {
	w, err := s.kv.Watch(ctx, "job.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("queue: list jobs: %w", err)
	}
	defer w.Stop()
	var out []Job
	for {
		select {
		case e := <-w.Updates():
			if e == nil {
				sort.Slice(out, func(a, b int) bool { return out[a].Created.After(out[b].Created) })
				return out, nil
			}
			var j Job
			if err := json.Unmarshal(e.Value(), &j); err != nil {
				return nil, fmt.Errorf("queue: job key %s: %w", e.Key(), err)
			}
			out = append(out, j)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// usageKey names a budget counter: the characters billed or reserved on a
// UTC day, per publication ("publication.daily-news"). What providers
// billed is kept as records instead (Bill).
func usageKey(day time.Time, counter string) string {
	return "usage." + day.UTC().Format("2006-01-02") + "." + counter
}

// AddUsage adds n characters (n may be negative, to settle a reservation)
// to the day's counters, with compare-and-swap so that concurrent workers
// never lose an increment.
func (s *Jobs) AddUsage(ctx context.Context, day time.Time, n int, counters ...string) error {
	for _, c := range counters {
		if _, _, err := s.addUsage(ctx, usageKey(day, c), n, 0); err != nil {
			return err
		}
	}
	return nil
}

// ReserveUsage adds n characters to a day's counter only if the counter
// stays within limit, atomically across the cluster: chunks synthesized
// at once can never together pass a budget. It returns the counter's
// value before the reservation and whether it was made.
func (s *Jobs) ReserveUsage(ctx context.Context, day time.Time, counter string, n, limit int) (int, bool, error) {
	return s.addUsage(ctx, usageKey(day, counter), n, limit)
}

// addUsage adds n to a counter unless the sum would pass limit (0: none).
func (s *Jobs) addUsage(ctx context.Context, key string, n, limit int) (int, bool, error) {
	for attempt := 0; ; attempt++ {
		cur, rev, err := s.usage(ctx, key)
		if err != nil {
			return 0, false, err
		}
		if limit > 0 && cur+n > limit {
			return cur, false, nil
		}
		// The nonce makes this write's value unlike any other's, so a retry
		// of a write whose answer was lost knows whether it took.
		val := []byte(strconv.Itoa(cur+n) + " " + nonce())
		if rev == 0 {
			err = s.keys.create(ctx, key, val)
		} else {
			err = s.keys.update(ctx, key, val, rev)
		}
		if err == nil {
			return cur, true, nil
		}
		if !isWrongRevision(err) || attempt > 100 {
			return 0, false, fmt.Errorf("queue: usage %s: %w", key, err)
		}
	}
}

// Usage returns the characters a UTC day's counter holds.
func (s *Jobs) Usage(ctx context.Context, day time.Time, counter string) (int, error) {
	n, _, err := s.usage(ctx, usageKey(day, counter))
	return n, err
}

func (s *Jobs) usage(ctx context.Context, key string) (int, uint64, error) {
	e, err := s.keys.get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("queue: usage %s: %w", key, err)
	}
	count, _, _ := strings.Cut(string(e.Value()), " ")
	n, err := strconv.Atoi(count)
	if err != nil {
		return 0, 0, fmt.Errorf("queue: usage %s: %w", key, err)
	}
	return n, e.Revision(), nil
}
