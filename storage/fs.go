package storage

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// FS stores objects as files under a directory: the embedded default,
// served by Handler. The layout is
//
//	DIR/objects/KEY   the bytes, a plain file operators can copy or serve
//	DIR/meta/KEY      a JSON sidecar with the headers, kept outside the
//	                  object tree so that listings never show it
//	DIR/tmp/          files being written, renamed into place when complete
//
// A Put replaces the object and its sidecar by renames, so readers see the
// old file or the new one, never a partial write. Within one process a key's
// data and sidecar are swapped together; another process reading while a Put
// renames may, for an instant, see the new bytes with the old headers.
type FS struct {
	objects, meta, tmp string
	base               string
	locks              [64]sync.RWMutex
}

// fsMeta is the sidecar's content. Size and ETag describe the data file the
// sidecar was written with, so a sidecar that no longer matches its file
// (a crash between the two renames) is recognised and not trusted.
type fsMeta struct {
	ContentType        string `json:"content_type"`
	CacheControl       string `json:"cache_control,omitempty"`
	ContentDisposition string `json:"content_disposition,omitempty"`
	Size               int64  `json:"size"`
	ETag               string `json:"etag"`
}

// NewFS returns a store keeping its files under dir, creating it if needed.
// URL returns publicBaseURL + "/" + the escaped key (for the embedded server,
// say "http://localhost:8080/media"); with an empty base it returns a path
// rooted at "/".
func NewFS(dir, publicBaseURL string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("storage: fs: directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: fs: %w", err)
	}
	f := &FS{
		objects: filepath.Join(abs, "objects"),
		meta:    filepath.Join(abs, "meta"),
		tmp:     filepath.Join(abs, "tmp"),
		base:    publicBaseURL,
	}
	for _, d := range []string{f.objects, f.meta, f.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("storage: fs: create %s: %w", d, err)
		}
	}
	f.removeStaleTemps()
	return f, nil
}

// staleTemp is how old a temporary file must be before it is taken for the
// leftover of a crashed Put; younger ones may belong to another process
// sharing the directory.
const staleTemp = time.Hour

func (f *FS) removeStaleTemps() {
	entries, err := os.ReadDir(f.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
			os.Remove(filepath.Join(f.tmp, e.Name()))
		}
	}
}

// Dir returns the directory holding the objects' bytes.
func (f *FS) Dir() string { return f.objects }

// URL returns the public address of key.
func (f *FS) URL(key string) string { return joinURL(f.base, key) }

func (f *FS) lock(key string) *sync.RWMutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &f.locks[h.Sum32()%uint32(len(f.locks))]
}

func (f *FS) paths(key string) (data, meta string) {
	rel := filepath.FromSlash(key)
	return filepath.Join(f.objects, rel), filepath.Join(f.meta, rel)
}

// Put writes the object to a temporary file, syncs it, and renames it into
// place.
func (f *FS) Put(ctx context.Context, key string, r io.Reader, size int64, meta Meta) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage: fs put: %w", err)
	}
	if err := validMeta(meta); err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	meta = withDefaults(key, meta)
	dataTmp, n, sum, err := f.writeTemp(ctx, r, size)
	if err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	defer os.Remove(dataTmp) // no-op once renamed
	side, err := json.Marshal(fsMeta{
		ContentType:        meta.ContentType,
		CacheControl:       meta.CacheControl,
		ContentDisposition: meta.ContentDisposition,
		Size:               n,
		ETag:               `"` + sum + `"`,
	})
	if err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	metaTmp, _, _, err := f.writeTemp(ctx, strings.NewReader(string(side)), int64(len(side)))
	if err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	defer os.Remove(metaTmp)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}

	data, side2 := f.paths(key)
	l := f.lock(key)
	l.Lock()
	defer l.Unlock()
	if err := renameInto(dataTmp, data); err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	if err := renameInto(metaTmp, side2); err != nil {
		return fmt.Errorf("storage: fs put %q: %w", key, err)
	}
	return nil
}

// writeTemp copies r to a synced file in the tmp directory and returns its
// path, length and MD5 (hex). With size >= 0 the length must equal size.
func (f *FS) writeTemp(ctx context.Context, r io.Reader, size int64) (name string, n int64, sum string, err error) {
	tmp, err := os.CreateTemp(f.tmp, "put-*")
	if err != nil {
		return "", 0, "", err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if size >= 0 {
		// One byte past size is enough to notice a longer body.
		r = io.LimitReader(r, size+1)
	}
	h := md5.New()
	n, err = io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return "", 0, "", err
	}
	if size >= 0 && n != size {
		return "", 0, "", fmt.Errorf("%w: declared %d bytes, read %d", ErrSizeMismatch, size, n)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return "", 0, "", err
	}
	if err = tmp.Sync(); err != nil {
		return "", 0, "", err
	}
	if err = tmp.Close(); err != nil {
		return "", 0, "", err
	}
	return tmp.Name(), n, hexSum(h), nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// renameInto moves a finished temporary file to dst, creating parent
// directories, and syncs the parent so the rename survives a crash. A
// concurrent Delete may remove a freshly created empty parent, so the
// directory creation is retried.
func renameInto(src, dst string) error {
	dir := filepath.Dir(dst)
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, 0o755); err != nil {
			if isNotDir(err) {
				return fmt.Errorf("a parent of the key is an object: %w", err)
			}
			return err
		}
		err = os.Rename(src, dst)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		if isNotDir(err) {
			return fmt.Errorf("a parent of the key is an object: %w", err)
		}
		if fi, serr := os.Stat(dst); serr == nil && fi.IsDir() {
			return fmt.Errorf("the key is a prefix of other objects: %w", err)
		}
		return err
	}
	return syncDir(dir)
}

