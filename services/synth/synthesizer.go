package synth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	// Check validates audio, the provider's and the cache's, before it is
	// used; nil means BasicCheck. The pipeline sets the stitcher's chunk
	// check here.
	Check Check
	// Leveling says whether chunks that gain cannot bring to the loudness
	// target are levelled at synthesis (mode Limit) or left to the
	// stitcher (Lossless, the default).
	Leveling Leveling
	// LexiconVersion is part of every cache key, so that a pronunciation
	// fix re-synthesizes the chunks it may change.
	LexiconVersion string
	// Listen is the listening check: speech recognition hears each chunk
	// the provider returns and it is aligned with the text. The local
	// engine, which reads text deterministically, is never checked.
	Listen Listening
	Logger *slog.Logger // nil: no logs
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

	calls, hits, billed, throttled, badAudio, rerequests, leveled atomic.Int64
	listens, heardMillis, unchecked, misheard                     atomic.Int64
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
	// Billed is the characters the provider charged for this chunk: zero
	// for a cache hit, and set even when the call failed after the provider
	// answered (a truncated MP3 is still billed).
	Billed int
	// Requests is how many times the provider was asked for the chunk:
	// more than one when heuristic findings made it ask again; Repeated is
	// set when it stopped asking because the provider answered with the
	// same bytes.
	Requests int
	Repeated bool
	// Verdict is the check's word on Audio: its findings and record.
	Verdict Verdict
	// Leveled is set when Audio was levelled in the Limit mode.
	Leveled bool
	// HeardSeconds is the audio the listening check transcribed for this
	// chunk, as billed (every answer heard, and a cached chunk heard again).
	HeardSeconds float64
}

// New returns a Synthesizer over p. A nil cache disables caching.
func New(p Provider, cache Cache, cfg Config) (*Synthesizer, error) {
	if p == nil {
		return nil, errors.New("synth: no provider")
	}
	if cfg.Check == nil {
		cfg.Check = basicCheck
	}
	cfg.Leveling.setDefaults()
	if err := cfg.Leveling.Validate(); err != nil {
		return nil, err
	}
	cfg.Listen.setDefaults()
	if err := cfg.Listen.Validate(); err != nil {
		return nil, err
	}
	lame, err := cfg.Leveling.lameFor()
	if err != nil {
		return nil, err
	}
	cfg.Leveling.Lame = lame
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
	return s.cfg.Leveling.key(CacheKey(s.p.Name(), s.p.Limits().Format, r, s.cfg.LexiconVersion)), r, nil
}

// Cost returns the price in US dollars of synthesizing chars characters.
func (s *Synthesizer) Cost(chars int) float64 {
	return float64(chars) * s.p.Limits().PricePerMillion / 1e6
}

// HeardChars converts seconds of recognition for r into characters of
// synthesis at the two prices, so that a budget kept in characters covers
// both: zero when r is not checked or either price is unknown (a
// compatible server with no price), since there is no exchange rate then.
func (s *Synthesizer) HeardChars(r Request, seconds float64) int {
	perChar := s.p.Limits().PricePerMillion / 1e6
	cost := s.ListenCost(seconds)
	if s.listenPolicy(r) == ListenOff || perChar <= 0 || cost <= 0 {
		return 0
	}
	return int(math.Ceil(cost / perChar))
}

// ListenCost returns the price in US dollars of transcribing seconds of
// audio; zero without a listener.
func (s *Synthesizer) ListenCost(seconds float64) float64 {
	if s.cfg.Listen.Listener == nil {
		return 0
	}
	return seconds / 60 * s.cfg.Listen.Listener.PricePerMinute()
}

