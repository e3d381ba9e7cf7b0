// Package player is the embeddable narration player and the listeners'
// HTTP routes: the player page of each narration (built from its manifest,
// served by narrator serve or published as static files next to the
// audio), the one-line embed script, and the podcast feeds. The page is
// self-contained: its script and style come from this package, it loads
// nothing from third parties, sets no cookies, and always shows the AI
// disclosure.
package player

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"strings"
	"sync"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/storage"
)

//go:embed assets
var assetFS embed.FS

// page is parsed at start-up: a broken template stops the program, not a
// listener's request.
var page = template.Must(template.ParseFS(assetFS, "assets/page.html"))

// Config configures the player.
type Config struct {
	// Prefix is where narrations are published (publish.Config.Prefix).
	// Default "narrations".
	Prefix string
	// Disclosure is the label every page shows. Default, and whenever
	// the text is blank, stitch.DefaultDisclosure: "This audio is created
	// with AI assistance".
	Disclosure string
	// Download offers a link to download the MP3.
	Download bool
	// Live, when set, finds a narration still being made under a key
	// that has no published page yet; its page then plays the live
	// stream and switches to the published file once it is there.
	Live func(ctx context.Context, key string) (Live, bool)
	// Logger reports storage errors. Default slog.Default().
	Logger *slog.Logger
}

// Live is a narration in progress, as its live page shows it.
type Live struct {
	Title     string
	Language  string // the article's, for the page's lang
	StreamURL string // GET /listen/{id}
}

func (c *Config) setDefaults() {
	c.Prefix = strings.Trim(strings.TrimSpace(c.Prefix), "/")
	if c.Prefix == "" {
		c.Prefix = publish.DefaultPrefix
	}
	c.Disclosure = strings.Join(strings.Fields(c.Disclosure), " ")
	if c.Disclosure == "" {
		c.Disclosure = stitch.DefaultDisclosure
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	for seg := range strings.SplitSeq(c.Prefix, "/") {
		if publish.ValidKey(seg) != nil {
			return fmt.Errorf("player: config: prefix %q must be a path of [A-Za-z0-9_-] segments", c.Prefix)
		}
	}
	return nil
}

// asset is a file of the player served under a name that carries its hash,
// so browsers and CDNs may cache it for good.
type asset struct {
	name, contentType string
	body              []byte
}

// Player renders and serves player pages from the manifests in a store,
// and publishes them as static files. It is safe for concurrent use.
type Player struct {
	store  storage.Store
	cfg    Config
	js     asset
	css    asset
	embed  asset
	assets map[string]asset // by name

	mu        sync.Mutex
	published bool // the shared static files are in the store
}

// New returns a player reading manifests from store.
func New(store storage.Store, cfg Config) (*Player, error) {
	if store == nil {
		return nil, errors.New("player: no store")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Player{store: store, cfg: cfg, assets: map[string]asset{}}
	for _, a := range []struct {
		dst        *asset
		file, kind string
		hashed     bool
	}{
		{&p.js, "player.js", "text/javascript; charset=utf-8", true},
		{&p.css, "player.css", "text/css; charset=utf-8", true},
		{&p.embed, "embed.js", "text/javascript; charset=utf-8", false},
	} {
		b, err := assetFS.ReadFile("assets/" + a.file)
		if err != nil {
			panic("player: embedded asset missing: " + a.file)
		}
		name := a.file
		if a.hashed {
			sum := sha256.Sum256(b)
			base, ext, _ := strings.Cut(a.file, ".")
			name = base + "." + hex.EncodeToString(sum[:5]) + "." + ext
			p.assets[name] = asset{name, a.kind, b}
		}
		*a.dst = asset{name, a.kind, b}
	}
	return p, nil
}

// Disclosure returns the label the pages show.
func (p *Player) Disclosure() string { return p.cfg.Disclosure }
