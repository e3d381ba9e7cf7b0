package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
)

func (s *Server) dashboardRoutes() {
	m := s.mux
	// Forms are checked twice: the browser's Sec-Fetch-Site and Origin
	// headers must say same-origin, and the form must carry the session's
	// CSRF token.
	cop := http.NewCrossOriginProtection()
	post := func(scope Scope, h func(http.ResponseWriter, *http.Request, session)) http.Handler {
		return cop.Handler(s.page(scope, h))
	}
	m.Handle("GET /dashboard/{$}", s.page(ScopeRead, s.listPage))
	m.Handle("GET /dashboard/narrations/{id}", s.page(ScopeRead, s.narrationPage))
	m.Handle("GET /dashboard/lexicon", s.page(ScopeRead, s.lexiconPage))
	m.Handle("GET /dashboard/feeds", s.page(ScopeRead, s.feedsPage))
	m.Handle("POST /dashboard/feeds", post(ScopeEditor, s.feedsForm))
	m.Handle("GET /dashboard/backfills", s.page(ScopeRead, s.backfillsPage))
	m.Handle("POST /dashboard/backfills", post(ScopeEditor, s.backfillForm))
	m.Handle("POST /dashboard/backfills/{name}/stop", post(ScopeEditor, s.backfillStopForm))
	m.Handle("POST /dashboard/backfills/{name}/resume", post(ScopeEditor, s.backfillResumeForm))
	m.HandleFunc("GET /dashboard/login", s.loginPage)
	m.Handle("POST /dashboard/login", cop.Handler(http.HandlerFunc(s.login)))
	m.Handle("POST /dashboard/logout", post(ScopeRead, s.logout))
	m.Handle("POST /dashboard/narrate", post(ScopeEditor, s.narrateForm))
	m.Handle("POST /dashboard/narrations/{id}/renarrate", post(ScopeEditor, s.renarrateForm))
	m.Handle("POST /dashboard/narrations/{id}/unpublish", post(ScopeEditor, s.unpublishForm))
	m.Handle("POST /dashboard/lexicon", post(ScopeEditor, s.lexiconForm))
	m.Handle("POST /dashboard/lexicon/delete", post(ScopeEditor, s.lexiconDeleteForm))
	m.Handle("GET /dashboard/static/", http.StripPrefix("/dashboard/", staticHandler()))
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Nonce   string // of this response's scripts
	CSRF    string
	Session *session
	Error   string // shown above the content
	Page    string // names the page for the script
	Data    any
}

// CanEdit reports whether the page's viewer may change things.
func (d pageData) CanEdit() bool { return d.Session != nil && d.Session.can(ScopeEditor) }

// render writes a page with a Content-Security-Policy that lets in only
// this response's nonce'd scripts, the dashboard's own styles, and media
// from the origins given (where published audio lives).
func (s *Server) render(w http.ResponseWriter, status int, name string, d pageData, mediaOrigins ...string) {
	nonce := make([]byte, 18)
	rand.Read(nonce)
	d.Nonce = base64.RawURLEncoding.EncodeToString(nonce) // no characters HTML would escape
	if d.Session != nil {
		d.CSRF = d.Session.csrf()
	}
	d.Page = name
	media := "'self'"
	for _, o := range mediaOrigins {
		media += " " + o
	}
	h := w.Header()
	h.Set("Content-Security-Policy", fmt.Sprintf("default-src 'none'; script-src 'nonce-%s'; style-src 'self'; img-src 'self' data:; "+
		"media-src %s; frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'", d.Nonce, media))
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if err := s.pages.render(w, status, name, d); err != nil {
		s.log.Error("render page", "page", name, "err", err)
	}
}

