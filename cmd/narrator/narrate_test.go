package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// narrate runs "narrator narrate" in this process and returns its exit code
// and output.
func narrate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	code = run(ctx, append([]string{"narrate"}, args...), stdio{In: strings.NewReader(""), Out: &out, Err: &errs})
	return code, out.String(), errs.String()
}

func TestNarrateWritesTheMP3(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	dir := t.TempDir()
	out := filepath.Join(dir, "sample.mp3")
	code, stdout, stderr := narrate(t, "--data-dir", filepath.Join(dir, "data"), "-o", out, "../../testdata/sample-article.html")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 || lines[0] != out || !strings.HasPrefix(lines[1], "duration ") || lines[2] != "job sample-article" || !strings.HasPrefix(lines[3], "loudness ") || !strings.Contains(lines[3], "target -16.0") {
		t.Errorf("stdout = %q, want the path, duration, job id and loudness", stdout)
	}
	for _, stage := range []string{"clean", "chunk", "synth", "stitch", "publish"} {
		if !strings.Contains(stderr, stage) {
			t.Errorf("progress on stderr never mentions %s:\n%s", stage, stderr)
		}
	}
	// The same article again is already narrated: nothing is redone.
	again := filepath.Join(dir, "again.mp3")
	code, stdout2, stderr := narrate(t, "--data-dir", filepath.Join(dir, "data"), "-o", again, "../../testdata/sample-article.html")
	if code != 0 || !strings.Contains(stderr, "(revision 1)") || strings.Contains(stderr, "started") ||
		!strings.Contains(stderr, "reused that narration; nothing synthesized, nothing billed") {
		t.Errorf("second run: exit %d, stderr:\n%s", code, stderr)
	}
	if first, second := strings.Split(stdout, "\n")[1], strings.Split(stdout2, "\n")[1]; first != second {
		t.Errorf("second run's %s differs from the first's %s", second, first)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := mp3.Analyze(context.Background(), f, mp3.Options{Decode: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Decoded || a.DecodedSamples != a.Samples || a.Duration < 30*time.Second {
		t.Errorf("output decodes %d of %d samples, lasts %s", a.DecodedSamples, a.Samples, a.Duration)
	}
}

func TestNarrateFailsWithTheReason(t *testing.T) {
	fake := faketts.Start(t, faketts.Config{APIKey: "sk-right", LatencyPerChar: -1})
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.html")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"empty page", nil, []string{empty}, "the page is empty"},
		{"missing file", nil, []string{filepath.Join(dir, "nope.html")}, "no such file"},
		{"bad credentials", map[string]string{"OPENAI_API_KEY": "sk-wrong", "OPENAI_BASE_URL": fake.URL()}, []string{"../../testdata/sample-article.html"}, "credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("OPENAI_API_KEY", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := append([]string{"--data-dir", t.TempDir(), "-o", filepath.Join(t.TempDir(), "x.mp3")}, tc.args...)
			code, _, stderr := narrate(t, args...)
			if code == 0 {
				t.Fatal("exit 0 for a narration that cannot succeed")
			}
			if n := strings.Count(stderr, tc.want); n != 1 {
				t.Errorf("stderr says %q %d times, want once:\n%s", tc.want, n, stderr)
			}
		})
	}
}

func TestNarrateRunsWithTwoDataDirsDoNotMeet(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	dir := t.TempDir()
	articles := map[string]string{
		"council": "Council\n\nThe council met on Tuesday to discuss the flood wall.",
		"school":  "School\n\nThe school board approved a new gym after a long debate.",
	}
	var wg sync.WaitGroup
	for name, text := range articles {
		in := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			code, stdout, stderr := narrate(t, "--data-dir", filepath.Join(dir, "data-"+name), "-o", filepath.Join(dir, name+".mp3"), in)
			if code != 0 || !strings.Contains(stdout, "job "+name) {
				t.Errorf("%s: exit %d: %s %s", name, code, stdout, stderr)
			}
		})
	}
	wg.Wait()
	// Each data directory holds its own narration and nothing of the other's.
	for name := range articles {
		got, err := filepath.Glob(filepath.Join(dir, "data-"+name, "media", "objects", "narrations", "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || filepath.Base(got[0]) != name {
			t.Errorf("data-%s holds narrations %v, want only %s", name, got, name)
		}
	}
}

func TestNarratedJobAppearsInServesFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a process")
	}
	t.Setenv("OPENAI_API_KEY", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	t.Setenv("NARRATOR_PUBLIC_URL", base)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	code, _, stderr := narrate(t, "--data-dir", data, "-o", filepath.Join(dir, "sample.mp3"), "../../testdata/sample-article.html")
	if code != 0 {
		t.Fatalf("narrate: exit %d: %s", code, stderr)
	}
	startProcess(t, "serve", []string{"NARRATOR_PUBLIC_URL=" + base, "OPENAI_API_KEY="}, "serve", "--data-dir", data, "--http", addr, "--stages", "none")
	var feed string
	waitFor(t, "the feed", time.Minute, func() bool {
		code, body := get(t, base+"/feed.xml")
		feed = body
		return code == http.StatusOK
	})
	if !strings.Contains(feed, "<guid isPermaLink=\"false\">sample-article</guid>") || !strings.Contains(feed, "Marlow Falls approves") {
		t.Fatalf("the feed lacks the narrated article:\n%s", feed[:min(len(feed), 2000)])
	}
	m := regexp.MustCompile(`<enclosure url="([^"]+)" length="(\d+)" type="audio/mpeg"`).FindStringSubmatch(feed)
	if m == nil {
		t.Fatal("no enclosure in the feed")
	}
	code, audio := get(t, m[1])
	if code != http.StatusOK || strconv.Itoa(len(audio)) != m[2] {
		t.Errorf("enclosure %s: status %d, %d bytes; the feed says %s", m[1], code, len(audio), m[2])
	}
	if code, page := get(t, base+"/player/sample-article"); code != http.StatusOK || !strings.Contains(page, "This audio is created with AI assistance") {
		t.Errorf("player page: %d", code)
	}
}
