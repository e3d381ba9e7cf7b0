package pipeline

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/script"
)

// Estimate returns what narrating a cleaned script with opts would send
// to the provider: the billable characters (the chunks' text, as the
// chunk stage counts them) and the requests (chunks), chunked as the
// chunk stage would with the publication's lexicon. Chunks found in the
// cache would cost nothing, so this is an upper bound.
func (p *Pipeline) Estimate(ctx context.Context, s script.Script, opts queue.Options) (chars, requests int, err error) {
	chunks, _, err := p.split(ctx, s, opts)
	return spoken(chunks), len(chunks), err
}

// split chunks a script for its provider with its publication's lexicon,
// which it returns too (nil when the publication has none).
func (p *Pipeline) split(ctx context.Context, s script.Script, opts queue.Options) ([]script.Chunk, *lexicon.Lexicon, error) {
	lex, err := Lexicons(p.Queue).Get(ctx, opts.Publication)
	if errors.Is(err, lexicon.ErrNotFound) {
		lex, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := p.chunker(opts.Provider, lex)
	if err != nil {
		return nil, nil, fault.Permanent(err)
	}
	chunks, err := c.Split(s)
	if err != nil {
		return nil, nil, fault.Permanent(err)
	}
	return chunks, lex, nil
}

// spoken returns the characters of chunks as sent to the provider.
func spoken(chunks []script.Chunk) int {
	n := 0
	for _, ch := range chunks {
		n += utf8.RuneCountInString(ch.Text)
	}
	return n
}
