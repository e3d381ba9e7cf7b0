package storage

import (
	"errors"
	"net/http"
	"strings"
)

// Handler serves the objects over HTTP: GET and HEAD, byte ranges and
// conditional requests (podcast apps and browsers' audio elements need
// them), with each object's stored Content-Type, Cache-Control and
// Content-Disposition. The request path, with any mount prefix stripped
// (http.StripPrefix), is the key.
func (f *FS) Handler() http.Handler {
	return http.HandlerFunc(f.serve)
}

func (f *FS) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Published files are public and read without cookies: web podcast
	// players on other sites may fetch transcripts, chapters and ranges.
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD")
		h.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since, If-Range")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, Accept-Ranges, ETag")
	key := strings.TrimPrefix(r.URL.Path, "/")
	file, obj, err := f.open(r.Context(), key)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidKey):
		http.NotFound(w, r)
		return
	case err != nil:
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	defer file.Close()
	// Setting Content-Type stops ServeContent from sniffing the bytes.
	h.Set("Content-Type", obj.Meta.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", obj.ETag)
	if obj.Meta.CacheControl != "" {
		h.Set("Cache-Control", obj.Meta.CacheControl)
	}
	if obj.Meta.ContentDisposition != "" {
		h.Set("Content-Disposition", obj.Meta.ContentDisposition)
	}
	http.ServeContent(w, r, "", obj.Modified, file)
}
