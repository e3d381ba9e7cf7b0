package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/narrator-project/narrator/services/backfill/fakesite"
)

// benchArticle is a generated news article for the benchmark.
type benchArticle struct {
	ID    string
	Title string
	HTML  []byte
	Chars int // characters of body text generated (paragraphs and subheads)
}

// makeArticle generates an article of about chars characters of body
// text, the same for the same seed.
func makeArticle(seed uint64, chars int) benchArticle {
	s := fakesite.Generate(seed, chars)
	return benchArticle{ID: fmt.Sprintf("bench-%x-%d", seed, chars), Title: s.Title, HTML: []byte(fakesite.Page(s, fakesite.PageMeta{})), Chars: s.Chars}
}

// benchArticles generates n articles whose sizes spread evenly, in a
// shuffled order, between lo and hi characters.
func benchArticles(seed uint64, n, lo, hi int) []benchArticle {
	rng := rand.New(rand.NewPCG(seed, 0x62656e6368))
	out := make([]benchArticle, n)
	for i := range n {
		size := lo
		if n > 1 {
			size = lo + (hi-lo)*i/(n-1)
		}
		out[i] = makeArticle(seed*1000+uint64(i), size)
	}
	rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
