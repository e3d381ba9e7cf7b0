package publish_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"
)

// publicRead lets anonymous clients GET the bucket's objects, as a bucket
// behind a CDN does, so the test fetches files as listeners would.
func publicRead(t *testing.T, g *storagetest.VersityGW) {
	t.Helper()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + g.Bucket + `/*"]}]}`
	if _, err := g.Client().PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{Bucket: aws.String(g.Bucket), Policy: aws.String(policy)}); err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}
}

// killingReader stops the S3 server once half the audio has been read:
// the server goes away in the middle of a publish.
type killingReader struct {
	r     io.Reader
	after int64
	read  int64
	once  sync.Once
	kill  func() error
}

func (k *killingReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.read += int64(n)
	if k.read >= k.after {
		k.once.Do(func() { _ = k.kill() })
	}
	return n, err
}

// stopBefore stops the real server just before a Put of one key, so a
// publish fails after its hashed files and before its manifest.
type stopBefore struct {
	storage.Store
	key  string
	stop func() error
}

func (s stopBefore) Put(ctx context.Context, key string, r io.Reader, size int64, meta storage.Meta) error {
	if key == s.key {
		_ = s.stop()
	}
	return s.Store.Put(ctx, key, r, size, meta)
}

func TestPublishToS3(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	publicRead(t, g)
	cfg := g.S3Config()
	cfg.Prefix = "site"
	cfg.MaxAttempts = 1 // a stopped server fails the call at once
	st, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(st, appleConfig())
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	narrate := func(seed uint64) (publish.Narration, []byte) {
		created = created.Add(time.Hour)
		return publishtest.Narration(t, publishtest.Options{ArticleID: "cms-1001", Seed: seed, Created: created})
	}
	feedItem := func() (guid, enclosure string) {
		t.Helper()
		rebuild(t, pub)
		b, _ := get(t, st, publish.FeedKey)
		f := parseFeed(t, b)
		if len(f.Items) != 1 {
			t.Fatalf("feed has %d items, want 1", len(f.Items))
		}
		return f.Items[0].GUID, f.Items[0].Enclosures[0].URL
	}
	// intact checks that the published narration is n, complete: its
	// manifest, every file it names, and the feed's enclosure.
	intact := func(n publish.Narration, p publish.Published) {
		t.Helper()
		m, err := pub.Manifest(t.Context(), n.Key)
		if err != nil {
			t.Fatal(err)
		}
		if m.SHA256 != n.SHA256 || m.Files.Audio.URL != p.Audio.URL {
			t.Fatalf("manifest names audio %s, want %s", m.SHA256, n.SHA256)
		}
		audio, _ := fetch(t, "GET", m.Files.Audio.URL, nil)
		if sum := sha256.Sum256(audio); hex.EncodeToString(sum[:]) != n.SHA256 {
			t.Fatal("the published audio's bytes are not the narration's")
		}
		for _, f := range []publish.File{m.Files.Transcript, m.Files.Chapters} {
			fetch(t, "GET", f.URL, nil)
		}
		if guid, enc := feedItem(); guid != n.ArticleID || enc != p.Audio.URL {
			t.Fatalf("feed item %s → %s, want %s → %s", guid, enc, n.ArticleID, p.Audio.URL)
		}
	}

	v1, _ := narrate(1)
	p1, err := pub.Publish(t.Context(), v1)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every file is served with its headers", func(t *testing.T) {
		files := []struct {
			f           publish.File
			cache, disp string
		}{
			{p1.Audio, publish.CacheImmutable, `inline; filename="Council approves new bridge.mp3"`},
			{p1.Transcript, publish.CacheImmutable, `inline; filename="Council approves new bridge.vtt"`},
			{p1.Chapters, publish.CacheImmutable, `inline; filename="Council approves new bridge.chapters.json"`},
			{p1.Manifest, publish.CacheManifest, `inline; filename="Council approves new bridge.json"`},
		}
		for _, tc := range files {
			_, h := fetch(t, "HEAD", tc.f.URL, nil)
			for name, want := range map[string]string{
				"Content-Type": tc.f.Type, "Cache-Control": tc.cache, "Content-Disposition": tc.disp,
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %s = %q, want %q", tc.f.Key, name, got, want)
				}
			}
			if tc.f.Bytes != 0 && h.Get("Content-Length") != strconv.FormatInt(tc.f.Bytes, 10) {
				t.Errorf("%s: Content-Length %s, want %d", tc.f.Key, h.Get("Content-Length"), tc.f.Bytes)
			}
		}
		rebuild(t, pub)
		_, h := fetch(t, "HEAD", st.URL(publish.FeedKey), nil)
		if h.Get("Cache-Control") != publish.CacheFeed || h.Get("Content-Type") != "application/rss+xml; charset=utf-8" {
			t.Errorf("feed headers %v", h)
		}
		checkPodcastFeed(t, st.URL(publish.FeedKey))
		intact(v1, p1)
	})

	v2, _ := narrate(2)
	p2, err := pub.Publish(t.Context(), v2)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("re-narration swaps the enclosure and keeps the guid", func(t *testing.T) {
		if p2.Audio.URL == p1.Audio.URL {
			t.Fatal("a new narration got the old audio key")
		}
		intact(v2, p2)
	})

	t.Run("server killed while the audio uploads", func(t *testing.T) {
		v3, audio := narrate(3)
		v3.Audio = &killingReader{r: bytes.NewReader(audio), after: int64(len(audio)) / 2, kill: g.Kill}
		if _, err := pub.Publish(t.Context(), v3); err == nil {
			t.Fatal("publish succeeded with the server stopped")
		} else if fault.IsPermanent(err) {
			t.Fatalf("a stopped server is a temporary failure, got a permanent one: %v", err)
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		intact(v2, p2)
		v3.Audio = bytes.NewReader(audio)
		p3, err := pub.Publish(t.Context(), v3)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		intact(v3, p3)
		p2 = p3
		v2 = v3
	})

	t.Run("server killed before the manifest", func(t *testing.T) {
		v4, audio := narrate(4)
		failing, err := publish.New(stopBefore{st, publish.ManifestKey(publish.DefaultPrefix, v4.Key), g.Kill}, appleConfig())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := failing.Publish(t.Context(), v4); err == nil {
			t.Fatal("publish succeeded with the server stopped")
		}
		if err := g.Start(); err != nil {
			t.Fatal(err)
		}
		// The new audio is up, named by no manifest: the old narration
		// stays the published one.
		if _, err := st.Head(t.Context(), publish.DefaultPrefix+"/"+v4.Key+"/"+v4.SHA256[:16]+".mp3"); err != nil {
			t.Fatalf("the failed publish did not get as far as the audio: %v", err)
		}
		intact(v2, p2)
		v4.Audio = bytes.NewReader(audio)
		p4, err := pub.Publish(t.Context(), v4)
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		intact(v4, p4)
	})

	t.Run("unpublish removes it", func(t *testing.T) {
		if err := pub.Unpublish(t.Context(), v1.Key); err != nil {
			t.Fatal(err)
		}
		rebuild(t, pub)
		b, _ := get(t, st, publish.FeedKey)
		if f := parseFeed(t, b); len(f.Items) != 0 {
			t.Fatalf("feed still holds %d items", len(f.Items))
		}
		left, err := st.List(t.Context(), publish.DefaultPrefix+"/")
		if err != nil || len(left) != 0 {
			t.Fatalf("left after unpublish: %v %v", left, err)
		}
		for _, k := range []string{p1.Manifest.Key, p2.Audio.Key} {
			if _, err := st.Head(t.Context(), k); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("%s: %v", k, err)
			}
		}
	})
}
