package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// authenticator checks presented secrets against the configured hashes.
type authenticator struct {
	tokens []Token
}

func newAuthenticator(tokens []Token) *authenticator { return &authenticator{tokens: tokens} }

// lookup returns the token whose hash is the secret's. Every configured
// hash is compared, in constant time, so the answer's timing says nothing
// about which token came close.
func (a *authenticator) lookup(secret string) (Token, bool) {
	h := sha256.Sum256([]byte(secret))
	var found Token
	ok := false
	for _, t := range a.tokens {
		if subtle.ConstantTimeCompare(h[:], t.Hash[:]) == 1 {
			found, ok = t, true
		}
	}
	return found, ok
}

// session is the caller a request was authenticated as.
type session struct {
	Token
	id     string // the dashboard session's id; empty for a bearer token
	cookie bool   // authenticated by the dashboard's cookie
}

func (s session) can(scope Scope) bool { return s.Scope >= scope }

// authenticate finds the request's session: a bearer token, or on GET
// requests the dashboard's cookie. State-changing API calls take the
// bearer header only, which a cross-site form cannot set; the dashboard's
// own forms are checked for CSRF separately.
func (s *Server) authenticate(r *http.Request) (session, *httpError) {
	if len(s.auth.tokens) == 0 {
		return session{}, &httpError{http.StatusUnauthorized,
			"no API tokens are configured on this server: set NARRATOR_API_TOKENS (name:scope:secret, e.g. newsdesk:editor:<secret>) and restart"}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			return session{}, &httpError{http.StatusUnauthorized, "the Authorization header must be: Bearer <API token>"}
		}
		secret = strings.TrimSpace(secret)
		t, ok := s.auth.lookup(secret)
		if !ok {
			return session{}, &httpError{http.StatusUnauthorized, "invalid API token (revoked, mistyped or from another server)"}
		}
		return session{Token: t}, nil
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		sess, ok, err := s.cookieSession(r)
		if err != nil {
			s.log.Warn("dashboard session lookup failed", "err", err)
			return session{}, errSessionsUnavailable
		}
		if ok {
			return sess, nil
		}
	}
	return session{}, &httpError{http.StatusUnauthorized, "missing API token: send the header Authorization: Bearer <API token>"}
}

// require wraps an API handler with authentication and a scope check.
func (s *Server) require(scope Scope) func(func(http.ResponseWriter, *http.Request, session)) http.Handler {
	return func(h func(http.ResponseWriter, *http.Request, session)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess, herr := s.authenticate(r)
			if herr != nil {
				if herr.status == http.StatusServiceUnavailable {
					w.Header().Set("Retry-After", retryAfter)
				} else {
					w.Header().Set("WWW-Authenticate", `Bearer realm="narrator"`)
				}
				writeError(w, herr.status, herr.msg)
				return
			}
			if !sess.can(scope) {
				writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has the %s scope; this needs the %s scope", sess.Name, sess.Scope, scope))
				return
			}
			h(w, r, sess)
		})
	}
}
