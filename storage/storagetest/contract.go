// Package storagetest holds what tests of storage.Store implementations
// share: a contract suite every implementation must pass, and a helper
// that runs a real S3 server (versitygw) for the S3 implementation.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/storage"
)

// LargeSize is the size of the suite's large objects. An implementation
// with multipart uploads must be configured so that LargeSize spans
// several parts (storage.MinPartSize gives three).
const LargeSize = 2*storage.MinPartSize + 123_457

// Run runs the contract suite. newStore returns an empty store for one
// subtest; it registers its own cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"PutGetRoundTrip", testPutGet},
		{"HeadAgreesWithGet", testHeadAgreesWithGet},
		{"MetadataRoundTrip", testMetadata},
		{"ContentTypeFromExtension", testDefaultContentType},
		{"MissingKeyIsNotFound", testNotFound},
		{"Delete", testDelete},
		{"OverwriteReplacesBytesAndMeta", testOverwrite},
		{"ListByPrefixInKeyOrder", testList},
		{"EmptyObject", testEmpty},
		{"UnknownSize", testUnknownSize},
		{"SizeMismatchKeepsOld", testSizeMismatch},
		{"FailedReadKeepsOld", testFailedReadKeepsOld},
		{"CanceledPutKeepsOld", testCanceled},
		{"ConcurrentPuts", testConcurrent},
		{"LargeObject", testLarge},
		{"KeysWithSpacesAndUnicode", testUnicodeKeys},
		{"InvalidKeysRejected", testInvalidKeys},
		{"InvalidHeaderValuesRejected", testInvalidMeta},
		{"URLEscapesKey", testURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// ctx is a context bounded so that a hung store fails the test instead of
// hanging it.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// Payload returns n deterministic pseudo-random bytes, different for
// each seed.
func Payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s storage.Store, key string, data []byte, meta storage.Meta) {
	t.Helper()
	if err := s.Put(ctx(t), key, bytes.NewReader(data), int64(len(data)), meta); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// get reads a whole object.
func get(t *testing.T, s storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	rc, obj, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): read: %v", key, err)
	}
	return b, obj
}

