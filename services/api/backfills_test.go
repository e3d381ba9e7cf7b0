package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/backfill"
	"github.com/narrator-project/narrator/services/backfill/fakesite"
)

// waitBackfill polls a run until it reaches state, or fails the test.
func (e *env) waitBackfill(name, state string) backfill.Run {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, body := e.do("GET", "/api/backfills/"+name, readerToken, nil)
		var r backfill.Run
		if status == http.StatusOK {
			if err := json.Unmarshal(body, &r); err != nil {
				e.t.Fatal(err)
			}
			if r.State == state {
				return r
			}
			if r.State == backfill.StateFailed {
				e.t.Fatalf("backfill %s failed: %s", name, r.Reason)
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("backfill %s never %s: %d %s", name, state, status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBackfillFromTheAPI plans a WordPress archive from the API, starts the
// planned run, follows it to its end, and lists it; the dashboard shows it.
func TestBackfillFromTheAPI(t *testing.T) {
	e := start(t)
	site := fakesite.New(fakesite.Config{Articles: 3, MinChars: 300, MaxChars: 400, Seed: 11})
	srv := httptest.NewServer(nil)
	srv.Config.Handler = site.Handler(srv.URL)
	t.Cleanup(srv.Close)

	// The plan is asked for from the dashboard's form.
	c := e.client()
	if resp, _ := postForm(t, c, e.srv.URL+"/dashboard/login", url.Values{"token": {editorToken}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	resp, page := get(t, c, e.srv.URL+"/dashboard/backfills")
	m := csrfField.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("backfills page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"csrf": {m[1]}, "kind": {"wordpress"}, "url": {srv.URL}, "name": {"archive"}, "dry_run": {"1"}}
	if resp, body := postForm(t, c, e.srv.URL+"/dashboard/backfills", form, http.Header{"Sec-Fetch-Site": {"same-origin"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("plan from the form: %d %s", resp.StatusCode, body)
	}
	body := `{"name":"archive","source":{"kind":"wordpress","url":"` + srv.URL + `"}}`
	if status, b := e.do("POST", "/api/backfills", readerToken, body); status != http.StatusForbidden {
		t.Errorf("a read token started a backfill: %d %s", status, b)
	}
	planned := e.waitBackfill("archive", backfill.StatePlanned)
	if planned.Plan == nil || planned.Plan.Articles != 3 || planned.Plan.Chars == 0 || planned.Submitted != 0 {
		t.Fatalf("planned run: %+v", planned)
	}
	if status, b := e.do("POST", "/api/backfills/archive/resume", editorToken, nil); status != http.StatusAccepted {
		t.Fatalf("start the planned run: %d %s", status, b)
	}
	done := e.waitBackfill("archive", backfill.StateDone)
	if done.Submitted != 3 || done.Done != 3 || done.Chars != planned.Plan.Chars {
		t.Errorf("done run: %+v, plan %+v", done, planned.Plan)
	}
	if status, b := e.do("POST", "/api/backfills/archive/stop", editorToken, nil); status != http.StatusConflict {
		t.Errorf("stopping a done run: %d %s", status, b)
	}
	status, b := e.do("GET", "/api/backfills", readerToken, nil)
	if status != http.StatusOK || !strings.Contains(string(b), `"name":"archive"`) {
		t.Errorf("list: %d %s", status, b)
	}
	resp, page = get(t, c, e.srv.URL+"/dashboard/backfills")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `data-backfill="archive"`) || !strings.Contains(page, "state-done") {
		t.Errorf("dashboard: %d %s", resp.StatusCode, page)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"source":{"kind":"rss","url":"https://x"}}`, http.StatusBadRequest},
		{`{"source":{"kind":"jsonl","path":"/etc/passwd"}}`, http.StatusBadRequest},
		{`{"source":{"kind":"sitemap","url":"https://x/s.xml"},"since":"last week"}`, http.StatusBadRequest},
		{`{"source":{"kind":"sitemap","url":"https://x/s.xml"},"name":"no spaces"}`, http.StatusBadRequest},
		{`{"source":{"kind":"sitemap","url":"https://x/s.xml"},"surprise":1}`, http.StatusBadRequest},
	} {
		if status, b := e.do("POST", "/api/backfills", editorToken, tc.body); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.body, status, b, tc.status)
		}
	}
	if status, _ := e.do("GET", "/api/backfills/nothing", readerToken, nil); status != http.StatusNotFound {
		t.Errorf("unknown run: %d", status)
	}
}
