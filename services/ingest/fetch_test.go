package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/fault"
)

func TestFetch(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/article", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html><body><p>Hello</p></body></html>"))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/article", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) })
	mux.HandleFunc("/image", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte{0x89, 'P', 'N', 'G'})
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(strings.Repeat("a", 2048)))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	// The test server is on loopback, which only an allow-list opens.
	f := New(Config{MaxBytes: 1024, Guard: MustGuard(GuardConfig{Allow: []string{"127.0.0.1"}})})

	page, err := f.Fetch(context.Background(), srv.URL+"/moved")
	if err != nil {
		t.Fatal(err)
	}
	if page.URL != srv.URL+"/article" || !strings.Contains(string(page.Body), "Hello") || !strings.HasPrefix(page.ContentType, "text/html") {
		t.Errorf("fetched %+v", page)
	}

	for _, tc := range []struct {
		path      string
		want      error
		permanent bool
	}{
		{"/missing", ErrStatus, true},
		{"/busy", ErrStatus, false},
		{"/image", ErrContentType, true},
		{"/huge", ErrTooLarge, true},
		{"/loop", ErrURL, true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), srv.URL+tc.path)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if fault.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v (%v)", fault.IsPermanent(err), tc.permanent, err)
			}
		})
	}
	for _, bad := range []string{"ftp://example.com/a", "file:///etc/passwd", "not a url", "http://"} {
		if _, err := f.Fetch(context.Background(), bad); !errors.Is(err, ErrURL) || !fault.IsPermanent(err) {
			t.Errorf("%q: err = %v, want a permanent ErrURL", bad, err)
		}
	}
}
