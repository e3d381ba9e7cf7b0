package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/clean"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/redact"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/webhook"
	"github.com/narrator-project/narrator/storage"
)

// env returns the environment variable, or def when it is unset or empty.
func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// splitList reads a list written as one string, entries separated by
// commas or spaces ("cms.internal, 10.20.0.0/16").
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// urlVar defines a flag holding a URL. A URL may carry credentials (user
// information, a token in the query), so help shows its default, which
// comes from the environment, redacted.
func urlVar(fs *flag.FlagSet, p *string, name, def, usage string) {
	*p = def
	fs.Var((*urlValue)(p), name, usage)
}

// urlValue is a string flag that shows itself redacted.
type urlValue string

func (u *urlValue) String() string {
	if u == nil {
		return ""
	}
	return redact.URL(string(*u))
}

func (u *urlValue) Set(v string) error { *u = urlValue(v); return nil }

// settings are the configuration the running commands share. Every field
// has a flag and an environment variable; flags win.
type settings struct {
	DataDir     string
	NATSURL     string
	NATSListen  string
	Replicas    int
	AckWait     time.Duration
	MaxDeliver  int
	WorkTTL     time.Duration
	NATSTimeout time.Duration
	NATSRetry   time.Duration
	LogLevel    string
	LogFormat   string

	Engine       string
	Model        string
	Voice        string
	Speed        float64
	Instructions string
	OpenAIURL    string
	SynthWorkers int
	ChunkTarget  int
	ChunkFirst   int
	Loudness     string
	Listen       string
	ListenURL    string
	ListenModel  string
	ListenMaxWER float64
	JobMaxChars  int
	DailyChars   int
	FetchAllow   string
	RPM          int
	CPM          int
	RateBurst    int
	PollyURL     string
	PollyLex     string
	PubFile      string

	PublicURL   string
	S3Bucket    string
	S3Endpoint  string
	S3Region    string
	S3Prefix    string
	S3PublicURL string
	S3PathStyle bool
	S3Checksum  string

	AudioCache       string
	AudioCacheBucket string
	AudioCacheTTL    time.Duration
	AudioCacheMax    string

	pub  publication
	C2PA credentials
}

// queueFlags registers the flags that say where NATS is.
func (s *settings) queueFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.DataDir, "data-dir", env("NARRATOR_DATA_DIR", "./data"), "directory for the embedded NATS store and local media (env NARRATOR_DATA_DIR)")
	urlVar(fs, &s.NATSURL, "nats-url", env("NATS_URL", ""), "NATS server or cluster `URL` to use instead of the embedded one (env NATS_URL)")
	fs.IntVar(&s.Replicas, "replicas", envInt("NARRATOR_REPLICAS", 1), "stream and bucket replicas; 3 on a cluster (env NARRATOR_REPLICAS)")
	fs.DurationVar(&s.AckWait, "ack-wait", envDuration("NARRATOR_ACK_WAIT", 30*time.Second), "redeliver a task when its worker is silent this long (env NARRATOR_ACK_WAIT)")
	fs.IntVar(&s.MaxDeliver, "max-deliver", envInt("NARRATOR_MAX_DELIVER", 6), "deliveries of a task before its job fails (env NARRATOR_MAX_DELIVER)")
	fs.DurationVar(&s.NATSTimeout, "nats-timeout", envDuration("NARRATOR_NATS_TIMEOUT", 5*time.Second), "deadline of one NATS request (env NARRATOR_NATS_TIMEOUT)")
	fs.DurationVar(&s.NATSRetry, "nats-retry", envDuration("NARRATOR_NATS_RETRY", 30*time.Second), "how long a NATS request is retried while NATS is away before the task is handed back (env NARRATOR_NATS_RETRY)")
	fs.DurationVar(&s.WorkTTL, "work-ttl", envDuration("NARRATOR_WORK_TTL", 7*24*time.Hour), "how long NATS keeps a job's work files: its source, script and chunk plan (env NARRATOR_WORK_TTL)")
	fs.StringVar(&s.LogLevel, "log-level", env("NARRATOR_LOG_LEVEL", "info"), "debug, info, warn or error (env NARRATOR_LOG_LEVEL)")
	fs.StringVar(&s.LogFormat, "log-format", env("NARRATOR_LOG_FORMAT", "text"), "text or json (env NARRATOR_LOG_FORMAT)")
}

