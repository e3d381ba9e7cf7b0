package publish_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mmcdole/gofeed"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

// site is an FS store served over HTTP as narrator serve does, under
// /media, with a publisher on it.
type site struct {
	srv   *httptest.Server
	store *storage.FS
	pub   *publish.Publisher
}

func newSite(t testing.TB, cfg publish.Config) *site {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	st, err := storage.NewFS(t.TempDir(), srv.URL+"/media")
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", http.StripPrefix("/media", st.Handler()))
	pub, err := publish.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &site{srv: srv, store: st, pub: pub}
}

// appleConfig is a publication set up as Apple Podcasts requires.
func appleConfig() publish.Config {
	return publish.Config{Feed: publish.Feed{
		Title:       "The Example Gazette — Listen",
		Link:        "https://news.example.com/",
		Description: "Articles from The Example Gazette, read aloud.",
		Language:    "en",
		Image:       "https://news.example.com/podcast-3000.png",
		Category:    "News",
		Subcategory: "Daily News",
		Author:      "The Example Gazette",
		OwnerName:   "Audio Desk",
		OwnerEmail:  "audio@news.example.com",
	}}
}

func get(t testing.TB, st storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	rc, obj, err := st.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}

func manifest(t testing.TB, st storage.Store, key string) publish.Manifest {
	t.Helper()
	b, _ := get(t, st, publish.ManifestKey(publish.DefaultPrefix, key))
	var m publish.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func parseFeed(t testing.TB, b []byte) *gofeed.Feed {
	t.Helper()
	f, err := gofeed.NewParser().Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("gofeed: %v\n%s", err, b)
	}
	return f
}

func rebuild(t *testing.T, pub *publish.Publisher) publish.FeedReport {
	t.Helper()
	rep, err := pub.RebuildFeeds(t.Context())
	if err != nil {
		t.Fatalf("rebuild feeds: %v", err)
	}
	return rep
}
