package pipeline_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// TestBadInputMakesNoSpeechRequest submits what editors paste by mistake
// and what no voice can read: each job must fail with a reason that says
// why, having made at most one speech request (none, in fact: content is
// sniffed before cleaning and chunks are checked before they are sent).
// It logs the requests each job made: go test ./services/pipeline -run
// TestBadInputMakesNoSpeechRequest -v.
func TestBadInputMakesNoSpeechRequest(t *testing.T) {
	fake, openai := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	local, err := synth.NewLocal(t.Context(), synth.LocalConfig{})
	if err != nil {
		t.Fatal(err)
	}
	remote := start(t, openai, nil)
	offline := start(t, local, nil)

	arabic := "الأخبار\n\n" + strings.Repeat("صوّت مجلس المدينة يوم الثلاثاء على تمويل جدار الحماية من الفيضانات بعد سنوات من النقاش. ", 6)
	emoji := "🎉🎉🎉\n\n" + strings.Repeat("😀😃😄😁😆😅🤣😂🙂🙃😉😊😇🥰😍🤩😘 ", 5)
	rng := rand.New(rand.NewPCG(1, 2))
	word := make([]byte, 20000)
	for i := range word {
		word[i] = byte('a' + rng.IntN(26))
	}
	total := 0
	for _, tc := range []struct {
		name  string
		h     *harness
		req   pipeline.Request
		stage string
		why   string // in the reason
	}{
		{"png given as html", remote, pipeline.Request{Body: pngImage(t), Kind: "html"}, "clean", "image/png"},
		{"pdf given as text", remote, pipeline.Request{Body: pdfDocument(t), Kind: "text"}, "clean", "application/pdf"},
		{"emoji only", remote, pipeline.Request{Body: []byte(emoji), Kind: "text"}, "chunk", "no letters or digits"},
		{"a 20,000-character word", remote, pipeline.Request{Body: []byte("The word\n\n" + string(word)), Kind: "text"}, "chunk", "-character word"},
		{"an English voice given Arabic", offline, pipeline.Request{Body: []byte(arabic), Kind: "text", Options: queue.Options{Voice: "en-us"}}, "synth", "Arabic script"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prov := "openai"
			if tc.h == offline {
				prov = "local"
			}
			before := speechRequests(tc.h, fake, prov)
			tc.req.ArticleID = strings.NewReplacer(" ", "-", ",", "").Replace(tc.name)
			tc.req.Options.Provider = prov
			j := tc.h.narrate(t, tc.req)
			made := speechRequests(tc.h, fake, prov) - before
			total += made
			t.Logf("%s: %d speech requests; %s in %s: %s", tc.name, made, j.State, j.FailedStage, j.Error)
			if j.State != queue.Failed || j.FailedStage != tc.stage || !strings.Contains(j.Error, tc.why) {
				t.Errorf("job %s in %q: %q; want failed in %s, saying %q", j.State, j.FailedStage, j.Error, tc.stage, tc.why)
			}
			if made > 1 {
				t.Errorf("%d speech requests, want at most 1", made)
			}
		})
	}
	t.Logf("five bad inputs: %d speech requests", total)
}

// speechRequests is what a provider has been asked so far: the fake's
// requests for OpenAI, the engine's runs for the local one.
func speechRequests(h *harness, fake *faketts.Server, prov string) int {
	if prov == "openai" {
		return len(fake.Log())
	}
	return int(h.p.Synths[prov].Stats().Calls)
}

// pngImage is a real PNG: a photograph's worth of noise, 64 pixels square.
func pngImage(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.IntN(256))
	}
	img.Set(0, 0, color.White)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pdfDocument is a small real PDF: one page whose text is a deflated
// content stream, as PDF writers make them.
func pdfDocument(t *testing.T) []byte {
	t.Helper()
	var content bytes.Buffer
	z := zlib.NewWriter(&content)
	fmt.Fprint(z, "BT /F1 12 Tf 72 720 Td (The council approved the budget on Tuesday.) Tj ET")
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
	obj(fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", content.Len(), content.Bytes()))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}
