package storage

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// maxKeyLen is S3's limit on a key's length in bytes.
const maxKeyLen = 1024

// ValidKey reports why key cannot name an object, or nil if it can. A key is
// a slash-separated relative path of valid UTF-8 without control characters
// or backslashes, and with no empty, "." or ".." segments, so that it maps to
// the same file on every filesystem and cannot escape a directory.
func ValidKey(key string) error {
	bad := func(why string) error {
		return permanent(fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why))
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > maxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", maxKeyLen))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute (starts with /)")
	case strings.HasSuffix(key, "/"):
		return bad("ends with /")
	case strings.Contains(key, "\\"):
		return bad("contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return bad("has an empty segment (//)")
		case ".", "..":
			return bad(fmt.Sprintf("has a %q segment", seg))
		}
	}
	return nil
}

// validPrefix checks a List prefix: any leading part of a valid key.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	// A prefix ending in "/" or in part of a segment is fine; what must
	// not appear is a segment that could never belong to a valid key.
	probe := prefix
	if strings.HasSuffix(probe, "/") {
		probe += "x"
	}
	if err := ValidKey(probe); err != nil {
		return permanent(fmt.Errorf("%w: prefix %q cannot start any valid key", ErrInvalidKey, prefix))
	}
	return nil
}

// escapeKey escapes each segment of key for use in a URL path.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// joinURL appends an escaped key to a base URL, with exactly one slash
// between them.
func joinURL(base, key string) string {
	return strings.TrimRight(base, "/") + "/" + escapeKey(key)
}

// withDefaults fills an empty content type from the key's extension, so that
// both implementations store and return the same type for the same Put.
func withDefaults(key string, m Meta) Meta {
	if m.ContentType == "" {
		m.ContentType = typeByExtension(path.Ext(key))
	}
	return m
}

// extraTypes covers the files this project publishes whose types the
// standard library's built-in table lacks, so that the result does not
// depend on the host's mime.types.
var extraTypes = map[string]string{
	".mp3": "audio/mpeg",
	".vtt": "text/vtt; charset=utf-8",
	".m4a": "audio/mp4",
}

func typeByExtension(ext string) string {
	ext = strings.ToLower(ext)
	if t, ok := extraTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent reports that retrying the operation cannot succeed.
func (e *permanentError) Permanent() bool { return true }

func permanent(err error) error {
	var p *permanentError
	if errors.As(err, &p) {
		return err
	}
	return &permanentError{err}
}
