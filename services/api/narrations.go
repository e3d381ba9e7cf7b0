package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// createRequest is the body of POST /api/narrations.
type createRequest struct {
	ArticleID   string  `json:"article_id"`
	URL         string  `json:"url"`
	HTML        string  `json:"html"`
	Text        string  `json:"text"`
	Markdown    string  `json:"markdown"`
	Title       string  `json:"title"`
	Section     string  `json:"section"`
	Author      string  `json:"author"`
	Publication string  `json:"publication"`
	Language    string  `json:"language"`
	Voice       string  `json:"voice"`
	Model       string  `json:"model"`
	Speed       float64 `json:"speed"`
	// Priority is the lane the narration waits in at every stage: high,
	// normal (the default) or low.
	Priority string `json:"priority"`
	// Force narrates again even when nothing changed.
	Force bool `json:"force"`
}

// request turns an API request into a pipeline request, refusing what
// cannot make a job.
func (s *Server) request(ctx context.Context, in createRequest) (pipeline.Request, error) {
	bad := func(format string, args ...any) error {
		return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
	}
	r := pipeline.Request{ArticleID: strings.TrimSpace(in.ArticleID), Options: s.cfg.Options, Force: in.Force}
	given := 0
	for _, src := range []struct{ kind, v string }{{"url", in.URL}, {"html", in.HTML}, {"text", in.Text}, {"markdown", in.Markdown}} {
		if strings.TrimSpace(src.v) == "" {
			continue
		}
		given++
		if src.kind == "url" {
			r.URL = strings.TrimSpace(src.v)
		} else {
			r.Body, r.Kind = []byte(src.v), src.kind
		}
	}
	if given != 1 {
		return r, bad("give exactly one of url, html, text or markdown")
	}
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return r, bad("url %q: want an absolute http or https URL", r.URL)
		}
		if s.guard != nil {
			if err := s.guard.Vet(ctx, r.URL); err != nil {
				return r, bad("url: %v", err)
			}
		}
	}
	if r.ArticleID != "" && (len(r.ArticleID) > 200 || !utf8.ValidString(r.ArticleID)) {
		return r, bad("article_id: at most 200 characters of UTF-8")
	}
	for name, v := range map[string]string{"title": in.Title, "section": in.Section, "author": in.Author, "publication": in.Publication, "voice": in.Voice, "model": in.Model, "language": in.Language} {
		if len(v) > 1000 || !utf8.ValidString(v) {
			return r, bad("%s: at most 1,000 characters of UTF-8", name)
		}
	}
	if in.Speed != 0 && (in.Speed < 0.25 || in.Speed > 4) {
		return r, bad("speed %g: want 0.25 to 4", in.Speed)
	}
	prio, err := queue.ParsePriority(in.Priority)
	if err != nil {
		return r, bad("%v", err)
	}
	r.Priority = prio
	o := &r.Options
	set := func(dst *string, v string) {
		if v = strings.TrimSpace(v); v != "" {
			*dst = v
		}
	}
	set(&o.Title, in.Title)
	set(&o.Section, in.Section)
	set(&o.Author, in.Author)
	set(&o.Publication, in.Publication)
	set(&o.Language, in.Language)
	set(&o.Voice, in.Voice)
	set(&o.Model, in.Model)
	if in.Speed != 0 {
		o.Speed = in.Speed
	}
	return r, nil
}

func (s *Server) createNarration(w http.ResponseWriter, r *http.Request, sess session) {
	var in createRequest
	if herr := decodeJSON(w, r, s.cfg.MaxBody, &in); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	j, err := s.submit(r.Context(), in, sess.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/narrations/"+url.PathEscape(j.ID))
	writeJSON(w, http.StatusAccepted, s.view(j, nil, false))
}

// submit starts a narration for an editor (by = the token's name).
func (s *Server) submit(ctx context.Context, in createRequest, by string) (queue.Job, error) {
	req, err := s.request(ctx, in)
	if err != nil {
		return queue.Job{}, err
	}
	j, err := s.p.Submit(ctx, req)
	if err != nil {
		return j, err
	}
	s.log.Info("narration submitted", "job_id", j.ID, "revision", j.Revision, "state", j.State, "by", by, "priority", j.Priority)
	return j, nil
}

func (s *Server) getNarration(w http.ResponseWriter, r *http.Request, _ session) {
	j, err := s.q.Jobs().Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs, err := s.q.Jobs().Chunks(r.Context(), j.ID, j.Revision)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(j, cs, true))
}

func (s *Server) renarrate(w http.ResponseWriter, r *http.Request, sess session) {
	j, err := s.p.Renarrate(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("narration re-narrated", "job_id", j.ID, "revision", j.Revision, "by", sess.Name)
	writeJSON(w, http.StatusAccepted, s.view(j, nil, false))
}

func (s *Server) deleteNarration(w http.ResponseWriter, r *http.Request, sess session) {
	j, err := s.unpublish(r.Context(), r.PathValue("id"), sess.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.view(j, nil, false))
}

// unpublish unpublishes a narration; one already unpublished is left be.
func (s *Server) unpublish(ctx context.Context, id, by string) (queue.Job, error) {
	j, err := s.q.Jobs().Get(ctx, id)
	if err != nil || j.State == queue.Unpublished {
		return j, err
	}
	j, err = s.p.Unpublish(ctx, id)
	if err != nil {
		return j, err
	}
	s.log.Info("narration unpublished", "job_id", j.ID, "revision", j.Revision, "by", by)
	return j, nil
}