// page wraps a dashboard handler: the cookie must name a live session of
// a token of the scope, and a POST must carry the session's CSRF token.
func (s *Server) page(scope Scope, h func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok, err := s.cookieSession(r)
		if err != nil {
			s.log.Warn("dashboard session lookup failed", "err", err)
			w.Header().Set("Retry-After", retryAfter)
			s.render(w, http.StatusServiceUnavailable, "error", pageData{Title: "Unavailable", Error: "Your session cannot be checked just now: try again in a few seconds."})
			return
		}
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/dashboard/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.render(w, http.StatusUnauthorized, "error", pageData{Title: "Signed out", Error: "Your session has ended: sign in again."})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
			if err := r.ParseForm(); err != nil {
				s.render(w, formStatus(err), "error", pageData{Title: "Form refused", Session: &sess, Error: "The form could not be read: " + err.Error()})
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf())) != 1 {
				s.render(w, http.StatusForbidden, "error", pageData{Title: "Form refused", Session: &sess, Error: "The form's security token is missing or stale: reload the page and try again."})
				return
			}
		}
		if !sess.can(scope) {
			s.render(w, http.StatusForbidden, "error", pageData{Title: "Not allowed", Session: &sess,
				Error: fmt.Sprintf("You are signed in with the token %q, which has the %s scope; this needs the %s scope.", sess.Name, sess.Scope, scope)})
			return
		}
		h(w, r, sess)
	})
}

func formStatus(err error) int {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// localPath returns p if it is a path on this dashboard, else def, so
// that a crafted link cannot send a signed-in editor elsewhere.
func localPath(p, def string) string {
	if strings.HasPrefix(p, "/dashboard/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return def
}

type loginData struct {
	Next     string
	NoTokens bool
	Lifetime string // how long a sign-in lasts, for people
}

func (s *Server) loginData(next string) loginData {
	return loginData{Next: next, NoTokens: len(s.auth.tokens) == 0, Lifetime: lifetimeText(s.cfg.SessionLifetime)}
}

// lifetimeText says a session lifetime as people do: "12 hours", "30 minutes".
func lifetimeText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d > 24*time.Hour:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0 && d > time.Hour:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", pageData{Title: "Sign in", Data: s.loginData(localPath(r.URL.Query().Get("next"), "/dashboard/"))})
}

// login signs in with an API token: a new session is recorded in NATS and
// its random id, not the token, goes in the cookie. An address that has
// failed too often in the current window is refused without its token
// being looked at.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, smallBody)
	next := localPath(r.PostFormValue("next"), "/dashboard/")
	fail := func(status int, msg string) {
		s.render(w, status, "login", pageData{Title: "Sign in", Error: msg, Data: s.loginData(next)})
	}
	broken := func(err error) {
		status := http.StatusInternalServerError
		if queue.Unavailable(err) {
			status = http.StatusServiceUnavailable
			w.Header().Set("Retry-After", retryAfter)
		}
		s.log.Error("dashboard sign-in failed", "err", err)
		fail(status, "Signing in is not possible just now: try again in a few seconds.")
	}
	ctx := r.Context()
	addr := s.clientAddr(r)
	wait, err := s.signInBlocked(ctx, addr)
	if err != nil {
		broken(err)
		return
	}
	if wait > 0 {
		s.log.Warn("dashboard sign-in refused: too many failures", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from your address: try again in %d minutes.", int(wait.Minutes())+1))
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("token"))
	t, ok := s.auth.lookup(secret)
	if !ok || secret == "" {
		s.log.Warn("dashboard sign-in refused", "remote", r.RemoteAddr)
		if err := s.signInFailed(ctx, addr); err != nil {
			broken(err)
			return
		}
		fail(http.StatusUnauthorized, "That token is not valid here.")
		return
	}
	id, err := s.startSession(ctx, t)
	if err != nil {
		broken(err)
		return
	}
	s.setSessionCookie(w, r, id)
	s.log.Info("dashboard sign-in", "token", t.Name)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on every API server, then clears the cookie.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess session) {
	if err := s.endSession(r.Context(), sess); err != nil {
		s.pageFail(w, r, sess, err)
		return
	}
	s.setSessionCookie(w, r, "")
	http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
}
