package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
)

// route is one API route, with a request that would succeed for a token
// of enough scope.
type route struct {
	method, path string
	body         any
	scope        string // read or editor
}

func routes(id string) []route {
	return []route{
		{"GET", "/api/narrations", nil, "read"},
		{"POST", "/api/narrations", map[string]string{"text": article("Auth check")}, "editor"},
		{"GET", "/api/narrations/" + id, nil, "read"},
		{"DELETE", "/api/narrations/" + id, nil, "editor"},
		{"POST", "/api/narrations/" + id + "/renarrate", nil, "editor"},
		{"GET", "/api/narrations/" + id + "/events", nil, "read"},
		{"GET", "/api/narrations/" + id + "/unknown-words", nil, "read"},
		{"GET", "/api/usage", nil, "read"},
		{"GET", "/api/lexicon", nil, "read"},
		{"POST", "/api/lexicon", map[string]string{"word": "Kyiv", "say": "Keev"}, "editor"},
		{"PUT", "/api/lexicon/Kyiv", map[string]string{"say": "Keev"}, "editor"},
		{"DELETE", "/api/lexicon/Kyiv", nil, "editor"},
	}
}

func TestEveryRouteNeedsAToken(t *testing.T) {
	e := start(t)
	status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "auth", "text": article("Council budget")})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	n := e.wait("auth")

	for _, rt := range routes(n.ID) {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, tc := range []struct {
				name, token string
				want        int
			}{
				{"no token", "", http.StatusUnauthorized},
				{"unknown token", "not-a-token-of-this-server", http.StatusUnauthorized},
				{"read token", readerToken, map[string]int{"read": http.StatusOK, "editor": http.StatusForbidden}[rt.scope]},
			} {
				status, body := e.do(rt.method, rt.path, tc.token, rt.body)
				if status != tc.want {
					t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
				}
				if status >= 400 {
					msg := decode[struct{ Error string }](t, body).Error
					if msg == "" {
						t.Errorf("%s: error body %s has no message", tc.name, body)
					}
					if status == http.StatusForbidden && !strings.Contains(msg, "editor") {
						t.Errorf("%s: 403 message %q does not say which scope is needed", tc.name, msg)
					}
				}
			}
		})
	}

	// The cookie the dashboard sets is no way to change anything through
	// the API: a cross-site form could send it.
	editorCookie, readerCookie := e.signIn(editorToken), e.signIn(readerToken)
	resp := e.request("POST", "/api/narrations", "", map[string]string{"text": "x"}, http.Header{"Cookie": {editorCookie.String()}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST with the session cookie only: %d, want 401", resp.StatusCode)
	}
	resp = e.request("GET", "/api/narrations", "", nil, http.Header{"Cookie": {readerCookie.String()}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET with the session cookie: %d, want 200", resp.StatusCode)
	}
	// The token itself is no cookie.
	resp = e.request("GET", "/api/narrations", "", nil, http.Header{"Cookie": {"narrator_session=" + readerToken}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET with the token as the cookie: %d, want 401", resp.StatusCode)
	}
	resp = e.request("GET", "/api/narrations", "", nil, http.Header{"Authorization": {"Basic " + editorToken}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic instead of Bearer: %d, want 401", resp.StatusCode)
	}
}

func TestNoTokensConfiguredRefusesAll(t *testing.T) {
	e := start(t, func(c *api.Config) { c.Tokens = nil })
	for _, rt := range routes("x") {
		status, body := e.do(rt.method, rt.path, editorToken, rt.body)
		if status != http.StatusUnauthorized || !strings.Contains(string(body), "NARRATOR_API_TOKENS") {
			t.Errorf("%s %s: %d %s; want 401 naming NARRATOR_API_TOKENS", rt.method, rt.path, status, body)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := start(t)
	for _, rt := range []struct{ method, path string }{{"PUT", "/api/narrations"}, {"PATCH", "/api/narrations/x"}, {"GET", "/hooks/cms"}, {"POST", "/api/usage"}} {
		status, _ := e.do(rt.method, rt.path, editorToken, nil)
		if status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", rt.method, rt.path, status)
		}
	}
}

func TestSubmitRefusesBadRequests(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		name string
		body any
		want int
		msg  string // in the error
	}{
		{"malformed JSON", `{"text": "x"`, 400, "malformed JSON"},
		{"not an object", `["x"]`, 400, "malformed JSON"},
		{"two values", `{"text":"x"} {"text":"y"}`, 400, "more than one"},
		{"unknown field", `{"txt": "x"}`, 400, "unknown field"},
		{"no content", `{"title": "x"}`, 400, "exactly one"},
		{"two sources", map[string]string{"url": "https://example.com/a", "text": "x"}, 400, "exactly one"},
		{"not http", map[string]string{"url": "file:///etc/passwd"}, 400, "http"},
		{"private address", map[string]string{"url": "http://10.1.2.3/story"}, 400, "private"},
		{"metadata address", map[string]string{"url": "http://169.254.169.254/latest/meta-data/"}, 400, "metadata"},
		{"bad priority", map[string]string{"text": "x", "priority": "urgent"}, 400, "priority"},
		{"bad speed", map[string]any{"text": "x", "speed": 9}, 400, "speed"},
		{"oversized", map[string]string{"text": strings.Repeat("word ", 60<<10)}, 413, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("POST", "/api/narrations", editorToken, tc.body)
			if status != tc.want || !strings.Contains(decode[struct{ Error string }](t, body).Error, tc.msg) {
				t.Errorf("%d %s; want %d mentioning %q", status, body, tc.want, tc.msg)
			}
		})
	}
	jobs, err := e.q.Jobs().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Errorf("refused requests made %d jobs", len(jobs))
	}
}

func TestUnknownIDs(t *testing.T) {
	e := start(t)
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/narrations/nope"},
		{"DELETE", "/api/narrations/nope"},
		{"POST", "/api/narrations/nope/renarrate"},
		{"GET", "/api/narrations/nope/events"},
		{"GET", "/api/narrations/nope/unknown-words"},
		{"GET", "/api/narrations/not%20an%20id"},
		{"DELETE", "/api/lexicon/Nowhere"},
	} {
		status, body := e.do(rt.method, rt.path, editorToken, nil)
		if status != http.StatusNotFound || decode[struct{ Error string }](t, body).Error == "" {
			t.Errorf("%s %s: %d %s, want 404 with a message", rt.method, rt.path, status, body)
		}
	}
}

