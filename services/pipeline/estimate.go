package pipeline

import (
	"cmp"
	"context"
	"errors"
	"unicode/utf8"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/synth"
)

// Estimate is what narrating an article would send to the providers, at
// most: chunks found in the cache cost nothing.
type Estimate struct {
	Chars    int // billable characters: the chunks' text, as the chunk stage counts them
	Requests int // synthesis requests: the chunks
	// HeardSeconds is the audio the listening check would transcribe
	// when it is on for the article's publication (zero when off): each
	// chunk's characters at synth.SpeechCharsPerSecond, rounded up.
	HeardSeconds int
}

// Estimate returns what narrating a cleaned script with opts would cost,
// chunked as the chunk stage would with the publication's lexicon.
func (p *Pipeline) Estimate(ctx context.Context, s script.Script, opts queue.Options) (Estimate, error) {
	chunks, _, err := p.split(ctx, s, opts)
	return p.cfg.estimate(chunks, opts), err
}

func (c Config) estimate(chunks []script.Chunk, opts queue.Options) Estimate {
	e := Estimate{Chars: spoken(chunks), Requests: len(chunks)}
	if c.listens(opts) {
		for _, ch := range chunks {
			e.HeardSeconds += synth.EstimateHeard(utf8.RuneCountInString(ch.Text))
		}
	}
	return e
}

// listens reports whether the listening check hears opts' chunks: the
// publication's policy, else the process's, and never the local engine's,
// which reads exactly what it is given.
func (c Config) listens(opts queue.Options) bool {
	policy := cmp.Or(c.Publications[pubKey(opts.Publication)].Listen, c.Listen, string(synth.ListenOff))
	return policy != string(synth.ListenOff) && opts.Provider != "local"
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
