package publish_test

import (
	"testing"

	"github.com/narrator-project/narrator/services/publish"
)

func TestKeyFor(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		// Ids that are keys already keep themselves, as before.
		{"budget-2026", "budget-2026"},
		{"wp-42", "wp-42"},
		{"ghost-65f1c2a9e4b0a1d2c3f4e5a6", "ghost-65f1c2a9e4b0a1d2c3f4e5a6"},
		{"a0123456789abcdef01234567", "a0123456789abcdef01234567"},
		{"Story_2026-03-DEADBEEF0123", "Story_2026-03-DEADBEEF0123"}, // upper-case hex is not the derived form
		// Other ids are hashed, with the same keys as before.
		{"../../etc/passwd", "etc-passwd-3754d6cb3a38"},
		{"https://news.example/budget", "https-news-example-budget-04c0a4488559"},
	} {
		if got := publish.KeyFor(tc.id); got != tc.want {
			t.Errorf("KeyFor(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// FuzzKeyFor: every key is valid, and no two ids share one. In particular
// an id written in the form of another id's derived key (the attack: submit
// "etc-passwd-3754d6cb3a38" to take over the narration of
// "../../etc/passwd") gets a key of its own.
func FuzzKeyFor(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", "budget-2026", "a/b", "日本語の記事", "x", "", "-0123456789ab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		key := publish.KeyFor(id)
		if err := publish.ValidKey(key); err != nil {
			t.Fatalf("KeyFor(%q) = %q: %v", id, key, err)
		}
		// The key, and the key of the key, taken as ids.
		if key != id && publish.KeyFor(key) == key {
			t.Errorf("ids %q and %q share the key %q", id, key, key)
		}
	})
}
