package clean

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// corporaDir finds ../shared/corpora next to the repository root, or
// skips the test with a clear message when it is absent.
func corporaDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("repository root (go.mod) not found")
		}
	}
	c := filepath.Join(dir, "..", "shared", "corpora")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("evaluation corpora not found at %s: skipping the corpus score", c)
	}
	return c
}

// TestScorePage checks the port of the benchmark's scoring on hand-made
// cases.
func TestScorePage(t *testing.T) {
	for _, tc := range []struct {
		name, pred, truth string
		tp, fp, fn        float64
	}{
		{"identical", "one two three four five", "one two three four five", 1, 0, 0},
		{"empty prediction", "", "one two three four five", 0, 0, 1},
		{"extra words", "one two three four five six", "one two three four five", 2.0 / 3, 1.0 / 3, 0},
		{"short texts are one shingle", "a b", "a b", 1, 0, 0},
		{"punctuation ignored", "One, two; three! four.", "One two three four", 1, 0, 0},
		{"unicode words", "Київ місто на Дніпрі", "Київ місто на Дніпрі", 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ScorePage(tc.pred, tc.truth)
			if !near(s.TP, tc.tp) || !near(s.FP, tc.fp) || !near(s.FN, tc.fn) {
				t.Errorf("got %+v, want TP %.3f FP %.3f FN %.3f", s, tc.tp, tc.fp, tc.fn)
			}
		})
	}
	p, r, f := Aggregate([]PageScore{{TP: 1}, {TP: 0.5, FP: 0.5}, {FN: 1}})
	if !near(p, 0.75) || !near(r, 2.0/3) || !near(f, 2*0.75*(2.0/3)/(0.75+2.0/3)) {
		t.Errorf("Aggregate = %.4f %.4f %.4f", p, r, f)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestExtractionBenchmark scores the cleaner on the article-extraction
// benchmark with its own scoring and holds it to F1 ≥ 0.965.
func TestExtractionBenchmark(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus score skipped in short mode")
	}
	pages, err := LoadBenchmark(filepath.Join(corporaDir(t), "article-extraction-benchmark"))
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := Evaluate(context.Background(), pages, newCleaner(t, Config{}).Extract())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("extraction: %d pages, F1 %.4f, precision %.4f, recall %.4f, %.1f pages/s", s.Pages, s.F1, s.Precision, s.Recall, s.PagesPerSecond())
	if s.F1 < 0.965 {
		t.Errorf("F1 %.4f is under the target 0.965", s.F1)
	}
}
