package api

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/pipeline"
)

// narrateForm submits an article from the list page's form.
func (s *Server) narrateForm(w http.ResponseWriter, r *http.Request, sess session) {
	in := createRequest{
		ArticleID: r.PostFormValue("article_id"), URL: r.PostFormValue("url"),
		Title: r.PostFormValue("title"), Section: r.PostFormValue("section"),
		Priority: r.PostFormValue("priority"),
	}
	switch r.PostFormValue("kind") {
	case "html":
		in.HTML = r.PostFormValue("text")
	case "markdown":
		in.Markdown = r.PostFormValue("text")
	default:
		in.Text = r.PostFormValue("text")
	}
	j, err := s.submit(r.Context(), in, sess.Name)
	if err != nil {
		msg := err.Error()
		var he *httpError
		if errors.As(err, &he) {
			msg = he.msg
		} else if !errors.Is(err, pipeline.ErrBadRequest) {
			s.pageFail(w, r, sess, err)
			return
		}
		s.renderList(w, r, sess, http.StatusBadRequest, "The article was not submitted: "+msg, in)
		return
	}
	http.Redirect(w, r, "/dashboard/narrations/"+url.PathEscape(j.ID), http.StatusSeeOther)
}

func (s *Server) renarrateForm(w http.ResponseWriter, r *http.Request, sess session) {
	j, err := s.p.Renarrate(r.Context(), r.PathValue("id"))
	if err != nil {
		s.actionFail(w, r, sess, err)
		return
	}
	s.log.Info("narration re-narrated", "job_id", j.ID, "revision", j.Revision, "by", sess.Name)
	http.Redirect(w, r, "/dashboard/narrations/"+url.PathEscape(j.ID), http.StatusSeeOther)
}

func (s *Server) unpublishForm(w http.ResponseWriter, r *http.Request, sess session) {
	j, err := s.unpublish(r.Context(), r.PathValue("id"), sess.Name)
	if err != nil {
		s.actionFail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/narrations/"+url.PathEscape(j.ID), http.StatusSeeOther)
}

// actionFail shows the narration page again with what went wrong.
func (s *Server) actionFail(w http.ResponseWriter, r *http.Request, sess session, err error) {
	switch {
	case errors.Is(err, pipeline.ErrBusy):
		s.renderNarration(w, r, sess, http.StatusConflict, "The narration is still in progress: wait until it ends.")
	case errors.Is(err, pipeline.ErrBadRequest):
		s.renderNarration(w, r, sess, http.StatusBadRequest, err.Error())
	default:
		s.pageFail(w, r, sess, err)
	}
}

func (s *Server) lexiconForm(w http.ResponseWriter, r *http.Request, sess session) {
	pub := cmp.Or(strings.TrimSpace(r.PostFormValue("publication")), "default")
	e := lexicon.Entry{
		Word: strings.TrimSpace(r.PostFormValue("word")), Pattern: r.PostFormValue("pattern"),
		Say: r.PostFormValue("say"), Spell: r.PostFormValue("spell") != "", IgnoreCase: r.PostFormValue("ignore_case") != "",
		Note: r.PostFormValue("note"),
	}
	if _, err := s.putEntry(r.Context(), pub, key(e), e); err != nil {
		if errors.Is(err, lexicon.ErrInvalid) {
			s.renderLexicon(w, r, sess, http.StatusBadRequest, "The entry was not saved: "+err.Error(), pub)
			return
		}
		s.pageFail(w, r, sess, err)
		return
	}
	s.log.Info("lexicon entry set", "publication", pub, "word", key(e), "by", sess.Name)
	http.Redirect(w, r, localPath(r.PostFormValue("return"), "/dashboard/lexicon?publication="+url.QueryEscape(pub)), http.StatusSeeOther)
}

func (s *Server) lexiconDeleteForm(w http.ResponseWriter, r *http.Request, sess session) {
	pub := cmp.Or(strings.TrimSpace(r.PostFormValue("publication")), "default")
	word := r.PostFormValue("word")
	if _, err := s.deleteEntry(r.Context(), pub, word); err != nil && !errors.Is(err, ErrNoEntry) {
		s.pageFail(w, r, sess, err)
		return
	}
	s.log.Info("lexicon entry deleted", "publication", pub, "word", word, "by", sess.Name)
	http.Redirect(w, r, "/dashboard/lexicon?publication="+url.QueryEscape(pub), http.StatusSeeOther)
}
