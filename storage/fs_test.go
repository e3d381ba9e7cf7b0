package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"
)

func newFS(t *testing.T) *storage.FS {
	t.Helper()
	fs, err := storage.NewFS(t.TempDir(), "http://media.example/media")
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFSContract(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newFS(t) })
}

func TestFSKeepsPlainFilesAndSidecarsApart(t *testing.T) {
	dir := t.TempDir()
	fs, err := storage.NewFS(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("ID3 pretend mp3")
	if err := fs.Put(t.Context(), "audio/x.mp3", bytes.NewReader(data), int64(len(data)), storage.Meta{CacheControl: "no-cache"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(fs.Dir(), "audio", "x.mp3"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("object file = %q, %v; want the bytes as put", got, err)
	}
	var files []string
	filepath.WalkDir(fs.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if len(files) != 1 {
		t.Errorf("object tree holds %q, want only the object", files)
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}

func TestFSFileCopiedInByHand(t *testing.T) {
	fs := newFS(t)
	p := filepath.Join(fs.Dir(), "manual", "old.mp3")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	obj, err := fs.Head(t.Context(), "manual/old.mp3")
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != 3 || obj.ETag == "" || obj.Meta.ContentType != "audio/mpeg" {
		t.Errorf("Head of a file without sidecar = %+v, want size 3, an ETag and audio/mpeg", obj)
	}
}

func TestFSKeyThatIsAlsoAPrefix(t *testing.T) {
	fs := newFS(t)
	ctx := t.Context()
	put := func(key string) error {
		return fs.Put(ctx, key, strings.NewReader("x"), 1, storage.Meta{})
	}
	if err := put("a/b"); err != nil {
		t.Fatal(err)
	}
	if err := put("a"); err == nil || !strings.Contains(err.Error(), "prefix of other objects") {
		t.Errorf(`Put("a") over directory "a/" = %v, want an error naming the conflict`, err)
	}
	if err := put("a/b/c"); err == nil || !strings.Contains(err.Error(), "parent of the key is an object") {
		t.Errorf(`Put("a/b/c") below object "a/b" = %v, want an error naming the conflict`, err)
	}
	if err := fs.Delete(ctx, "a"); err != nil {
		t.Errorf(`Delete("a") where "a" is only a prefix = %v`, err)
	}
	if _, err := fs.Head(ctx, "a/b"); err != nil {
		t.Errorf("a/b is gone after deleting the prefix: %v", err)
	}
}

func TestFSDeleteRemovesEmptyDirectories(t *testing.T) {
	fs := newFS(t)
	ctx := t.Context()
	for _, k := range []string{"x/y/z/1", "x/2"} {
		if err := fs.Put(ctx, k, strings.NewReader("x"), 1, storage.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Delete(ctx, "x/y/z/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fs.Dir(), "x", "y")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("x/y still exists after its last object was deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fs.Dir(), "x", "2")); err != nil {
		t.Errorf("x/2 was removed with the empty directories: %v", err)
	}
	// A later Put recreates what Delete pruned.
	if err := fs.Put(ctx, "x/y/z/1", strings.NewReader("y"), 1, storage.Meta{}); err != nil {
		t.Fatal(err)
	}
}

func TestFSURL(t *testing.T) {
	cases := []struct {
		base, key, want string
	}{
		{"http://localhost:8080/media", "audio/a b/ü.mp3", "http://localhost:8080/media/audio/a%20b/%C3%BC.mp3"},
		{"http://localhost:8080/media/", "x?y#z.mp3", "http://localhost:8080/media/x%3Fy%23z.mp3"},
		{"", "feed.xml", "/feed.xml"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			fs, err := storage.NewFS(t.TempDir(), tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.URL(tc.key); got != tc.want {
				t.Errorf("URL(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

func TestFSGetKeepsReadingReplacedObject(t *testing.T) {
	fs := newFS(t)
	ctx := context.Background()
	old := storagetest.Payload(100_000, 1)
	if err := fs.Put(ctx, "k", bytes.NewReader(old), int64(len(old)), storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := fs.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := fs.Put(ctx, "k", strings.NewReader("new"), 3, storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("a reader opened before a Put read %d bytes (%v), want the old %d", len(got), err, len(old))
	}
}

func TestNewFSRejectsEmptyDir(t *testing.T) {
	if _, err := storage.NewFS("", ""); err == nil {
		t.Error("NewFS with no directory succeeded")
	}
}
