package main

import (
	"cmp"
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
	targetExtractionF1   = 0.97
	targetReadAloudF1    = 0.96
	targetJunkStandfirst = 0.02 // share of pages
	targetBoilerplate    = 0.10 // share of pages
	targetNormalize      = 0.90
	targetGoldenRules    = 47
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
		runs = append(runs, func() error { return evalExtraction(ctx, sio.Out, *dir, *compare, *verbose) })
	case "normalization":
		runs = append(runs, func() error { return evalNormalization(sio.Out, *dir, *verbose) })
	case "sentences":
		runs = append(runs, func() error { return evalSentences(sio.Out, *dir, *verbose) })
	case "all":
		runs = append(runs,
			func() error { return evalExtraction(ctx, sio.Out, *dir, *compare, *verbose) },
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

// extractionCorpora returns the folders under dir that hold a corpus in
// the article-extraction benchmark's form (ground-truth.json and html/),
// the public benchmark first.
func extractionCorpora(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(p, "ground-truth.json")); err != nil {
			continue
		}
		if st, err := os.Stat(filepath.Join(p, "html")); err != nil || !st.IsDir() {
			continue
		}
		out = append(out, p)
	}
	public := func(p string) int {
		if filepath.Base(p) == "article-extraction-benchmark" {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(public(a), public(b)) })
	return out
}

func evalExtraction(ctx context.Context, w io.Writer, dir string, compare, verbose bool) error {
	corpora := extractionCorpora(dir)
	if len(corpora) == 0 {
		return fmt.Errorf("no extraction corpus (ground-truth.json and html/) under %s", dir)
	}
	c, err := clean.New(clean.Config{})
	if err != nil {
		return err
	}
	var fails []error
	for _, corpus := range corpora {
		if err := evalCorpus(ctx, w, c, corpus, compare, verbose); err != nil {
			fails = append(fails, err)
		}
	}
	return errors.Join(fails...)
}

// evalCorpus scores one extraction corpus: the body as the benchmark does,
// the read-aloud text, and the pages with a junk standfirst or any
// boilerplate heard. Only the public benchmark is held to the targets.
func evalCorpus(ctx context.Context, w io.Writer, c *clean.Cleaner, dir string, compare, verbose bool) error {
	name := filepath.Base(dir)
	pages, err := clean.LoadBenchmark(dir)
	if err != nil {
		return err
	}
	ev, err := c.Evaluate(ctx, pages)
	if err != nil {
		return err
	}
	n := max(1, len(pages))
	fmt.Fprintf(w, "extraction: %s, %d pages\n", name, len(pages))
	fmt.Fprintf(w, "  %-40s %7s %9s %7s %9s\n", "extractor (body)", "F1", "precision", "recall", "pages/s")
	b := ev.Body
	fmt.Fprintf(w, "  %-40s %7.4f %9.4f %7.4f %9.1f\n", "narrator (go-trafilatura + news layer)", b.F1, b.Precision, b.Recall, b.PagesPerSecond())
	if compare {
		for _, r := range []struct {
			name string
			ex   clean.Extractor
		}{{"go-trafilatura alone", clean.TrafilaturaBaseline()}, {"go-readability alone", clean.ReadabilityBaseline()}} {
			s, _, err := clean.Evaluate(ctx, pages, r.ex)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "  %-40s %7.4f %9.4f %7.4f %9.1f\n", r.name, s.F1, s.Precision, s.Recall, s.PagesPerSecond())
		}
	}
	ra := ev.ReadAloud
	fmt.Fprintf(w, "  %-40s %7.4f %9.4f %7.4f\n", "read aloud (title+standfirst+byline+body)", ra.F1, ra.Precision, ra.Recall)
	fmt.Fprintf(w, "  junk standfirst: %d pages (%.1f%%); boilerplate heard: %d pages (%.1f%%); failed: %d pages\n",
		ev.JunkStandfirst, 100*float64(ev.JunkStandfirst)/float64(n), ev.Boilerplate, 100*float64(ev.Boilerplate)/float64(n), b.Failed)
	if verbose {
		for _, p := range ev.Pages {
			if p.Err != nil {
				fmt.Fprintf(w, "    FAILED %s %s: %v\n", p.ID[:min(8, len(p.ID))], p.URL, p.Err)
			}
			if p.JunkStandfirst != "" {
				fmt.Fprintf(w, "    STANDFIRST %s %s: %q\n", p.ID[:min(8, len(p.ID))], p.URL, p.JunkStandfirst)
			}
			for _, j := range p.Junk {
				fmt.Fprintf(w, "    HEARD %s %s [%s, %s]: %.120q\n", p.ID[:min(8, len(p.ID))], p.URL, j.Kind, j.Part, j.Text)
			}
		}
	}
	if name != "article-extraction-benchmark" {
		return nil
	}
	var fails []error
	if b.F1 < targetExtractionF1 {
		fails = append(fails, fmt.Errorf("extraction F1 %.4f is under the target %.3f", b.F1, targetExtractionF1))
	}
	if ra.F1 < targetReadAloudF1 {
		fails = append(fails, fmt.Errorf("read-aloud F1 %.4f is under the target %.3f", ra.F1, targetReadAloudF1))
	}
	if float64(ev.JunkStandfirst) > targetJunkStandfirst*float64(n) {
		fails = append(fails, fmt.Errorf("junk standfirst on %d of %d pages, over the target %.0f%%", ev.JunkStandfirst, n, 100*targetJunkStandfirst))
	}
	if float64(ev.Boilerplate) > targetBoilerplate*float64(n) {
		fails = append(fails, fmt.Errorf("boilerplate heard on %d of %d pages, over the target %.0f%%", ev.Boilerplate, n, 100*targetBoilerplate))
	}
	return errors.Join(fails...)
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
