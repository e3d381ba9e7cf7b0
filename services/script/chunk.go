package script

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Break says what comes before a chunk, so that the stitcher inserts the
// pause that fits: none at the start, a short one between paragraphs, a
// longer one after the title block and between sections.
type Break string

// Breaks, from none to the longest pause.
const (
	BreakNone      Break = ""          // the first chunk, or a split inside a paragraph
	BreakParagraph Break = "paragraph" // a new paragraph, quote or list item
	BreakTitle     Break = "title"     // the first chunk after the title and byline
	BreakSection   Break = "section"   // a new section (its heading starts the chunk)
)

// Pauses gives the silence inserted before a chunk for each kind of break.
type Pauses struct {
	Paragraph time.Duration `json:"paragraph"`
	Title     time.Duration `json:"title"`
	Section   time.Duration `json:"section"`
}

// DefaultPauses are the pauses a news reader leaves.
var DefaultPauses = Pauses{Paragraph: 600 * time.Millisecond, Title: 1200 * time.Millisecond, Section: 1500 * time.Millisecond}

// Before returns the pause for a break.
func (p Pauses) Before(b Break) time.Duration {
	switch b {
	case BreakParagraph:
		return p.Paragraph
	case BreakTitle:
		return p.Title
	case BreakSection:
		return p.Section
	}
	return 0
}

// Longest returns the longest configured pause.
func (p Pauses) Longest() time.Duration {
	return max(p.Paragraph, p.Title, p.Section)
}

// Chunk is the text of one synthesis request.
type Chunk struct {
	ID        string     `json:"id"` // content hash of Text
	Index     int        `json:"index"`
	Text      string     `json:"text"` // spoken (normalized) text sent to the provider
	Break     Break      `json:"break,omitempty"`
	Section   int        `json:"section"` // index into Script.Sections; -1 for the title block
	Sentences []Sentence `json:"sentences"`
}

// Sentence is one sentence of a chunk, as shown to readers and as spoken.
// The chunk's Text is its sentences' Spoken text joined in order.
type Sentence struct {
	Text    string `json:"text"`   // cleaned text, as shown in the transcript
	Spoken  string `json:"spoken"` // normalized text, as sent to the provider
	Section int    `json:"section"`
	Block   int    `json:"block"` // index into the section's blocks; -1 for title and byline
}

// Hash returns the hex SHA-256 of the parts, each length-prefixed so that
// no two different lists of parts hash alike.
func Hash(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		l := uint64(len(p))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}