func isNotDir(err error) bool {
	var pe *os.PathError
	var le *os.LinkError
	return errors.As(err, &pe) && errors.Is(pe.Err, errNotDir) ||
		errors.As(err, &le) && errors.Is(le.Err, errNotDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Get opens the object's file; the open file keeps reading the bytes it was
// opened on even if a Put replaces the object meanwhile.
func (f *FS) Get(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	file, obj, err := f.open(ctx, key)
	if err != nil {
		return nil, Object{}, err
	}
	return file, obj, nil
}

func (f *FS) open(ctx context.Context, key string) (*os.File, Object, error) {
	if err := ValidKey(key); err != nil {
		return nil, Object{}, fmt.Errorf("storage: fs get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, Object{}, fmt.Errorf("storage: fs get %q: %w", key, err)
	}
	data, side := f.paths(key)
	l := f.lock(key)
	l.RLock()
	m, merr := readMeta(side)
	file, err := os.Open(data)
	l.RUnlock()
	if err != nil {
		return nil, Object{}, fmt.Errorf("storage: fs get %q: %w", key, notFound(err))
	}
	fi, err := file.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotFound
	}
	if err != nil {
		file.Close()
		return nil, Object{}, fmt.Errorf("storage: fs get %q: %w", key, err)
	}
	return file, describe(key, fi, m, merr), nil
}

// Head describes the object from its file and sidecar.
func (f *FS) Head(ctx context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage: fs head: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Object{}, fmt.Errorf("storage: fs head %q: %w", key, err)
	}
	data, side := f.paths(key)
	l := f.lock(key)
	l.RLock()
	m, merr := readMeta(side)
	fi, err := os.Stat(data)
	l.RUnlock()
	if err == nil && !fi.Mode().IsRegular() {
		err = ErrNotFound
	}
	if err != nil {
		return Object{}, fmt.Errorf("storage: fs head %q: %w", key, notFound(err))
	}
	return describe(key, fi, m, merr), nil
}

func readMeta(path string) (fsMeta, error) {
	var m fsMeta
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}

// describe builds an Object from a file and its sidecar. A file without a
// usable sidecar (copied in by hand, or left by a crash between the two
// renames of a Put) gets headers guessed from its name and an ETag derived
// from its size and modification time.
func describe(key string, fi fs.FileInfo, m fsMeta, merr error) Object {
	o := Object{Key: key, Size: fi.Size(), Modified: fi.ModTime()}
	if merr == nil && m.Size == fi.Size() && m.ETag != "" {
		o.ETag = m.ETag
		o.Meta = Meta{ContentType: m.ContentType, CacheControl: m.CacheControl, ContentDisposition: m.ContentDisposition}
	} else {
		o.ETag = fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size())
	}
	o.Meta = withDefaults(key, o.Meta)
	return o
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
		return ErrNotFound
	}
	return err
}

// Delete removes the object and its sidecar, then any directories the
// removal left empty.
func (f *FS) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage: fs delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage: fs delete %q: %w", key, err)
	}
	data, side := f.paths(key)
	l := f.lock(key)
	l.Lock()
	defer l.Unlock()
	if fi, err := os.Stat(data); err == nil && fi.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	for _, p := range []string{data, side} {
		if err := os.Remove(p); err != nil && notFound(err) != ErrNotFound {
			return fmt.Errorf("storage: fs delete %q: %w", key, err)
		}
	}
	pruneEmpty(filepath.Dir(data), f.objects)
	pruneEmpty(filepath.Dir(side), f.meta)
	return nil
}

// pruneEmpty removes dir and its parents up to (not including) root while
// they are empty; a directory that is not empty stops it.
func pruneEmpty(dir, root string) {
	for dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// List walks the directory that holds the prefix and returns the matching
// objects sorted by key.
func (f *FS) List(ctx context.Context, prefix string) ([]Object, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("storage: fs list: %w", err)
	}
	start := f.objects
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		start = filepath.Join(f.objects, filepath.FromSlash(prefix[:i]))
	}
	var out []Object
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == start && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(f.objects, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Skip directories that cannot hold a matching key.
			if p != start && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		_, side := f.paths(key)
		m, merr := readMeta(side)
		out = append(out, describe(key, fi, m, merr))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage: fs list %q: %w", prefix, err)
	}
	// WalkDir's per-directory order differs from byte order of whole keys
	// ("a/b" sorts after "a-c"), and S3 lists in byte order.
	slices.SortFunc(out, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
