package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corporaOrSkip returns the evaluation corpora folder, or skips with a
// clear message when this checkout has none beside it.
func corporaOrSkip(t *testing.T) string {
	t.Helper()
	dir := defaultCorpora()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("evaluation corpora not found at %s: skipping the corpus scores", dir)
	}
	return dir
}

// TestEvalScores runs `narrator eval` on the three corpora, prints the
// scores, and holds them to the targets: extraction F1 ≥ 0.965,
// normalization ≥ 90% per target class, golden rules ≥ 47 of 48. The
// command exits non-zero when a target is missed.
func TestEvalScores(t *testing.T) {
	skipUnderRace(t, "TestEvalScores")
	if testing.Short() {
		t.Skip("corpus scores skipped in short mode")
	}
	dir := corporaOrSkip(t)
	code, stdout, stderr := runWithInput(t, "", "eval", "--corpora", dir)
	t.Logf("narrator eval:\n%s", stdout)
	if code != 0 {
		t.Fatalf("eval exited %d: %s", code, stderr)
	}
	for _, want := range []string{"extraction: article-extraction-benchmark, 181 pages", "money", "golden-rules-en"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(stdout, "UNDER TARGET") {
		t.Error("a normalization class is under target")
	}
}

// TestEvalUsage checks the messages for a missing corpus and a bad name.
func TestEvalUsage(t *testing.T) {
	code, _, stderr := runWithInput(t, "", "eval", "--corpora", filepath.Join(t.TempDir(), "none"))
	if code != 1 || !strings.Contains(stderr, "no evaluation corpora at") {
		t.Errorf("missing corpora: exit %d, %q", code, stderr)
	}
	code, _, stderr = runWithInput(t, "", "eval", "--corpora", t.TempDir(), "poetry")
	if code != 2 || !strings.Contains(stderr, "unknown evaluation") {
		t.Errorf("bad name: exit %d, %q", code, stderr)
	}
}
