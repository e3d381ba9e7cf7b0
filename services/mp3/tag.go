package mp3

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// TagKind names a kind of metadata block found in an MPEG stream.
type TagKind string

// Tag kinds.
const (
	TagID3v2 TagKind = "id3v2"
	TagID3v1 TagKind = "id3v1"
	TagAPE   TagKind = "apev2"
)

// ErrBadTag is returned for a tag whose header cannot be read.
var ErrBadTag = errors.New("mp3: malformed tag")

const (
	id3HeaderSize = 10
	id3v1Size     = 128
	apeHeaderSize = 32
)

// syncsafe decodes a 28-bit integer stored seven bits a byte.
func syncsafe(b []byte) (int, bool) {
	v := 0
	for _, c := range b[:4] {
		if c&0x80 != 0 {
			return 0, false
		}
		v = v<<7 | int(c)
	}
	return v, true
}

func putSyncsafe(b []byte, v int) {
	b[0] = byte(v >> 21 & 0x7F)
	b[1] = byte(v >> 14 & 0x7F)
	b[2] = byte(v >> 7 & 0x7F)
	b[3] = byte(v & 0x7F)
}

// ID3v2Size returns the full length of the ID3v2 tag whose ten-byte header
// (or footer, "3DI") starts b: header, body and footer if present.
func ID3v2Size(b []byte) (int, error) {
	if len(b) < id3HeaderSize {
		return 0, ErrBadTag
	}
	id := string(b[:3])
	if id != "ID3" && id != "3DI" {
		return 0, ErrBadTag
	}
	if b[3] < 2 || b[3] > 4 || b[4] == 0xFF {
		return 0, fmt.Errorf("%w: ID3v2.%d", ErrBadTag, b[3])
	}
	n, ok := syncsafe(b[6:10])
	if !ok {
		return 0, fmt.Errorf("%w: ID3v2 size is not syncsafe", ErrBadTag)
	}
	n += id3HeaderSize
	if b[3] == 4 && b[5]&0x10 != 0 {
		n += id3HeaderSize
	}
	return n, nil
}

// APESize returns the full length of the APEv2 tag whose 32-byte header or
// footer starts b, and whether b is the header (a footer comes last, after
// the tag's items).
func APESize(b []byte) (size int, isHeader bool, err error) {
	if len(b) < apeHeaderSize || string(b[:8]) != "APETAGEX" {
		return 0, false, ErrBadTag
	}
	n := int(binary.LittleEndian.Uint32(b[12:]))
	flags := binary.LittleEndian.Uint32(b[20:])
	if n < apeHeaderSize || n > 1<<28 {
		return 0, false, fmt.Errorf("%w: APE tag size %d", ErrBadTag, n)
	}
	hasHeader := flags&(1<<31) != 0
	isHeader = flags&(1<<29) != 0
	if hasHeader {
		n += apeHeaderSize
	}
	return n, isHeader, nil
}

// Chapter is a span of a file with a title, as an ID3v2 CHAP frame states.
type Chapter struct {
	ID          string        `json:"id"`
	Title       string        `json:"title"`
	Start       time.Duration `json:"start"`
	End         time.Duration `json:"end"`
	StartOffset int64         `json:"start_offset"` // bytes from the start of the file; -1 if unset
	EndOffset   int64         `json:"end_offset"`
}

// Picture is an attached picture (APIC).
type Picture struct {
	MIME string `json:"mime"`
	Type int    `json:"type"` // 3: front cover
	Size int    `json:"size"`
}

// TagInfo is what an ID3v2 or ID3v1 tag says, as far as this package reads
// it: text and URL frames, pictures, chapters and table of contents.
type TagInfo struct {
	Kind     TagKind           `json:"kind"`
	Version  string            `json:"version,omitempty"` // "2.4.0"
	Size     int               `json:"size"`
	Text     map[string]string `json:"text,omitempty"`     // frame ID, or "TXXX:description", to text
	URLs     map[string]string `json:"urls,omitempty"`     // frame ID to URL
	Pictures []Picture         `json:"pictures,omitempty"` // APIC
	Chapters []Chapter         `json:"chapters,omitempty"`
	TOC      []string          `json:"toc,omitempty"`     // chapter IDs in the top-level CTOC
	Objects  []Object          `json:"objects,omitempty"` // GEOB
	Frames   []string          `json:"frames,omitempty"`
}

// ParseID3v2 reads a whole ID3v2 tag.
func ParseID3v2(b []byte) (*TagInfo, error) {
	size, err := ID3v2Size(b)
	if err != nil {
		return nil, err
	}
	if string(b[:3]) != "ID3" {
		return nil, fmt.Errorf("%w: a footer, not a tag header", ErrBadTag)
	}
	if len(b) < size {
		return nil, fmt.Errorf("%w: ID3v2 tag of %d bytes cut at %d", ErrBadTag, size, len(b))
	}
	major, flags := b[3], b[5]
	t := &TagInfo{Kind: TagID3v2, Version: fmt.Sprintf("2.%d.%d", major, b[4]), Size: size}
	body := b[id3HeaderSize : size-footerLen(b)]
	base := id3HeaderSize // offset of body in the tag, or -1 once unknown
	if major < 4 && flags&0x80 != 0 {
		body, base = unsync(body), -1
	}
	if flags&0x40 != 0 && major >= 3 {
		n := len(body)
		body, err = skipExtHeader(major, body)
		if err != nil {
			return nil, err
		}
		if base >= 0 {
			base += n - len(body)
		}
	}
	if err := t.parseFrames(major, body, base, 0); err != nil {
		return t, err
	}
	return t, nil
}