// workerFlags registers the flags of processes that run stages.
func (s *settings) workerFlags(fs *flag.FlagSet) {
	defEngine := "local"
	if os.Getenv("OPENAI_API_KEY") != "" || os.Getenv("OPENAI_API_KEY_FILE") != "" {
		defEngine = "openai"
	}
	fs.StringVar(&s.Engine, "engine", env("NARRATOR_ENGINE", defEngine), "speech provider: local, openai or polly; default openai when OPENAI_API_KEY is set (env NARRATOR_ENGINE)")
	fs.StringVar(&s.Model, "model", env("NARRATOR_MODEL", ""), "TTS model: tts-1, tts-1-hd, gpt-4o-mini-tts; for polly the engine: neural, long-form, generative, standard (env NARRATOR_MODEL)")
	fs.StringVar(&s.Voice, "voice", env("NARRATOR_VOICE", ""), "voice; default the provider's voice for the article's language (env NARRATOR_VOICE)")
	fs.Float64Var(&s.Speed, "speed", envFloat("NARRATOR_SPEED", 1), "speech speed, 0.25 to 4 (env NARRATOR_SPEED)")
	fs.StringVar(&s.Instructions, "instructions", env("NARRATOR_INSTRUCTIONS", ""), "style instructions for gpt-4o-mini-tts (env NARRATOR_INSTRUCTIONS)")
	urlVar(fs, &s.OpenAIURL, "openai-base-url", env("OPENAI_BASE_URL", ""), "OpenAI-compatible server's API `URL` (env OPENAI_BASE_URL)")
	fs.StringVar(&s.PubFile, "publications", env("NARRATOR_PUBLICATIONS_FILE", ""), "JSON file of each publication's voice, model, speed and instructions (env NARRATOR_PUBLICATIONS_FILE)")
	urlVar(fs, &s.PollyURL, "polly-endpoint", env("POLLY_ENDPOINT", ""), "Amazon Polly endpoint `URL`, e.g. a VPC endpoint; default the region's (env POLLY_ENDPOINT)")
	fs.StringVar(&s.PollyLex, "polly-lexicons", env("POLLY_LEXICONS", ""), "Polly pronunciation lexicons applied to every request, comma-separated (env POLLY_LEXICONS)")
	fs.IntVar(&s.SynthWorkers, "synth-concurrency", envInt("NARRATOR_SYNTH_CONCURRENCY", 0), "chunks this process synthesizes at once; 0: 16, or one per CPU for the local engine (env NARRATOR_SYNTH_CONCURRENCY)")
	fs.IntVar(&s.ChunkTarget, "chunk-target", envInt("NARRATOR_CHUNK_TARGET", pipeline.DefaultTargetChars), "characters a chunk aims at (env NARRATOR_CHUNK_TARGET)")
	fs.IntVar(&s.ChunkFirst, "chunk-first", envInt("NARRATOR_CHUNK_FIRST", pipeline.DefaultFirstChars), "characters the first chunk aims at, so the first audio is ready in seconds; later chunks grow to the target; 0: every chunk aims at the target (env NARRATOR_CHUNK_FIRST)")
	fs.StringVar(&s.Loudness, "loudness", env("NARRATOR_LOUDNESS", synth.Lossless), "lossless: gain only, up to the -1 dBTP ceiling, a narration whose peaks stop it short published below -16 LUFS and saying so; limit: chunks that gain cannot raise are levelled with a true-peak limiter and re-encoded once, at synthesis (env NARRATOR_LOUDNESS)")
	fs.StringVar(&s.Listen, "listen", env("NARRATOR_LISTEN", "off"), "listening check of every chunk by speech recognition: off, check (warn when the audio does not say the text) or check-and-retry (synthesize it again first); publications may set their own (env NARRATOR_LISTEN)")
	fs.StringVar(&s.ListenURL, "listen-base-url", env("LISTEN_BASE_URL", ""), "OpenAI-compatible transcription server's API URL; default OPENAI_BASE_URL, else OpenAI's (env LISTEN_BASE_URL)")
	fs.StringVar(&s.ListenModel, "listen-model", env("LISTEN_MODEL", synth.DefaultListenModel), "transcription model: whisper-1 (word times), gpt-4o-transcribe, gpt-4o-mini-transcribe (env LISTEN_MODEL)")
	fs.Float64Var(&s.ListenMaxWER, "listen-max-wer", envFloat("NARRATOR_LISTEN_MAX_WER", synth.DefaultMaxWER), "word error rate above which a chunk fails the listening check (env NARRATOR_LISTEN_MAX_WER)")
	fs.IntVar(&s.RPM, "rpm", envInt("NARRATOR_RPM", 0), "requests a minute the whole cluster may send the provider; 0: no limit (env NARRATOR_RPM)")
	fs.IntVar(&s.CPM, "cpm", envInt("NARRATOR_CPM", 0), "characters a minute the whole cluster may send the provider; 0: no limit (env NARRATOR_CPM)")
	fs.IntVar(&s.RateBurst, "rate-burst", envInt("NARRATOR_RATE_BURST", 0), "requests at once after a quiet spell; default the RPM (env NARRATOR_RATE_BURST)")
	fs.IntVar(&s.JobMaxChars, "job-max-chars", envInt("NARRATOR_JOB_MAX_CHARS", 0), "fail a job that would bill more characters than this, before any API call; 0: no cap (env NARRATOR_JOB_MAX_CHARS)")
	fs.IntVar(&s.DailyChars, "daily-chars", envInt("NARRATOR_DAILY_CHARS", 0), "characters each publication may bill per UTC day; 0: no budget (env NARRATOR_DAILY_CHARS)")
	fs.StringVar(&s.FetchAllow, "fetch-allow", env("NARRATOR_FETCH_ALLOW", ""), "hosts and networks (CIDR) URLs may be fetched from although not public, comma-separated (env NARRATOR_FETCH_ALLOW)")
	urlVar(fs, &s.PublicURL, "public-url", env("NARRATOR_PUBLIC_URL", ""), "`URL` listeners reach narrator serve at, for media, feed and player URLs and the live stream; default http:// and the HTTP address (env NARRATOR_PUBLIC_URL)")
	fs.StringVar(&s.S3Bucket, "s3-bucket", env("S3_BUCKET", ""), "publish to this S3 bucket instead of the data directory (env S3_BUCKET)")
	urlVar(fs, &s.S3Endpoint, "s3-endpoint", env("S3_ENDPOINT", ""), "S3-compatible server `URL` (env S3_ENDPOINT)")
	fs.StringVar(&s.S3Region, "s3-region", env("S3_REGION", ""), "bucket region (env S3_REGION)")
	fs.StringVar(&s.S3Prefix, "s3-prefix", env("S3_PREFIX", ""), "key prefix in the bucket (env S3_PREFIX)")
	urlVar(fs, &s.S3PublicURL, "s3-public-url", env("S3_PUBLIC_URL", ""), "public `URL` of the bucket, e.g. a CDN (env S3_PUBLIC_URL)")
	fs.BoolVar(&s.S3PathStyle, "s3-path-style", envBool("S3_PATH_STYLE", false), "path-style bucket URLs, for IP and localhost endpoints (env S3_PATH_STYLE)")
	fs.StringVar(&s.S3Checksum, "s3-checksum", env("S3_CHECKSUM", ""), "when_required (default) or when_supported (env S3_CHECKSUM)")
	fs.StringVar(&s.AudioCache, "audio-cache", env("NARRATOR_AUDIO_CACHE", "nats"), "where chunk audio is kept: nats (the NATS object store), or storage (the S3 bucket, or the data directory) with only its index in NATS (env NARRATOR_AUDIO_CACHE)")
	fs.StringVar(&s.AudioCacheBucket, "audio-cache-bucket", env("NARRATOR_AUDIO_CACHE_BUCKET", ""), "S3 bucket of the chunk audio with --audio-cache storage; default S3_BUCKET, and without S3 the data directory (env NARRATOR_AUDIO_CACHE_BUCKET)")
	fs.DurationVar(&s.AudioCacheTTL, "audio-cache-ttl", envDuration("NARRATOR_AUDIO_CACHE_TTL", 90*24*time.Hour), "chunk audio unused this long is evicted (env NARRATOR_AUDIO_CACHE_TTL)")
	fs.StringVar(&s.AudioCacheMax, "audio-cache-max", env("NARRATOR_AUDIO_CACHE_MAX", ""), "with --audio-cache storage, evict the least recently used chunk audio beyond this size, e.g. 500GB; empty: no cap (env NARRATOR_AUDIO_CACHE_MAX)")
	s.pub.publicationFlags(fs)
	s.C2PA.flags(fs)
	withEnvHelp(fs, stdio{Err: fs.Output()}, secretsHelp)
}

