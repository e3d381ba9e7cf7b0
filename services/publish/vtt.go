package publish

import (
	"fmt"
	"strings"
)

// WebVTT writes the transcript: one cue per sentence, in order, with the
// disclosure as a note. Cue text is escaped (&, <, >), so markup in an
// article is shown as written and "-->" can never end up in a cue.
func WebVTT(sentences []Sentence, note string) []byte {
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	if note = vttNote(note); note != "" {
		b.WriteString("NOTE\n")
		b.WriteString(note)
		b.WriteString("\n\n")
	}
	last := Seconds(0)
	n := 0
	for _, s := range sentences {
		text := vttEscape(oneLine(s.Text))
		if text == "" {
			continue
		}
		start, end := max(s.Start, last), s.End
		if end <= start {
			end = start + 0.001 // a cue must end after it starts
		}
		last = start
		n++
		fmt.Fprintf(&b, "%d\n%s --> %s\n%s\n\n", n, vttTime(start), vttTime(end), text)
	}
	return []byte(b.String())
}

// vttTime formats hh:mm:ss.ttt.
func vttTime(s Seconds) string {
	ms := int64(s.Duration().Milliseconds())
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

var vttEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func vttEscape(s string) string { return vttEscaper.Replace(xmlSafe(s)) }

// vttNote makes text safe in a NOTE block: no blank line (which would end
// it) and no "-->" (which a note may not contain).
func vttNote(s string) string {
	var lines []string
	for l := range strings.SplitSeq(xmlSafe(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, strings.ReplaceAll(l, "-->", "->"))
		}
	}
	return strings.Join(lines, "\n")
}
