package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/publish"
)

// feedView is a publication's feed settings as the API shows them.
type feedView struct {
	Publication string `json:"publication"`
	// Stored is what editors set (empty fields take defaults); Effective
	// is what the feed is written with.
	Stored    publish.Feed `json:"stored"`
	Effective publish.Feed `json:"effective"`
	FeedURL   string       `json:"feed_url"`
}

// feedName turns the path's publication into a name: "default" is the
// publication of jobs that name none.
func feedName(r *http.Request) string {
	p := strings.TrimSpace(r.PathValue("publication"))
	if p == "" {
		p = r.URL.Query().Get("publication")
	}
	if publish.PublicationKey(p) == publish.DefaultPublication {
		return ""
	}
	return p
}

var errNoPublisher = &httpError{http.StatusServiceUnavailable, "this server publishes nothing: run it with storage configured"}

func (s *Server) readFeed(ctx context.Context, name string) (feedView, error) {
	pub := s.p.Publisher
	if pub == nil {
		return feedView{}, errNoPublisher
	}
	key := publish.PublicationKey(name)
	stored, err := pipeline.Feeds(s.q).FeedSettings(ctx, key)
	if err != nil && !errors.Is(err, publish.ErrNoSettings) {
		return feedView{}, err
	}
	eff, err := pub.FeedSettings(ctx, name)
	if err != nil {
		return feedView{}, err
	}
	feedKey := publish.FeedKey
	if key != publish.DefaultPublication {
		feedKey = publish.PublicationFeeds + key + ".xml"
	}
	return feedView{Publication: key, Stored: stored, Effective: eff, FeedURL: pub.FeedURL(feedKey)}, nil
}

func (s *Server) getFeed(w http.ResponseWriter, r *http.Request, _ session) {
	v, err := s.readFeed(r.Context(), feedName(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// putFeed replaces a publication's feed settings (PUT
// /api/feeds/{publication}); the feeds are rebuilt with them at once.
func (s *Server) putFeed(w http.ResponseWriter, r *http.Request, _ session) {
	var f publish.Feed
	if herr := decodeJSON(w, r, smallBody, &f); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	name := feedName(r)
	if _, err := s.p.SaveFeedSettings(r.Context(), name, f, s.artwork()); err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.readFeed(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// feedHealth lists what podcast directories require that the feed lacks
// (GET /api/feeds/{publication}/health).
func (s *Server) feedHealth(w http.ResponseWriter, r *http.Request, _ session) {
	if s.p.Publisher == nil {
		s.fail(w, r, errNoPublisher)
		return
	}
	h, err := s.p.Publisher.Health(r.Context(), feedName(r), s.artwork())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// artwork fetches artwork through the guard URLs are submitted through.
func (s *Server) artwork() publish.FetchFunc { return pipeline.ArtworkFetcher(s.guard) }
