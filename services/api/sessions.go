package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/narrator-project/narrator/queue"
)

// sessionCookie holds a dashboard session's id: a random value that names
// the session in NATS, never the API token itself.
const sessionCookie = "narrator_session"

// storedSession is a session as NATS keeps it, under the hash of its id
// (so that reading the bucket yields no cookie), until it expires.
type storedSession struct {
	Token   string    `json:"token"` // the token's name
	Print   string    `json:"print"` // tokenPrint of the token signed in with
	Expires time.Time `json:"expires"`
}

func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return "session." + hex.EncodeToString(h[:])
}

// tokenPrint identifies a token's secret without revealing it: a session
// whose token has been removed or given a new secret has ended.
func tokenPrint(t Token) string {
	m := hmac.New(sha256.New, []byte("narrator dashboard session v1"))
	m.Write(t.Hash[:])
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// startSession records a new session of token t, valid for the session
// lifetime on every API server, and returns its id.
func (s *Server) startSession(ctx context.Context, t Token) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	data, err := json.Marshal(storedSession{Token: t.Name, Print: tokenPrint(t), Expires: s.cfg.Now().Add(s.cfg.SessionLifetime).UTC()})
	if err != nil {
		return "", err
	}
	if err := s.q.Sessions().Create(ctx, sessionKey(id), data, s.cfg.SessionLifetime); err != nil {
		return "", err
	}
	return id, nil
}

// cookieSession returns the session the request's cookie names. ok is
// false when there is no cookie or its session has ended (signed out,
// expired, or its token removed); err when NATS cannot say.
func (s *Server) cookieSession(r *http.Request) (sess session, ok bool, err error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return session{}, false, nil
	}
	data, err := s.q.Sessions().Get(r.Context(), sessionKey(c.Value))
	if errors.Is(err, queue.ErrNoDoc) {
		return session{}, false, nil
	}
	if err != nil {
		return session{}, false, err
	}
	var st storedSession
	if err := json.Unmarshal(data, &st); err != nil || !s.cfg.Now().Before(st.Expires) {
		return session{}, false, nil
	}
	for _, t := range s.auth.tokens {
		if t.Name == st.Token && hmac.Equal([]byte(tokenPrint(t)), []byte(st.Print)) {
			return session{Token: t, id: c.Value, cookie: true}, true, nil
		}
	}
	return session{}, false, nil
}

// endSession revokes the request's session on every API server.
func (s *Server) endSession(ctx context.Context, sess session) error {
	if sess.id == "" {
		return nil
	}
	return s.q.Sessions().Delete(ctx, sessionKey(sess.id))
}

// setSessionCookie sets (or, with an empty id, clears) the session cookie.
func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	c := &http.Cookie{
		Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || s.cfg.SecureCookies,
		MaxAge: int(s.cfg.SessionLifetime.Seconds()),
	}
	if id == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// csrf is the session's CSRF token: derived from the session's id, so that
// only a page served within this session can know it, it changes at every
// sign-in and dies with the session, and any API server can check it.
func (s session) csrf() string {
	m := hmac.New(sha256.New, []byte(s.id))
	m.Write([]byte("narrator dashboard csrf v2"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// errSessionsUnavailable is the answer while NATS, which holds the
// sessions, cannot be asked.
var errSessionsUnavailable = &httpError{http.StatusServiceUnavailable, unavailableMsg}