func mustEqualBytes(t *testing.T, key string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%q: got %d bytes (sha256 %x), want %d bytes (sha256 %x)",
			key, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

func testPutGet(t *testing.T, s storage.Store) {
	data := Payload(1000, 1)
	meta := storage.Meta{ContentType: "audio/mpeg", CacheControl: "public, max-age=60"}
	before := time.Now().Add(-time.Hour)
	put(t, s, "audio/one.mp3", data, meta)
	got, obj := get(t, s, "audio/one.mp3")
	mustEqualBytes(t, "audio/one.mp3", got, data)
	if obj.Key != "audio/one.mp3" || obj.Size != int64(len(data)) {
		t.Errorf("Get object = key %q size %d, want %q %d", obj.Key, obj.Size, "audio/one.mp3", len(data))
	}
	if obj.ETag == "" {
		t.Error("Get returned no ETag")
	}
	if obj.Modified.Before(before) || obj.Modified.After(time.Now().Add(time.Hour)) {
		t.Errorf("Modified = %v, want about now", obj.Modified)
	}
	if obj.Meta != meta {
		t.Errorf("Meta = %+v, want %+v", obj.Meta, meta)
	}
}

func testHeadAgreesWithGet(t *testing.T, s storage.Store) {
	data := Payload(4096, 2)
	put(t, s, "a/b/c.json", data, storage.Meta{ContentType: "application/json", CacheControl: "no-cache"})
	head, err := s.Head(ctx(t), "a/b/c.json")
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	_, obj := get(t, s, "a/b/c.json")
	if head.Key != obj.Key || head.Size != obj.Size || head.ETag != obj.ETag || head.Meta != obj.Meta {
		t.Errorf("Head = %+v\nGet  = %+v", head, obj)
	}
	if !head.Modified.Equal(obj.Modified) {
		t.Errorf("Head modified %v, Get modified %v", head.Modified, obj.Modified)
	}
}

func testMetadata(t *testing.T, s storage.Store) {
	cases := []struct {
		name string
		key  string
		meta storage.Meta
	}{
		{"immutable audio with download name", "n/abc123.mp3", storage.Meta{
			ContentType:        "audio/mpeg",
			CacheControl:       "public, max-age=31536000, immutable",
			ContentDisposition: `inline; filename="City council votes.mp3"`,
		}},
		{"manifest with short cache", "n/abc123.json", storage.Meta{
			ContentType:  "application/json",
			CacheControl: "public, max-age=60",
		}},
		{"non-ASCII file name", "n/abc123.vtt", storage.Meta{
			ContentType:        "text/vtt; charset=utf-8",
			CacheControl:       "public, max-age=31536000, immutable",
			ContentDisposition: storage.ContentDisposition("attachment", "Über die Stadt – 日本.vtt"),
		}},
		{"feed", "feeds/main.xml", storage.Meta{
			ContentType:  "application/rss+xml; charset=utf-8",
			CacheControl: "public, max-age=300",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			put(t, s, tc.key, []byte("x"), tc.meta)
			head, err := s.Head(ctx(t), tc.key)
			if err != nil {
				t.Fatalf("Head: %v", err)
			}
			if head.Meta != tc.meta {
				t.Errorf("Head meta = %+v, want %+v", head.Meta, tc.meta)
			}
			_, obj := get(t, s, tc.key)
			if obj.Meta != tc.meta {
				t.Errorf("Get meta = %+v, want %+v", obj.Meta, tc.meta)
			}
		})
	}
}

func testDefaultContentType(t *testing.T, s storage.Store) {
	cases := map[string]string{
		"x.mp3":  "audio/mpeg",
		"x.json": "application/json",
		"x.bin":  "application/octet-stream",
		"noext":  "application/octet-stream",
	}
	for key, want := range cases {
		put(t, s, key, []byte("x"), storage.Meta{})
		head, err := s.Head(ctx(t), key)
		if err != nil {
			t.Fatalf("Head(%q): %v", key, err)
		}
		if head.Meta.ContentType != want {
			t.Errorf("%q: content type %q, want %q", key, head.Meta.ContentType, want)
		}
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	put(t, s, "dir/present", []byte("x"), storage.Meta{})
	for _, key := range []string{"missing", "dir/missing", "dir", "dir/present/below", "other/dir/x"} {
		if _, err := s.Head(ctx(t), key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Head(%q) = %v, want ErrNotFound", key, err)
		}
		rc, _, err := s.Get(ctx(t), key)
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
		if rc != nil {
			rc.Close()
		}
	}
}

func testDelete(t *testing.T, s storage.Store) {
	put(t, s, "d/keep", []byte("keep"), storage.Meta{})
	put(t, s, "d/gone", []byte("gone"), storage.Meta{})
	if err := s.Delete(ctx(t), "d/gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Head(ctx(t), "d/gone"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head after Delete = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx(t), "d/gone"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := s.Delete(ctx(t), "never/was"); err != nil {
		t.Errorf("Delete of a missing key = %v, want nil", err)
	}
	got, _ := get(t, s, "d/keep")
	mustEqualBytes(t, "d/keep", got, []byte("keep"))
	list, err := s.List(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if keys := keysOf(list); !slices.Equal(keys, []string{"d/keep"}) {
		t.Errorf("List after Delete = %q, want [d/keep]", keys)
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	v1, v2 := Payload(3000, 3), Payload(1234, 4)
	put(t, s, "feed.xml", v1, storage.Meta{ContentType: "application/xml", CacheControl: "max-age=60", ContentDisposition: "inline"})
	h1, err := s.Head(ctx(t), "feed.xml")
	if err != nil {
		t.Fatal(err)
	}
	meta2 := storage.Meta{ContentType: "application/rss+xml"}
	put(t, s, "feed.xml", v2, meta2)
	got, obj := get(t, s, "feed.xml")
	mustEqualBytes(t, "feed.xml", got, v2)
	if obj.Size != int64(len(v2)) {
		t.Errorf("size %d, want %d", obj.Size, len(v2))
	}
	if obj.Meta != meta2 {
		t.Errorf("meta after overwrite = %+v, want %+v (old headers must not linger)", obj.Meta, meta2)
	}
	if obj.ETag == h1.ETag {
		t.Errorf("ETag %s did not change when the content did", obj.ETag)
	}
}

func keysOf(objs []storage.Object) []string {
	keys := []string{}
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func testList(t *testing.T, s storage.Store) {
	keys := []string{"a/2", "a-b", "a/b/c", "ab", "b", "a/1", "a/b/d/e", "c/x"}
	for i, k := range keys {
		put(t, s, k, Payload(10+i, uint64(i)), storage.Meta{})
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a-b", "a/1", "a/2", "a/b/c", "a/b/d/e", "ab", "b", "c/x"}},
		{"a", []string{"a-b", "a/1", "a/2", "a/b/c", "a/b/d/e", "ab"}},
		{"a/", []string{"a/1", "a/2", "a/b/c", "a/b/d/e"}},
		{"a/b", []string{"a/b/c", "a/b/d/e"}},
		{"a/b/", []string{"a/b/c", "a/b/d/e"}},
		{"a/b/d/e", []string{"a/b/d/e"}},
		{"c/", []string{"c/x"}},
		{"zz", []string{}},
		{"no/such/dir/", []string{}},
	}
	for _, tc := range cases {
		t.Run("prefix="+tc.prefix, func(t *testing.T) {
			list, err := s.List(ctx(t), tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			if got := keysOf(list); !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			for _, o := range list {
				i := slices.Index(keys, o.Key)
				if o.Size != int64(10+i) {
					t.Errorf("%q: listed size %d, want %d", o.Key, o.Size, 10+i)
				}
				if o.ETag == "" || o.Modified.IsZero() {
					t.Errorf("%q: listed without ETag or time: %+v", o.Key, o)
				}
			}
		})
	}
}

func testEmpty(t *testing.T, s storage.Store) {
	put(t, s, "empty.txt", nil, storage.Meta{ContentType: "text/plain"})
	got, obj := get(t, s, "empty.txt")
	if len(got) != 0 || obj.Size != 0 {
		t.Errorf("empty object: read %d bytes, size %d", len(got), obj.Size)
	}
}

// onlyReader hides every method but Read, as a network body would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func testUnknownSize(t *testing.T, s storage.Store) {
	for _, n := range []int{0, 777, LargeSize} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := Payload(n, uint64(n))
			key := fmt.Sprintf("unknown/%d", n)
			if err := s.Put(ctx(t), key, onlyReader{bytes.NewReader(data)}, -1, storage.Meta{}); err != nil {
				t.Fatalf("Put with size -1: %v", err)
			}
			got, obj := get(t, s, key)
			mustEqualBytes(t, key, got, data)
			if obj.Size != int64(n) {
				t.Errorf("size %d, want %d", obj.Size, n)
			}
		})
	}
}

func testSizeMismatch(t *testing.T, s storage.Store) {
	old := []byte("old bytes")
	put(t, s, "m.bin", old, storage.Meta{})
	cases := []struct {
		name     string
		body     []byte
		declared int64
	}{
		{"shorter than declared", Payload(5, 5), 10},
		{"longer than declared", Payload(10, 6), 5},
		{"large and shorter than declared", Payload(LargeSize-1, 7), LargeSize},
		{"large and longer than declared", Payload(LargeSize+1, 8), LargeSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Put(ctx(t), "m.bin", onlyReader{bytes.NewReader(tc.body)}, tc.declared, storage.Meta{})
			if !errors.Is(err, storage.ErrSizeMismatch) {
				t.Errorf("Put = %v, want ErrSizeMismatch", err)
			}
			got, _ := get(t, s, "m.bin")
			mustEqualBytes(t, "m.bin", got, old)
		})
	}
}

// failingReader yields n bytes of data, then err.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	m := min(len(p), f.n, len(f.data))
	copy(p, f.data[:m])
	f.data, f.n = f.data[m:], f.n-m
	return m, nil
}

