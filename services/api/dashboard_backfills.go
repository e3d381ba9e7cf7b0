package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/services/backfill"
)

// backfillsData is the backfills page's.
type backfillsData struct {
	Runs     []backfill.Run
	Form     backfillRequest // to refill the form after an error
	Sections string
}

func (s *Server) backfillsPage(w http.ResponseWriter, r *http.Request, sess session) {
	s.renderBackfills(w, r, sess, http.StatusOK, "", backfillRequest{Source: backfill.Spec{Kind: backfill.KindSitemap}})
}

func (s *Server) renderBackfills(w http.ResponseWriter, r *http.Request, sess session, status int, msg string, form backfillRequest) {
	d := backfillsData{Form: form, Sections: strings.Join(form.Sections, ", ")}
	if s.bf == nil {
		msg = "Backfills do not run on this server."
	} else {
		runs, err := s.bf.Store().Runs(r.Context())
		if err != nil {
			s.pageFail(w, r, sess, err)
			return
		}
		for _, run := range runs {
			d.Runs = append(d.Runs, run.Shown())
		}
	}
	s.render(w, status, "backfills", pageData{Title: "Backfills", Session: &sess, Error: msg, Data: d})
}

// backfillForm starts a run, or its plan, from the page's form.
func (s *Server) backfillForm(w http.ResponseWriter, r *http.Request, sess session) {
	in := backfillRequest{
		Name:   strings.TrimSpace(r.PostFormValue("name")),
		Source: backfill.Spec{Kind: r.PostFormValue("kind"), URL: strings.TrimSpace(r.PostFormValue("url")), Key: strings.TrimSpace(r.PostFormValue("key"))},
		Since:  r.PostFormValue("since"), Until: r.PostFormValue("until"), Sections: backfill.ParseSections(r.PostFormValue("sections")),
		DryRun: r.PostFormValue("dry_run") != "",
	}
	in.Max, _ = strconv.Atoi(r.PostFormValue("max"))
	in.Budget.Chars, _ = strconv.Atoi(r.PostFormValue("budget_chars"))
	in.Budget.USD, _ = strconv.ParseFloat(r.PostFormValue("budget_usd"), 64)
	fail := func(status int, msg string) {
		in.Source.Key = ""
		s.renderBackfills(w, r, sess, status, "The backfill was not started: "+msg, in)
	}
	if s.bf == nil {
		fail(http.StatusServiceUnavailable, "backfills do not run on this server")
		return
	}
	req, herr := in.request()
	if herr != nil {
		fail(herr.status, herr.msg)
		return
	}
	run, err := s.bf.Start(r.Context(), req)
	if status, msg := backfillStatus(err, in.Name); status != 0 {
		fail(status, msg)
		return
	}
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	s.log.Info("backfill started", "backfill", run.Name, "source", run.Source.Describe(), "dry_run", in.DryRun, "by", sess.Name)
	http.Redirect(w, r, "/dashboard/backfills", http.StatusSeeOther)
}

func (s *Server) backfillStopForm(w http.ResponseWriter, r *http.Request, sess session) {
	s.backfillActionForm(w, r, sess, (*backfill.Manager).Stop)
}

func (s *Server) backfillResumeForm(w http.ResponseWriter, r *http.Request, sess session) {
	s.backfillActionForm(w, r, sess, (*backfill.Manager).Resume)
}

func (s *Server) backfillActionForm(w http.ResponseWriter, r *http.Request, sess session, act func(*backfill.Manager, context.Context, string) (backfill.Run, error)) {
	if s.bf == nil {
		s.renderBackfills(w, r, sess, http.StatusServiceUnavailable, "", backfillRequest{})
		return
	}
	_, err := act(s.bf, r.Context(), r.PathValue("name"))
	if status, msg := backfillStatus(err, r.PathValue("name")); status != 0 {
		s.renderBackfills(w, r, sess, status, msg, backfillRequest{Source: backfill.Spec{Kind: backfill.KindSitemap}})
		return
	}
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/backfills", http.StatusSeeOther)
}
