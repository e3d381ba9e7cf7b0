package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/backfill"
)

func (s *Server) backfillRoutes() {
	read, edit := s.require(ScopeRead), s.require(ScopeEditor)
	s.mux.Handle("GET /api/backfills", read(s.listBackfills))
	s.mux.Handle("POST /api/backfills", edit(s.startBackfill))
	s.mux.Handle("GET /api/backfills/{name}", read(s.getBackfill))
	s.mux.Handle("POST /api/backfills/{name}/stop", edit(s.stopBackfill))
	s.mux.Handle("POST /api/backfills/{name}/resume", edit(s.resumeBackfill))
}

// backfillRequest is POST /api/backfills's body.
type backfillRequest struct {
	Name     string          `json:"name"`
	Source   backfill.Spec   `json:"source"`
	Since    string          `json:"since"`
	Until    string          `json:"until"`
	Sections []string        `json:"sections"`
	Max      int             `json:"max"`
	Budget   backfill.Budget `json:"budget"`
	DryRun   bool            `json:"dry_run"`
	Sample   int             `json:"sample"`
}

// request turns the body into the manager's request.
func (in backfillRequest) request() (backfill.Request, *httpError) {
	r := backfill.Request{Name: in.Name, Source: in.Source, Budget: in.Budget, DryRun: in.DryRun, Sample: in.Sample,
		Filter: backfill.Filter{Sections: in.Sections, Max: in.Max}}
	for _, d := range []struct {
		name, val string
		to        *time.Time
	}{{"since", in.Since, &r.Filter.Since}, {"until", in.Until, &r.Filter.Until}} {
		if d.val == "" {
			continue
		}
		t, err := parseTime(d.val, false)
		if err != nil {
			return r, &httpError{http.StatusBadRequest, fmt.Sprintf("%s %q: want a date (2024-01-31) or a time (2024-01-31T12:00:00Z)", d.name, d.val)}
		}
		*d.to = t
	}
	return r, nil
}

func (s *Server) backfills(w http.ResponseWriter) *backfill.Manager {
	if s.bf == nil {
		writeError(w, http.StatusServiceUnavailable, "backfills do not run on this server")
	}
	return s.bf
}

func (s *Server) listBackfills(w http.ResponseWriter, r *http.Request, _ session) {
	m := s.backfills(w)
	if m == nil {
		return
	}
	runs, err := m.Store().Runs(r.Context())
	if err != nil {
		s.backfillFail(w, r, err)
		return
	}
	for i := range runs {
		runs[i] = runs[i].Shown()
	}
	writeJSON(w, http.StatusOK, map[string]any{"backfills": runs})
}

func (s *Server) startBackfill(w http.ResponseWriter, r *http.Request, sess session) {
	m := s.backfills(w)
	if m == nil {
		return
	}
	var in backfillRequest
	if herr := decodeJSON(w, r, smallBody, &in); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	req, herr := in.request()
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	run, err := m.Start(r.Context(), req)
	if err != nil {
		s.backfillFail(w, r, err)
		return
	}
	s.log.Info("backfill started", "backfill", run.Name, "source", run.Source.Describe(), "dry_run", req.DryRun, "by", sess.Name)
	w.Header().Set("Location", "/api/backfills/"+url.PathEscape(run.Name))
	writeJSON(w, http.StatusAccepted, run.Shown())
}

func (s *Server) getBackfill(w http.ResponseWriter, r *http.Request, _ session) {
	m := s.backfills(w)
	if m == nil {
		return
	}
	run, err := m.Store().Get(r.Context(), r.PathValue("name"))
	if err != nil {
		s.backfillFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run.Shown())
}

func (s *Server) stopBackfill(w http.ResponseWriter, r *http.Request, sess session) {
	s.backfillAction(w, r, sess, "stopped", (*backfill.Manager).Stop)
}

func (s *Server) resumeBackfill(w http.ResponseWriter, r *http.Request, sess session) {
	s.backfillAction(w, r, sess, "resumed", (*backfill.Manager).Resume)
}

func (s *Server) backfillAction(w http.ResponseWriter, r *http.Request, sess session, did string, act func(*backfill.Manager, context.Context, string) (backfill.Run, error)) {
	m := s.backfills(w)
	if m == nil {
		return
	}
	run, err := act(m, r.Context(), r.PathValue("name"))
	if err != nil {
		s.backfillFail(w, r, err)
		return
	}
	s.log.Info("backfill "+did, "backfill", run.Name, "by", sess.Name)
	writeJSON(w, http.StatusAccepted, run.Shown())
}

// backfillStatus is the status and message of a backfill error.
func backfillStatus(err error, name string) (int, string) {
	switch {
	case errors.Is(err, queue.ErrNoRecord):
		return http.StatusNotFound, fmt.Sprintf("no backfill %q", name)
	case errors.Is(err, backfill.ErrBusy), errors.Is(err, backfill.ErrNotRunning):
		return http.StatusConflict, err.Error()
	case errors.Is(err, backfill.ErrInvalid), errors.Is(err, backfill.ErrSpec), errors.Is(err, backfill.ErrName):
		return http.StatusBadRequest, strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return 0, ""
}

func (s *Server) backfillFail(w http.ResponseWriter, r *http.Request, err error) {
	if status, msg := backfillStatus(err, r.PathValue("name")); status != 0 {
		writeError(w, status, msg)
		return
	}
	s.fail(w, r, err)
}
