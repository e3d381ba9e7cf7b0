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
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
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
	h := w.Header()
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
