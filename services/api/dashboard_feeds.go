package api

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
)

// feedsData is the Feeds page's.
type feedsData struct {
	Name   string // the publication as typed; "" for the default
	Feed   feedView
	Form   publish.Feed // what the form shows: stored, or what was refused
	Health *publish.Health
	// HealthNA says why there is no health report.
	HealthNA   string
	Categories []string
	Saved      bool
}

func (s *Server) feedsPage(w http.ResponseWriter, r *http.Request, sess session) {
	s.renderFeeds(w, r, sess, http.StatusOK, "", feedName(r), nil)
}

func (s *Server) renderFeeds(w http.ResponseWriter, r *http.Request, sess session, status int, msg, name string, form *publish.Feed) {
	ctx := r.Context()
	v, err := s.readFeed(ctx, name)
	if err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	d := feedsData{Name: name, Feed: v, Form: v.Stored, Categories: publish.Categories(), Saved: form == nil && r.URL.Query().Get("saved") != ""}
	if form != nil {
		d.Form = *form
	}
	if h, err := s.p.Publisher.Health(ctx, name, s.artwork()); err != nil {
		s.log.Warn("feed health", "publication", v.Publication, "err", err)
		d.HealthNA = "The feed's health cannot be checked right now: " + err.Error()
	} else {
		d.Health = &h
	}
	s.render(w, status, "feeds", pageData{Title: "Podcast feed", Session: &sess, Error: msg, Data: d})
}

// feedsForm saves the settings from the Feeds page.
func (s *Server) feedsForm(w http.ResponseWriter, r *http.Request, sess session) {
	name := strings.TrimSpace(r.PostFormValue("publication"))
	if publish.PublicationKey(name) == publish.DefaultPublication {
		name = ""
	}
	v := r.PostFormValue
	f := publish.Feed{
		Title: v("title"), Link: v("link"), Description: v("description"), Language: v("language"), Image: v("image"),
		Author: v("author"), OwnerName: v("owner_name"), OwnerEmail: v("owner_email"), Copyright: v("copyright"),
		Explicit: v("explicit") != "",
	}
	f.Category, f.Subcategory, _ = strings.Cut(v("category"), " / ")
	if n := strings.TrimSpace(v("max_items")); n != "" {
		var err error
		if f.MaxItems, err = strconv.Atoi(n); err != nil || f.MaxItems < 1 {
			s.renderFeeds(w, r, sess, http.StatusBadRequest, "The settings were not saved: items per feed must be a whole number of at least 1.", name, &f)
			return
		}
	}
	if _, err := s.p.SaveFeedSettings(r.Context(), name, f, s.artwork()); err != nil {
		if errors.Is(err, pipeline.ErrBadRequest) {
			s.renderFeeds(w, r, sess, http.StatusBadRequest, "The settings were not saved: "+err.Error(), name, &f)
			return
		}
		s.pageFail(w, r, sess, err)
		return
	}
	s.log.Info("feed settings saved", "publication", publish.PublicationKey(name), "by", sess.Name)
	http.Redirect(w, r, "/dashboard/feeds?saved=1&publication="+url.QueryEscape(name), http.StatusSeeOther)
}
