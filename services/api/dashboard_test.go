package api_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client is a browser-like client: it keeps cookies and does not follow
// redirects, so that tests see them.
func (e *env) client() *http.Client {
	jar := &cookieJar{cookies: map[string]*http.Cookie{}}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type cookieJar struct{ cookies map[string]*http.Cookie }

func (j *cookieJar) SetCookies(_ *url.URL, cs []*http.Cookie) {
	for _, c := range cs {
		if c.MaxAge < 0 {
			delete(j.cookies, c.Name)
			continue
		}
		j.cookies[c.Name] = c
	}
}

func (j *cookieJar) Cookies(*url.URL) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range j.cookies {
		out = append(out, &http.Cookie{Name: c.Name, Value: c.Value})
	}
	return out
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestDashboardSessionsAndForms(t *testing.T) {
	e := start(t)
	base := e.srv.URL
	c := e.client()

	resp, _ := get(t, c, base+"/dashboard/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/dashboard/login?next=") {
		t.Fatalf("signed out: %d to %q, want a redirect to the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := postForm(t, c, base+"/dashboard/login", url.Values{"token": {"wrong-token-0000000000"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not valid") {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	resp, _ = postForm(t, c, base+"/dashboard/login", url.Values{"token": {editorToken}, "next": {"https://evil.example/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/dashboard/" {
		t.Errorf("sign-in: %d to %q; want /dashboard/ (never another site)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "narrator_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" {
		t.Errorf("session cookie %+v; want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}

	resp, page := get(t, c, base+"/dashboard/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([^']+)'`).FindStringSubmatch(csp)
	if nonce == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy %q", csp)
	}
	if !strings.Contains(page, `<script nonce="`+nonce[1]+`" src="/dashboard/static/app.js"`) {
		t.Errorf("the page's script does not carry the policy's nonce")
	}
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF field in the narrate form")
	}
	csrf := m[1]

	form := url.Values{"text": {article("Forms")}, "title": {`<script>alert(1)</script> & co`}, "article_id": {"forms"}, "priority": {"low"}}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"no CSRF token", form, nil, http.StatusForbidden},
		{"wrong CSRF token", with(form, "csrf", "0123456789abcdef0123456789abcdef"), nil, http.StatusForbidden},
		{"cross-site", with(form, "csrf", csrf), http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"valid", with(form, "csrf", csrf), http.Header{"Sec-Fetch-Site": {"same-origin"}}, http.StatusSeeOther},
	} {
		resp, body := postForm(t, c, base+"/dashboard/narrate", tc.form, tc.header)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, resp.StatusCode, tc.want, body)
		}
	}
	if n := e.wait("forms"); n.State != "done" || n.Priority != "low" {
		t.Errorf("the form's narration ended %s with priority %q, want done and low", n.State, n.Priority)
	}
	_, page = get(t, c, base+"/dashboard/narrations/forms")
	if strings.Contains(page, "<script>alert(1)") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co") {
		t.Errorf("the title is not escaped on the narration page")
	}
	if !strings.Contains(page, `id="preview"`) || !strings.Contains(page, "Syrskyi") {
		t.Errorf("the narration page lacks the preview or the words to review")
	}
	// The fake speaks as services do, peaks at full scale: the narration
	// is published below the target, and the page says so.
	if !strings.Contains(page, `<p class="sub" id="loudness">Loudness: peak-limited: `) || !strings.Contains(page, `<li class="warning"><strong>peak_limited</strong>: peak-limited: `) {
		t.Errorf("the narration page does not show its loudness and warnings:\n%s", page)
	}

	// A read-only token may look but not change.
	rc := e.client()
	postForm(t, rc, base+"/dashboard/login", url.Values{"token": {readerToken}}, nil)
	_, page = get(t, rc, base+"/dashboard/")
	if strings.Contains(page, `id="narrate-form"`) {
		t.Error("the narrate form is shown to a read-only token")
	}
	rcsrf := csrfField.FindStringSubmatch(page)
	if rcsrf == nil {
		t.Fatal("no CSRF field on the read-only page (sign-out form)")
	}
	resp, _ = postForm(t, rc, base+"/dashboard/narrations/forms/unpublish", url.Values{"csrf": {rcsrf[1]}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("read-only unpublish: %d, want 403", resp.StatusCode)
	}

	// Signing out ends the session.
	postForm(t, c, base+"/dashboard/logout", url.Values{"csrf": {csrf}}, nil)
	if resp, _ := get(t, c, base+"/dashboard/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to sign in", resp.StatusCode)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}
