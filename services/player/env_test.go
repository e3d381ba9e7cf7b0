package player_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/narrator-project/narrator/services/player"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/storage"
)

// env is narrator serve in miniature: an FS store served under /media,
// the player's routes, and a publisher that also writes static pages.
type env struct {
	srv    *httptest.Server
	mux    *http.ServeMux
	store  *storage.FS
	player *player.Player
	pub    *publish.Publisher
}

func newEnv(t testing.TB, cfg player.Config) *env {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	st, err := storage.NewFS(t.TempDir(), srv.URL+"/media")
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", http.StripPrefix("/media", st.Handler()))
	pl, err := player.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl.Register(mux)
	pub, err := publish.New(st, publish.Config{
		Feed:      publish.Feed{Title: "The Example Gazette", Image: "https://news.example.com/art.png"},
		PlayerURL: srv.URL + "/player/",
		FeedURL:   srv.URL,
		Pages:     pl,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, mux: mux, store: st, player: pl, pub: pub}
}

// publish publishes a narration made with o and rebuilds the feeds.
func (e *env) publish(t testing.TB, o publishtest.Options) (publish.Narration, publish.Published, []byte) {
	t.Helper()
	n, audio := publishtest.Narration(t, o)
	p, err := e.pub.Publish(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.RebuildFeeds(t.Context()); err != nil {
		t.Fatal(err)
	}
	return n, p, audio
}
