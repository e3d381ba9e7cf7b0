package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
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
	if len(lines) != 3 || lines[0] != out || !strings.HasPrefix(lines[1], "duration ") || lines[2] != "job sample-article" {
		t.Errorf("stdout = %q, want the path, duration and job id", stdout)
	}
	for _, stage := range []string{"clean", "chunk", "synth", "stitch", "publish"} {
		if !strings.Contains(stderr, stage) {
			t.Errorf("progress on stderr never mentions %s:\n%s", stage, stderr)
		}
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
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
		})
	}
}