func testFailedReadKeepsOld(t *testing.T, s storage.Store) {
	old := Payload(2000, 9)
	put(t, s, "f/obj.mp3", old, storage.Meta{ContentType: "audio/mpeg", CacheControl: "max-age=1"})
	boom := errors.New("source broke")
	// After half a large object some implementations are mid-way through
	// a multipart upload, which must be abandoned too.
	for _, n := range []int{100, LargeSize / 2} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := &failingReader{data: Payload(LargeSize, 10), n: n, err: boom}
			err := s.Put(ctx(t), "f/obj.mp3", r, LargeSize, storage.Meta{ContentType: "text/plain"})
			if !errors.Is(err, boom) {
				t.Errorf("Put = %v, want the reader's error", err)
			}
			got, obj := get(t, s, "f/obj.mp3")
			mustEqualBytes(t, "f/obj.mp3", got, old)
			if obj.Meta.ContentType != "audio/mpeg" || obj.Meta.CacheControl != "max-age=1" {
				t.Errorf("meta after failed Put = %+v, want the old one", obj.Meta)
			}
		})
	}
}

func testCanceled(t *testing.T, s storage.Store) {
	old := []byte("old")
	put(t, s, "c.txt", old, storage.Meta{})
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if err := s.Put(c, "c.txt", bytes.NewReader([]byte("new")), 3, storage.Meta{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a canceled context = %v, want context.Canceled", err)
	}
	if err := s.Put(c, "c-new.txt", bytes.NewReader([]byte("new")), 3, storage.Meta{}); err == nil {
		t.Error("Put of a new key with a canceled context succeeded")
	}
	got, _ := get(t, s, "c.txt")
	mustEqualBytes(t, "c.txt", got, old)
	if _, err := s.Head(ctx(t), "c-new.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head of a key whose Put was canceled = %v, want ErrNotFound", err)
	}
}

