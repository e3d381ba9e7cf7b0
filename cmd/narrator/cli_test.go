package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/publish"
)

func TestNoCommandPrintsUsageAndExits2(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), nil, stdio{Out: &out, Err: &errb}); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "Usage: narrator COMMAND") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(t.Context(), []string{"--version"}, stdio{Out: &out, Err: &errb}); code != 0 || !strings.HasPrefix(out.String(), "narrator ") {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
}

func TestVersionNamesTheModuleAndRevision(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionOf(bi), "narrator v1.4.0 (revision 0123456789ab+modified, 2026-05-01T10:00:00Z) go1.26.8"; got != want {
		t.Errorf("version %q, want %q", got, want)
	}
	if got := versionOf(&debug.BuildInfo{GoVersion: "go1.26.8"}); got != "narrator (devel) go1.26.8" {
		t.Errorf("version without VCS %q", got)
	}
}

func TestNarrateHelpListsCommonFlagsFirstThenGroups(t *testing.T) {
	var errb bytes.Buffer
	if code := run(t.Context(), []string{"narrate", "--help"}, stdio{Out: &bytes.Buffer{}, Err: &errb}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := errb.String()
	own, rest, ok := strings.Cut(help, "\nSpeech:\n")
	if !ok {
		t.Fatalf("no Speech heading:\n%s", help)
	}
	for _, f := range []string{"-o string", "-section", "-author", "-publication", "-title", "-progress", "-force"} {
		if !strings.Contains(own, "\n  "+f) {
			t.Errorf("the command's own flags lack %s:\n%s", f, own)
		}
	}
	if n := strings.Count(own, "\n  -"); n > 12 {
		t.Errorf("%d flags before the first heading; the common ones only", n)
	}
	last := 0
	for _, h := range []string{"Cluster (NATS) and logs:", "Storage and public addresses:", "Podcast feed and player", "Limits and budgets:", "Content Credentials (C2PA):", "Also read from the environment:"} {
		i := strings.Index(rest, h)
		if i < last {
			t.Errorf("heading %q missing or out of order", h)
		}
		last = i
	}
	if !strings.Contains(rest, "  -s3-bucket string") || !strings.Contains(rest, "  -feed-owner-email string") {
		t.Errorf("shared settings missing from the groups")
	}
}

func TestNarrateTellsURLsFromFiles(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	dir := t.TempDir()
	for _, tc := range []struct {
		arg  string
		code int
		want string
	}{
		{"htp://example.com/x", 2, `"htp://example.com/x" is neither a URL narrator can fetch (http:// or https:// and a host) nor an existing file`},
		{"example.com/story", 2, `"example.com/story" is not an existing file; for a web page, give its URL: https://example.com/story`},
		{filepath.Join(dir, "nope.txt"), 1, "no such file"},
		{"https://news.narrator-test.invalid/story", 1, "no such host: news.narrator-test.invalid does not exist"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			start := time.Now()
			code, _, stderr := narrate(t, "--data-dir", filepath.Join(dir, "data"), tc.arg)
			if code != tc.code || strings.Count(stderr, tc.want) != 1 {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d saying %q once", code, stderr, tc.code, tc.want)
			}
			// Refused before any work, or any retry, starts.
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("a refused argument started the embedded server")
	}
}

func TestNarrateFilesTheArticleInItsSectionAuthorAndPublicationFeeds(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	dir := t.TempDir()
	in := filepath.Join(dir, "wall.txt")
	if err := os.WriteFile(in, []byte("Flood wall\n\nThe council met on Tuesday. It voted to fund the flood wall."), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	code, _, stderr := narrate(t, "--data-dir", data, "-o", filepath.Join(dir, "wall.mp3"), "--progress", "plain",
		"--title", "The flood wall vote", "--section", "Local News", "--author", "Jane Doe", "--publication", "Daily", in)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	for _, key := range []string{publish.FeedKey, "feeds/section/local-news.xml", "feeds/author/jane-doe.xml", "feeds/publication/Daily.xml"} {
		b, err := os.ReadFile(filepath.Join(data, "media", "objects", key))
		if err != nil || !bytes.Contains(b, []byte("<title>The flood wall vote</title>")) {
			t.Errorf("%s: %v\n%s\n%s", key, err, b, stderr)
		}
	}
	if !strings.Contains(stderr, "billed ") {
		t.Errorf("no cost summary:\n%s", stderr)
	}
}

func TestProgressBarsShowEachStage(t *testing.T) {
	var w bytes.Buffer
	start := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	b := newBars(&w, start, false)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	b.now = func() time.Time { return at(4.4) }
	for _, e := range []queue.Event{
		{Kind: queue.EventStageStart, Stage: "clean", Time: at(0.1)},
		{Kind: queue.EventStageDone, Stage: "clean", Time: at(0.3)},
		{Kind: queue.EventStageStart, Stage: "chunk", Time: at(0.3)},
		{Kind: queue.EventStageDone, Stage: "chunk", Chunks: 8, Time: at(0.4)},
		{Kind: queue.EventChunkDone, Stage: "synth", Chunk: 0, Done: 1, Chunks: 8, Time: at(2.4)},
		{Kind: queue.EventChunkDone, Stage: "synth", Chunk: 2, Done: 2, Chunks: 8, Time: at(4.4)},
		{Kind: queue.EventRetry, Stage: "synth", Message: "chunk 3: 429 Too Many Requests (retrying in 2s)", Time: at(4.5)},
	} {
		b.event(e)
	}
	got := b.frame(at(4.4))
	want := []string{
		"clean    done     0.2s",
		"chunk    done     0.1s",
		"synth    ██████░░░░░░░░░░░░░░░░░░ 2/8 chunks  4.0s  about 12.0s left",
		"stitch   waiting",
		"publish  waiting",
		"elapsed 4.4s",
		"synth retrying: chunk 3: 429 Too Many Requests (retrying in 2s)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("frame:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Each redraw moves up over the lines drawn before and clears them.
	if n := strings.Count(w.String(), "\x1b[6A"); n < 1 || !strings.Contains(w.String(), "\r\x1b[2Kpublish  waiting\n") {
		t.Errorf("redraws: %q", w.String())
	}
	var l bytes.Buffer
	(&lines{w: &l, start: time.Now()}).event(queue.Event{Kind: queue.EventFailed, Stage: "clean", Message: "clean: the page is empty"})
	if strings.Contains(l.String(), "empty") || !strings.Contains(l.String(), "clean   failed") {
		t.Errorf("failure line %q: the reason is the command's error, said once", l.String())
	}
}
