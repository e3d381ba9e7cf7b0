// Package api is narrator's HTTP surface for editors: a JSON API to
// submit, follow, re-narrate and unpublish narrations and to edit
// pronunciation lexicons; the CMS webhook that narrates on publish; a
// server-rendered dashboard over the same operations; and the live stream
// of a narration in progress. Listener-facing routes (player, media,
// feeds) live elsewhere and stay public, as the live stream does;
// everything else here needs an API token, or for the CMS webhook a
// signature.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/ingest"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/pipeline"
)

// Prefixes are the path prefixes the handler serves, for mounting it on a
// mux beside the listener routes.
var Prefixes = []string{"/api/", "/hooks/", "/dashboard/", ListenPath}

// Deps are what the handlers use.
type Deps struct {
	Pipeline *pipeline.Pipeline
	// Queue defaults to the pipeline's.
	Queue *queue.Queue
	// Lexicons defaults to the pipeline's store in NATS.
	Lexicons lexicon.Store
	// Guard, when set, vets URLs as they are submitted, so that a URL the
	// clean stage would refuse is refused at once with a 400.
	Guard *ingest.Guard
	// Backfills, when set, runs backfills started from the API and the
	// dashboard; nil: those routes answer 503.
	Backfills *backfill.Manager
	Logger    *slog.Logger
}

// Config tunes the API.
type Config struct {
	// Tokens are the API tokens accepted (NARRATOR_API_TOKENS); with none,
	// every route that needs a token is refused.
	Tokens []Token
	// CMSSecret keys the CMS webhook's signatures (NARRATOR_CMS_SECRET);
	// empty turns the webhook off.
	CMSSecret string
	// Options are the narration options of submitted jobs; a request may
	// override voice, model, speed, language and the article's metadata.
	Options queue.Options
	// Providers are the speech providers whose usage the dashboard shows
	// (default: Options.Provider).
	Providers []string
	// Prices are US dollars per million billed characters, by provider,
	// for cost estimates (NARRATOR_PRICES="openai:15,polly:16").
	Prices map[string]float64
	// ListenPrice is US dollars a minute of audio heard by the listening
	// check (NARRATOR_PRICES="listen:0.006"; by default OpenAI's price of
	// LISTEN_MODEL); 0: unpriced. Recognition is counted in seconds,
	// beside the characters, never in them.
	ListenPrice float64
	// MaxBody caps request bodies carrying an article (default 5 MiB);
	// other bodies are capped at 64 KiB.
	MaxBody int64
	// HookTolerance is how old a CMS webhook's timestamp may be (default 5m).
	HookTolerance time.Duration
	// StreamsPerToken caps the event streams one token may hold open on
	// this server at once (NARRATOR_STREAMS_PER_TOKEN, default 20).
	StreamsPerToken int
	// HookMaxBody caps a CMS webhook's body (NARRATOR_CMS_MAX_BODY,
	// default DefaultHookMaxBody).
	HookMaxBody int64
	// PlayerPath, when set ("/player/"), is where the listeners' player
	// serves an article; the dashboard's preview embeds it.
	PlayerPath string
	// SessionLifetime is how long a dashboard sign-in lasts
	// (NARRATOR_SESSION_LIFETIME, default 12h, at most 30 days).
	SessionLifetime time.Duration
	// SignInLimit is how many failed sign-ins an address may make in a
	// SignInWindow before it must wait for the next (NARRATOR_SIGNIN_LIMIT,
	// default 10); negative counts none. Every API server shares the count.
	SignInLimit int
	// ClientIPHeader names the header a reverse proxy puts the client's
	// address in (NARRATOR_CLIENT_IP_HEADER: X-Forwarded-For, X-Real-IP),
	// for counting failed sign-ins per client rather than per proxy. Set
	// it only behind a proxy that sets it: clients can send it too.
	ClientIPHeader string
	// SecureCookies marks the login cookie Secure even on plain-HTTP
	// requests, for a server behind a TLS-terminating proxy. HTTPS
	// requests always get Secure cookies.
	SecureCookies bool
	// MaxListeners bounds the live streams of narrations in progress this
	// server sends at once (NARRATOR_MAX_LISTENERS, default
	// DefaultMaxListeners); one more is answered 503 with Retry-After.
	MaxListeners int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.MaxBody == 0 {
		c.MaxBody = 5 << 20
	}
	if c.HookTolerance == 0 {
		c.HookTolerance = 5 * time.Minute
	}
	if c.HookMaxBody == 0 {
		c.HookMaxBody = DefaultHookMaxBody
	}
	if c.StreamsPerToken == 0 {
		c.StreamsPerToken = 20
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.SignInLimit == 0 {
		c.SignInLimit = 10
	}
	if len(c.Providers) == 0 && c.Options.Provider != "" {
		c.Providers = []string{c.Options.Provider}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxListeners == 0 {
		c.MaxListeners = DefaultMaxListeners
	}
}

// DefaultHookMaxBody is the CMS webhook's default body limit. Ghost sends
// a post's HTML, Lexical document and plain text, and on an update their
// previous versions too: about 1.1 MB for a 15,000-word article. 2 MiB
// leaves room for that, while an unsigned sender, refused after the body,
// can hold no more than that per request.
const DefaultHookMaxBody = 2 << 20

// MaxHookMaxBody is the most NARRATOR_CMS_MAX_BODY may be.
const MaxHookMaxBody = 64 << 20

// MinSecretLen is the shortest CMS secret accepted.
const MinSecretLen = 16

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	if c.Options.Provider == "" {
		errs = append(errs, errors.New("api: no speech provider for submitted narrations (set the engine)"))
	}
	if c.HookTolerance < 0 || 2*c.HookTolerance > queue.SeenTTL {
		// A signature must be remembered while its timestamp still passes.
		errs = append(errs, fmt.Errorf("api: the CMS webhook's timestamp tolerance must be at most %s, got %s", queue.SeenTTL/2, c.HookTolerance))
	}
	if c.CMSSecret != "" && len(c.CMSSecret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("api: NARRATOR_CMS_SECRET must be at least %d characters (generate one with: openssl rand -hex 32)", MinSecretLen))
	}
	seen := map[string]bool{}
	for _, t := range c.Tokens {
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("api: two API tokens are named %q; names must be unique", t.Name))
		}
		seen[t.Name] = true
	}
	for p, usd := range c.Prices {
		if usd < 0 {
			errs = append(errs, fmt.Errorf("api: price of %s is negative", p))
		}
	}
	if c.ListenPrice < 0 {
		errs = append(errs, errors.New("api: the listening check's price is negative"))
	}
	if c.MaxListeners < 0 {
		errs = append(errs, fmt.Errorf("api: the most live streams at once must be positive, got %d", c.MaxListeners))
	}
	if c.MaxBody != 0 && c.MaxBody < 1024 { // 0: the default
		errs = append(errs, fmt.Errorf("api: body limit of %d bytes is too small for an article", c.MaxBody))
	}
	if c.SessionLifetime < 0 || c.SessionLifetime > queue.MaxSessionTTL || (c.SessionLifetime > 0 && c.SessionLifetime < time.Minute) {
		errs = append(errs, fmt.Errorf("api: NARRATOR_SESSION_LIFETIME is %s; want 1m to %s", c.SessionLifetime, queue.MaxSessionTTL))
	}
	if c.StreamsPerToken < 0 {
		errs = append(errs, fmt.Errorf("api: NARRATOR_STREAMS_PER_TOKEN is %d; want at least 1", c.StreamsPerToken))
	}
	if c.HookMaxBody != 0 && c.HookMaxBody < 1024 {
		errs = append(errs, fmt.Errorf("api: NARRATOR_CMS_MAX_BODY of %d bytes is too small for a CMS post", c.HookMaxBody))
	}
	if c.HookMaxBody > MaxHookMaxBody {
		errs = append(errs, fmt.Errorf("api: NARRATOR_CMS_MAX_BODY of %d bytes is over %d MiB: every request may make a server hold that much before its signature is checked", c.HookMaxBody, MaxHookMaxBody>>20))
	}
	if c.PlayerPath != "" && (c.PlayerPath[0] != '/' || c.PlayerPath[len(c.PlayerPath)-1] != '/') {
		errs = append(errs, fmt.Errorf("api: player path %q must start and end with /", c.PlayerPath))
	}
	return errors.Join(errs...)
}