func footerLen(b []byte) int {
	if b[3] == 4 && b[5]&0x10 != 0 {
		return id3HeaderSize
	}
	return 0
}

func skipExtHeader(major byte, body []byte) ([]byte, error) {
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: extended header", ErrBadTag)
	}
	var n int
	if major == 4 {
		v, ok := syncsafe(body)
		if !ok {
			return nil, fmt.Errorf("%w: extended header size", ErrBadTag)
		}
		n = v
	} else {
		n = int(binary.BigEndian.Uint32(body)) + 4
	}
	if n < 4 || n > len(body) {
		return nil, fmt.Errorf("%w: extended header size %d", ErrBadTag, n)
	}
	return body[n:], nil
}

// unsync undoes ID3v2 unsynchronisation: every 0xFF 0x00 becomes 0xFF.
func unsync(b []byte) []byte {
	if !bytes.Contains(b, []byte{0xFF, 0x00}) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		out = append(out, b[i])
		if b[i] == 0xFF && i+1 < len(b) && b[i+1] == 0 {
			i++
		}
	}
	return out
}

// parseFrames reads frames until padding or the end; base is the offset of
// b in the tag (-1 if unknown) and depth guards against chapters nested in
// chapters.
func (t *TagInfo) parseFrames(major byte, b []byte, base, depth int) error {
	idLen, hdrLen := 4, 10
	if major == 2 {
		idLen, hdrLen = 3, 6
	}
	for len(b) >= hdrLen && b[0] != 0 {
		id := string(b[:idLen])
		var size int
		var fflags uint16
		switch major {
		case 2:
			size = int(b[3])<<16 | int(b[4])<<8 | int(b[5])
		case 3:
			size = int(binary.BigEndian.Uint32(b[4:]))
			fflags = binary.BigEndian.Uint16(b[8:])
		default:
			v, ok := syncsafe(b[4:])
			if !ok {
				return fmt.Errorf("%w: frame %q size is not syncsafe", ErrBadTag, id)
			}
			size = v
			fflags = binary.BigEndian.Uint16(b[8:])
		}
		if !validFrameID(id) {
			return fmt.Errorf("%w: frame ID %q", ErrBadTag, id)
		}
		if size > len(b)-hdrLen {
			return fmt.Errorf("%w: frame %s of %d bytes runs past the tag", ErrBadTag, id, size)
		}
		data := b[hdrLen : hdrLen+size]
		off := -1
		if base >= 0 {
			off = base + hdrLen
			base += hdrLen + size
		}
		b = b[hdrLen+size:]
		if depth == 0 {
			t.Frames = append(t.Frames, id)
		}
		if major == 4 {
			if fflags&0x0001 != 0 { // data length indicator
				if len(data) < 4 {
					continue
				}
				data = data[4:]
				if off >= 0 {
					off += 4
				}
			}
			if fflags&0x0002 != 0 {
				data, off = unsync(data), -1
			}
		}
		if fflags&0x000C != 0 || (major == 3 && fflags&0x00C0 != 0) {
			continue // compressed or encrypted: listed, not read
		}
		t.readFrame(major, id, data, off, depth)
	}
	return nil
}

