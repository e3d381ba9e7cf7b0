package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/api"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/pipeline"
)

// listenerServer is an API process with no speech provider: a pipeline
// with only the queue, as an API pod without synthesis keys runs.
func listenerServer(t *testing.T, e *env, maxListeners int) *httptest.Server {
	t.Helper()
	p, err := pipeline.New(pipeline.Deps{Queue: e.q}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Deps{Pipeline: p}, api.Config{Options: queue.Options{Provider: "openai"}, MaxListeners: maxListeners})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// TestListenOverHTTP streams a narration from an API process without
// speech keys: one audio/mpeg response in chunked transfer, the published
// file's frames without its head; an unknown id is 404, and a listener
// over the server's bound is told to come back.
func TestListenOverHTTP(t *testing.T) {
	e := start(t)
	ls := listenerServer(t, e, 1)
	status, body := e.do("POST", "/api/narrations", editorToken, map[string]string{"article_id": "listen", "text": article("Council budget")})
	if status != http.StatusAccepted {
		t.Fatalf("submit: %d %s", status, body)
	}
	id := decode[narration](t, body).ID
	resp, err := http.Get(ls.URL + "/listen/" + id)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/mpeg" || !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Fatalf("GET /listen: %d, Content-Type %q, Transfer-Encoding %v", resp.StatusCode, resp.Header.Get("Content-Type"), resp.TransferEncoding)
	}
	n := e.wait(id)
	if n.State != "done" {
		t.Fatalf("narration %s: %s", n.State, n.Error)
	}
	status, file := e.do("GET", n.Audio.URL[len(e.srv.URL):], "", nil)
	if status != http.StatusOK {
		t.Fatalf("published file: %d", status)
	}
	sc := mp3.NewScanner(bytes.NewReader(file))
	head := -1
	for head < 0 && sc.Scan() {
		if it := sc.Item(); it.Kind == mp3.KindFrame {
			head = int(it.Offset)
		}
	}
	if head < 0 || !bytes.Equal(stream, file[head:]) {
		t.Errorf("the stream (%d bytes) is not the published file (%d bytes) after its head (%d bytes)", len(stream), len(file), head)
	}

	if r, err := http.Get(ls.URL + "/listen/no-such-job"); err != nil || r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown narration: %v %v", r.StatusCode, err)
	}

	// A narration that never gets chunks holds its listener's place.
	if err := e.q.Jobs().Create(t.Context(), queue.Job{ID: "waiting", Revision: 1, State: queue.Queued}); err != nil {
		t.Fatal(err)
	}
	held, err := http.Get(ls.URL + "/listen/waiting")
	if err != nil || held.StatusCode != http.StatusOK {
		t.Fatalf("the waiting stream: %v %v", held.StatusCode, err)
	}
	defer held.Body.Close()
	over, err := http.Get(ls.URL + "/listen/" + id)
	if err != nil {
		t.Fatal(err)
	}
	over.Body.Close()
	if over.StatusCode != http.StatusServiceUnavailable || over.Header.Get("Retry-After") == "" {
		t.Errorf("a listener over the bound: %d, Retry-After %q", over.StatusCode, over.Header.Get("Retry-After"))
	}
}
