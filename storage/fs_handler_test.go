package storage_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"
)

// mediaServer serves fs under /media/ the way narrator serve mounts it.
func mediaServer(t *testing.T) (*storage.FS, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	fs, err := storage.NewFS(t.TempDir(), srv.URL+"/media")
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/media/", http.StripPrefix("/media", fs.Handler()))
	return fs, srv
}

func TestFSHandler(t *testing.T) {
	fs, srv := mediaServer(t)
	data := storagetest.Payload(10_000, 42)
	meta := storage.Meta{
		ContentType:        "audio/mpeg",
		CacheControl:       "public, max-age=31536000, immutable",
		ContentDisposition: storage.ContentDisposition("attachment", "Stadtrat – Abstimmung.mp3"),
	}
	const key = "audio/Stadtrat – Abstimmung/ab12.mp3"
	if err := fs.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)), meta); err != nil {
		t.Fatal(err)
	}
	obj, err := fs.Head(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	url := fs.URL(key)

	cases := []struct {
		name       string
		method     string
		url        string
		header     map[string]string
		wantStatus int
		wantBody   []byte // nil: not checked
		wantHeader map[string]string
	}{
		{
			name: "GET whole object", method: "GET", url: url, wantStatus: 200, wantBody: data,
			wantHeader: map[string]string{
				"Content-Type": meta.ContentType, "Cache-Control": meta.CacheControl,
				"Content-Disposition": meta.ContentDisposition, "Content-Length": fmt.Sprint(len(data)),
				"Accept-Ranges": "bytes", "ETag": obj.ETag, "X-Content-Type-Options": "nosniff",
				"Access-Control-Allow-Origin": "*",
			},
		},
		{
			name: "HEAD", method: "HEAD", url: url, wantStatus: 200, wantBody: []byte{},
			wantHeader: map[string]string{
				"Content-Type": meta.ContentType, "Cache-Control": meta.CacheControl,
				"Content-Length": fmt.Sprint(len(data)), "Accept-Ranges": "bytes",
			},
		},
		{
			name: "byte range", method: "GET", url: url, header: map[string]string{"Range": "bytes=100-1099"},
			wantStatus: 206, wantBody: data[100:1100],
			wantHeader: map[string]string{
				"Content-Range": fmt.Sprintf("bytes 100-1099/%d", len(data)), "Content-Length": "1000",
				"Content-Type": meta.ContentType, "Access-Control-Allow-Origin": "*",
				"Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag",
			},
		},
		{
			name: "suffix range", method: "GET", url: url, header: map[string]string{"Range": "bytes=-16"},
			wantStatus: 206, wantBody: data[len(data)-16:],
		},
		{
			name: "open-ended range", method: "GET", url: url, header: map[string]string{"Range": "bytes=9990-"},
			wantStatus: 206, wantBody: data[9990:],
		},
		{
			name: "unsatisfiable range", method: "GET", url: url, header: map[string]string{"Range": "bytes=20000-"},
			wantStatus: 416,
		},
		{
			name: "If-None-Match with the current ETag", method: "GET", url: url,
			header: map[string]string{"If-None-Match": obj.ETag}, wantStatus: 304,
		},
		{
			name: "If-Range with a stale ETag sends the whole object", method: "GET", url: url,
			header:     map[string]string{"Range": "bytes=0-9", "If-Range": `"stale"`},
			wantStatus: 200, wantBody: data,
		},
		{name: "missing object", method: "GET", url: srv.URL + "/media/audio/none.mp3", wantStatus: 404},
		{name: "directory", method: "GET", url: srv.URL + "/media/audio", wantStatus: 404},
		{name: "escaping key", method: "GET", url: srv.URL + "/media/audio/..%2f..%2fmeta/x", wantStatus: 404},
		{name: "empty key", method: "GET", url: srv.URL + "/media/", wantStatus: 404},
		{
			name: "cross-origin preflight for a range", method: "OPTIONS", url: url,
			header:     map[string]string{"Origin": "https://podcasts.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "range"},
			wantStatus: 204, wantBody: []byte{},
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD",
				"Access-Control-Allow-Headers": "Range, If-None-Match, If-Modified-Since, If-Range",
			},
		},
		{
			name: "POST not allowed", method: "POST", url: url, wantStatus: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %.200q)", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantBody != nil && !bytes.Equal(body, tc.wantBody) {
				t.Errorf("body: %d bytes, want %d", len(body), len(tc.wantBody))
			}
			for k, v := range tc.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestFSHandlerSniffsNothing(t *testing.T) {
	// Bytes that look like HTML must go out with their stored type, so a
	// published transcript can never be run as a page.
	fs, _ := mediaServer(t)
	body := "<html><script>alert(1)</script>"
	if err := fs.Put(t.Context(), "t.vtt", strings.NewReader(body), int64(len(body)), storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fs.URL("t.vtt"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/vtt; charset=utf-8" {
		t.Errorf("Content-Type %q, want the type from the extension", ct)
	}
}

func TestFSHandlerRefusesPathsOutsideTheObjects(t *testing.T) {
	fs, _ := mediaServer(t)
	if err := fs.Put(t.Context(), "k.json", strings.NewReader("{}"), 2, storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	// The handler may be mounted without a ServeMux cleaning the path, so
	// it must refuse a path that climbs out to the sidecars by itself.
	for _, p := range []string{"/../meta/k.json", "/./k.json", "//k.json", "/k.json/"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		fs.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, rec.Code)
		}
	}
}
