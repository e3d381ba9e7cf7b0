package storage_test

import (
	"mime"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/storage"
)

func FuzzValidKey(f *testing.F) {
	for _, s := range []string{"a/b.mp3", "../x", "a//b", "/abs", "a/./b", "ü/日本.mp3", "a\\b", "a\x00b", ".", "a/.."} {
		f.Add(s)
	}
	root := filepath.FromSlash("/srv/objects")
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidKey(key) != nil {
			return
		}
		// A valid key is its own clean form and stays inside any root.
		if path.Clean(key) != key {
			t.Errorf("valid key %q is not clean (%q)", key, path.Clean(key))
		}
		p := filepath.Join(root, filepath.FromSlash(key))
		if !strings.HasPrefix(p, root+string(filepath.Separator)) {
			t.Errorf("valid key %q escapes the root: %s", key, p)
		}
	})
}

func TestContentDisposition(t *testing.T) {
	cases := []struct {
		kind, name, want string
	}{
		{"attachment", "plain.mp3", `attachment; filename="plain.mp3"`},
		{"inline", `Say "hi".mp3`, `inline; filename="Say _hi_.mp3"; filename*=UTF-8''Say%20%22hi%22.mp3`},
		{"attachment", "Rathaus – Abstimmung.mp3", `attachment; filename="Rathaus _ Abstimmung.mp3"; filename*=UTF-8''Rathaus%20%E2%80%93%20Abstimmung.mp3`},
		{"attachment", "日本語.mp3", `attachment; filename="___.mp3"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.mp3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := storage.ContentDisposition(tc.kind, tc.name)
			if got != tc.want {
				t.Errorf("ContentDisposition = %s\nwant                 %s", got, tc.want)
			}
			// A real parser recovers the exact name.
			kind, params, err := mime.ParseMediaType(got)
			if err != nil || kind != tc.kind || params["filename"] != tc.name {
				t.Errorf("ParseMediaType(%s) = %q %q %v, want %q %q", got, kind, params["filename"], err, tc.kind, tc.name)
			}
		})
	}
}