func (s *settings) logger(w *os.File) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.LogLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", s.LogLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch s.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", s.LogFormat)}
}

// connect makes the command's logger, on stderr, and opens the queue with
// it: what a command that only talks to NATS starts with.
func (s *settings) connect(ctx context.Context) (*slog.Logger, *queue.Queue, error) {
	log, err := s.logger(os.Stderr)
	if err != nil {
		return nil, nil, err
	}
	q, err := s.openQueue(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	return log, q, nil
}

// openQueue connects to NATS, waiting for it as long as ctx allows.
func (s *settings) openQueue(ctx context.Context, log *slog.Logger) (*queue.Queue, error) {
	return queue.Open(ctx, queue.Config{
		URL:            s.NATSURL,
		DataDir:        s.DataDir,
		AudioTTL:       s.AudioCacheTTL,
		WorkTTL:        s.WorkTTL,
		Listen:         s.NATSListen,
		Replicas:       s.Replicas,
		AckWait:        s.AckWait,
		MaxDeliver:     s.MaxDeliver,
		RequestTimeout: s.NATSTimeout,
		RetryFor:       s.NATSRetry,
		Logger:         log,
	})
}

// DefaultHTTPAddr is where narrator serve listens unless told otherwise.
const DefaultHTTPAddr = "127.0.0.1:8080"

// publicURL is where listeners reach narrator serve: --public-url, else
// the HTTP address serve listens at (NARRATOR_HTTP_ADDR), so that a serve
// moved to another port publishes URLs that work. An address that listens
// on every interface is reached at 127.0.0.1.
func (s *settings) publicURL() string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	return httpBase(env("NARRATOR_HTTP_ADDR", DefaultHTTPAddr))
}

