package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/narrator-project/narrator/queue"
)

// listData is the list page's.
type listData struct {
	List       listPage
	Usage      usage
	State      string
	Section    string
	Since      string
	Until      string
	States     []queue.State
	Priorities []queue.Priority
	Form       createRequest // to refill the form after an error
}

func (s *Server) listPage(w http.ResponseWriter, r *http.Request, sess session) {
	s.renderList(w, r, sess, http.StatusOK, "", createRequest{})
}

func (s *Server) renderList(w http.ResponseWriter, r *http.Request, sess session, status int, msg string, form createRequest) {
	q := r.URL.Query()
	lq, herr := parseListQuery(q)
	if herr != nil {
		msg, lq = herr.msg, listQuery{limit: 50}
	}
	page, err := s.list(r.Context(), lq)
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	u, err := s.usage(r.Context())
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	s.render(w, status, "list", pageData{Title: "Narrations", Session: &sess, Error: msg,
		Data: listData{List: page, Usage: u, State: q.Get("state"), Section: q.Get("section"), Since: q.Get("since"), Until: q.Get("until"), States: states,
			Priorities: []queue.Priority{queue.High, queue.Normal, queue.Low}, Form: form}})
}

// narrationData is the narration page's.
type narrationData struct {
	N        narration
	Stages   []stageRow
	Report   *unknownWords
	ReportNA string // why there is no report
	Heard    *heardView
	HeardNA  string // why the flagged chunks cannot be shown
	Price    *float64
}

type stageRow struct {
	Name    string
	Start   time.Time
	Seconds float64
	Running bool
}

func (s *Server) narrationPage(w http.ResponseWriter, r *http.Request, sess session) {
	s.renderNarration(w, r, sess, http.StatusOK, "")
}

func (s *Server) renderNarration(w http.ResponseWriter, r *http.Request, sess session, status int, msg string) {
	ctx := r.Context()
	j, err := s.q.Jobs().Get(ctx, r.PathValue("id"))
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	cs, err := s.q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	d := narrationData{N: s.view(j, cs, true)}
	for _, st := range stageOrder {
		if t, ok := j.Timings[st]; ok {
			d.Stages = append(d.Stages, stageRow{Name: st, Start: t.Start, Seconds: t.Duration().Seconds(), Running: t.End.IsZero()})
		}
	}
	if p, ok := s.cfg.Prices[j.Options.Provider]; ok {
		d.Price = &p
	}
	if rep, err := s.report(ctx, j.ID, 0); err == nil {
		d.Report = &rep
	} else {
		var he *httpError
		if !errors.As(err, &he) {
			s.log.Warn("unknown-words report", "job_id", j.ID, "err", err)
		}
		d.ReportNA = "The article has not been cleaned yet."
		if j.Ended() {
			d.ReportNA = "The article's script is no longer kept; re-narrate to review its words."
		}
	}
	// Chunks the listening check flagged, when there are any.
	if v, err := s.heard(ctx, j, cs); err != nil {
		var he *httpError
		d.HeardNA = "What was heard cannot be read just now: reload the page to try again."
		if errors.As(err, &he) {
			d.HeardNA = he.msg
		} else {
			s.log.Warn("listening records", "job_id", j.ID, "err", err)
		}
	} else if len(v.Chunks) > 0 {
		d.Heard = &v
	}
	var media []string
	if d.N.Audio != nil {
		if u, err := url.Parse(d.N.Audio.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			media = append(media, u.Scheme+"://"+u.Host)
		}
	}
	s.render(w, status, "narration", pageData{Title: cmp.Or(d.N.Title, d.N.ID), Session: &sess, Error: msg, Data: d}, media...)
}

// lexiconData is the lexicon page's.
type lexiconData struct {
	Lexicon lexiconView
	Return  string
}

func (s *Server) lexiconPage(w http.ResponseWriter, r *http.Request, sess session) {
	s.renderLexicon(w, r, sess, http.StatusOK, "", publication(r))
}

func (s *Server) renderLexicon(w http.ResponseWriter, r *http.Request, sess session, status int, msg, pub string) {
	v, err := s.readLexicon(r.Context(), pub)
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	s.render(w, status, "lexicon", pageData{Title: "Lexicon", Session: &sess, Error: msg, Data: lexiconData{Lexicon: v}})
}

// pageFail renders an error page for an error from the pipeline or queue.
func (s *Server) pageFail(w http.ResponseWriter, r *http.Request, sess session, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong; the server log has details."
	var he *httpError
	switch {
	case errors.As(err, &he):
		status, msg = he.status, he.msg
	case errors.Is(err, queue.ErrNoJob):
		status, msg = http.StatusNotFound, fmt.Sprintf("There is no narration %q.", r.PathValue("id"))
	case r.Context().Err() != nil:
		return
	case queue.Unavailable(err):
		s.log.Warn("dashboard request failed: NATS is unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		status, msg = http.StatusServiceUnavailable, "The narrations cannot be reached just now: try again in a few seconds."
	default:
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	s.render(w, status, "error", pageData{Title: http.StatusText(status), Session: &sess, Error: msg})
}
