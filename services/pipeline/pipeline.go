// Package pipeline wires the stage services (clean, chunk, synth, stitch,
// publish) to the queue: what each stage reads and writes, which tasks
// follow it, and how a job's state moves. The services know nothing of NATS;
// this package is the only one that knows both.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/webhook"
)

// Config tunes the pipeline.
type Config struct {
	// MaxChars is the longest chunk each provider takes; a provider not
	// listed gets 4,096 (OpenAI's limit).
	MaxChars map[string]int
	// TargetChars is the chunk size aimed at (default DefaultTargetChars).
	TargetChars int
	// FirstChars is the size the first chunks aim at, growing to
	// TargetChars (chunk.Config.First), so that the first audio is ready
	// in about 2 s; default DefaultFirstChars, negative for none.
	FirstChars int
	// Pauses are the silences the stitcher inserts between chunks.
	Pauses script.Pauses
	// Loudness is the target integrated loudness in LUFS.
	Loudness float64
	// LoudnessMode is synth.Lossless (the default: gain only, up to the
	// true-peak ceiling, a shortfall reported) or synth.Limit (chunks gain
	// cannot raise are levelled at synthesis); see NewSynthesizer.
	LoudnessMode string
	// Disclosure is the AI disclosure written into tags and manifests.
	Disclosure string
	// Concurrency is how many tasks of a stage one process works on at once,
	// by stage name ("synth" covers every provider); default 1, synth 16,
	// and one per CPU for the local speech engine.
	Concurrency map[string]int
	// MediaPrefix is where published files go in storage.
	MediaPrefix string
	// JobMaxChars caps the characters one job may bill (0: no cap). A job
	// over it fails before any API call, with the estimate in the reason.
	JobMaxChars int
	// Publications are each publication's choice of voice, model, speed
	// and instructions, by publication key (see JobID); an article's own
	// options win over them, and the provider's defaults fill in the rest.
	Publications map[string]Voice
	// DailyChars is each publication's budget of billed characters per UTC
	// day (0: none). A chunk that would pass it fails its job; chunks found
	// in the cache cost nothing and always pass.
	DailyChars int
	// Listen is the listening check's policy for publications that set
	// none (synth.ListenPolicy: off, check or retry; empty: off), for the
	// estimates; the synthesizer's own configuration runs the check.
	Listen string
	// ListenURL is the public base of the live stream, GET /listen/{id}
	// ("https://narrator.example/listen/"), named in the
	// narration.started_audio webhook; default the path alone.
	ListenURL string
	// NoTextHash leaves the SHA-256 of the article text out of the Content
	// Credentials, where it is otherwise the audio's ingredient.
	NoTextHash bool
}

// DefaultTargetChars is the chunk size aimed at. Chunks synthesize in
// parallel, so with enough of them in flight the audio is ready soon after
// the slowest chunk, whose time grows with its size (tts-1: about 10 s at
// 1,000 characters, 42 s at 4,000; narrator bench). Smaller chunks cost
// more requests against the provider's rate limit; chunks join at
// paragraph breaks, where the stitcher pauses anyway, so joins are not
// heard.
const DefaultTargetChars = 1000

// DefaultFirstChars is the first chunk's size: about 2 s of synthesis at
// OpenAI's 11 ms a character, so a listener hears the story that soon.
const DefaultFirstChars = 180

func (c *Config) setDefaults() {
	if c.TargetChars == 0 {
		c.TargetChars = DefaultTargetChars
	}
	switch {
	case c.FirstChars == 0:
		c.FirstChars = DefaultFirstChars
	case c.FirstChars < 0:
		c.FirstChars = 0
	}
	c.FirstChars = min(c.FirstChars, c.TargetChars)
	if c.Pauses == (script.Pauses{}) {
		c.Pauses = script.DefaultPauses
	}
	if c.Loudness == 0 {
		c.Loudness = stitch.DefaultTarget
	}
	if c.Disclosure == "" {
		c.Disclosure = stitch.DefaultDisclosure
	}
	if c.ListenURL == "" {
		c.ListenURL = "/listen/"
	}
	if c.MediaPrefix == "" {
		c.MediaPrefix = "narrations"
	}
	pubs := make(map[string]Voice, len(c.Publications))
	for name, v := range c.Publications {
		pubs[pubKey(name)] = v
	}
	c.Publications = pubs
}

func (c *Config) maxChars(provider string) int {
	if n := c.MaxChars[provider]; n > 0 {
		return n
	}
	switch provider {
	case "polly":
		return 3000
	}
	return 4096
}

func (c *Config) concurrency(stage string) int {
	base, _, _ := strings.Cut(stage, ".")
	if n := c.Concurrency[stage]; n > 0 {
		return n
	}
	if n := c.Concurrency[base]; n > 0 {
		return n
	}
	switch {
	case stage == synthStage("local"):
		return runtime.GOMAXPROCS(0) // the local engine is CPU-bound
	case base == StageSynth:
		return 16 // calls wait on the provider, not the CPU
	}
	return 1
}