// httpBase is the URL of an HTTP listen address.
func httpBase(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// chunkAudio is where chunk audio is kept (--audio-cache).
func (s *settings) chunkAudio(ctx context.Context, q *queue.Queue) (pipeline.ChunkAudio, error) {
	switch s.AudioCache {
	case "", "nats":
		return pipeline.AudioCache(q), nil
	case "storage":
	default:
		return nil, usageError{fmt.Sprintf("--audio-cache %q: want nats or storage", s.AudioCache)}
	}
	max, err := parseBytes(s.AudioCacheMax)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--audio-cache-max %q: %v", s.AudioCacheMax, err)}
	}
	var st storage.Store
	if bucket := cmp.Or(s.AudioCacheBucket, s.S3Bucket); bucket != "" {
		st, err = s.openS3(ctx, bucket)
	} else {
		// Not under media/, which narrator serve publishes.
		st, err = storage.NewFS(filepath.Join(s.DataDir, "audio-cache"), "http://127.0.0.1/not-served")
	}
	if err != nil {
		return nil, err
	}
	return pipeline.NewStoreAudio(ctx, q, st, pipeline.AudioStoreConfig{MaxAge: s.AudioCacheTTL, MaxBytes: max})
}

// parseBytes reads a size: a number of bytes, or one with a unit, decimal
// (500GB, 2T) or binary (512GiB).
func parseBytes(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	num := strings.TrimRightFunc(v, unicode.IsLetter)
	unit := strings.ToUpper(strings.TrimSpace(v[len(num):]))
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size such as 500GB or 512GiB")
	}
	mult := map[string]float64{"": 1, "B": 1, "K": 1e3, "KB": 1e3, "M": 1e6, "MB": 1e6, "G": 1e9, "GB": 1e9, "T": 1e12, "TB": 1e12,
		"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB", unit)
	}
	return int64(n * mult), nil
}

// mediaDir is where the embedded default keeps published files.
func (s *settings) mediaDir() string { return filepath.Join(s.DataDir, "media") }

func (s *settings) openStore(ctx context.Context) (storage.Store, error) {
	if s.S3Bucket == "" {
		return storage.NewFS(s.mediaDir(), strings.TrimRight(s.publicURL(), "/")+"/media")
	}
	return s.openS3(ctx, s.S3Bucket)
}

// openS3 opens a bucket of the S3 server the settings name, and checks it
// answers.
func (s *settings) openS3(ctx context.Context, bucket string) (*storage.S3, error) {
	access, err := readSecretEnv(os.Getenv, "S3_ACCESS_KEY_ID")
	if err != nil {
		return nil, err
	}
	key, err := readSecretEnv(os.Getenv, "S3_SECRET_ACCESS_KEY")
	if err != nil {
		return nil, err
	}
	st, err := storage.NewS3(ctx, storage.S3Config{
		Bucket: bucket, Endpoint: s.S3Endpoint, Region: s.S3Region, Prefix: s.S3Prefix,
		PublicURL: s.S3PublicURL, PathStyle: s.S3PathStyle, Checksum: s.S3Checksum,
		AccessKeyID: access, SecretAccessKey: key,
	})
	if err != nil {
		return nil, err
	}
	if err := st.Check(ctx); err != nil {
		return nil, err
	}
	return st, nil
}

