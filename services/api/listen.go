package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// DefaultMaxListeners bounds the live streams one server sends at once.
const DefaultMaxListeners = 256

// listenWriteTimeout is how long one write of a live stream may take: a
// listener who stops reading frees the stream's place this long after.
const listenWriteTimeout = 30 * time.Second

// ListenPath is where a narration in progress is streamed, by job id.
const ListenPath = "/listen/"

// listen streams a narration while it is being made (pipeline.Listen):
// public, like the player, since a listener has no token. The response
// has no length, so it goes out with chunked transfer, and each chunk's
// frames are flushed as they are written.
func (s *Server) listen(w http.ResponseWriter, r *http.Request) {
	select {
	case s.listeners <- struct{}{}:
		defer func() { <-s.listeners }()
	default:
		w.Header().Set("Retry-After", "5")
		http.Error(w, "Too many listeners right now; try again in a few seconds.", http.StatusServiceUnavailable)
		return
	}
	id := r.PathValue("id")
	j, err := s.q.Jobs().Get(r.Context(), id)
	switch {
	case errors.Is(err, queue.ErrNoJob):
		http.Error(w, "No narration has this id.", http.StatusNotFound)
		return
	case err != nil:
		s.log.Error("listen: read job", "job_id", id, "err", err)
		http.Error(w, "The narration cannot be read right now.", http.StatusServiceUnavailable)
		return
	case j.State == queue.Failed || j.State == queue.Unpublished:
		http.Error(w, "This narration has no audio.", http.StatusGone)
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "audio/mpeg")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx would hold the frames back
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodHead {
		return
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush() // the player hears the stream has begun while the first chunk is made
	out := &deadlineWriter{w: w, rc: rc}
	err = s.p.Listen(r.Context(), id, out, rc.Flush)
	if err != nil && r.Context().Err() == nil {
		// The status is sent: a listener's player sees the stream end early.
		level := s.log.Warn
		if errors.Is(err, pipeline.ErrNotListenable) {
			level = s.log.Info
		}
		level("listen: the stream ended early", "job_id", id, "err", err)
	}
}

// deadlineWriter gives each write of a stream its own deadline, so that a
// stream lasts as long as the narration takes while a listener who stops
// reading is let go.
type deadlineWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(listenWriteTimeout)) // not every writer has deadlines
	return d.w.Write(p)
}
