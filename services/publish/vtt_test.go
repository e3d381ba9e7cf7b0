package publish_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/publish"
)

type cue struct {
	start, end string
	text       string
}

var cueTiming = regexp.MustCompile(`^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})$`)

// parseVTT reads a WebVTT file as the specification's parser would for
// the files WebVTT writes: the header, blocks separated by blank lines,
// NOTE blocks, and cues of an identifier, a timing line and a payload. It
// fails on anything else.
func parseVTT(t *testing.T, b []byte) (notes []string, cues []cue) {
	t.Helper()
	s := string(b)
	if !utf8.ValidString(s) {
		t.Fatalf("transcript is not UTF-8")
	}
	blocks := strings.Split(strings.TrimRight(s, "\n"), "\n\n")
	if blocks[0] != "WEBVTT" {
		t.Fatalf("header %q", blocks[0])
	}
	for _, blk := range blocks[1:] {
		lines := strings.Split(blk, "\n")
		if lines[0] == "NOTE" || strings.HasPrefix(lines[0], "NOTE ") {
			if strings.Contains(blk, "-->") {
				t.Fatalf("note contains -->: %q", blk)
			}
			notes = append(notes, strings.Join(lines[1:], "\n"))
			continue
		}
		if len(lines) != 3 {
			t.Fatalf("cue of %d lines: %q", len(lines), blk)
		}
		m := cueTiming.FindStringSubmatch(lines[1])
		if m == nil {
			t.Fatalf("cue timing %q", lines[1])
		}
		if m[2] <= m[1] {
			t.Fatalf("cue ends at %s, not after its start %s", m[2], m[1])
		}
		if strings.Contains(lines[2], "-->") || strings.ContainsAny(lines[2], "<>") {
			t.Fatalf("payload %q holds markup or -->", lines[2])
		}
		cues = append(cues, cue{m[1], m[2], vttUnescape(lines[2])})
	}
	return notes, cues
}

var vttUnescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func vttUnescape(s string) string { return vttUnescaper.Replace(s) }

func TestWebVTTEscapesAndTimesEveryCue(t *testing.T) {
	cases := []struct {
		name  string
		text  string
		shown string
	}{
		{"plain", "The council voted.", "The council voted."},
		{"markup", `<b>Bold</b> & <script>alert("x")</script>`, `<b>Bold</b> & <script>alert("x")</script>`},
		{"arrow", "Prices --> up", "Prices --> up"},
		{"line breaks", "One\n\ntwo\r\nthree", "One two three"},
		{"entities stay text", "&amp; &lt;", "&amp; &lt;"},
		{"non-Latin", "Рада ухвалила бюджет. 議会は予算を承認した。", "Рада ухвалила бюджет. 議会は予算を承認した。"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := publish.WebVTT([]publish.Sentence{{Start: 1.5, End: 3.25, Text: tc.text}, {Start: 3.25, End: 3.25, Text: "Next."}}, "AI note\n\n--> here")
			notes, cues := parseVTT(t, b)
			if len(notes) != 1 || notes[0] != "AI note\n-> here" {
				t.Errorf("notes = %q", notes)
			}
			if len(cues) != 2 {
				t.Fatalf("cues = %+v", cues)
			}
			if cues[0] != (cue{"00:00:01.500", "00:00:03.250", tc.shown}) {
				t.Errorf("cue = %+v, want text %q", cues[0], tc.shown)
			}
			if cues[1].start != "00:00:03.250" || cues[1].end != "00:00:03.251" {
				t.Errorf("a zero-length cue became %+v", cues[1])
			}
		})
	}
}

func TestWebVTTTimesPastAnHour(t *testing.T) {
	b := publish.WebVTT([]publish.Sentence{{Start: 3723.004, End: 3725.5, Text: "Late."}}, "")
	_, cues := parseVTT(t, b)
	if cues[0].start != "01:02:03.004" || cues[0].end != "01:02:05.500" {
		t.Fatalf("cue = %+v", cues[0])
	}
}

func FuzzWebVTT(f *testing.F) {
	for _, s := range []string{"a", "<c.x>b</c>", "-->", "x\n\ny", "&lt;", "\x00\xff", "NOTE", "WEBVTT"} {
		f.Add(s, 0.5, 1.0)
	}
	f.Fuzz(func(t *testing.T, text string, start, length float64) {
		if start < 0 || start > 1e5 || length < 0 || length > 1e4 || start != start || length != length {
			return
		}
		s := publish.Seconds(float64(int64(start*1000)) / 1000)
		e := publish.Seconds(float64(int64((start+length)*1000)) / 1000)
		b := publish.WebVTT([]publish.Sentence{{Start: s, End: e, Text: text}}, text)
		_, cues := parseVTT(t, b)
		want := publishSafe(strings.Join(strings.Fields(text), " "))
		if want == "" {
			if len(cues) != 0 {
				t.Fatalf("blank text made cues %+v", cues)
			}
			return
		}
		if len(cues) != 1 || cues[0].text != want {
			t.Fatalf("cues = %+v, want one with %q", cues, want)
		}
	})
}

// publishSafe is what survives into XML and WebVTT: invalid UTF-8 and
// characters XML cannot hold become U+FFFD.
func publishSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		ok := r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF && r != utf8.RuneError ||
			r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}