func TestNarrationLifecycle(t *testing.T) {
	e := start(t)
	resp := e.request("POST", "/api/narrations", editorToken, map[string]any{
		"article_id": "budget-2026", "text": article("Council passes the budget"), "section": "Politics", "priority": "high",
	}, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") != "/api/narrations/budget-2026" {
		t.Fatalf("submit: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	n := e.wait("budget-2026")
	if n.State != "done" || n.Progress != 100 || n.Revision != 1 {
		t.Fatalf("narration ended %s at %d%% (revision %d): %s", n.State, n.Progress, n.Revision, n.Error)
	}
	if n.Title != "Council passes the budget" || n.Section != "Politics" || n.Priority != "high" {
		t.Errorf("title %q, section %q, priority %q", n.Title, n.Section, n.Priority)
	}
	if n.Chunks.Total == 0 || n.Chunks.Done != n.Chunks.Total || len(n.Chunks.Items) != n.Chunks.Total {
		t.Errorf("chunks %+v", n.Chunks)
	}
	for _, c := range n.Chunks.Items {
		if c.State != "done" || c.Chars == 0 {
			t.Errorf("chunk %+v", c)
		}
	}
	if n.Billed == 0 || n.Estimate == 0 || n.CostUSD == nil || *n.CostUSD <= 0 {
		t.Errorf("billed %d, estimate %d, cost %v", n.Billed, n.Estimate, n.CostUSD)
	}
	for _, st := range []string{"clean", "chunk", "synth", "stitch", "publish"} {
		if _, ok := n.Timings[st]; !ok {
			t.Errorf("no timing for stage %s", st)
		}
	}
	if n.Audio == nil || n.Audio.Bytes == 0 || n.Audio.Duration <= 0 {
		t.Fatalf("audio %+v", n.Audio)
	}
	// Speech that peaks at full scale is published below the target, and
	// the narration says so.
	if l := n.Audio.Level; l == nil || !l.PeakLimited || l.Target != -16 || !strings.HasPrefix(l.Summary, "peak-limited: ") {
		t.Errorf("level %+v", n.Audio.Level)
	}
	if len(n.Warnings) == 0 || n.Warnings[0].Code != "peak_limited" {
		t.Errorf("warnings %+v, want peak_limited", n.Warnings)
	}
	audio, err := http.Get(n.Audio.URL)
	if err != nil {
		t.Fatal(err)
	}
	audio.Body.Close()
	if audio.StatusCode != http.StatusOK || audio.Header.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("published audio: %d %s", audio.StatusCode, audio.Header.Get("Content-Type"))
	}

	// The event stream replays the revision from its start and ends.
	t.Run("events", func(t *testing.T) {
		resp := e.request("GET", "/api/narrations/budget-2026/events", readerToken, nil, nil)
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q", ct)
		}
		evs := readSSE(t, resp.Body, nil)
		if len(evs) < 4 || evs[len(evs)-1].Event != "end" {
			t.Fatalf("events %+v", evs)
		}
		type ev struct {
			Kind     string
			State    string
			Progress int
		}
		first, last := decode[ev](t, []byte(evs[0].Data)), decode[ev](t, []byte(evs[len(evs)-2].Data))
		if first.Kind != "queued" || last.Kind != "done" || last.State != "done" || last.Progress != 100 {
			t.Errorf("first %+v, last %+v", first, last)
		}
		prev := 0
		for i, s := range evs[:len(evs)-1] {
			if s.ID != fmt.Sprint(i+1) {
				t.Errorf("event %d has id %q", i, s.ID)
			}
			if p := decode[ev](t, []byte(s.Data)).Progress; p < prev {
				t.Errorf("progress went back from %d to %d", prev, p)
			} else {
				prev = p
			}
		}
		// A reconnecting client skips what it saw.
		resp2 := e.request("GET", "/api/narrations/budget-2026/events", readerToken, nil, http.Header{"Last-Event-Id": {fmt.Sprint(len(evs) - 2)}})
		defer resp2.Body.Close()
		if again := readSSE(t, resp2.Body, nil); len(again) != 2 {
			t.Errorf("after Last-Event-ID %d: %d events, want the last one and end", len(evs)-2, len(again))
		}
	})

	t.Run("unknown words", func(t *testing.T) {
		status, body := e.do("GET", "/api/narrations/budget-2026/unknown-words", readerToken, nil)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		rep := decode[struct {
			Words []struct{ Word, Kind string }
		}](t, body)
		var words []string
		for _, w := range rep.Words {
			words = append(words, w.Word)
		}
		for _, want := range []string{"Zaporizhzhia", "Syrskyi", "OSCE"} {
			if !slices.Contains(words, want) {
				t.Errorf("report %v lacks %s", words, want)
			}
		}
		// Once the lexicon knows a word, it is no longer reported.
		if status, body := e.do("POST", "/api/lexicon", editorToken, map[string]string{"word": "Zaporizhzhia", "say": "Zaporizhia"}); status != http.StatusCreated {
			t.Fatalf("add entry: %d %s", status, body)
		}
		_, body = e.do("GET", "/api/narrations/budget-2026/unknown-words", readerToken, nil)
		if strings.Contains(string(body), `"Zaporizhzhia"`) {
			t.Errorf("Zaporizhzhia still reported after it was added: %s", body)
		}
	})

	t.Run("re-narrate", func(t *testing.T) {
		status, body := e.do("POST", "/api/narrations/budget-2026/renarrate", editorToken, nil)
		if status != http.StatusAccepted || decode[narration](t, body).Revision != 2 {
			t.Fatalf("%d %s", status, body)
		}
		if n := e.wait("budget-2026"); n.State != "done" || n.Revision != 2 {
			t.Errorf("re-narration ended %s revision %d: %s", n.State, n.Revision, n.Error)
		}
	})

	t.Run("unpublish", func(t *testing.T) {
		status, body := e.do("DELETE", "/api/narrations/budget-2026", editorToken, nil)
		if status != http.StatusOK || decode[narration](t, body).State != "unpublished" {
			t.Fatalf("%d %s", status, body)
		}
		gone, err := http.Get(n.Audio.URL)
		if err != nil {
			t.Fatal(err)
		}
		gone.Body.Close()
		if gone.StatusCode != http.StatusNotFound {
			t.Errorf("unpublished audio answers %d", gone.StatusCode)
		}
		// Unpublishing again changes nothing.
		if status, body := e.do("DELETE", "/api/narrations/budget-2026", editorToken, nil); status != http.StatusOK {
			t.Errorf("second unpublish: %d %s", status, body)
		}
	})

	t.Run("usage", func(t *testing.T) {
		status, body := e.do("GET", "/api/usage", readerToken, nil)
		u := decode[struct {
			Providers []struct {
				Provider string
				Today    int      `json:"today_chars"`
				Month    int      `json:"month_chars"`
				TodayUSD *float64 `json:"today_usd"`
			}
		}](t, body)
		if status != http.StatusOK || len(u.Providers) != 1 || u.Providers[0].Provider != "openai" || u.Providers[0].Today < n.Billed ||
			u.Providers[0].Month < u.Providers[0].Today || u.Providers[0].TodayUSD == nil {
			t.Errorf("usage %d %s; the narration billed %d", status, body, n.Billed)
		}
	})
}

