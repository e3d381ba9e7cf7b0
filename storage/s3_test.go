package storage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"
)

// newS3 returns a store on the gateway under a prefix of its own, with the
// smallest part size so that storagetest.LargeSize spans three parts.
func newS3(t *testing.T, g *storagetest.VersityGW, edit func(*storage.S3Config)) *storage.S3 {
	t.Helper()
	cfg := g.S3Config()
	cfg.Prefix = fmt.Sprintf("t%d", prefixes.Add(1))
	cfg.PartSize = storage.MinPartSize
	if edit != nil {
		edit(&cfg)
	}
	s, err := storage.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var prefixes atomic.Int64

func TestS3Contract(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return newS3(t, g, nil) })
}

// publicRead lets anonymous clients GET objects of the gateway's bucket,
// as a bucket behind a CDN does.
func publicRead(t *testing.T, g *storagetest.VersityGW) {
	t.Helper()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + g.Bucket + `/*"]}]}`
	_, err := g.Client().PutBucketPolicy(t.Context(), &s3.PutBucketPolicyInput{
		Bucket: aws.String(g.Bucket), Policy: aws.String(policy),
	})
	if err != nil {
		t.Fatalf("put bucket policy: %v", err)
	}
}

func TestS3HeadersOverPlainHTTP(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	publicRead(t, g)
	s := newS3(t, g, nil)
	cases := []struct {
		name string
		key  string
		size int
		meta storage.Meta
	}{
		{"single request", "audio/Rathaus – Abstimmung/ab12.mp3", 50_000, storage.Meta{
			ContentType:        "audio/mpeg",
			CacheControl:       "public, max-age=31536000, immutable",
			ContentDisposition: storage.ContentDisposition("attachment", "Rathaus – Abstimmung.mp3"),
		}},
		{"multipart", "audio/long.mp3", storagetest.LargeSize, storage.Meta{
			ContentType:        "audio/mpeg",
			CacheControl:       "public, max-age=31536000, immutable",
			ContentDisposition: `inline; filename="long.mp3"`,
		}},
		{"manifest", "n/manifest.json", 300, storage.Meta{
			ContentType:  "application/json",
			CacheControl: "public, max-age=60",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := storagetest.Payload(tc.size, uint64(tc.size))
			if err := s.Put(t.Context(), tc.key, bytes.NewReader(data), int64(len(data)), tc.meta); err != nil {
				t.Fatal(err)
			}
			// The URL listeners get, fetched by a client that knows nothing
			// of S3.
			for _, method := range []string{"HEAD", "GET"} {
				req, err := http.NewRequestWithContext(t.Context(), method, s.URL(tc.key), nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != 200 {
					t.Fatalf("%s %s: status %d: %.300s", method, s.URL(tc.key), resp.StatusCode, body)
				}
				for h, want := range map[string]string{
					"Content-Type":        tc.meta.ContentType,
					"Cache-Control":       tc.meta.CacheControl,
					"Content-Disposition": tc.meta.ContentDisposition,
					"Content-Length":      fmt.Sprint(tc.size),
				} {
					if got := resp.Header.Get(h); got != want {
						t.Errorf("%s: %s = %q, want %q", method, h, got, want)
					}
				}
				if method == "GET" && !bytes.Equal(body, data) {
					t.Errorf("GET: body of %d bytes differs from the %d put", len(body), len(data))
				}
			}
		})
	}
}

func TestS3MultipartAboveOnePart(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	s := newS3(t, g, nil)
	ctx := t.Context()
	small := storagetest.Payload(storage.MinPartSize, 1) // exactly one part: one request
	large := storagetest.Payload(storagetest.LargeSize, 2)
	if err := s.Put(ctx, "small", bytes.NewReader(small), int64(len(small)), storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "large", bytes.NewReader(large), int64(len(large)), storage.Meta{}); err != nil {
		t.Fatal(err)
	}
	// S3 marks a multipart object's ETag with its part count.
	for key, want := range map[string]string{"small": `"`, "large": `-3"`} {
		obj, err := s.Head(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(obj.ETag, want) || (want == `"` && strings.Contains(obj.ETag, "-")) {
			t.Errorf("%s: ETag %s, want one ending in %s", key, obj.ETag, want)
		}
	}
	// A Put whose reader fails after the first part aborts its upload and
	// leaves the object as it was.
	r := &failingReader{data: storagetest.Payload(storagetest.LargeSize, 3), n: storage.MinPartSize + 10, err: errors.New("source broke")}
	if err := s.Put(ctx, "large", r, storagetest.LargeSize, storage.Meta{}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	rc, _, err := s.Get(ctx, "large")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, large) {
		t.Errorf("after a failed Put: read %d bytes (%v), want the old %d", len(got), err, len(large))
	}
	if n := pendingUploads(t, g); n != 0 {
		t.Errorf("%d multipart uploads left open, want 0", n)
	}
}

func pendingUploads(t *testing.T, g *storagetest.VersityGW) int {
	t.Helper()
	out, err := g.Client().ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(g.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

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

func TestS3ChecksumModes(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	for _, mode := range []string{storage.ChecksumWhenRequired, storage.ChecksumWhenSupported} {
		t.Run(mode, func(t *testing.T) {
			s := newS3(t, g, func(c *storage.S3Config) { c.Checksum = mode })
			for _, size := range []int{1000, storagetest.LargeSize} {
				data := storagetest.Payload(size, uint64(size))
				key := fmt.Sprintf("obj-%d", size)
				if err := s.Put(t.Context(), key, bytes.NewReader(data), int64(size), storage.Meta{}); err != nil {
					t.Fatalf("Put %d bytes: %v", size, err)
				}
				rc, _, err := s.Get(t.Context(), key)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("Get %d bytes: read %d (%v)", size, len(got), err)
				}
			}
		})
	}
}

// within fails the test if fn has not returned after limit: a guard against
// a hang, not a measurement.
func within(t *testing.T, limit time.Duration, fn func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(limit):
		t.Fatalf("still waiting after %s", limit)
		return 0
	}
}

// isPermanent reports whether err says retrying cannot help.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// unreachable is the address of a port nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestS3DeadEndpointFailsClearly(t *testing.T) {
	endpoint := unreachable(t)
	s, err := storage.NewS3(t.Context(), storage.S3Config{
		Bucket: "media", Endpoint: endpoint, PathStyle: true,
		AccessKeyID: "k", SecretAccessKey: "s",
	})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(ctx context.Context) error{
		"put":   func(ctx context.Context) error { return s.Put(ctx, "a.mp3", strings.NewReader("x"), 1, storage.Meta{}) },
		"get":   func(ctx context.Context) error { _, _, err := s.Get(ctx, "a.mp3"); return err },
		"head":  func(ctx context.Context) error { _, err := s.Head(ctx, "a.mp3"); return err },
		"list":  func(ctx context.Context) error { _, err := s.List(ctx, ""); return err },
		"check": s.Check,
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			var err error
			took := within(t, time.Minute, func() { err = op(context.Background()) })
			t.Logf("%s failed after %s: %v", name, took.Round(time.Millisecond), err)
			if err == nil {
				t.Fatal("no error from a dead endpoint")
			}
			for _, want := range []string{endpoint, `bucket "media"`, "cannot reach"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			if errors.Is(err, storage.ErrNotFound) || isPermanent(err) {
				t.Errorf("a dead endpoint is reported as not found or permanent: %v", err)
			}
		})
	}
}

