package chunk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// GoldenCase is one case of the golden-rules sentence-boundary corpus.
type GoldenCase struct {
	ID        int      `json:"id"`
	Name      string   `json:"name"`
	Text      string   `json:"text"`
	Sentences []string `json:"sentences"`
}

// GoldenResult is the outcome of one golden-rules case.
type GoldenResult struct {
	Case GoldenCase
	Got  []string
	Pass bool
}

// ErrNoCorpus is returned when an evaluation corpus is not where it was
// looked for.
var ErrNoCorpus = errors.New("chunk: evaluation corpus not found")

// LoadGoldenRules reads the golden-rules JSON file.
func LoadGoldenRules(path string) ([]GoldenCase, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNoCorpus, path)
	}
	if err != nil {
		return nil, fmt.Errorf("chunk: read golden rules: %w", err)
	}
	var cases []GoldenCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		return nil, fmt.Errorf("chunk: parse golden rules: %w", err)
	}
	return cases, nil
}

// EvaluateGoldenRules splits every case with the English segmenter; a case
// passes when its sentences, trimmed, match exactly.
func EvaluateGoldenRules(cases []GoldenCase) (passed int, results []GoldenResult) {
	seg := NewSegmenter("en")
	for _, c := range cases {
		got := seg.Sentences(c.Text)
		want := make([]string, len(c.Sentences))
		for i, s := range c.Sentences {
			want[i] = strings.TrimSpace(s)
		}
		ok := slices.Equal(got, want)
		if ok {
			passed++
		}
		results = append(results, GoldenResult{Case: c, Got: got, Pass: ok})
	}
	return passed, results
}
