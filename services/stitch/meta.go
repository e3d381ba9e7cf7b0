package stitch

import (
	"crypto/sha256"
	"math"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
)

// DefaultDisclosure is the AI disclosure written into every file.
const DefaultDisclosure = "This audio is created with AI assistance"

// Metadata is what the joined file's ID3v2.4 tag says.
type Metadata struct {
	Title       string
	Byline      string // "By Jane Doe"
	Publication string
	Section     string // the publication's section, if any
	Date        time.Time
	Language    string // BCP 47
	URL         string
	Cover       []byte // JPEG or PNG
	Provider    string // speech provider, model and voice, for the disclosure
	Model       string
	Voice       string
	// Disclosure defaults to DefaultDisclosure.
	Disclosure string
	// Headings are the script's section headings by section index; they
	// title the chapters.
	Headings []string
	// Created is when the narration was made, as its Content Credentials
	// state it; the zero time means when it is joined.
	Created time.Time
	// TextSHA256 is the SHA-256 of the article text read aloud (TextHash),
	// recorded in the Content Credentials as the audio's ingredient; nil
	// leaves it out.
	TextSHA256 []byte
}

// MetadataFromScript fills the fields a script knows.
func MetadataFromScript(s script.Script) Metadata {
	m := Metadata{
		Title:       s.Title,
		Byline:      s.Byline,
		Publication: s.SiteName,
		Date:        s.Published,
		Language:    s.Language,
		URL:         s.URL,
	}
	for _, sec := range s.Sections {
		m.Headings = append(m.Headings, sec.Heading)
	}
	m.TextSHA256 = TextHash(s)
	return m
}

// TextHash is the SHA-256 of a script's text as read aloud: its paragraphs
// in reading order, UTF-8, joined by blank lines.
func TextHash(s script.Script) []byte {
	sum := sha256.Sum256([]byte(strings.Join(s.Paragraphs(), "\n\n")))
	return sum[:]
}

// narration is what the file's Content Credentials say.
func (m Metadata) narration(created time.Time) c2pa.Narration {
	return c2pa.Narration{
		Title:       m.Title,
		Publication: m.Publication,
		URL:         m.URL,
		Language:    m.Language,
		Published:   m.Date,
		Created:     created,
		Provider:    m.Provider,
		Model:       m.Model,
		Voice:       m.Voice,
		Disclosure:  m.disclosure(),
		TextSHA256:  m.TextSHA256,
	}
}

func (m Metadata) tag(chapters []mp3.Chapter, extra map[string]string) mp3.Tag {
	artist := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(m.Byline), "By "))
	if m.Publication != "" {
		if artist != "" {
			artist += " / "
		}
		artist += m.Publication
	}
	album := m.Section
	if album == "" {
		album = m.Publication
	}
	return mp3.Tag{
		Title:      m.Title,
		Artist:     artist,
		Album:      album,
		Date:       m.Date,
		Language:   m.Language,
		URL:        m.URL,
		Cover:      m.Cover,
		Disclosure: m.disclosure(),
		Extra:      extra,
		Chapters:   chapters,
	}
}

func (m Metadata) disclosure() string {
	return Disclosure(m.Disclosure, m.Provider, m.Model, m.Voice)
}

// Disclosure is the AI disclosure as tags, transcripts and feeds state it:
// the text (DefaultDisclosure when empty) and the speech that read the
// narration ("This audio is created with AI assistance. provider: openai;
// model: tts-1; voice: nova.").
func Disclosure(text, provider, model, voice string) string {
	if text == "" {
		text = DefaultDisclosure
	}
	var parts []string
	for _, kv := range [][2]string{{"provider", provider}, {"model", model}, {"voice", voice}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+": "+kv[1])
		}
	}
	if len(parts) > 0 {
		text = strings.TrimRight(text, ". ") + ". " + strings.Join(parts, "; ") + "."
	}
	return text
}

func dbToLinear(db float64) float64 { return math.Pow(10, db/20) }
