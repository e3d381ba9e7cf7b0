package normalize

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Case is one written-to-spoken case of the NeMo text normalization tests.
type Case struct {
	Written, Spoken string
}

// ClassScore is the exact-match rate of one class of cases.
type ClassScore struct {
	Class  string
	Total  int
	Passed int
	Misses []Miss
}

// Miss is a case whose normalization differs from the expected reading.
type Miss struct {
	Case
	Got string
}

// Rate returns the share of cases passed.
func (c ClassScore) Rate() float64 {
	if c.Total == 0 {
		return 0
	}
	return float64(c.Passed) / float64(c.Total)
}

// ErrNoCorpus is returned when an evaluation corpus is not where it was
// looked for.
var ErrNoCorpus = errors.New("normalize: evaluation corpus not found")

// TargetClasses are the classes the project holds to 90% exact.
var TargetClasses = []string{"cardinal", "ordinal", "decimal", "money", "date", "time", "measure"}

// LoadNeMo reads test_cases_<class>.txt from dir.
func LoadNeMo(dir, class string) ([]Case, error) {
	path := filepath.Join(dir, "test_cases_"+class+".txt")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoCorpus, path)
	}
	if err != nil {
		return nil, fmt.Errorf("normalize: open %s: %w", path, err)
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w, sp, ok := strings.Cut(sc.Text(), "~")
		if !ok {
			continue
		}
		cases = append(cases, Case{w, sp})
	}
	return cases, sc.Err()
}

// NeMoClasses lists the classes present in dir, sorted.
func NeMoClasses(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "test_cases_*.txt"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoCorpus, dir)
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "test_cases_"), ".txt"))
	}
	slices.Sort(out)
	return out, nil
}

// Score normalizes every case and compares it with the expected reading
// after lower-casing and collapsing white space, the corpus's own rule.
func (n *Normalizer) Score(class string, cases []Case) ClassScore {
	s := ClassScore{Class: class, Total: len(cases)}
	for _, c := range cases {
		got := n.Normalize(c.Written)
		if comparable(got) == comparable(c.Spoken) {
			s.Passed++
		} else {
			s.Misses = append(s.Misses, Miss{c, got})
		}
	}
	return s
}

func comparable(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
