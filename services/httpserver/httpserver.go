// Package httpserver builds narrator's HTTP servers with deadlines that a
// slow or idle client cannot outlast: one for reading a request's headers,
// one for the whole request, one for writing a response and one for an idle
// keep-alive connection. Responses that stream (server-sent events, media,
// live audio) lift the whole-response deadline and instead must make
// progress: each write has to complete within a stall timeout.
package httpserver

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Timeouts bound what a client can hold. Zero fields take the defaults.
type Timeouts struct {
	// ReadHeader bounds reading a request's line and headers (10s).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included (1m: a 5 MiB
	// article at 90 KB/s).
	Read time.Duration
	// Write bounds writing a response that does not stream (1m).
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next
	// request (30s).
	Idle time.Duration
	// Stall bounds each write of a streaming response (1m): a client that
	// reads nothing for that long is cut off.
	Stall time.Duration
}

func (t *Timeouts) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.ReadHeader, 10*time.Second)
	def(&t.Read, time.Minute)
	def(&t.Write, time.Minute)
	def(&t.Idle, 30*time.Second)
	def(&t.Stall, time.Minute)
}

type timeoutsKey struct{}

// New returns a server of handler with the timeouts. The write deadline is
// set per response, not on the server, so that streaming handlers (see
// Stream) can lift it.
func New(handler http.Handler, t Timeouts) *http.Server {
	t.setDefaults()
	return &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// An error means the connection has no deadlines to set (an
			// HTTP/2 stream of a server without them, a test recorder).
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(t.Write))
			handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), timeoutsKey{}, t)))
		}),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		IdleTimeout:       t.Idle,
	}
}

// Stream prepares a response that streams for as long as the client reads
// it: the request's read deadline and the response's write deadline are
// lifted (so the request's context stays live), and each write of the
// returned writer must complete within the server's stall timeout. Write
// the response through the returned writer only.
func Stream(w http.ResponseWriter, r *http.Request) http.ResponseWriter {
	t, ok := r.Context().Value(timeoutsKey{}).(Timeouts)
	if !ok {
		t.setDefaults()
	}
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	return &streamWriter{ResponseWriter: w, rc: rc, stall: t.Stall}
}

// Streaming is a handler whose every response streams (see Stream), for
// media files a slow listener may take an hour to fetch.
func Streaming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(Stream(w, r), r)
	})
}

// streamWriter renews the write deadline before every write.
type streamWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.rc.SetWriteDeadline(time.Now().Add(s.stall))
	return s.ResponseWriter.Write(p)
}

// ReadFrom copies in pieces, each with its own deadline: a whole file
// handed to the connection at once would have to go out within one stall
// timeout.
func (s *streamWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(writerOnly{s}, r, make([]byte, 32<<10))
}

// writerOnly hides ReadFrom, so that io.CopyBuffer does not call it back.
type writerOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the connection's flusher.
func (s *streamWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
