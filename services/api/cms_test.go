package api_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/webhook"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed returns the headers of a delivery signed as the WordPress plugin
// in the README signs it.
func signed(secret string, at time.Time, body []byte, contentType string) http.Header {
	h := http.Header{"Content-Type": {contentType}}
	webhook.SetHeaders(h, secret, at, body)
	return h
}

// ghostSigned returns the headers of a delivery signed as Ghost signs it.
func ghostSigned(secret string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	m.Write([]byte(ts))
	return http.Header{
		"Content-Type":           {"application/json"},
		api.GhostSignatureHeader: {fmt.Sprintf("sha256=%s, t=%s", hex.EncodeToString(m.Sum(nil)), ts)},
	}
}

type hookAnswer struct {
	Action, ID, State, Reason, Error string
	Revision                         int
}

func (e *env) hook(body []byte, h http.Header) (int, hookAnswer) {
	e.t.Helper()
	resp := e.request("POST", "/hooks/cms", "", body, h)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, decode[hookAnswer](e.t, b)
}

func TestCMSWebhookSignatures(t *testing.T) {
	e := start(t)
	now := time.Now()
	wp := fixture(t, "wordpress-wp-webhooks.json")
	ghost := fixture(t, "ghost-published.json")
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		want   int
		msg    string
	}{
		{"unsigned", wp, http.Header{"Content-Type": {"application/json"}}, 401, "not signed"},
		{"bad signature", wp, signed("another-secret-entirely", now, wp, "application/json"), 401, "does not match"},
		{"body changed after signing", wp, signed(cmsSecret, now, []byte(strings.Replace(string(wp), "42", "43", 1)), "application/json"), 401, "does not match"},
		{"old timestamp", wp, signed(cmsSecret, now.Add(-10*time.Minute), wp, "application/json"), 401, "timestamp"},
		{"future timestamp", wp, signed(cmsSecret, now.Add(10*time.Minute), wp, "application/json"), 401, "timestamp"},
		{"ghost bad signature", ghost, ghostSigned("another-secret-entirely", now, ghost), 401, "does not match"},
		{"ghost old timestamp", ghost, ghostSigned(cmsSecret, now.Add(-10*time.Minute), ghost), 401, "timestamp"},
		{"ghost malformed header", ghost, http.Header{api.GhostSignatureHeader: {"sha256=abc"}}, 401, "milliseconds"},
		{"signed garbage", []byte(`{"post":`), signed(cmsSecret, now, []byte(`{"post":`), "application/json"), 400, "malformed"},
		{"oversized", []byte(strings.Repeat("x", 300<<10)), signed(cmsSecret, now, []byte(strings.Repeat("x", 300<<10)), "application/json"), 413, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, a := e.hook(tc.body, tc.header)
			if status != tc.want || !strings.Contains(a.Error, tc.msg) {
				t.Errorf("%d %+v, want %d mentioning %q", status, a, tc.want, tc.msg)
			}
		})
	}
	if n := len(e.fake.Log()); n != 0 {
		t.Errorf("refused deliveries made %d speech requests", n)
	}
}

func TestCMSWebhookNarratesAndUnpublishes(t *testing.T) {
	e := start(t)

	// WordPress: published, narrated.
	wp := fixture(t, "wordpress-wp-webhooks.json")
	h := signed(cmsSecret, time.Now(), wp, "application/json")
	status, a := e.hook(wp, h)
	if status != http.StatusAccepted || a.Action != "narrate" || a.ID != "wp-42" || a.Revision != 1 {
		t.Fatalf("publish: %d %+v", status, a)
	}
	// The same delivery again is a replay.
	if status, a := e.hook(wp, h); status != http.StatusConflict || !strings.Contains(a.Error, "used before") {
		t.Errorf("replay: %d %+v, want 409", status, a)
	}
	// A fresh delivery of the same post (a CMS retry, a second save) starts nothing new.
	if status, a := e.hook(wp, signed(cmsSecret, time.Now().Add(time.Second), wp, "application/json")); status != http.StatusAccepted || a.Revision != 1 {
		t.Errorf("second delivery: %d %+v, want the same revision", status, a)
	}
	n := e.wait("wp-42")
	if n.State != "done" || n.Title != "Council approves the bridge repairs" || n.Section != "Politics" || n.Revision != 1 {
		t.Fatalf("wp-42: %+v", n)
	}

	// WordPress: trashed, unpublished.
	trash := []byte(`{"action":"delete","post":{"ID":42,"post_status":"trash","post_type":"post"}}`)
	if status, a := e.hook(trash, signed(cmsSecret, time.Now(), trash, "application/json")); status != http.StatusOK || a.Action != "unpublish" || a.State != "unpublished" {
		t.Errorf("trash: %d %+v", status, a)
	}

	// A draft of a post never narrated is ignored.
	draft := []byte(`{"post":{"ID":99,"post_status":"draft","post_type":"post"}}`)
	if status, a := e.hook(draft, signed(cmsSecret, time.Now(), draft, "application/json")); status != http.StatusOK || a.Action != "ignore" {
		t.Errorf("draft: %d %+v", status, a)
	}

	// WordPress.com sends a form.
	form := fixture(t, "wordpress-com.form")
	if status, a := e.hook(form, signed(cmsSecret, time.Now(), form, "application/x-www-form-urlencoded")); status != http.StatusAccepted || a.ID != "wp-44" {
		t.Errorf("form: %d %+v", status, a)
	}

	// Ghost: published, then deleted.
	ghost := fixture(t, "ghost-published.json")
	status, a = e.hook(ghost, ghostSigned(cmsSecret, time.Now(), ghost))
	if status != http.StatusAccepted || a.ID != "ghost-65f1c2a9e4b0a1d2c3f4e5a6" {
		t.Fatalf("ghost publish: %d %+v", status, a)
	}
	if g := e.wait(a.ID); g.State != "done" || g.Section != "Politics" {
		t.Fatalf("ghost narration: %+v", g)
	}
	del := fixture(t, "ghost-deleted.json")
	gh := ghostSigned(cmsSecret, time.Now(), del)
	if status, a := e.hook(del, gh); status != http.StatusOK || a.State != "unpublished" {
		t.Errorf("ghost delete: %d %+v", status, a)
	}
	if status, _ := e.hook(del, gh); status != http.StatusConflict {
		t.Errorf("ghost replay: %d, want 409", status)
	}
	e.wait("wp-44")
}

