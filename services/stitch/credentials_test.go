package stitch_test

import (
	"bytes"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

func testSigner(t testing.TB) *c2pa.Signer {
	t.Helper()
	cert, key, err := c2pa.GenerateTestCredentials("The Daily")
	if err != nil {
		t.Fatal(err)
	}
	s, err := c2pa.NewSigner(cert, key, c2pa.SignerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStitchSealsContentCredentials checks the signed join: a manifest in
// the tag that verifies against every other byte of the file, and audio
// that every decoder plays exactly as the unsigned join.
func TestStitchSealsContentCredentials(t *testing.T) {
	inputs, _ := fixtureChunks(t, 24000, 1, []chunkAudio{
		{dur: 2 * time.Second, levelDB: -20, section: -1},
		{dur: 3 * time.Second, levelDB: -24, section: 0, brk: script.BreakTitle},
		{dur: 2 * time.Second, levelDB: -18, section: 1, brk: script.BreakSection},
	})
	meta := stitch.Metadata{
		Title: "Rivers rise", Publication: "The Daily", URL: "https://example.org/rivers", Language: "en",
		Provider: "openai", Model: "tts-1", Voice: "nova", Headings: []string{"", "Upstream"},
		TextSHA256: make([]byte, 32),
	}
	plain, plainPath, err := join(t, inputs, meta, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, path, err := join(t, inputs, meta, stitch.Config{Signer: testSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if int64(len(b)) != res.Bytes || res.Credentials == nil {
		t.Fatalf("file of %d bytes, result says %d; credentials %v", len(b), res.Bytes, res.Credentials)
	}
	cr := res.Credentials
	if !bytes.Equal(b[cr.Offset:cr.Offset+int64(len(cr.Store))], cr.Store) {
		t.Error("the result's store is not the one in the file")
	}
	rep, err := c2pa.VerifyMP3(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() || rep.Label != cr.Label || rep.DigitalSourceType != c2pa.TrainedAlgorithmicMedia || rep.Title != "Rivers rise" {
		t.Errorf("report %+v", rep)
	}
	// Only the tag grew: the audio, chapters and checks are the same.
	if added := res.Bytes - plain.Bytes; added != int64(res.TagSize-plain.TagSize) || added < int64(len(cr.Store)) {
		t.Errorf("the signed file is %d bytes larger, its tag %d", added, res.TagSize-plain.TagSize)
	}
	if !res.Report.OK || len(res.Chapters) != len(plain.Chapters) {
		t.Errorf("report %s, chapters %d (unsigned %d)", res.Report.Summary(), len(res.Chapters), len(plain.Chapters))
	}
	pb, _ := os.ReadFile(plainPath)
	if !bytes.Equal(b[res.TagSize:], pb[plain.TagSize:]) {
		t.Error("the bytes after the tag differ from the unsigned join's")
	}
	// Every decoder plays the same samples.
	if a, p := mp3test.Decode(t, path), mp3test.Decode(t, plainPath); !slices.Equal(a.Samples, p.Samples) {
		t.Errorf("ffmpeg decodes %d samples, %d unsigned, or different ones", len(a.Samples), len(p.Samples))
	}
	if a, p := goMP3(t, path), goMP3(t, plainPath); !bytes.Equal(a, p) {
		t.Errorf("go-mp3 decodes %d bytes, %d unsigned, or different ones", len(a), len(p))
	}
	if w := mp3test.MPG123Warnings(t, path); len(w) > 0 {
		t.Errorf("mpg123: %v", w)
	}
	if p := mp3test.MP3ValProblems(t, path); len(p) > 0 {
		t.Errorf("mp3val: %v", p)
	}
	if a, p := mp3test.Probe(t, path), mp3test.Probe(t, plainPath); a.Duration != p.Duration || len(a.Chapters) != len(p.Chapters) {
		t.Errorf("ffprobe: %s and %d chapters, unsigned %s and %d", a.Duration, len(a.Chapters), p.Duration, len(p.Chapters))
	}

	// Signing needs a file it can read back and patch.
	if _, err := stitch.Stitch(t.Context(), new(stitch.Buffer), inputs, meta, stitch.Config{Signer: testSigner(t)}); err == nil {
		t.Error("a signed join into an output it cannot read back succeeded")
	}
}

func goMP3(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := gomp3.NewDecoder(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
