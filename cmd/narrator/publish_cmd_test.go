package main

import (
	"bytes"
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
	if !strings.HasPrefix(out.String(), "1 narrations; 3 feeds written") {
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
