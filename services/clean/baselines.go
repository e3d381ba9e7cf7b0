package clean

import (
	"bytes"
	"context"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	trafilatura "github.com/markusmobius/go-trafilatura"
)

// TrafilaturaBaseline extracts with go-trafilatura alone (default options,
// comments excluded), the library this package builds on; it is scored
// to show what the news layer adds.
func TrafilaturaBaseline() Extractor {
	return func(ctx context.Context, p BenchmarkPage) (string, error) {
		opts := trafilatura.Options{ExcludeComments: true}
		if u, err := url.Parse(p.URL); err == nil && u.Scheme != "" {
			opts.OriginalURL = u
		}
		r, err := trafilatura.Extract(bytes.NewReader(p.HTML), opts)
		if err != nil {
			return "", err
		}
		return r.ContentText, nil
	}
}

// ReadabilityBaseline extracts with readeck's go-readability, the other
// candidate library, for comparison.
func ReadabilityBaseline() Extractor {
	return func(ctx context.Context, p BenchmarkPage) (string, error) {
		u, _ := url.Parse(p.URL)
		a, err := readability.FromReader(bytes.NewReader(p.HTML), u)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		if err := a.RenderText(&b); err != nil {
			return "", err
		}
		return b.String(), nil
	}
}