func TestS3StalledEndpointTimesOut(t *testing.T) {
	// A server that accepts connections and never answers, like a wedged
	// proxy.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	endpoint := "http://" + l.Addr().String()
	s, err := storage.NewS3(t.Context(), storage.S3Config{
		Bucket: "media", Endpoint: endpoint, PathStyle: true,
		AccessKeyID: "k", SecretAccessKey: "s",
		ResponseTimeout: 500 * time.Millisecond, MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	var herr error
	took := within(t, time.Minute, func() { _, herr = s.Head(context.Background(), "a.mp3") })
	t.Logf("head failed after %s: %v", took.Round(time.Millisecond), herr)
	if herr == nil || !strings.Contains(herr.Error(), endpoint) {
		t.Errorf("Head on a stalled endpoint = %v, want an error naming %s", herr, endpoint)
	}
}

// hookReader yields data and calls hook once, when the reader has handed
// out at least at bytes.
type hookReader struct {
	data []byte
	read int
	at   int
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	if h.hook != nil && h.read >= h.at {
		h.hook()
		h.hook = nil
	}
	if len(h.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, h.data)
	h.data, h.read = h.data[n:], h.read+n
	return n, nil
}

func TestS3ServerDiesDuringPut(t *testing.T) {
	cases := []struct {
		name string
		size int
		at   int // bytes read before the server goes
		stop func(*storagetest.VersityGW) error
	}{
		{"killed before a single request", 1000, 500, (*storagetest.VersityGW).Kill},
		{"killed after the first part", storagetest.LargeSize, storage.MinPartSize + 1000, (*storagetest.VersityGW).Kill},
		{"stopped after the first part", storagetest.LargeSize, storage.MinPartSize + 1000, (*storagetest.VersityGW).Stop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := storagetest.StartVersityGW(t)
			s := newS3(t, g, nil)
			ctx := t.Context()
			old := storagetest.Payload(2000, 1)
			oldMeta := storage.Meta{ContentType: "audio/mpeg", CacheControl: "max-age=1"}
			if err := s.Put(ctx, "n/x.mp3", bytes.NewReader(old), int64(len(old)), oldMeta); err != nil {
				t.Fatal(err)
			}
			data := storagetest.Payload(tc.size, 2)
			var stopErr error
			r := &hookReader{data: data, at: tc.at, hook: func() { stopErr = tc.stop(g) }}
			var err error
			took := within(t, 2*time.Minute, func() {
				err = s.Put(ctx, "n/x.mp3", r, int64(len(data)), storage.Meta{ContentType: "audio/mpeg"})
			})
			if stopErr != nil {
				t.Fatal(stopErr)
			}
			t.Logf("put failed after %s: %v", took.Round(time.Millisecond), err)
			if err == nil {
				t.Fatal("Put succeeded although the server went away")
			}
			if !strings.Contains(err.Error(), g.Endpoint) || isPermanent(err) {
				t.Errorf("error should name %s and be retryable: %v", g.Endpoint, err)
			}

			if err := g.Start(); err != nil {
				t.Fatal(err)
			}
			rc, obj, err := s.Get(ctx, "n/x.mp3")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, old) || obj.Meta != oldMeta {
				t.Fatalf("after the failed Put: %d bytes, meta %+v (%v); want the old %d bytes and %+v", len(got), obj.Meta, err, len(old), oldMeta)
			}

			// The retry, as the queue would redeliver it.
			if err := s.Put(ctx, "n/x.mp3", bytes.NewReader(data), int64(len(data)), storage.Meta{ContentType: "audio/mpeg"}); err != nil {
				t.Fatalf("retry after restart: %v", err)
			}
			rc, _, err = s.Get(ctx, "n/x.mp3")
			if err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("after the retry: %d bytes (%v), want %d", len(got), err, len(data))
			}
			list, err := s.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Size != int64(len(data)) {
				t.Errorf("List after retry = %+v, want one object of %d bytes", list, len(data))
			}

			// The upload the dead server could not abort holds parts no
			// reader sees; the janitor removes them.
			left := pendingUploads(t, g)
			if tc.size > storage.MinPartSize && left != 1 {
				t.Errorf("%d uploads pending after the failed multipart Put, want 1", left)
			}
			n, err := s.AbortStaleUploads(ctx, 0)
			if err != nil || n != left {
				t.Errorf("AbortStaleUploads = %d, %v; want %d, nil", n, err, left)
			}
			if left := pendingUploads(t, g); left != 0 {
				t.Errorf("%d uploads pending after AbortStaleUploads", left)
			}
		})
	}
}