// options are the narration options jobs submitted by this process get.
// Model, voice, speed and instructions are the provider's defaults instead,
// so that a publication's own choices (--publications) win over them.
func (s *settings) options() queue.Options {
	return queue.Options{Provider: s.Engine}
}

// publications reads the publications' voices from a JSON file:
// {"daily": {"voice": "nova", "model": "tts-1-hd", "speed": 1.05, "instructions": "..."}}.
func (s *settings) publications() (map[string]pipeline.Voice, error) {
	if s.PubFile == "" {
		return nil, nil
	}
	data, err := os.ReadFile(s.PubFile)
	if err != nil {
		return nil, fmt.Errorf("--publications: %w", err)
	}
	var pubs map[string]pipeline.Voice
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pubs); err != nil {
		return nil, fmt.Errorf("--publications %s: want {\"publication\": {\"voice\": ..., \"model\": ..., \"speed\": ..., \"instructions\": ..., \"listen\": ...}}: %w", s.PubFile, err)
	}
	for name, v := range pubs {
		p, err := synth.ParseListenPolicy(v.Listen)
		if err != nil {
			return nil, fmt.Errorf("--publications %s: %s: %w", s.PubFile, name, err)
		}
		v.Listen = string(p)
		pubs[name] = v
	}
	return pubs, nil
}

// listening builds the listening check: a listener when --listen or any
// publication turns it on.
//
// Recognition requests take from the synthesis limiter lim when they go
// to the same account: the openai engine, the same base URL and the same
// key (OpenAI counts both against the account's rate limit). A listener
// of another account or server is not paced by another's budget.
func (s *settings) listening(pubs map[string]pipeline.Voice, lim synth.Limiter) (synth.Listening, error) {
	policy, err := synth.ParseListenPolicy(s.Listen)
	if err != nil {
		return synth.Listening{}, usageError{"--listen: " + err.Error()}
	}
	l := synth.Listening{Policy: cmp.Or(policy, synth.ListenOff), MaxWER: s.ListenMaxWER}
	on := l.Policy != synth.ListenOff
	for _, v := range pubs {
		on = on || (v.Listen != "" && v.Listen != string(synth.ListenOff))
	}
	if !on || s.Engine == "local" { // espeak-ng reads what it is given
		return l, nil
	}
	key, err := readSecretEnv(os.Getenv, "LISTEN_API_KEY")
	if err != nil {
		return l, err
	}
	synthKey, err := readSecretEnv(os.Getenv, "OPENAI_API_KEY")
	if err != nil {
		return l, err
	}
	key = cmp.Or(key, synthKey)
	url := cmp.Or(s.ListenURL, s.OpenAIURL)
	listener, err := synth.NewOpenAIListener(synth.ListenConfig{APIKey: key, BaseURL: url, Model: s.ListenModel})
	if err != nil {
		return l, usageError{err.Error()}
	}
	l.Listener = listener
	if s.Engine == "openai" && key == synthKey && strings.TrimRight(url, "/") == strings.TrimRight(s.OpenAIURL, "/") {
		l.Limiter = lim
	}
	return l, nil
}

// provider builds the speech provider named by --engine.
func (s *settings) provider(ctx context.Context) (synth.Provider, error) {
	switch s.Engine {
	case "local":
		return synth.NewLocal(ctx, synth.LocalConfig{})
	case "openai":
		key, err := readSecretEnv(os.Getenv, "OPENAI_API_KEY")
		if err != nil {
			return nil, err
		}
		if key == "" && s.OpenAIURL == "" {
			return nil, errors.New("the openai engine needs OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server)")
		}
		return synth.NewOpenAI(synth.OpenAIConfig{APIKey: key, BaseURL: s.OpenAIURL, Model: s.Model, Voice: s.Voice, Speed: s.Speed, Instructions: s.Instructions})
	case "polly":
		return synth.NewPolly(ctx, synth.PollyConfig{
			Region:   env("AWS_REGION", ""),
			Endpoint: s.PollyURL,
			Engine:   s.Model,
			Voice:    s.Voice,
			Lexicons: splitList(s.PollyLex),
		})
	}
	return nil, usageError{fmt.Sprintf("--engine %q: want local, openai or polly", s.Engine)}
}

