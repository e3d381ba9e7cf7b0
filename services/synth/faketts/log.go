package faketts

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Entry records one speech or transcription request as the fake saw it;
// each endpoint numbers its requests from 1. Status is 0 while
// the request is in flight and 499 when the client left before an answer.
type Entry struct {
	N              int           `json:"n"` // request number, from 1
	Time           time.Time     `json:"time"`
	Method         string        `json:"method"`
	Path           string        `json:"path"`
	Auth           string        `json:"auth"` // the Authorization header as sent
	ContentType    string        `json:"content_type"`
	Model          string        `json:"model"`
	Input          string        `json:"input"`
	Chars          int           `json:"chars"` // characters of input
	Voice          string        `json:"voice"`
	ResponseFormat string        `json:"response_format,omitempty"`
	Speed          float64       `json:"speed,omitempty"` // as sent; 0 if absent
	Instructions   string        `json:"instructions,omitempty"`
	Status         int           `json:"status"`
	Fault          Fault         `json:"fault,omitempty"`
	Bytes          int           `json:"bytes"`             // response body bytes written
	Seconds        float64       `json:"seconds,omitempty"` // audio uploaded for transcription
	Elapsed        time.Duration `json:"elapsed"`           // until the answer started, in nanoseconds
}

// Log returns a copy of the request log in arrival order.
func (s *Server) Log() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, len(s.log))
	for i, e := range s.log {
		out[i] = *e
	}
	return out
}

// Reset empties the log and restarts request numbering (and so scripted
// faults); rate-limit buckets keep their state.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log, s.n, s.heardN = nil, 0, 0
}

func (s *Server) serveLog(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(s.Log()); err != nil {
		return // the client went away
	}
}

// FetchLog reads the request log of a fake running in another process;
// base is the URL the fake printed (with or without /v1).
func FetchLog(ctx context.Context, base string) ([]Entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, trimV1(base)+"/_log", nil)
	if err != nil {
		return nil, fmt.Errorf("faketts: fetch log: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("faketts: fetch log: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("faketts: fetch log: %s", resp.Status)
	}
	var log []Entry
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		return nil, fmt.Errorf("faketts: fetch log: %w", err)
	}
	return log, nil
}