func TestS3RejectedRequestsArePermanent(t *testing.T) {
	g := storagetest.StartVersityGW(t)
	cases := []struct {
		name string
		edit func(*storage.S3Config)
		want string
	}{
		{"wrong secret", func(c *storage.S3Config) { c.SecretAccessKey = "wrong" }, "secret key"},
		{"unknown access key", func(c *storage.S3Config) { c.AccessKeyID = "nobody" }, "access key"},
		{"missing bucket", func(c *storage.S3Config) { c.Bucket = "no-such-bucket" }, "does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newS3(t, g, tc.edit)
			err := s.Put(t.Context(), "a", strings.NewReader("x"), 1, storage.Meta{})
			if err == nil || !isPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Put = %v, want a permanent error saying %q", err, tc.want)
			}
			if err := s.Check(t.Context()); err == nil || !isPermanent(err) {
				t.Errorf("Check = %v, want a permanent error", err)
			}
		})
	}
	if err := newS3(t, g, nil).Check(t.Context()); err != nil {
		t.Errorf("Check with a good configuration = %v", err)
	}
}

func TestS3URL(t *testing.T) {
	cases := []struct {
		name string
		cfg  storage.S3Config
		want string
	}{
		{"AWS virtual-hosted", storage.S3Config{Bucket: "news", Region: "eu-west-1"},
			"https://news.s3.eu-west-1.amazonaws.com/audio/a%20b.mp3"},
		{"AWS path-style", storage.S3Config{Bucket: "news", Region: "eu-west-1", PathStyle: true},
			"https://s3.eu-west-1.amazonaws.com/news/audio/a%20b.mp3"},
		{"endpoint path-style with prefix", storage.S3Config{Bucket: "news", Endpoint: "http://127.0.0.1:7070/", PathStyle: true, Prefix: "narrator"},
			"http://127.0.0.1:7070/news/narrator/audio/a%20b.mp3"},
		{"endpoint virtual-hosted", storage.S3Config{Bucket: "news", Endpoint: "https://acct.r2.cloudflarestorage.com"},
			"https://news.acct.r2.cloudflarestorage.com/audio/a%20b.mp3"},
		{"public URL with prefix", storage.S3Config{Bucket: "news", Region: "eu-west-1", PublicURL: "https://cdn.example.com/", Prefix: "/n/"},
			"https://cdn.example.com/n/audio/a%20b.mp3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.AccessKeyID, tc.cfg.SecretAccessKey = "k", "s"
			s, err := storage.NewS3(t.Context(), tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.URL("audio/a b.mp3"); got != tc.want {
				t.Errorf("URL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestS3ConfigValidate(t *testing.T) {
	good := storage.S3Config{Bucket: "news", Endpoint: "http://127.0.0.1:7070", PathStyle: true}
	cases := []struct {
		name string
		edit func(*storage.S3Config)
		want string // "" for valid
	}{
		{"valid", func(*storage.S3Config) {}, ""},
		{"no bucket", func(c *storage.S3Config) { c.Bucket = "" }, "set S3_BUCKET"},
		{"bucket with a path", func(c *storage.S3Config) { c.Bucket = "news/audio" }, "S3_PREFIX"},
		{"endpoint without scheme", func(c *storage.S3Config) { c.Endpoint = "127.0.0.1:7070" }, "use a URL such as"},
		{"IP endpoint without path style", func(c *storage.S3Config) { c.PathStyle = false }, "S3_PATH_STYLE=true"},
		{"relative public URL", func(c *storage.S3Config) { c.PublicURL = "/media" }, "absolute URL"},
		{"unknown checksum mode", func(c *storage.S3Config) { c.Checksum = "always" }, `"when_required" or "when_supported"`},
		{"half the static credentials", func(c *storage.S3Config) { c.AccessKeyID = "k" }, "both an access key id and a secret"},
		{"tiny parts", func(c *storage.S3Config) { c.PartSize = 1 << 20 }, "part size"},
		{"prefix climbing out", func(c *storage.S3Config) { c.Prefix = "../x" }, "prefix"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
