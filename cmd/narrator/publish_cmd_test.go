package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/storage"
)

func TestFeedsRebuildListsWhatIsPublished(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.NewFS(filepath.Join(dir, "media"), "http://127.0.0.1:8080/media")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(st, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "cms-42", Section: "Politics"})
	if _, err := pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"feeds", "rebuild", "--data-dir", dir, "--feed-title", "Gazette & Co"}, stdio{Out: &out, Err: &errb})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "1 narrations, 1 of them moved to new URLs; 3 feeds written") {
		t.Errorf("output %q", out.String())
	}
	rc, _, err := st.Get(t.Context(), publish.FeedKey)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := gofeed.NewParser().Parse(rc)
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Gazette & Co" || len(f.Items) != 1 || f.Items[0].GUID != "cms-42" || f.FeedLink != "http://127.0.0.1:8080/feed.xml" {
		t.Errorf("feed %q, self %q, items %d", f.Title, f.FeedLink, len(f.Items))
	}
}

// TestFeedSettingsSurviveEveryProcess seeds the feed settings from one
// process's flags, then runs others with none and with different ones:
// every rebuild writes the same feed, until the settings are edited.
func TestFeedSettingsSurviveEveryProcess(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.NewFS(filepath.Join(dir, "media"), "http://127.0.0.1:8080/media")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(st, publish.Config{})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "cms-42", Section: "Politics"})
	if _, err := pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	feed := func(args ...string) *gofeed.Feed {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(t.Context(), append([]string{"feeds", "rebuild", "--data-dir", dir}, args...), stdio{Out: &out, Err: &errb}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		b, _ := readAll(t, st, publish.FeedKey)
		f, err := gofeed.NewParser().Parse(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	first := feed("--feed-title", "The Gazette", "--feed-owner-email", "audio@gazette.example.com")
	for _, args := range [][]string{nil, {"--feed-title", "Narrated articles"}} {
		f := feed(args...)
		if f.Title != "The Gazette" || f.ITunesExt.Owner == nil || f.ITunesExt.Owner.Email != "audio@gazette.example.com" || f.ITunesExt.Image != first.ITunesExt.Image {
			t.Errorf("after a run with %q: title %q, owner %+v, image %q", args, f.Title, f.ITunesExt.Owner, f.ITunesExt.Image)
		}
	}

	// The public address moves: the rebuild rewrites every published URL.
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"feeds", "rebuild", "--data-dir", dir, "--public-url", "https://news.example.com"}, stdio{Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "1 of them moved to new URLs") {
		t.Errorf("output %q", out.String())
	}
	b, _ := readAll(t, st, publish.FeedKey)
	if bytes.Contains(b, []byte("127.0.0.1")) || !bytes.Contains(b, []byte("https://news.example.com/media/narrations/cms-42/")) {
		t.Errorf("feed after the move:\n%s", b)
	}

	// feeds check names what is missing, and fails until it is there.
	out.Reset()
	errb.Reset()
	code := run(t.Context(), []string{"feeds", "check", "--data-dir", dir, "--public-url", "https://news.example.com"}, stdio{Out: &out, Err: &errb})
	if code != 0 {
		t.Errorf("feeds check exit %d: %s\n%s", code, errb.String(), out.String())
	}
	for _, want := range []string{"Apple Podcasts  ready", "Spotify         ready", "Podcast Index   ready", "ok    Owner e-mail"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("feeds check output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	errb.Reset()
	if code := run(t.Context(), []string{"feeds", "check", "--data-dir", dir}, stdio{Out: &out, Err: &errb}); code != 1 ||
		!strings.Contains(out.String(), "MISS  Public addresses") || !strings.Contains(errb.String(), "does not yet meet") {
		t.Errorf("feeds check on 127.0.0.1: exit %d\n%s\n%s", code, out.String(), errb.String())
	}
}

func readAll(t *testing.T, st storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	rc, obj, err := st.Get(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}
