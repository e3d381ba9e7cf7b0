package c2pa_test

import (
	"context"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

var (
	testSignerOnce sync.Once
	testCert       []byte
	testKey        []byte
	testErr        error
)

// newSigner returns a Signer with freshly generated test credentials,
// generated once per test binary.
func newSigner(t testing.TB, cfg c2pa.SignerConfig) *c2pa.Signer {
	t.Helper()
	testSignerOnce.Do(func() { testCert, testKey, testErr = c2pa.GenerateTestCredentials("The Daily Example") })
	if testErr != nil {
		t.Fatal(testErr)
	}
	s, err := c2pa.NewSigner(testCert, testKey, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// narration is the manifest of a typical narration.
func narration() c2pa.Narration {
	return c2pa.Narration{
		Title:       "Rivers rise as the thaw comes early",
		Publication: "The Daily Example",
		URL:         "https://news.example.org/2026/rivers-rise",
		Language:    "en",
		Published:   time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		Created:     time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		Provider:    "openai", Model: "tts-1", Voice: "nova",
		Disclosure: "This audio is created with AI assistance. provider: openai; model: tts-1; voice: nova.",
		TextSHA256: make([]byte, 32),
	}
}

// audio is real speech-like MP3 audio from lame, without tags.
func audio(t testing.TB) []byte {
	t.Helper()
	pcm := mp3test.Speech(24000, 1, 2*time.Second, -20, 7)
	return mp3test.Encode(t, pcm, "-b", "64", "-t")
}

// signedMP3 writes tag, audio and a sealed manifest store to a file in a
// temporary directory, as the stitcher does, and returns its path.
func signedMP3(t testing.TB, s *c2pa.Signer, n c2pa.Narration, body []byte) string {
	t.Helper()
	tag, p, err := s.ReserveMP3(n, mp3.Tag{Title: n.Title, Disclosure: n.Disclosure, URL: n.URL})
	if err != nil {
		t.Fatal(err)
	}
	head, err := tag.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "narration.mp3")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(head, body...)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.SealFile(context.Background(), f, int64(len(head)+len(body))); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func bigOne() *big.Int { return big.NewInt(time.Now().UnixNano()) }
func pkixName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"The Daily Example"}}
}
func yesterday() time.Time { return time.Now().Add(-24 * time.Hour) }
func nextYear() time.Time  { return time.Now().Add(365 * 24 * time.Hour) }