// Server is the editors' HTTP handler.
type Server struct {
	cfg   Config
	p     *pipeline.Pipeline
	q     *queue.Queue
	lex   lexicon.Store
	guard *ingest.Guard
	bf    *backfill.Manager
	log   *slog.Logger
	auth  *authenticator
	pages *pages
	mux   *http.ServeMux

	streams openStreams
	// listeners holds a place per live stream being sent.
	listeners chan struct{}
}

// New returns the handler. It panics if a dashboard template is missing,
// which is a build error, not a configuration one.
func New(deps Deps, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Pipeline == nil {
		return nil, errors.New("api: no pipeline")
	}
	if deps.Queue == nil {
		deps.Queue = deps.Pipeline.Queue
	}
	if deps.Lexicons == nil {
		deps.Lexicons = pipeline.Lexicons(deps.Queue)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	s := &Server{
		cfg:   cfg,
		p:     deps.Pipeline,
		q:     deps.Queue,
		lex:   deps.Lexicons,
		guard: deps.Guard,
		bf:    deps.Backfills,
		log:   deps.Logger,
		auth:  newAuthenticator(cfg.Tokens),
		pages: loadPages(),
		mux:   http.NewServeMux(),

		listeners: make(chan struct{}, cfg.MaxListeners),
	}
	s.routes()
	return s, nil
}

// ServeHTTP serves the API, the CMS webhook and the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) routes() {
	m := s.mux
	read, edit := s.require(ScopeRead), s.require(ScopeEditor)

	m.Handle("GET /api/narrations", read(s.listNarrations))
	m.Handle("POST /api/narrations", edit(s.createNarration))
	m.Handle("GET /api/narrations/{id}", read(s.getNarration))
	m.Handle("DELETE /api/narrations/{id}", edit(s.deleteNarration))
	m.Handle("POST /api/narrations/{id}/renarrate", edit(s.renarrate))
	m.Handle("GET /api/narrations/{id}/events", read(s.narrationEvents))
	m.Handle("GET /api/narrations/{id}/unknown-words", read(s.unknownWords))
	m.Handle("GET /api/narrations/{id}/heard", read(s.getHeard))
	m.Handle("GET /api/events", read(s.allEvents))
	m.Handle("GET /api/usage", read(s.getUsage))
	m.Handle("GET /api/lexicon", read(s.getLexicon))
	m.Handle("POST /api/lexicon", edit(s.addLexiconEntry))
	m.Handle("PUT /api/lexicon/{word}", edit(s.putLexiconEntry))
	m.Handle("DELETE /api/lexicon/{word}", edit(s.deleteLexiconEntry))
	m.Handle("GET /api/feeds/{publication}", read(s.getFeed))
	m.Handle("PUT /api/feeds/{publication}", edit(s.putFeed))
	m.Handle("GET /api/feeds/{publication}/health", read(s.feedHealth))

	m.HandleFunc("POST /hooks/cms", s.cmsHook)
	s.backfillRoutes()
	m.HandleFunc("GET "+ListenPath+"{id}", s.listen)

	s.dashboardRoutes()
}