func validFrameID(id string) bool {
	for _, c := range id {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func (t *TagInfo) setText(k, v string) {
	if t.Text == nil {
		t.Text = map[string]string{}
	}
	t.Text[k] = v
}

func (t *TagInfo) readFrame(major byte, id string, data []byte, off, depth int) {
	switch {
	case (id == "GEOB" || id == "GEO") && depth == 0:
		t.readObject(data, off)
	case id == "TXXX" || id == "TXX":
		if len(data) < 1 {
			return
		}
		desc, rest := splitText(data[0], data[1:])
		t.setText("TXXX:"+desc, decodeText(data[0], rest))
	case id[0] == 'T':
		if len(data) < 1 {
			return
		}
		t.setText(id, decodeText(data[0], data[1:]))
	case id == "WXXX" || id == "WXX":
		if len(data) < 1 {
			return
		}
		_, rest := splitText(data[0], data[1:])
		t.setURL(id, decodeText(0, trimZero(rest)))
	case id[0] == 'W':
		t.setURL(id, decodeText(0, trimZero(data)))
	case id == "APIC" || id == "PIC":
		if len(data) < 2 {
			return
		}
		p := Picture{}
		enc := data[0]
		rest := data[1:]
		if major == 2 {
			if len(rest) < 4 {
				return
			}
			p.MIME, rest = "image/"+strings.ToLower(string(rest[:3])), rest[3:]
		} else {
			i := bytes.IndexByte(rest, 0)
			if i < 0 {
				return
			}
			p.MIME, rest = string(rest[:i]), rest[i+1:]
		}
		if len(rest) < 1 {
			return
		}
		p.Type = int(rest[0])
		_, img := splitText(enc, rest[1:])
		p.Size = len(img)
		t.Pictures = append(t.Pictures, p)
	case id == "CHAP" && depth == 0:
		t.readChapter(major, data)
	case id == "CTOC" && depth == 0:
		i := bytes.IndexByte(data, 0)
		if i < 0 || len(data) < i+3 {
			return
		}
		flags, n := data[i+1], int(data[i+2])
		rest := data[i+3:]
		var ids []string
		for range n {
			j := bytes.IndexByte(rest, 0)
			if j < 0 {
				return
			}
			ids = append(ids, string(rest[:j]))
			rest = rest[j+1:]
		}
		if flags&1 != 0 || t.TOC == nil {
			t.TOC = ids
		}
	}
}

func (t *TagInfo) setURL(k, v string) {
	if t.URLs == nil {
		t.URLs = map[string]string{}
	}
	t.URLs[k] = v
}

func (t *TagInfo) readChapter(major byte, data []byte) {
	i := bytes.IndexByte(data, 0)
	if i < 0 || len(data) < i+17 {
		return
	}
	c := Chapter{ID: string(data[:i])}
	v := data[i+1:]
	c.Start = time.Duration(binary.BigEndian.Uint32(v[0:])) * time.Millisecond
	c.End = time.Duration(binary.BigEndian.Uint32(v[4:])) * time.Millisecond
	c.StartOffset = offsetField(v[8:])
	c.EndOffset = offsetField(v[12:])
	sub := &TagInfo{}
	_ = sub.parseFrames(major, v[16:], -1, 1) // a bad sub-frame leaves the chapter untitled
	c.Title = sub.Text["TIT2"]
	t.Chapters = append(t.Chapters, c)
}

// readObject reads a GEOB frame: encoding, MIME type, file name,
// description, then the object itself.
func (t *TagInfo) readObject(data []byte, off int) {
	if len(data) < 2 {
		return
	}
	enc := data[0]
	i := bytes.IndexByte(data[1:], 0)
	if i < 0 {
		return
	}
	o := Object{MIME: decodeText(0, data[1:1+i])}
	rest := data[2+i:]
	o.Filename, rest = splitText(enc, rest)
	o.Description, rest = splitText(enc, rest)
	o.Data, o.Size, o.Offset = rest, len(rest), -1
	if off >= 0 {
		o.Offset = int64(off + len(data) - len(rest))
	}
	t.Objects = append(t.Objects, o)
}

func offsetField(b []byte) int64 {
	v := binary.BigEndian.Uint32(b)
	if v == 0xFFFFFFFF {
		return -1
	}
	return int64(v)
}

// splitText splits data at the terminator of the first string in enc.
func splitText(enc byte, data []byte) (string, []byte) {
	if enc == 1 || enc == 2 {
		for i := 0; i+1 < len(data); i += 2 {
			if data[i] == 0 && data[i+1] == 0 {
				return decodeText(enc, data[:i]), data[i+2:]
			}
		}
		return decodeText(enc, data), nil
	}
	i := bytes.IndexByte(data, 0)
	if i < 0 {
		return decodeText(enc, data), nil
	}
	return decodeText(enc, data[:i]), data[i+1:]
}

// decodeText decodes an ID3v2 text field; several values (separated by
// NUL in ID3v2.4) are joined with " / ".
func decodeText(enc byte, b []byte) string {
	var s string
	switch enc {
	case 0:
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		s = string(r)
	case 1, 2:
		be := enc == 2
		if len(b) >= 2 && enc == 1 {
			switch {
			case b[0] == 0xFE && b[1] == 0xFF:
				be, b = true, b[2:]
			case b[0] == 0xFF && b[1] == 0xFE:
				b = b[2:]
			}
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			if be {
				u[i] = binary.BigEndian.Uint16(b[2*i:])
			} else {
				u[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
		}
		s = string(utf16.Decode(u))
	default:
		s = string(b)
	}
	s = strings.TrimRight(s, "\x00")
	return strings.ReplaceAll(s, "\x00", " / ")
}

// ParseID3v1 reads a 128-byte ID3v1 tag.
func ParseID3v1(b []byte) (*TagInfo, error) {
	if len(b) < id3v1Size || string(b[:3]) != "TAG" {
		return nil, ErrBadTag
	}
	field := func(from, to int) string {
		return strings.TrimSpace(decodeText(0, trimZero(b[from:to])))
	}
	t := &TagInfo{Kind: TagID3v1, Version: "1", Size: id3v1Size}
	for k, v := range map[string]string{
		"TIT2": field(3, 33), "TPE1": field(33, 63), "TALB": field(63, 93), "TDRC": field(93, 97),
	} {
		if v != "" {
			t.setText(k, v)
		}
	}
	return t, nil
}
