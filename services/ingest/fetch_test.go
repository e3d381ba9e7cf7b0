package ingest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// countingResolver is the system's resolver, counting its lookups.
type countingResolver struct{ n atomic.Int32 }

func (c *countingResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	c.n.Add(1)
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}

func TestVetRefusesAHostThatDoesNotResolveAfterOneQuickRetry(t *testing.T) {
	defer func(d time.Duration) { retryLookup = d }(retryLookup)
	retryLookup = 10 * time.Millisecond
	res := &countingResolver{}
	g := MustGuard(GuardConfig{Resolver: res})
	// .invalid never resolves (RFC 6761).
	err := g.Vet(t.Context(), "https://news.narrator-test.invalid/story")
	if !errors.Is(err, ErrNoHost) || !fault.IsPermanent(err) || !strings.Contains(err.Error(), "news.narrator-test.invalid does not exist") || !strings.Contains(err.Error(), "no such host") {
		t.Fatalf("Vet: %v (permanent %v), want a permanent ErrNoHost", err, fault.IsPermanent(err))
	}
	if n := res.n.Load(); n != 2 {
		t.Errorf("%d lookups, want the first and one retry", n)
	}
	for _, tc := range []struct{ url, want string }{
		{"htp://example.com/x", "only http and https"},
		{"http://127.0.0.1/x", "refused to fetch from 127.0.0.1"},
	} {
		if err := g.Vet(t.Context(), tc.url); err == nil || !fault.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Vet(%s): %v, want a permanent error saying %q", tc.url, err, tc.want)
		}
	}
}
