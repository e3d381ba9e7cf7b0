package player

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/narrator-project/narrator/services/publish"
)

func (p *Player) live(ctx context.Context, key string) (Live, bool) {
	if p.cfg.Live == nil || publish.ValidKey(key) != nil {
		return Live{}, false
	}
	return p.cfg.Live(ctx, key)
}

// serveLive serves the page of a narration still being made: it plays the
// live stream from the start, says the narration is still being made,
// with the AI label as always, and its script looks for the published
// page every few seconds to switch to it without stopping playback.
func (p *Player) serveLive(w http.ResponseWriter, r *http.Request, key string, l Live) {
	title := l.Title
	if title == "" {
		title = key
	}
	var b bytes.Buffer
	d := pageData{
		Live: true, Lang: l.Language, Title: title, Disclosure: p.cfg.Disclosure, AudioURL: l.StreamURL,
		CSS: "assets/" + p.css.name, JS: "assets/" + p.js.name,
	}
	d.CSP = p.liveCSP(l, false)
	if err := page.Execute(&b, d); err != nil {
		p.cfg.Logger.Error("player: render live page", "key", key, "error", err)
		http.Error(w, "The narration cannot be shown.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.liveCSP(l, true))
	h.Set("Cache-Control", "no-store") // the published page replaces it soon
	securityHeaders(h)
	w.Write(b.Bytes())
}

// liveCSP is the policy of a live page: audio from the stream and from
// where the published file will be, and the page's own origin to look for
// the published page.
func (p *Player) liveCSP(l Live, header bool) string {
	m := &publish.Manifest{}
	m.Files.Audio.URL = l.StreamURL
	v := p.csp(m, header)
	if o := origin(p.store.URL("x")); o != "" {
		v = strings.Replace(v, "media-src ", "media-src "+o+" ", 1)
	}
	return strings.Replace(v, "connect-src 'none'", "connect-src 'self'", 1)
}
