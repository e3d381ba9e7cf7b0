// Package storage keeps published files (audio, transcripts, feeds) where
// listeners fetch them: a directory served over HTTP in the embedded
// default, an S3 bucket behind a CDN in production.
//
// Keys are slash-separated paths ("audio/ab12.mp3") with no empty, "." or
// ".." segments; both implementations reject other keys with ErrInvalidKey so
// that a key that works on a laptop works in production too. Errors that
// retrying cannot fix (an invalid key, a missing bucket, rejected
// credentials) have a Permanent() bool method returning true, the shape the
// queue runner's error classification looks for.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when no object has the key.
var ErrNotFound = errors.New("storage: object not found")

// ErrInvalidKey is returned for a key that is not a clean relative path.
var ErrInvalidKey = errors.New("storage: invalid key")

// ErrSizeMismatch is returned by Put when the reader yields more or fewer
// bytes than the size it was given; the old object is left as it was.
var ErrSizeMismatch = errors.New("storage: body size does not match the declared size")

// Meta is what a client sees in an object's response headers.
type Meta struct {
	ContentType        string
	CacheControl       string
	ContentDisposition string
}

// Object describes a stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
	// ETag is the quoted entity tag, as in an HTTP ETag header; it changes
	// when the content changes.
	ETag string
	Meta Meta
}

// Store is an object store. Implementations must be safe for concurrent use.
// Put replaces an object atomically: a reader sees the old bytes or the new,
// never a mix, and a failed Put leaves the old object as it was.
type Store interface {
	// Put writes size bytes from r under key; a negative size means the
	// length is not known in advance. An empty ContentType is guessed from
	// the key's extension.
	Put(ctx context.Context, key string, r io.Reader, size int64, meta Meta) error
	// Get opens an object; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Head describes an object without reading it.
	Head(ctx context.Context, key string) (Object, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// List returns the objects whose keys start with prefix, in key order
	// (byte order of the UTF-8 keys). Listed objects may carry no Meta:
	// S3 does not return headers in listings.
	List(ctx context.Context, prefix string) ([]Object, error)
	// URL returns the public address of key.
	URL(key string) string
}

var (
	_ Store = (*FS)(nil)
	_ Store = (*S3)(nil)
)