// guard is the fetch guard: public addresses, and those allow-listed.
func (s *settings) guard() (*ingest.Guard, error) {
	g, err := ingest.NewGuard(ingest.GuardConfig{Allow: splitList(s.FetchAllow)})
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return g, nil
}

// pipeline builds the pipeline with what the named stages need, so that a
// worker of one stage needs no other stage's tools or credentials.
func (s *settings) pipeline(ctx context.Context, q *queue.Queue, log *slog.Logger, stages []string) (*pipeline.Pipeline, error) {
	deps := pipeline.Deps{Queue: q, Logger: log}
	ed, err := loadEditorsEnv(os.Getenv, s.options())
	if err != nil {
		return nil, err
	}
	if len(ed.Webhook.URLs) > 0 {
		if deps.Webhooks, err = webhook.New(ed.Webhook); err != nil {
			return nil, err
		}
	}
	if slices.Contains(stages, pipeline.StagePublish) || slices.Contains(stages, pipeline.StageFeed) {
		st, err := s.openStore(ctx)
		if err != nil {
			return nil, err
		}
		if deps.Publisher, _, err = s.publisher(ctx, q, st, log); err != nil {
			return nil, err
		}
	}
	if slices.Contains(stages, pipeline.StageClean) {
		guard, err := s.guard()
		if err != nil {
			return nil, err
		}
		deps.Fetcher = ingest.New(ingest.Config{Guard: guard})
		if deps.Cleaner, err = clean.New(clean.Config{}); err != nil {
			return nil, err
		}
	}
	pubs, err := s.publications()
	if err != nil {
		return nil, err
	}
	policy, err := synth.ParseListenPolicy(s.Listen)
	if err != nil {
		return nil, usageError{"--listen: " + err.Error()}
	}
	cfg := pipeline.Config{
		Listen:       string(policy),
		NoTextHash:   !s.C2PA.TextHash,
		Publications: pubs,
		TargetChars:  s.ChunkTarget,
		FirstChars:   cmp.Or(s.ChunkFirst, -1),
		ListenURL:    strings.TrimRight(s.PublicURL, "/") + api.ListenPath,
		LoudnessMode: s.Loudness,
		JobMaxChars:  s.JobMaxChars,
		DailyChars:   s.DailyChars,
		Concurrency:  map[string]int{pipeline.StageSynth: s.SynthWorkers},
	}
	if slices.Contains(stages, pipeline.StageSynth) {
		prov, err := s.provider(ctx)
		if err != nil {
			return nil, err
		}
		// One budget per provider and model, shared by every worker of the
		// cluster through NATS.
		var lim synth.Limiter
		if s.RPM > 0 || s.CPM > 0 {
			model := s.Model
			if model == "" && len(prov.Limits().Models) > 0 {
				model = prov.Limits().Models[0]
			}
			// A compatible server lists no models: the provider's default
			// names the budget then.
			model = cmp.Or(model, synth.DefaultModel(prov.Name()), "default")
			if lim, err = q.RateLimiter(ctx, prov.Name()+"."+model, queue.RateConfig{TokenBucketConfig: synth.TokenBucketConfig{RPM: s.RPM, CharsPerMinute: s.CPM, Burst: s.RateBurst}}); err != nil {
				return nil, err
			}
		}
		if deps.Audio, err = s.chunkAudio(ctx, q); err != nil {
			return nil, err
		}
		listen, err := s.listening(pubs, lim)
		if err != nil {
			return nil, err
		}
		sy, err := pipeline.NewSynthesizer(deps.Audio, prov, cfg, synth.Config{Logger: log, Limiter: lim, Listen: listen})
		if err != nil {
			return nil, usageError{err.Error()}
		}
		deps.Synths = map[string]*synth.Synthesizer{prov.Name(): sy}
	}
	if slices.Contains(stages, pipeline.StageStitch) {
		if deps.Signer, err = s.signer(log); err != nil {
			return nil, err
		}
	}
	// The stitch stage reads chunk audio, and so does the live stream
	// any narrator serve answers (GET /listen/{id}), whatever its stages.
	if deps.Audio == nil {
		if deps.Audio, err = s.chunkAudio(ctx, q); err != nil {
			return nil, err
		}
	}
	return pipeline.New(deps, cfg)
}