// Voice is how a publication's articles are read.
type Voice struct {
	Voice        string  `json:"voice,omitempty"`
	Model        string  `json:"model,omitempty"`
	Speed        float64 `json:"speed,omitempty"`
	Instructions string  `json:"instructions,omitempty"`
	// Listen is the publication's listening check: off, check or retry
	// (synth.ListenPolicy); empty: the process's.
	Listen string `json:"listen,omitempty"`
}

// Deps are what the stages use. A process that runs only some stages needs
// only their dependencies: Cleaner and Fetcher for clean, Synths for synth,
// Publisher for publish, feed and unpublishing.
type Deps struct {
	Queue     *queue.Queue
	Publisher *publish.Publisher
	Fetcher   *ingest.Fetcher
	Cleaner   *clean.Cleaner
	// Synths are the synthesizers this process runs, by provider name.
	Synths map[string]*synth.Synthesizer
	// Audio is where chunk audio is kept, the same the synthesizers cache
	// in (default AudioCache: NATS); the stitch stage reads it.
	Audio ChunkAudio
	// Webhooks tells endpoints when jobs end; nil: no endpoints. Processes
	// that run stages need it to queue the events, the webhook stage to
	// send them.
	Webhooks *webhook.Sender
	// Signer signs each narration's Content Credentials at stitch; nil
	// leaves them out. Every stitch worker must sign with the same key.
	Signer *c2pa.Signer
	Logger *slog.Logger
}

// Pipeline runs stages and submits jobs.
type Pipeline struct {
	cfg Config
	Deps
	chunkers sync.Map  // provider and lexicon version → *chunk.Chunker
	ledger   ledger    // billing records not stored yet
	cpu      *cpuSlots // see cpuslots.go
}

// New returns a pipeline.
func New(deps Deps, cfg Config) (*Pipeline, error) {
	cfg.setDefaults()
	if deps.Queue == nil {
		return nil, errors.New("pipeline: no queue")
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Audio == nil {
		deps.Audio = AudioCache(deps.Queue)
	}
	return &Pipeline{cfg: cfg, Deps: deps, cpu: newCPUSlots(runtime.GOMAXPROCS(0))}, nil
}

// Run works on the named stages until ctx is done; "synth" stands for the
// synthesis stage of every provider in Deps.Synths.
func (p *Pipeline) Run(ctx context.Context, stages []string) error {
	var runs []func(context.Context) error
	for _, name := range stages {
		switch name {
		case StageClean:
			if p.Cleaner == nil || p.Fetcher == nil {
				return errors.New("pipeline: the clean stage needs a cleaner and a fetcher")
			}
			runs = append(runs, p.cleanStage)
		case StageChunk:
			runs = append(runs, p.chunkStage)
		case StageSynth:
			if len(p.Synths) == 0 {
				return errors.New("pipeline: the synth stage needs at least one speech provider")
			}
			for _, prov := range slices.Sorted(maps.Keys(p.Synths)) {
				runs = append(runs, func(ctx context.Context) error { return p.synthStage(ctx, prov) })
			}
			if sa, ok := p.Audio.(*StoreAudio); ok {
				runs = append(runs, func(ctx context.Context) error { return sa.keepEvicting(ctx, p.Logger) })
			}
		case StageStitch:
			runs = append(runs, p.stitchStage)
		case StagePublish, StageFeed:
			if p.Publisher == nil {
				return fmt.Errorf("pipeline: the %s stage needs a publisher", name)
			}
			runs = append(runs, map[string]func(context.Context) error{StagePublish: p.publishStage, StageFeed: p.feedStage}[name])
		case StageWebhook:
			if p.Webhooks == nil {
				return errors.New("pipeline: the webhook stage needs endpoints (NARRATOR_WEBHOOK_URLS)")
			}
			runs = append(runs, p.webhookStage)
		default:
			return fmt.Errorf("pipeline: unknown stage %q (stages: clean, chunk, synth, stitch, publish, feed, webhook)", name)
		}
	}
	errs := make(chan error, len(runs))
	for _, run := range runs {
		go func() { errs <- run(ctx) }()
	}
	var err error
	for range runs {
		err = errors.Join(err, <-errs)
	}
	p.flushBills(context.WithoutCancel(ctx))
	return err
}

// chunker returns the chunker for a provider's limits and a lexicon.
func (p *Pipeline) chunker(provider string, lex *lexicon.Lexicon) (*chunk.Chunker, error) {
	key := provider
	if lex != nil {
		key += "/" + lex.Version()
	}
	if c, ok := p.chunkers.Load(key); ok {
		return c.(*chunk.Chunker), nil
	}
	c, err := chunk.New(chunk.Config{Max: p.cfg.maxChars(provider), Target: p.cfg.TargetChars, First: p.cfg.FirstChars, Lexicon: lex})
	if err != nil {
		return nil, err
	}
	p.chunkers.Store(key, c)
	return c, nil
}