func TestCMSWebhookOff(t *testing.T) {
	e := start(t, func(c *api.Config) { c.CMSSecret = "" })
	body := fixture(t, "ghost-published.json")
	status, a := e.hook(body, ghostSigned("", time.Now(), body))
	if status != http.StatusServiceUnavailable || !strings.Contains(a.Error, "NARRATOR_CMS_SECRET") {
		t.Errorf("%d %+v, want 503 naming NARRATOR_CMS_SECRET", status, a)
	}
}

// TestCMSWebhookReplaysAreRefusedWhateverTheSpelling: a captured delivery
// sent again with its signature re-encoded (upper-case hex, repeated, the
// fields of Ghost's header reordered or respaced) is the same delivery.
func TestCMSWebhookReplaysAreRefusedWhateverTheSpelling(t *testing.T) {
	e := start(t)
	draft := []byte(`{"post":{"ID":99,"post_status":"draft","post_type":"post"}}`)
	now := time.Now()

	h := signed(cmsSecret, now, draft, "application/json")
	if status, a := e.hook(draft, h); status != http.StatusOK || a.Action != "ignore" {
		t.Fatalf("first delivery: %d %+v", status, a)
	}
	v1 := strings.TrimPrefix(h.Get(webhook.SignatureHeader), "v1=")
	for name, sig := range map[string]string{
		"upper-case hex":    "v1=" + strings.ToUpper(v1),
		"repeated":          "v1=" + v1 + ",v1=" + v1,
		"beside a scheme":   "v0=abc v1=" + v1,
		"mixed-case repeat": "v1=" + v1 + " v1=" + strings.ToUpper(v1),
	} {
		replay := h.Clone()
		replay.Set(webhook.SignatureHeader, sig)
		if status, a := e.hook(draft, replay); status != http.StatusConflict {
			t.Errorf("narrator signature %s: %d %+v, want 409", name, status, a)
		}
	}

	g := ghostSigned(cmsSecret, now, draft)
	if status, a := e.hook(draft, g); status != http.StatusOK {
		t.Fatalf("first Ghost delivery: %d %+v", status, a)
	}
	var mac, ts string
	fmt.Sscanf(strings.ReplaceAll(g.Get(api.GhostSignatureHeader), ",", ""), "sha256=%s t=%s", &mac, &ts)
	for name, sig := range map[string]string{
		"reordered":      "t=" + ts + ", sha256=" + mac,
		"upper-case hex": "sha256=" + strings.ToUpper(mac) + ", t=" + ts,
		"no space":       "sha256=" + mac + ",t=" + ts,
		"more spaces":    "  sha256=" + mac + " ,   t=" + ts + " ",
	} {
		replay := g.Clone()
		replay.Set(api.GhostSignatureHeader, sig)
		if status, a := e.hook(draft, replay); status != http.StatusConflict {
			t.Errorf("Ghost signature %s: %d %+v, want 409", name, status, a)
		}
	}
}

// TestCMSWebhookRefusesBeforeReadingTheBody: a request whose signature
// headers are missing or stale is answered at once, while its body is
// still arriving, one slow byte at a time.
func TestCMSWebhookRefusesBeforeReadingTheBody(t *testing.T) {
	e := start(t)
	old := time.Now().Add(-time.Hour)
	body := fixture(t, "ghost-published.json")
	for name, h := range map[string]http.Header{
		"unsigned":              {},
		"stale narrator":        signed(cmsSecret, old, body, "application/json"),
		"stale Ghost":           ghostSigned(cmsSecret, old, body),
		"garbled Ghost":         {api.GhostSignatureHeader: {"sha256=zz, t=1"}},
		"narrator not a number": {webhook.TimestampHeader: {"soon"}, webhook.SignatureHeader: {"v1=00"}},
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var req strings.Builder
			fmt.Fprintf(&req, "POST /hooks/cms HTTP/1.1\r\nHost: narrator\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n")
			for k, vs := range h {
				fmt.Fprintf(&req, "%s: %s\r\n", k, vs[0])
			}
			req.WriteString("\r\n{")
			if _, err := io.WriteString(conn, req.String()); err != nil {
				t.Fatal(err)
			}
			// The rest of the body never comes; the answer must not wait for it.
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while the body is pending: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%d, want 401", resp.StatusCode)
			}
		})
	}
}
