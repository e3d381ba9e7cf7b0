package synth

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzPollySSML guards that any chunk text becomes well-formed SSML whose
// spoken text is the chunk's, so Polly never refuses a chunk as bad SSML.
func FuzzPollySSML(f *testing.F) {
	f.Add("Prices rose 5% & wages <fell>.\n\nThe \"minister\" said 'so'.", 1.0)
	f.Add("\x00\x1b]]>\xff", 1.5)
	f.Add("Ціни зросли.\r\n\r\nДругий абзац.", 0.8)
	p := &Polly{cfg: PollyConfig{}}
	p.cfg.setDefaults()
	f.Fuzz(func(t *testing.T, text string, speed float64) {
		if speed < 0.25 || speed > 4 {
			speed = 1
		}
		doc := p.ssml(Request{Text: text, Speed: speed})
		d := xml.NewDecoder(strings.NewReader(doc))
		var spoken strings.Builder
		for {
			tok, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("SSML %q for text %q: %v", doc, text, err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				spoken.Write(cd)
			}
		}
		var want strings.Builder
		for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
			want.WriteString(strings.Map(xmlChar, para))
		}
		// The XML decoder normalizes a lone \r to \n.
		got := strings.ReplaceAll(spoken.String(), "\r", "\n")
		if w := strings.ReplaceAll(want.String(), "\r", "\n"); got != w {
			t.Errorf("spoken %q, want %q", got, w)
		}
	})
}
