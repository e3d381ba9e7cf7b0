package mp3

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Tag is the ID3v2.4 tag written at the start of a joined file. Empty
// fields are left out.
type Tag struct {
	Title    string    // TIT2: the article's headline
	Artist   string    // TPE1: byline and publication
	Album    string    // TALB: section or publication
	Date     time.Time // TDRC
	Language string    // TLAN: BCP 47 ("en") or ISO 639-2 ("eng")
	URL      string    // WOAS: the article's address
	// Cover is an image (JPEG or PNG) written as the front cover (APIC).
	Cover []byte
	// Disclosure is written as TXXX "AI disclosure": that the audio is
	// created with AI assistance, by which provider, model and voice.
	Disclosure string
	// Extra holds further TXXX frames, description to value.
	Extra    map[string]string
	Chapters []Chapter // CHAP frames, listed in order by one CTOC
	// Objects are written as GEOB frames, after every other frame and in
	// order, so that the last object's data ends the tag.
	Objects []Object
}

// Object is a general encapsulated object (GEOB): a file of any type kept
// in the tag, such as a C2PA manifest store.
type Object struct {
	MIME        string `json:"mime"`
	Filename    string `json:"filename,omitempty"`
	Description string `json:"description,omitempty"`
	Data        []byte `json:"-"`
	// Offset is where Data starts, in bytes from the start of the tag, as
	// ParseID3v2 found it; -1 when the frame was unsynchronised.
	Offset int64 `json:"offset"`
	Size   int   `json:"size"`
}

// DisclosureDescription is the TXXX description of the AI disclosure.
const DisclosureDescription = "AI disclosure"

// iso639 maps the two-letter codes of common languages to the three-letter
// codes TLAN requires.
var iso639 = map[string]string{
	"ar": "ara", "bg": "bul", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu",
	"el": "ell", "en": "eng", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin",
	"fr": "fra", "ga": "gle", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun", "id": "ind",
	"it": "ita", "ja": "jpn", "ko": "kor", "lt": "lit", "lv": "lav", "ms": "msa", "nb": "nob",
	"nl": "nld", "nn": "nno", "no": "nor", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
	"sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe", "th": "tha", "tr": "tur", "uk": "ukr",
	"vi": "vie", "zh": "zho",
}

// languageCode returns the ISO 639-2 code of a BCP 47 tag, or "" if unknown.
func languageCode(tag string) string {
	primary := strings.ToLower(strings.SplitN(strings.ReplaceAll(tag, "_", "-"), "-", 2)[0])
	if len(primary) == 3 {
		return primary
	}
	return iso639[primary]
}

// Bytes encodes the tag as ID3v2.4 with UTF-8 text. Its length depends only
// on the fields' contents, not on chapter times or offsets, so a caller can
// size the tag before it knows where the audio will land.
func (t Tag) Bytes() ([]byte, error) {
	var body bytes.Buffer
	text := func(id, v string) {
		if v != "" {
			writeFrame(&body, id, append([]byte{3}, v...))
		}
	}
	text("TIT2", t.Title)
	text("TPE1", t.Artist)
	text("TALB", t.Album)
	if !t.Date.IsZero() {
		text("TDRC", t.Date.UTC().Format("2006-01-02T15:04:05"))
	}
	if t.Language != "" {
		if code := languageCode(t.Language); code != "" {
			text("TLAN", code)
		}
	}
	if t.URL != "" {
		writeFrame(&body, "WOAS", latin1(t.URL))
	}
	if t.Disclosure != "" {
		writeFrame(&body, "TXXX", txxx(DisclosureDescription, t.Disclosure))
	}
	for _, k := range slices.Sorted(maps.Keys(t.Extra)) {
		writeFrame(&body, "TXXX", txxx(k, t.Extra[k]))
	}
	if len(t.Cover) > 0 {
		mime := http.DetectContentType(t.Cover)
		if mime != "image/jpeg" && mime != "image/png" {
			return nil, fmt.Errorf("mp3: cover image is %s, want JPEG or PNG", mime)
		}
		var p bytes.Buffer
		p.WriteByte(3)
		p.WriteString(mime)
		p.WriteByte(0)
		p.WriteByte(3) // front cover
		p.WriteByte(0) // empty description
		p.Write(t.Cover)
		writeFrame(&body, "APIC", p.Bytes())
	}
	if len(t.Chapters) > 0 {
		var toc bytes.Buffer
		toc.WriteString("toc\x00")
		toc.WriteByte(0x03) // top level, ordered
		if len(t.Chapters) > 255 {
			return nil, fmt.Errorf("mp3: %d chapters, at most 255 fit a table of contents", len(t.Chapters))
		}
		toc.WriteByte(byte(len(t.Chapters)))
		for _, c := range t.Chapters {
			toc.WriteString(c.ID)
			toc.WriteByte(0)
		}
		writeFrame(&body, "CTOC", toc.Bytes())
		for _, c := range t.Chapters {
			var ch bytes.Buffer
			ch.WriteString(c.ID)
			ch.WriteByte(0)
			var v [16]byte
			binary.BigEndian.PutUint32(v[0:], uint32(c.Start/time.Millisecond))
			binary.BigEndian.PutUint32(v[4:], uint32(c.End/time.Millisecond))
			putOffset(v[8:], c.StartOffset)
			putOffset(v[12:], c.EndOffset)
			ch.Write(v[:])
			if c.Title != "" {
				writeFrame(&ch, "TIT2", append([]byte{3}, c.Title...))
			}
			writeFrame(&body, "CHAP", ch.Bytes())
		}
	}
	for _, o := range t.Objects {
		if o.MIME == "" || strings.ContainsRune(o.MIME+o.Filename+o.Description, 0) {
			return nil, fmt.Errorf("mp3: object %q: a MIME type is required and no field may hold a NUL", o.Description)
		}
		p := []byte{3}
		p = append(p, latin1(o.MIME)...)
		p = append(p, 0)
		p = append(p, o.Filename...)
		p = append(p, 0)
		p = append(p, o.Description...)
		p = append(p, 0)
		writeFrame(&body, "GEOB", append(p, o.Data...))
	}
	if body.Len() >= 1<<28 {
		return nil, fmt.Errorf("mp3: tag of %d bytes is too large", body.Len())
	}
	out := make([]byte, id3HeaderSize, id3HeaderSize+body.Len())
	copy(out, "ID3\x04\x00\x00")
	putSyncsafe(out[6:], body.Len())
	return append(out, body.Bytes()...), nil
}

func putOffset(b []byte, v int64) {
	if v < 0 || v > 0xFFFFFFFE {
		binary.BigEndian.PutUint32(b, 0xFFFFFFFF)
		return
	}
	binary.BigEndian.PutUint32(b, uint32(v))
}

func writeFrame(w *bytes.Buffer, id string, data []byte) {
	var h [10]byte
	copy(h[:], id)
	putSyncsafe(h[4:], len(data))
	w.Write(h[:])
	w.Write(data)
}

func txxx(desc, value string) []byte {
	b := []byte{3}
	b = append(b, desc...)
	b = append(b, 0)
	return append(b, value...)
}

// latin1 keeps a URL to the ISO-8859-1 the URL frames require, escaping
// anything else.
func latin1(s string) []byte {
	var b []byte
	for _, r := range s {
		if r < 0x100 {
			b = append(b, byte(r))
		} else {
			for _, c := range []byte(string(r)) {
				b = append(b, fmt.Sprintf("%%%02X", c)...)
			}
		}
	}
	return b
}
