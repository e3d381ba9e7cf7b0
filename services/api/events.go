package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/httpserver"
	"github.com/narrator-project/narrator/services/pipeline"
)

// event is a progress event as the event streams send it.
type event struct {
	queue.Event
	State    queue.State `json:"state"`    // of the job after this event
	Progress int         `json:"progress"` // percent, as in the narration view
}

// tracker follows a job's state and progress through its events.
type tracker struct {
	state       queue.State
	stage       string
	done, total int
}

func (t *tracker) apply(e queue.Event) event {
	switch e.Kind {
	case queue.EventQueued:
		*t = tracker{state: queue.Queued}
	case queue.EventStageStart:
		t.state, t.stage = queue.Running, e.Stage
	case queue.EventStageDone:
		t.state = queue.Running
		if e.Stage == pipeline.StageChunk {
			t.stage, t.total = pipeline.StageSynth, e.Chunks
		}
	case queue.EventChunkDone:
		t.state, t.stage = queue.Running, pipeline.StageSynth
		t.done, t.total = max(t.done, e.Done), max(t.total, e.Chunks)
	case queue.EventDone:
		t.state = queue.Done
	case queue.EventFailed:
		t.state = queue.Failed
	case queue.EventUnpublished:
		t.state = queue.Unpublished
	}
	return event{Event: e, State: t.state, Progress: progress(t.state, t.stage, t.done, t.total)}
}

// stream writes server-sent events; safe for concurrent use.
type stream struct {
	mu sync.Mutex
	w  http.ResponseWriter
	rc *http.ResponseController
}

func startStream(w http.ResponseWriter, r *http.Request) *stream {
	// The stream outlives the server's read and write deadlines, as long as
	// its client keeps reading.
	w = httpserver.Stream(w, r)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would hold events back
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	return &stream{w: w, rc: rc}
}

// send writes one event; id 0 writes none, name "" is a plain message.
func (s *stream) send(name string, id int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id > 0 {
		fmt.Fprintf(s.w, "id: %d\n", id)
	}
	if name != "" {
		fmt.Fprintf(s.w, "event: %s\n", name)
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		return err
	}
	return s.rc.Flush()
}

// keepAlive sends a comment now and then, so that proxies do not close a
// quiet stream, until ctx is done.
func (s *stream) keepAlive(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.mu.Lock()
			fmt.Fprint(s.w, ": keep-alive\n\n")
			s.rc.Flush()
			s.mu.Unlock()
		}
	}
}

// openStreams counts the event streams open on this server by token name.
type openStreams struct {
	mu sync.Mutex
	n  map[string]int
}

// openStream counts an event stream of the session's token, or refuses
// it with 429 when the token has as many open as it may; done ends it.
func (s *Server) openStream(w http.ResponseWriter, sess session) (done func(), ok bool) {
	o := &s.streams
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n[sess.Name] >= s.cfg.StreamsPerToken {
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("token %q already has %d event streams open on this server, the most it may (NARRATOR_STREAMS_PER_TOKEN): close one first", sess.Name, s.cfg.StreamsPerToken))
		return nil, false
	}
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[sess.Name]++
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.n[sess.Name]--; o.n[sess.Name] == 0 {
			delete(o.n, sess.Name)
		}
	}, true
}

// replayWait bounds how long the stream of an ended job waits for its
// final event: stored events replay in milliseconds, so a job whose events
// have expired gets its state from job state instead of a stream that
// never ends.
const replayWait = 3 * time.Second

// narrationEvents streams a job revision's events, from its first, then
// live until the revision ends (GET /api/narrations/{id}/events). Each
// event has an id; a reconnecting EventSource's Last-Event-ID skips what it
// has seen. The stream ends with an "end" event.
func (s *Server) narrationEvents(w http.ResponseWriter, r *http.Request, sess session) {
	ctx := r.Context()
	j, err := s.q.Jobs().Get(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rev := j.Revision
	if v := r.URL.Query().Get("revision"); v != "" {
		if rev, err = strconv.Atoi(v); err != nil || rev < 1 || rev > j.Revision {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("revision %q: want 1 to %d", v, j.Revision))
			return
		}
	}
	seen, _ := strconv.Atoi(r.Header.Get("Last-Event-ID"))
	done, ok := s.openStream(w, sess)
	if !ok {
		return
	}
	defer done()
	st := startStream(w, r)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go st.keepAlive(ctx, 15*time.Second)

	followCtx := ctx
	if j.Ended() || rev < j.Revision {
		var stop context.CancelFunc
		followCtx, stop = context.WithTimeout(ctx, replayWait)
		defer stop()
	}
	var t tracker
	n, final := 0, false
	err = s.q.Follow(followCtx, j.ID, rev, func(e queue.Event) bool {
		n++
		ev := t.apply(e)
		final = e.Final()
		if n <= seen {
			return true
		}
		return st.send("", n, ev) == nil
	})
	if ctx.Err() != nil {
		return // the client left
	}
	if err != nil && !final && rev == j.Revision {
		// The events are gone: say where the job ended from job state.
		e := queue.Event{Job: j.ID, Rev: rev, Time: j.Updated, Kind: finalKind(j.State), Message: j.Error}
		st.send("", n+1, event{Event: e, State: j.State, Progress: s.view(j, nil, false).Progress})
	}
	st.send("end", 0, map[string]any{"job": j.ID, "revision": rev})
}

func finalKind(s queue.State) queue.EventKind {
	switch s {
	case queue.Done:
		return queue.EventDone
	case queue.Failed:
		return queue.EventFailed
	}
	return queue.EventUnpublished
}

// allEvents streams the events of every narration from now on (GET
// /api/events). A job's progress is tracked from its events, starting from
// its state in job state when its first event here arrives mid-way.
func (s *Server) allEvents(w http.ResponseWriter, r *http.Request, sess session) {
	done, ok := s.openStream(w, sess)
	if !ok {
		return
	}
	defer done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	since := time.Now() // nothing published after the client hears back is missed
	st := startStream(w, r)
	go st.keepAlive(ctx, 15*time.Second)
	trackers := map[string]*tracker{}
	err := s.q.FollowAll(ctx, since, func(e queue.Event) bool {
		k := e.Job + "/" + strconv.Itoa(e.Rev)
		t := trackers[k]
		if t == nil {
			t = &tracker{}
			if j, err := s.q.Jobs().Get(ctx, e.Job); err == nil && j.Revision == e.Rev {
				*t = tracker{state: j.State, stage: j.Stage, total: j.Chunks}
			}
			trackers[k] = t
		}
		ev := t.apply(e)
		if e.Final() {
			delete(trackers, k)
		}
		return st.send("", 0, ev) == nil
	})
	if err != nil && ctx.Err() == nil {
		st.send("error", 0, errorBody{Error: "follow narrations: " + err.Error()})
	}
}