// TestConcurrentSubmitsMakeOneJob sends 20 identical requests at once, as
// an autosave racing a publish click and a retrying CMS might.
func TestConcurrentSubmitsMakeOneJob(t *testing.T) {
	e := start(t)
	req := map[string]string{"article_id": "race", "text": article("One story, twenty clicks")}
	var wg sync.WaitGroup
	results := make([]narration, 20)
	statuses := make([]int, 20)
	for i := range results {
		wg.Go(func() {
			status, body := e.do("POST", "/api/narrations", editorToken, req)
			statuses[i] = status
			if status == http.StatusAccepted {
				results[i] = decode[narration](t, body)
			}
		})
	}
	wg.Wait()
	for i, r := range results {
		if statuses[i] != http.StatusAccepted || r.ID != "race" || r.Revision != 1 {
			t.Errorf("request %d: %d, job %q revision %d", i, statuses[i], r.ID, r.Revision)
		}
	}
	n := e.wait("race")
	if n.State != "done" || n.Revision != 1 {
		t.Fatalf("job ended %s at revision %d: %s", n.State, n.Revision, n.Error)
	}
	jobs, err := e.q.Jobs().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 {
		t.Errorf("%d jobs, want 1", len(jobs))
	}
	// One narration's worth of speech was requested, not twenty.
	if got := len(e.fake.Log()); got != n.Chunks.Total {
		t.Errorf("%d speech requests for a %d-chunk narration", got, n.Chunks.Total)
	}
	queued := 0
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.q.Follow(ctx, "race", 0, func(ev queue.Event) bool {
		if ev.Kind == queue.EventQueued {
			queued++
		}
		return true
	})
	if queued != 1 {
		t.Errorf("%d queued events, want 1", queued)
	}
}

