package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/pipeline"
)

// smallBody caps bodies that carry no article.
const smallBody = 64 << 10

// httpError is an error with the status and message a client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// errorBody is every error's JSON.
type errorBody struct {
	Error string `json:"error"`
}

// writeJSON writes v as the response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"error":"encode response"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// writeError writes {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// decodeJSON reads one JSON value of at most limit bytes into v. Unknown
// fields are refused, so that a misspelt field is an error rather than a
// silent default.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) *httpError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is over %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return &httpError{http.StatusBadRequest, "read the request body: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &httpError{http.StatusBadRequest, "malformed JSON: " + err.Error()}
	}
	if dec.More() {
		return &httpError{http.StatusBadRequest, "malformed JSON: more than one value in the body"}
	}
	return nil
}

// What a client is told while NATS, which holds every job, is away.
const (
	retryAfter     = "5" // seconds: NATS reconnects every half second
	unavailableMsg = "narrator's queue (NATS) is unavailable; try again shortly"
)

// fail writes the response for an error from the pipeline or the queue.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, he.msg)
	case errors.Is(err, queue.ErrNoJob):
		writeError(w, http.StatusNotFound, fmt.Sprintf("no narration %q", r.PathValue("id")))
	case errors.Is(err, pipeline.ErrBusy):
		writeError(w, http.StatusConflict, "the narration is still in progress; wait until it ends (follow its events) and try again")
	case errors.Is(err, pipeline.ErrBadRequest), errors.Is(err, lexicon.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
	case queue.Unavailable(err):
		s.log.Warn("api request failed: NATS is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusServiceUnavailable, unavailableMsg)
	default:
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error; the server log has details")
	}
}
