package synth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
)

// Config configures a Synthesizer.
type Config struct {
	// Limiter paces calls to the provider; nil: no pacing.
	Limiter Limiter
	// Check validates audio before it is cached or returned; nil means
	// BasicCheck. The pipeline sets the MP3 engine's full validation here.
	Check Check
	// LexiconVersion is part of every cache key, so that a pronunciation
	// fix re-synthesizes the chunks it may change.
	LexiconVersion string
	Logger         *slog.Logger // nil: no logs
}

// Synthesizer returns audio for chunks through one provider, from the
// cache when it can, paced by the limiter and checked before it is kept.
// It is safe for concurrent use.
type Synthesizer struct {
	p     Provider
	cache Cache
	cfg   Config
	log   *slog.Logger

	mu       sync.Mutex
	inflight map[string]*call

	calls, hits, billed, throttled, badAudio atomic.Int64
}

// call is one provider request that concurrent equal chunks share.
type call struct {
	done chan struct{}
	res  Result
	err  error
}

// Result is the audio for one chunk and what it cost.
type Result struct {
	Audio   []byte
	Key     string  // content address (CacheKey)
	Request Request // the request as resolved by the provider
	Cached  bool    // served without calling the provider
	// Billed is the characters the provider charged for this call: zero for
	// a cache hit, and set even when the call failed after the provider
	// answered (a truncated MP3 is still billed).
	Billed int
}

// New returns a Synthesizer over p. A nil cache disables caching.
func New(p Provider, cache Cache, cfg Config) (*Synthesizer, error) {
	if p == nil {
		return nil, errors.New("synth: no provider")
	}
	if cfg.Check == nil {
		cfg.Check = BasicCheck
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Synthesizer{p: p, cache: cache, cfg: cfg, log: log.With("provider", p.Name()), inflight: map[string]*call{}}, nil
}

// Provider returns the provider, for its limits.
func (s *Synthesizer) Provider() Provider { return s.p }

// Key resolves req and returns its content address, without synthesizing.
func (s *Synthesizer) Key(req Request) (string, Request, error) {
	r, err := s.p.Resolve(req)
	if err != nil {
		return "", r, err
	}
	return CacheKey(s.p.Name(), s.p.Limits().Format, r, s.cfg.LexiconVersion), r, nil
}

// Cost returns the price in US dollars of synthesizing chars characters.
func (s *Synthesizer) Cost(chars int) float64 {
	return float64(chars) * s.p.Limits().PricePerMillion / 1e6
}

// Synthesize returns the audio for one chunk. Errors are classified with
// services/fault and wrap this package's sentinels; see NeedsOperator.
func (s *Synthesizer) Synthesize(ctx context.Context, req Request) (Result, error) {
	key, r, err := s.Key(req)
	if err != nil {
		return Result{Request: r}, err
	}
	if s.cache != nil {
		audio, err := s.cache.Get(ctx, key)
		switch {
		case err == nil:
			s.hits.Add(1)
			return Result{Audio: audio, Key: key, Request: r, Cached: true}, nil
		case !errors.Is(err, ErrNotCached):
			// The cache is where the chunk's audio is kept: while it cannot
			// be read, audio paid for could not be kept either.
			return Result{Key: key, Request: r}, fmt.Errorf("synth: %w: %w", ErrStore, err)
		}
	}

	// Equal chunks synthesizing at once (a repeated sentence) share one call.
	s.mu.Lock()
	if c, ok := s.inflight[key]; ok {
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return Result{Key: key, Request: r}, fmt.Errorf("synth: %w", ctx.Err())
		}
		res := c.res
		res.Cached, res.Billed = true, 0
		return res, c.err
	}
	c := &call{done: make(chan struct{})}
	s.inflight[key] = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inflight, key)
		s.mu.Unlock()
		close(c.done)
	}()
	c.res, c.err = s.call(ctx, key, r)
	return c.res, c.err
}

func (s *Synthesizer) call(ctx context.Context, key string, r Request) (Result, error) {
	res := Result{Key: key, Request: r}
	chars := utf8.RuneCountInString(r.Text)
	if s.cfg.Limiter != nil {
		release, err := s.cfg.Limiter.Acquire(ctx, chars)
		if err != nil {
			return res, err
		}
		defer release()
	}
	start := time.Now()
	s.calls.Add(1)
	audio, err := s.p.Synthesize(ctx, r)
	if err != nil {
		if errors.Is(err, ErrRateLimited) {
			s.throttled.Add(1)
			if s.cfg.Limiter != nil {
				if lerr := s.cfg.Limiter.Throttled(ctx, fault.RetryAfter(err)); lerr != nil {
					s.log.WarnContext(ctx, "synth limiter did not take the 429", "err", lerr)
				}
			}
		}
		s.log.InfoContext(ctx, "synth failed", "chars", chars, "permanent", fault.IsPermanent(err), "retry_after", fault.RetryAfter(err), "err", err)
		return res, err
	}
	res.Billed = chars
	s.billed.Add(int64(chars))
	format := s.p.Limits().Format
	if err := s.cfg.Check(audio, r, format); err != nil {
		s.badAudio.Add(1)
		if !errors.Is(err, ErrBadAudio) {
			err = fmt.Errorf("%w: %w", ErrBadAudio, err)
		}
		s.log.InfoContext(ctx, "synth returned bad audio", "chars", chars, "bytes", len(audio), "err", err)
		return res, fault.Retry(fmt.Errorf("synth: %s: %w", s.p.Name(), err), 0)
	}
	res.Audio = audio
	if s.cache != nil {
		// A chunk is done only once its audio is stored: stitching reads it
		// from the cache.
		if err := s.cache.Put(ctx, key, audio); err != nil {
			s.log.WarnContext(ctx, "synth could not store the audio; the chunk will be retried", "key", key, "err", err)
			return res, fmt.Errorf("synth: %w: %w", ErrStore, err)
		}
	}
	s.log.DebugContext(ctx, "synth done", "chars", chars, "bytes", len(audio), "took", time.Since(start))
	return res, nil
}

// Stats are a Synthesizer's counters since it was made.
type Stats struct {
	Calls     int64 // provider requests made
	CacheHits int64
	Billed    int64 // characters billed
	Throttled int64 // 429s
	BadAudio  int64 // responses the check refused
}

// Stats returns the counters.
func (s *Synthesizer) Stats() Stats {
	return Stats{Calls: s.calls.Load(), CacheHits: s.hits.Load(), Billed: s.billed.Load(), Throttled: s.throttled.Load(), BadAudio: s.badAudio.Load()}
}
