package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/normalize"
)

func init() {
	register(&command{Name: "eval", Summary: "score text quality on the public evaluation corpora", Run: runEval})
}

// Targets the project holds itself to on the evaluation corpora.
const (
	targetExtractionF1 = 0.965
	targetNormalize    = 0.90
	targetGoldenRules  = 47
)

func runEval(ctx context.Context, args []string, sio stdio) error {
	fs := newFlags("eval", "[flags] [extraction|normalization|sentences|all]", sio)
	dir := fs.String("corpora", defaultCorpora(), "folder holding the evaluation corpora")
	compare := fs.Bool("compare", false, "extraction: also score go-trafilatura and go-readability alone")
	verbose := fs.Bool("v", false, "list every miss")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	which := "all"
	switch fs.NArg() {
	case 0:
	case 1:
		which = fs.Arg(0)
	default:
		return usageError{"want at most one of extraction, normalization, sentences, all"}
	}
	if _, err := os.Stat(*dir); err != nil {
		return fmt.Errorf("no evaluation corpora at %s (they are not part of the repository; pass --corpora DIR)", *dir)
	}
	var runs []func() error
	switch which {
	case "extraction":
		runs = append(runs, func() error { return evalExtraction(ctx, sio.Out, *dir, *compare) })
	case "normalization":
		runs = append(runs, func() error { return evalNormalization(sio.Out, *dir, *verbose) })
	case "sentences":
		runs = append(runs, func() error { return evalSentences(sio.Out, *dir, *verbose) })
	case "all":
		runs = append(runs,
			func() error { return evalExtraction(ctx, sio.Out, *dir, *compare) },
			func() error { return evalNormalization(sio.Out, *dir, *verbose) },
			func() error { return evalSentences(sio.Out, *dir, *verbose) })
	default:
		return usageError{fmt.Sprintf("unknown evaluation %q: want extraction, normalization, sentences or all", which)}
	}
	var errs []error
	for _, r := range runs {
		if err := r(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// defaultCorpora is ../shared/corpora next to the repository root, found
// by walking up from the working directory to go.mod.
func defaultCorpora() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("..", "shared", "corpora")
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "corpora")
		}
		if filepath.Dir(d) == d {
			return filepath.Join("..", "shared", "corpora")
		}
	}
}

func evalExtraction(ctx context.Context, w io.Writer, dir string, compare bool) error {
	pages, err := clean.LoadBenchmark(filepath.Join(dir, "article-extraction-benchmark"))
	if err != nil {
		return err
	}
	c, err := clean.New(clean.Config{})
	if err != nil {
		return err
	}
	type row struct {
		name string
		ex   clean.Extractor
	}
	rows := []row{{"narrator (go-trafilatura + news layer)", c.Extract()}}
	if compare {
		rows = append(rows, row{"go-trafilatura alone", clean.TrafilaturaBaseline()}, row{"go-readability alone", clean.ReadabilityBaseline()})
	}
	fmt.Fprintf(w, "extraction: article-extraction-benchmark, %d pages\n", len(pages))
	fmt.Fprintf(w, "  %-40s %7s %9s %7s %9s\n", "extractor", "F1", "precision", "recall", "pages/s")
	var fail error
	for i, r := range rows {
		s, _, err := clean.Evaluate(ctx, pages, r.ex)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "  %-40s %7.4f %9.4f %7.4f %9.1f\n", r.name, s.F1, s.Precision, s.Recall, s.PagesPerSecond())
		if i == 0 && s.F1 < targetExtractionF1 {
			fail = fmt.Errorf("extraction F1 %.4f is under the target %.3f", s.F1, targetExtractionF1)
		}
	}
	return fail
}

func evalNormalization(w io.Writer, dir string, verbose bool) error {
	dir = filepath.Join(dir, "nemo-text-normalization-en")
	classes, err := normalize.NeMoClasses(dir)
	if err != nil {
		return err
	}
	n, err := normalize.New(normalize.Options{Language: "en"})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "normalization: nemo-text-normalization-en, exact match per class (target %.0f%% on %v)\n", 100*targetNormalize, normalize.TargetClasses)
	var fails []error
	for _, class := range classes {
		cases, err := normalize.LoadNeMo(dir, class)
		if err != nil {
			return err
		}
		s := n.Score(class, cases)
		mark := ""
		if slices.Contains(normalize.TargetClasses, class) {
			mark = "target"
			if s.Rate() < targetNormalize {
				mark = "UNDER TARGET"
				fails = append(fails, fmt.Errorf("normalization of %s: %.1f%% is under the target", class, 100*s.Rate()))
			}
		}
		fmt.Fprintf(w, "  %-26s %4d/%-4d %6.1f%%  %s\n", class, s.Passed, s.Total, 100*s.Rate(), mark)
		if verbose || slices.Contains(normalize.TargetClasses, class) {
			for _, m := range s.Misses {
				if verbose || mark != "" {
					fmt.Fprintf(w, "      %q → %q, corpus says %q\n", m.Written, m.Got, m.Spoken)
				}
			}
		}
	}
	return errors.Join(fails...)
}

func evalSentences(w io.Writer, dir string, verbose bool) error {
	cases, err := chunk.LoadGoldenRules(filepath.Join(dir, "golden-rules-en", "golden-rules-en.json"))
	if err != nil {
		return err
	}
	passed, results := chunk.EvaluateGoldenRules(cases)
	fmt.Fprintf(w, "sentences: golden-rules-en, %d/%d cases split exactly (target %d)\n", passed, len(cases), targetGoldenRules)
	for _, r := range results {
		if !r.Pass || verbose {
			status := "ok  "
			if !r.Pass {
				status = "MISS"
			}
			fmt.Fprintf(w, "  %s %2d %s: got %q\n", status, r.Case.ID, r.Case.Name, r.Got)
		}
	}
	if passed < targetGoldenRules {
		return fmt.Errorf("sentence segmentation passes %d golden rules, under the target %d", passed, targetGoldenRules)
	}
	return nil
}
