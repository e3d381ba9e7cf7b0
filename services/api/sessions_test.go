package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
)

// signIn signs in to the dashboard with token and returns the session
// cookie.
func (e *env) signIn(token string) *http.Cookie {
	e.t.Helper()
	return signInAt(e.t, e.srv.URL, token, nil)
}

func signInAt(t *testing.T, base, token string, header http.Header) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, body := postForm(t, c, base+"/dashboard/login", url.Values{"token": {token}}, header)
	for _, ck := range resp.Cookies() {
		if ck.Name == "narrator_session" && resp.StatusCode == http.StatusSeeOther {
			return &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	t.Fatalf("sign in: %d, no session cookie: %.300s", resp.StatusCode, body)
	return nil
}

// withCookie is a client that sends one cookie and follows no redirects.
func withCookie(ck *http.Cookie) *http.Client {
	jar := &cookieJar{cookies: map[string]*http.Cookie{ck.Name: ck}}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// another starts a second API server on the same NATS, as another pod
// would be, with the configuration change makes.
func (e *env) another(change func(*api.Config)) string {
	e.t.Helper()
	tokens, err := api.ParseTokens("newsdesk:editor:" + editorToken + ",stats:read:" + readerToken)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg := api.Config{Tokens: tokens, Options: queue.Options{Provider: "openai"}}
	if change != nil {
		change(&cfg)
	}
	s, err := api.New(api.Deps{Pipeline: e.p, Logger: slog.New(slog.NewTextHandler(testLog{e.t}, nil))}, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// TestSignOutEndsTheSession: after signing out, the old cookie, with the
// CSRF token of its pages, opens nothing and changes nothing, on any API
// server.
func TestSignOutEndsTheSession(t *testing.T) {
	e := start(t)
	other := e.another(nil)
	ck := e.signIn(editorToken)
	if strings.Contains(ck.Value, editorToken) {
		t.Errorf("the cookie %q holds the token", ck.Value)
	}
	c := withCookie(ck)
	_, page := get(t, c, e.srv.URL+"/dashboard/")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the list page")
	}
	if resp, _ := get(t, withCookie(ck), other+"/dashboard/"); resp.StatusCode != http.StatusOK {
		t.Errorf("the session on another API server: %d, want 200", resp.StatusCode)
	}

	resp, _ := postForm(t, c, e.srv.URL+"/dashboard/logout", url.Values{"csrf": {m[1]}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	for _, base := range []string{e.srv.URL, other} {
		replay := withCookie(ck) // the old cookie, kept by an attacker
		if resp, _ := get(t, replay, base+"/dashboard/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: the dashboard with the old cookie: %d, want a redirect to sign in", base, resp.StatusCode)
		}
		if resp, _ := get(t, replay, base+"/api/narrations"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: the API with the old cookie: %d, want 401", base, resp.StatusCode)
		}
		form := url.Values{"csrf": {m[1]}, "text": {article("After sign-out")}, "article_id": {"after-sign-out"}}
		if resp, _ := postForm(t, replay, base+"/dashboard/narrate", form, http.Header{"Sec-Fetch-Site": {"same-origin"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: narrating with the old cookie and CSRF token: %d, want 401", base, resp.StatusCode)
		}
	}
	if status, _ := e.do("GET", "/api/narrations/after-sign-out", readerToken, nil); status != http.StatusNotFound {
		t.Errorf("the old session narrated: %d", status)
	}
}

// TestSessionsAreBoundAndExpire: each sign-in has its own CSRF token,
// which no other session's form may carry; a session ends when its
// lifetime is over, and when its token is removed from the configuration.
func TestSessionsAreBoundAndExpire(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := start(t, func(c *api.Config) { c.SessionLifetime = time.Hour; c.Now = clock })
	a, b := withCookie(e.signIn(editorToken)), withCookie(e.signIn(editorToken))
	_, pa := get(t, a, e.srv.URL+"/dashboard/")
	_, pb := get(t, b, e.srv.URL+"/dashboard/")
	ca, cb := csrfField.FindStringSubmatch(pa), csrfField.FindStringSubmatch(pb)
	if ca == nil || cb == nil || ca[1] == cb[1] {
		t.Fatalf("two sign-ins' CSRF tokens: %v and %v, want two different ones", ca, cb)
	}
	form := url.Values{"csrf": {ca[1]}, "word": {"Kyiv"}, "say": {"Keev"}}
	if resp, _ := postForm(t, b, e.srv.URL+"/dashboard/lexicon", form, http.Header{"Sec-Fetch-Site": {"same-origin"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a form with another session's CSRF token: %d, want 403", resp.StatusCode)
	}

	// A server where the editor token has another secret: its sessions end.
	rotated := e.another(func(c *api.Config) {
		c.Tokens, _ = api.ParseTokens("newsdesk:editor:rotated-secret-0123456789,stats:read:" + readerToken)
	})
	if resp, _ := get(t, a, rotated+"/dashboard/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session of a token given a new secret: %d, want a redirect to sign in", resp.StatusCode)
	}

	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	if resp, _ := get(t, a, e.srv.URL+"/dashboard/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a session past its lifetime: %d, want a redirect to sign in", resp.StatusCode)
	}
}

// TestFailedSignInsAreLimitedPerAddress: an address that fails too often
// is refused, even with a good token, by every API server until the window
// ends; other addresses are not.
func TestFailedSignInsAreLimitedPerAddress(t *testing.T) {
	limit := func(c *api.Config) { c.SignInLimit = 3; c.ClientIPHeader = "X-Forwarded-For" }
	e := start(t, limit)
	other := e.another(limit)
	from := func(addr string) http.Header { return http.Header{"X-Forwarded-For": {"198.51.100.9, " + addr}} }
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for i := range 3 {
		if resp, _ := postForm(t, c, e.srv.URL+"/dashboard/login", url.Values{"token": {"guess-0000000000000" + string(rune('a'+i))}}, from("203.0.113.7")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	for _, base := range []string{e.srv.URL, other} {
		resp, body := postForm(t, c, base+"/dashboard/login", url.Values{"token": {editorToken}}, from("203.0.113.7"))
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
			t.Errorf("%s: a good token after 3 failures: %d (Retry-After %q), want 429", base, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	signInAt(t, e.srv.URL, editorToken, from("203.0.113.8"))
}