// TestBusyNarrations uses a second API whose narrations go to a speech
// provider no worker serves, so that they stay in progress.
func TestBusyNarrations(t *testing.T) {
	e := start(t)
	stuck, err := api.New(api.Deps{Pipeline: e.p}, api.Config{
		Tokens: mustTokens(t, "newsdesk:editor:"+editorToken), Options: queue.Options{Provider: "polly"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mux.Handle("/stuck/", http.StripPrefix("/stuck", stuck))
	status, body := e.do("POST", "/stuck/api/narrations", editorToken, map[string]string{"article_id": "busy", "text": article("A long wait")})
	if status != http.StatusAccepted {
		t.Fatalf("%d %s", status, body)
	}
	// Wait for it to reach synthesis, where it stays.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.q.Follow(ctx, "busy", 1, func(ev queue.Event) bool { return !(ev.Kind == queue.EventStageDone && ev.Stage == "chunk") })

	for _, rt := range []struct{ method, path string }{{"POST", "/api/narrations/busy/renarrate"}, {"DELETE", "/api/narrations/busy"}} {
		status, body := e.do(rt.method, rt.path, editorToken, nil)
		if status != http.StatusConflict || !strings.Contains(string(body), "in progress") {
			t.Errorf("%s %s: %d %s, want 409", rt.method, rt.path, status, body)
		}
	}
	status, body = e.do("GET", "/api/narrations/busy", readerToken, nil)
	n := decode[narration](t, body)
	if status != http.StatusOK || n.State != "running" || n.Stage != "synth" || n.Chunks.Total == 0 || n.Progress != 10 {
		t.Errorf("busy narration: %d %+v", status, n)
	}
}

func mustTokens(t *testing.T, spec string) []api.Token {
	t.Helper()
	toks, err := api.ParseTokens(spec)
	if err != nil {
		t.Fatal(err)
	}
	return toks
}

func TestListFiltersAndPages(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	// Job records are made directly: listing reads job state only.
	var want []string
	for i := range 11 {
		j := queue.Job{ID: fmt.Sprintf("job-%02d", i), ArticleID: fmt.Sprintf("job-%02d", i), Revision: 1, State: queue.Done,
			Options: queue.Options{Provider: "openai", Section: []string{"Politics", "Sport"}[i%2]}}
		if i%3 == 0 {
			j.State = queue.Failed
		}
		if err := e.q.Jobs().Create(ctx, j); err != nil {
			t.Fatal(err)
		}
		want = append([]string{j.ID}, want...) // newest first
	}
	type page struct {
		Narrations []narration
		Total      int
		NextCursor string `json:"next_cursor"`
	}
	all := func(query string) (ids []string, total int) {
		t.Helper()
		cursor := ""
		for pages := 0; ; pages++ {
			q := query + "&limit=4"
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			status, body := e.do("GET", "/api/narrations?"+q, readerToken, nil)
			if status != http.StatusOK {
				t.Fatalf("%s: %d %s", q, status, body)
			}
			p := decode[page](t, body)
			if len(p.Narrations) > 4 {
				t.Fatalf("page of %d with limit 4", len(p.Narrations))
			}
			for _, n := range p.Narrations {
				ids = append(ids, n.ID)
			}
			total = p.Total
			if p.NextCursor == "" {
				return ids, total
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			cursor = p.NextCursor
		}
	}
	if ids, total := all(""); !slices.Equal(ids, want) || total != 11 {
		t.Errorf("all pages: %v (total %d), want %v", ids, total, want)
	}
	ids, total := all("state=failed")
	if len(ids) != 4 || total != 4 {
		t.Errorf("failed: %v", ids)
	}
	ids, _ = all("section=sport&state=done,failed")
	for _, id := range ids {
		var i int
		fmt.Sscanf(id, "job-%d", &i)
		if i%2 != 1 {
			t.Errorf("section=sport gave %s", id)
		}
	}
	if len(ids) != 5 {
		t.Errorf("sport: %v", ids)
	}
	for _, bad := range []string{"state=finished", "limit=0", "limit=1000", "cursor=%21%21", "cursor=bm90LWEtY3Vyc29y"} {
		if status, body := e.do("GET", "/api/narrations?"+bad, readerToken, nil); status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, status, body)
		}
	}
}

func TestLexiconRoutes(t *testing.T) {
	e := start(t)
	type lex struct {
		Publication string
		Version     string
		Entries     []struct{ Word, Say, Pattern string }
	}
	get := func(pub string) lex {
		t.Helper()
		status, body := e.do("GET", "/api/lexicon?publication="+pub, readerToken, nil)
		if status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
		return decode[lex](t, body)
	}
	if l := get("daily"); len(l.Entries) != 0 || l.Publication != "daily" {
		t.Fatalf("new lexicon %+v", l)
	}
	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"add", "POST", "/api/lexicon?publication=daily", map[string]string{"word": "Kyiv", "say": "Keev"}, 201},
		{"add again", "POST", "/api/lexicon?publication=daily", map[string]string{"word": "Kyiv", "say": "Kiev"}, 409},
		{"add a pattern", "POST", "/api/lexicon?publication=daily", map[string]string{"pattern": `\bNo\. (\d+)`, "say": "number $1"}, 201},
		{"add saying nothing", "POST", "/api/lexicon?publication=daily", map[string]string{"word": "Lviv"}, 400},
		{"add a bad pattern", "POST", "/api/lexicon?publication=daily", map[string]string{"pattern": "(", "say": "x"}, 400},
		{"malformed", "POST", "/api/lexicon?publication=daily", `{"word":`, 400},
		{"unknown field", "POST", "/api/lexicon?publication=daily", `{"wrd":"Kyiv","say":"Keev"}`, 400},
		{"oversized", "POST", "/api/lexicon?publication=daily", map[string]string{"word": "Kyiv", "say": "Keev", "note": strings.Repeat("x", 70<<10)}, 413},
		{"change", "PUT", "/api/lexicon/Kyiv?publication=daily", map[string]any{"say": "Keeve", "note": "desk style"}, 200},
		{"change another word", "PUT", "/api/lexicon/Kyiv?publication=daily", map[string]string{"word": "Lviv", "say": "Leviv"}, 400},
		{"put a new word", "PUT", "/api/lexicon/OSCE?publication=daily", map[string]any{"spell": true}, 200},
		{"delete", "DELETE", "/api/lexicon/OSCE?publication=daily", nil, 200},
		{"delete again", "DELETE", "/api/lexicon/OSCE?publication=daily", nil, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := e.do(tc.method, tc.path, editorToken, tc.body); status != tc.want {
				t.Errorf("%d %s, want %d", status, body, tc.want)
			}
		})
	}
	l := get("daily")
	if len(l.Entries) != 2 || l.Entries[0].Word != "Kyiv" || l.Entries[0].Say != "Keeve" || l.Entries[1].Pattern == "" {
		t.Errorf("lexicon %+v", l)
	}
	if len(get("").Entries) != 0 {
		t.Error("the default publication's lexicon changed with another's")
	}
}

// TestAllEventsFollowsNewJobs opens the dashboard's stream of every
// narration before a job exists and sees that job through to done.
func TestAllEventsFollowsNewJobs(t *testing.T) {
	e := start(t)
	resp := e.request("GET", "/api/events", readerToken, nil, nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	if status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "live", "text": article("Live")}); status != http.StatusAccepted {
		t.Fatalf("%d %s", status, body)
	}
	got := make(chan []sse, 1)
	go func() {
		got <- readSSE(t, resp.Body, func(s sse) bool { return strings.Contains(s.Data, `"state":"done"`) })
	}()
	select {
	case evs := <-got:
		if len(evs) == 0 || !strings.Contains(evs[len(evs)-1].Data, `"job":"live"`) || !strings.Contains(evs[len(evs)-1].Data, `"progress":100`) {
			t.Errorf("events %+v", evs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no done event for the new job")
	}
}
