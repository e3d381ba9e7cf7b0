// Package script holds the narration script: what is read aloud, in what
// order, split into the chunks that are synthesized one request each. It is
// the data model the clean, chunk, synth, stitch and publish stages share.
package script

import (
	"strings"
	"time"
)

// Script is an article as it will be read: cleaned and in reading order.
type Script struct {
	Title      string    `json:"title"`
	Standfirst string    `json:"standfirst,omitempty"`
	Byline     string    `json:"byline,omitempty"` // "By Jane Doe"
	Published  time.Time `json:"published,omitzero"`
	Language   string    `json:"language,omitempty"` // BCP 47 primary tag: "en", "uk"
	URL        string    `json:"url,omitempty"`
	SiteName   string    `json:"site_name,omitempty"`
	Sections   []Section `json:"sections"`
}

// Section is a run of blocks under one heading; the first section of most
// articles has no heading. Headings become chapters.
type Section struct {
	Heading string  `json:"heading,omitempty"`
	Blocks  []Block `json:"blocks"`
}

// BlockKind says how a block is read and shown.
type BlockKind string

// Block kinds.
const (
	Paragraph BlockKind = "paragraph"
	Quote     BlockKind = "quote"
	ListItem  BlockKind = "list_item"
)

// Block is one paragraph, block quote or list item of cleaned text.
type Block struct {
	Kind BlockKind `json:"kind"`
	Text string    `json:"text"`
}

// Paragraphs returns the text of every block in reading order.
func (s Script) Paragraphs() []string {
	var out []string
	for _, sec := range s.Sections {
		for _, b := range sec.Blocks {
			out = append(out, b.Text)
		}
	}
	return out
}

// Empty reports whether the script has no body text to read.
func (s Script) Empty() bool {
	for _, p := range s.Paragraphs() {
		if strings.TrimSpace(p) != "" {
			return false
		}
	}
	return true
}

// Chars returns the number of characters (runes) of body text.
func (s Script) Chars() int {
	n := 0
	for _, p := range s.Paragraphs() {
		n += len([]rune(p))
	}
	return n
}

// TextHash returns a hash of what the script reads aloud: title,
// standfirst, byline, headings and blocks. Two fetches of a page that
// differ only in what cleaning drops (ads, timestamps, tokens) hash
// alike, so an unchanged article can be told from an edited one.
func (s Script) TextHash() string {
	parts := []string{"script/v1", s.Title, s.Standfirst, s.Byline}
	for _, sec := range s.Sections {
		parts = append(parts, "#"+sec.Heading)
		for _, b := range sec.Blocks {
			parts = append(parts, string(b.Kind), b.Text)
		}
	}
	return Hash(parts...)
}
