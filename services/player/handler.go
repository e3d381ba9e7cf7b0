package player

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/storage"
)

// Handler returns the listeners' routes on a mux of their own; Register
// adds them to an existing one.
func (p *Player) Handler() http.Handler {
	mux := http.NewServeMux()
	p.Register(mux)
	return mux
}

// Register adds the public routes to mux:
//
//	GET /player/{key}           the player page ({key}.html works too)
//	GET /player/embed.js        the one-line embed script
//	GET /player/assets/{file}   the page's script and style
//	GET /feed.xml               the publication's feed
//	GET /feeds/section/{name}   a section's feed (name ends in .xml)
//	GET /feeds/author/{name}    an author's feed
//	GET /feeds/publication/{name}  a named publication's feed
//
// GET patterns answer HEAD too. Feeds are served from storage with their
// stored headers, byte ranges and conditional requests.
func (p *Player) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /player/{key}", p.servePage)
	mux.HandleFunc("GET /player/embed.js", p.serveEmbed)
	mux.HandleFunc("GET /player/assets/{file}", p.serveAsset)
	mux.HandleFunc("GET /feed.xml", func(w http.ResponseWriter, r *http.Request) { p.serveFeed(w, r, publish.FeedKey) })
	mux.HandleFunc("GET /feeds/section/{name}", func(w http.ResponseWriter, r *http.Request) {
		p.serveFeed(w, r, publish.SectionFeeds+r.PathValue("name"))
	})
	mux.HandleFunc("GET /feeds/author/{name}", func(w http.ResponseWriter, r *http.Request) {
		p.serveFeed(w, r, publish.AuthorFeeds+r.PathValue("name"))
	})
	mux.HandleFunc("GET /feeds/publication/{name}", func(w http.ResponseWriter, r *http.Request) {
		p.serveFeed(w, r, publish.PublicationFeeds+r.PathValue("name"))
	})
}

// started is the modification time of the assets built into the binary.
var started = time.Now()

func (p *Player) servePage(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSuffix(r.PathValue("key"), ".html")
	m, obj, err := publish.LoadManifest(r.Context(), p.store, p.cfg.Prefix, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		if live, ok := p.live(r.Context(), key); ok {
			p.serveLive(w, r, key, live)
			return
		}
		notFound(w, "No narration is published under this name.")
		return
	case err != nil:
		p.cfg.Logger.Error("player: read manifest", "key", key, "error", err)
		http.Error(w, "The narration cannot be read right now.", http.StatusServiceUnavailable)
		return
	}
	body, err := p.render(m, "assets/")
	if err != nil {
		p.cfg.Logger.Error("player: render", "key", key, "error", err)
		http.Error(w, "The narration cannot be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp(m, true))
	h.Set("Cache-Control", publish.CacheManifest)
	h.Set("ETag", etag(body))
	securityHeaders(h)
	http.ServeContent(w, r, "", obj.Modified, bytes.NewReader(body))
}

func (p *Player) serveEmbed(w http.ResponseWriter, r *http.Request) {
	p.serveBytes(w, r, p.embed, "public, max-age=300")
}

func (p *Player) serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := p.assets[r.PathValue("file")]
	if !ok {
		notFound(w, "No such file.")
		return
	}
	p.serveBytes(w, r, a, publish.CacheImmutable)
}

func (p *Player) serveBytes(w http.ResponseWriter, r *http.Request, a asset, cache string) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", cache)
	h.Set("ETag", etag(a.body))
	// Any page may load the embed script and the player's files.
	h.Set("Access-Control-Allow-Origin", "*")
	securityHeaders(h)
	http.ServeContent(w, r, "", started, bytes.NewReader(a.body))
}

// maxFeed bounds a feed read into memory to serve it: a feed of a few
// hundred items is a few hundred kilobytes.
const maxFeed = 64 << 20

func (p *Player) serveFeed(w http.ResponseWriter, r *http.Request, key string) {
	if !strings.HasSuffix(key, ".xml") || storage.ValidKey(key) != nil || strings.Count(key, "/") > 2 {
		notFound(w, "No such feed.")
		return
	}
	rc, obj, err := p.store.Get(r.Context(), key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		notFound(w, "No such feed.")
		return
	case err != nil:
		p.cfg.Logger.Error("player: read feed", "key", key, "error", err)
		http.Error(w, "The feed cannot be read right now.", http.StatusServiceUnavailable)
		return
	}
	defer rc.Close()
	body, err := io.ReadAll(io.LimitReader(rc, maxFeed+1))
	if err != nil || len(body) > maxFeed {
		p.cfg.Logger.Error("player: read feed", "key", key, "bytes", len(body), "error", err)
		http.Error(w, "The feed cannot be read right now.", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("Content-Type", obj.Meta.ContentType)
	if obj.Meta.CacheControl != "" {
		h.Set("Cache-Control", obj.Meta.CacheControl)
	}
	if obj.ETag != "" {
		h.Set("ETag", obj.ETag)
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", obj.Modified, bytes.NewReader(body))
}

func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
}

func notFound(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	http.Error(w, msg, http.StatusNotFound)
}

func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:12]) + `"`
}