// Synthesize returns the audio for one chunk. Errors are classified with
// services/fault and wrap this package's sentinels; see NeedsOperator.
func (s *Synthesizer) Synthesize(ctx context.Context, req Request) (Result, error) {
	key, r, err := s.Key(req)
	if err != nil {
		return Result{Request: r}, err
	}
	if res, ok, err := s.fromCache(ctx, key, r); ok || err != nil {
		return res, err
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
		res.Cached, res.Billed, res.HeardSeconds = true, 0, 0 // billed to the chunk that made the call
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

// fromCache returns the chunk from the cache, checked again: the caller
// needs the check's verdict, and a chunk spoilt in storage is synthesized
// again. The cache is where the chunk's audio is kept for stitching: while
// it cannot be read, audio paid for could not be kept either, so that is
// ErrStore rather than a new request.
func (s *Synthesizer) fromCache(ctx context.Context, key string, r Request) (Result, bool, error) {
	if s.cache == nil {
		return Result{}, false, nil
	}
	audio, err := s.cache.Get(ctx, key)
	if errors.Is(err, ErrNotCached) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{Key: key, Request: r}, false, fmt.Errorf("synth: %w: %w", ErrStore, err)
	}
	v, err := s.cfg.Check(ctx, audio, r, s.p.Limits().Format)
	if err != nil {
		s.log.WarnContext(ctx, "synth cache holds bad audio; synthesizing again", "key", key, "err", err)
		return Result{}, false, nil
	}
	res := Result{Audio: audio, Key: key, Request: r, Cached: true}
	if policy := s.listenPolicy(r); policy != ListenOff {
		h, ok := s.cachedHeard(ctx, key)
		if !ok || !h.Checked { // kept before the check was on, or unheard then
			heard := s.Listen(ctx, audio, r)
			h, res.HeardSeconds = &heard, heard.Seconds
			if err := s.keepHeard(ctx, key, h); err != nil {
				s.log.WarnContext(ctx, "synth could not keep the listening record", "key", key, "err", err)
			}
		}
		if h.Checked && !h.Passed && policy == ListenRetry {
			// Audio that failed the check is kept for stitching, never
			// reused as good: this chunk is synthesized again.
			s.log.InfoContext(ctx, "synth cache holds audio that failed the listening check; synthesizing again", "key", key)
			return Result{}, false, nil
		}
		heardFinding(&v, h)
	}
	s.hits.Add(1)
	res.Verdict = v
	return res, true, nil
}

// call asks the provider for a chunk and checks the answer: a structural
// fault is bad audio (the caller retries); heuristic findings make it ask
// again, at most MaxRerequests times and not when the provider answers
// with the same bytes, then keep the answer with the fewest findings (a
// request asked again that fails keeps what it had). In the Limit mode the
// audio kept is levelled before it is cached.
func (s *Synthesizer) call(ctx context.Context, key string, r Request) (Result, error) {
	res := Result{Key: key, Request: r}
	chars := utf8.RuneCountInString(r.Text)
	start := time.Now()
	policy := s.listenPolicy(r)
	var (
		audio []byte
		v     Verdict
		last  [sha256.Size]byte
	)
	for {
		got, err := s.request(ctx, r, &res)
		var gv Verdict
		if err == nil {
			gv, err = s.check(ctx, got, r)
		}
		if err != nil && audio != nil {
			// Asking again is worth a try, not a failure: the usable
			// audio already here is kept.
			s.log.InfoContext(ctx, "synth asked again in vain", "chars", chars, "err", err)
			break
		}
		if err != nil {
			return res, err
		}
		if policy != ListenOff {
			h := s.Listen(ctx, got, r)
			res.HeardSeconds += h.Seconds
			heardFinding(&gv, &h)
		}
		if audio == nil || better(gv, v) {
			audio, v = got, gv
		}
		sum := sha256.Sum256(got)
		res.Repeated = res.Requests > 1 && sum == last
		if !askAgain(gv, policy) || res.Requests > MaxRerequests || res.Repeated {
			break
		}
		last = sum
		s.rerequests.Add(1)
		s.log.InfoContext(ctx, "synth asks again", "chars", chars, "findings", fmt.Sprint(gv.Findings))
	}
	if v.Heard != nil && v.Heard.Checked && !v.Heard.Passed {
		s.misheard.Add(1)
	}
	if s.cfg.Leveling.Mode == Limit {
		heard := v.Heard
		var err error
		check := func(ctx context.Context, b []byte) (Verdict, error) { return s.check(ctx, b, r) }
		if audio, v, res.Leveled, err = s.cfg.Leveling.level(ctx, audio, v, check); err != nil {
			return res, err
		}
		if v.Heard == nil && heard != nil { // levelling checks again, but does not listen again
			heardFinding(&v, heard)
		}
		if res.Leveled {
			s.leveled.Add(1)
		}
	}
	res.Verdict = v
	res.Audio = audio
	if s.cache != nil {
		// A chunk is done only once its audio is stored: stitching reads it
		// from the cache.
		if err := s.cache.Put(ctx, key, audio); err != nil {
			s.log.WarnContext(ctx, "synth could not store the audio; the chunk will be retried", "key", key, "err", err)
			return res, fmt.Errorf("synth: %w: %w", ErrStore, err)
		}
		if err := s.keepHeard(ctx, key, v.Heard); err != nil {
			return res, err
		}
	}
	s.log.DebugContext(ctx, "synth done", "chars", chars, "bytes", len(audio), "took", time.Since(start))
	return res, nil
}

// better reports whether verdict a is better than b: fewer findings, or
// as many and heard with fewer errors. Later answers win ties.
func better(a, b Verdict) bool {
	if len(a.Findings) != len(b.Findings) {
		return len(a.Findings) < len(b.Findings)
	}
	return a.Heard == nil || b.Heard == nil || a.Heard.WER <= b.Heard.WER
}

// askAgain reports whether findings are worth asking the provider again:
// a failed recognition is not the provider's fault, and a mishearing is
// asked again only under ListenRetry.
func askAgain(v Verdict, policy ListenPolicy) bool {
	for _, f := range v.Findings {
		if f.Code != FindingUnchecked && (f.Code != FindingMisheard || policy == ListenRetry) {
			return true
		}
	}
	return false
}

// request makes one provider request for r, paced by the limiter, and
// counts it and what it billed in res.
func (s *Synthesizer) request(ctx context.Context, r Request, res *Result) ([]byte, error) {
	chars := utf8.RuneCountInString(r.Text)
	if s.cfg.Limiter != nil {
		release, err := s.cfg.Limiter.Acquire(ctx, chars)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	s.calls.Add(1)
	res.Requests++
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
		return nil, err
	}
	res.Billed += chars
	s.billed.Add(int64(chars))
	return audio, nil
}

// check runs the configured check on a provider's answer; a failure is bad
// audio, which the caller retries.
func (s *Synthesizer) check(ctx context.Context, audio []byte, r Request) (Verdict, error) {
	v, err := s.cfg.Check(ctx, audio, r, s.p.Limits().Format)
	if err == nil {
		return v, nil
	}
	s.badAudio.Add(1)
	if !errors.Is(err, ErrBadAudio) {
		err = fmt.Errorf("%w: %w", ErrBadAudio, err)
	}
	s.log.InfoContext(ctx, "synth returned bad audio", "chars", utf8.RuneCountInString(r.Text), "bytes", len(audio), "err", err)
	return v, fault.Retry(fmt.Errorf("synth: %s: %w", s.p.Name(), err), 0)
}

// Stats are a Synthesizer's counters since it was made.
type Stats struct {
	Calls      int64 // provider requests made
	CacheHits  int64
	Billed     int64 // characters billed
	Throttled  int64 // 429s
	BadAudio   int64 // responses the check refused
	Rerequests int64 // requests made again for heuristic findings
	Leveled    int64 // chunks levelled in the Limit mode
	// Listening check: recognition requests, seconds of audio heard (as
	// billed), chunks kept although misheard, and chunks left unchecked.
	Listens      int64
	HeardSeconds float64
	Misheard     int64
	Unchecked    int64
}

// Stats returns the counters.
func (s *Synthesizer) Stats() Stats {
	return Stats{Calls: s.calls.Load(), CacheHits: s.hits.Load(), Billed: s.billed.Load(), Throttled: s.throttled.Load(),
		BadAudio: s.badAudio.Load(), Rerequests: s.rerequests.Load(), Leveled: s.leveled.Load(),
		Listens: s.listens.Load(), HeardSeconds: float64(s.heardMillis.Load()) / 1000, Misheard: s.misheard.Load(), Unchecked: s.unchecked.Load()}
}