func testConcurrent(t *testing.T, s storage.Store) {
	const writers = 8
	versions := make([][]byte, writers)
	for i := range versions {
		versions[i] = Payload(20_000+i*1000, uint64(100+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 3*writers)
	for i := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("own/%d", i)
			errs <- s.Put(ctx(t), key, bytes.NewReader(versions[i]), int64(len(versions[i])), storage.Meta{})
		}()
		go func() {
			defer wg.Done()
			errs <- s.Put(ctx(t), "shared", bytes.NewReader(versions[i]), int64(len(versions[i])),
				storage.Meta{ContentType: fmt.Sprintf("application/x-v%d", i)})
		}()
	}
	// Readers racing the writers must see some whole version, never a mix.
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, obj, err := s.Get(ctx(t), "shared")
			if errors.Is(err, storage.ErrNotFound) {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				errs <- err
				return
			}
			if int64(len(b)) != obj.Size || !slices.ContainsFunc(versions, func(v []byte) bool { return bytes.Equal(v, b) }) {
				errs <- fmt.Errorf("a reader saw %d bytes (object size %d) that are no version written", len(b), obj.Size)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i := range writers {
		got, _ := get(t, s, fmt.Sprintf("own/%d", i))
		mustEqualBytes(t, fmt.Sprintf("own/%d", i), got, versions[i])
	}
	got, obj := get(t, s, "shared")
	i := slices.IndexFunc(versions, func(v []byte) bool { return bytes.Equal(v, got) })
	if i < 0 {
		t.Fatalf("shared holds %d bytes that are no version written", len(got))
	}
	if want := fmt.Sprintf("application/x-v%d", i); obj.Meta.ContentType != want {
		t.Errorf("shared holds version %d with content type %q, want %q", i, obj.Meta.ContentType, want)
	}
	list, err := s.List(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != writers+1 {
		t.Errorf("List after concurrent puts = %q, want %d objects", keysOf(list), writers+1)
	}
}

func testLarge(t *testing.T, s storage.Store) {
	data := Payload(LargeSize, 11)
	meta := storage.Meta{ContentType: "audio/mpeg", CacheControl: "public, max-age=31536000, immutable", ContentDisposition: `attachment; filename="long.mp3"`}
	put(t, s, "large/long.mp3", data, meta)
	got, obj := get(t, s, "large/long.mp3")
	mustEqualBytes(t, "large/long.mp3", got, data)
	if obj.Size != LargeSize || obj.Meta != meta {
		t.Errorf("large object: size %d meta %+v, want %d %+v", obj.Size, obj.Meta, LargeSize, meta)
	}
	// A retried upload of the same bytes leaves one identical object.
	put(t, s, "large/long.mp3", data, meta)
	got, obj2 := get(t, s, "large/long.mp3")
	mustEqualBytes(t, "large/long.mp3", got, data)
	if obj2.ETag != obj.ETag {
		t.Errorf("ETag after re-uploading the same bytes: %s, was %s", obj2.ETag, obj.ETag)
	}
	list, err := s.List(ctx(t), "large/")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Size != LargeSize {
		t.Errorf("List = %+v, want one object of %d bytes", list, LargeSize)
	}
}

// unicodeKeys are keys a newsroom's titles can produce.
var unicodeKeys = []string{
	"audio/Die Welt – über Städte.mp3",
	"audio/日本語の記事.mp3",
	"audio/a b+c&d=e?f#g%20h;i,j'k(l)m!n~o@p$q.mp3",
	"audio/emoji 🎧.mp3",
	"audio/Ελληνικά/عربى.mp3",
}

func testUnicodeKeys(t *testing.T, s storage.Store) {
	for i, key := range unicodeKeys {
		put(t, s, key, Payload(50+i, uint64(200+i)), storage.Meta{ContentType: "audio/mpeg"})
	}
	for i, key := range unicodeKeys {
		got, obj := get(t, s, key)
		mustEqualBytes(t, key, got, Payload(50+i, uint64(200+i)))
		if obj.Key != key {
			t.Errorf("Get(%q) key = %q", key, obj.Key)
		}
	}
	list, err := s.List(ctx(t), "audio/")
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(unicodeKeys)
	slices.Sort(want)
	if got := keysOf(list); !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if err := s.Delete(ctx(t), unicodeKeys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Head(ctx(t), unicodeKeys[0]); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Head after Delete = %v", err)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	bad := []string{"", "/abs", "a//b", "../x", "a/../b", "a/./b", ".", "..", "trailing/", `back\slash`, "ctl\x01", "nl\n", "\xff\xfe"}
	for _, key := range bad {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			err := s.Put(ctx(t), key, strings.NewReader("x"), 1, storage.Meta{})
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			var p interface{ Permanent() bool }
			if !errors.As(err, &p) || !p.Permanent() {
				t.Errorf("Put error %v is not marked permanent", err)
			}
			if _, err := s.Head(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Head = %v, want ErrInvalidKey", err)
			}
			if _, _, err := s.Get(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Get = %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
		})
	}
	if _, err := s.List(ctx(t), "../"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("List(../) = %v, want ErrInvalidKey", err)
	}
}

func testURL(t *testing.T, s storage.Store) {
	for _, key := range append([]string{"plain/key.mp3"}, unicodeKeys...) {
		raw := s.URL(key)
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("URL(%q) = %q does not parse: %v", key, raw, err)
			continue
		}
		if !strings.HasSuffix(u.Path, "/"+key) {
			t.Errorf("URL(%q) = %q: decoded path %q does not end with the key", key, raw, u.Path)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			t.Errorf("URL(%q) = %q: characters of the key leaked into the query or fragment", key, raw)
		}
	}
}

func testInvalidMeta(t *testing.T, s storage.Store) {
	old := []byte("old")
	put(t, s, "h.mp3", old, storage.Meta{ContentType: "audio/mpeg"})
	cases := map[string]storage.Meta{
		"line break":          {ContentType: "audio/mpeg", CacheControl: "max-age=1\r\nX-Injected: 1"},
		"non-ASCII file name": {ContentType: "audio/mpeg", ContentDisposition: `attachment; filename="Über.mp3"`},
		"control character":   {ContentType: "audio/mpeg\x00"},
	}
	for name, meta := range cases {
		t.Run(name, func(t *testing.T) {
			err := s.Put(ctx(t), "h.mp3", strings.NewReader("new"), 3, meta)
			if !errors.Is(err, storage.ErrInvalidMeta) {
				t.Errorf("Put = %v, want ErrInvalidMeta", err)
			}
			got, obj := get(t, s, "h.mp3")
			mustEqualBytes(t, "h.mp3", got, old)
			if obj.Meta.ContentType != "audio/mpeg" {
				t.Errorf("content type after a rejected Put: %q", obj.Meta.ContentType)
			}
		})
	}
}
