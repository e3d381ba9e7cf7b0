package c2pa

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed is returned for bytes that are not a well-formed manifest
// store.
var ErrMalformed = errors.New("c2pa: malformed manifest store")

// JUMBF type UUIDs (ISO 19566-5 and the C2PA specification): the first four
// bytes name the type, the rest is the ISO suffix.
var (
	typeStore      = jumbfUUID("c2pa")
	typeManifest   = jumbfUUID("c2ma")
	typeAssertions = jumbfUUID("c2as")
	typeClaim      = jumbfUUID("c2cl")
	typeSignature  = jumbfUUID("c2cs")
	typeCBOR       = jumbfUUID("cbor")
	typeJSON       = jumbfUUID("json")
)

func jumbfUUID(fourcc string) [16]byte {
	var u [16]byte
	copy(u[:], fourcc)
	copy(u[4:], []byte{0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	return u
}

// toggles of a description box: requestable, and a label follows.
const togglesLabelled = 0x03

// box encodes an ISO BMFF style box: a four-byte length, the type and the
// payload.
func box(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := make([]byte, 8, n)
	binary.BigEndian.PutUint32(b, uint32(n))
	copy(b[4:], typ)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

// superbox encodes a JUMBF superbox: its description box (type UUID and
// label) followed by its children.
func superbox(typ [16]byte, label string, children ...[]byte) []byte {
	d := make([]byte, 0, 17+len(label)+1)
	d = append(d, typ[:]...)
	d = append(d, togglesLabelled)
	d = append(d, label...)
	d = append(d, 0)
	return box("jumb", append([][]byte{box("jumd", d)}, children...)...)
}

// Box is a parsed JUMBF superbox.
type Box struct {
	Type  [16]byte
	Label string
	// Content is the superbox without its eight-byte header: what a hashed
	// URI to it hashes.
	Content []byte
	// Boxes are the child superboxes; Data the payloads of the content
	// boxes, by box type ("cbor", "json").
	Boxes []Box
	Data  map[string][]byte
}

// Child returns the child superbox labelled label.
func (b *Box) Child(label string) (*Box, bool) {
	for i := range b.Boxes {
		if b.Boxes[i].Label == label {
			return &b.Boxes[i], true
		}
	}
	return nil, false
}

// maxDepth bounds nesting: a manifest store is four levels deep.
const maxDepth = 8

// ParseStore parses a manifest store: one JUMBF superbox labelled c2pa.
func ParseStore(b []byte) (*Box, error) {
	typ, payload, rest, err := nextBox(b)
	if err != nil {
		return nil, err
	}
	if typ != "jumb" {
		return nil, fmt.Errorf("%w: starts with a %q box, not a JUMBF superbox", ErrMalformed, typ)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the store", ErrMalformed, len(rest))
	}
	s, err := parseSuperbox(payload, 0)
	if err != nil {
		return nil, err
	}
	if s.Type != typeStore || s.Label != "c2pa" {
		return nil, fmt.Errorf("%w: the outer superbox is %q, not the c2pa manifest store", ErrMalformed, s.Label)
	}
	return s, nil
}

func parseSuperbox(payload []byte, depth int) (*Box, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: superboxes nested more than %d deep", ErrMalformed, maxDepth)
	}
	typ, desc, rest, err := nextBox(payload)
	if err != nil {
		return nil, err
	}
	if typ != "jumd" || len(desc) < 17 {
		return nil, fmt.Errorf("%w: a superbox without its description box", ErrMalformed)
	}
	s := &Box{Content: payload}
	copy(s.Type[:], desc)
	if desc[16]&0x02 != 0 {
		end := 17
		for end < len(desc) && desc[end] != 0 {
			end++
		}
		if end == len(desc) {
			return nil, fmt.Errorf("%w: an unterminated label", ErrMalformed)
		}
		s.Label = string(desc[17:end])
	}
	for len(rest) > 0 {
		var p []byte
		typ, p, rest, err = nextBox(rest)
		if err != nil {
			return nil, err
		}
		if typ == "jumb" {
			c, err := parseSuperbox(p, depth+1)
			if err != nil {
				return nil, err
			}
			s.Boxes = append(s.Boxes, *c)
			continue
		}
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		s.Data[typ] = p
	}
	return s, nil
}

// nextBox splits the first box off b.
func nextBox(b []byte) (typ string, payload, rest []byte, err error) {
	if len(b) < 8 {
		return "", nil, nil, fmt.Errorf("%w: a box header cut short", ErrMalformed)
	}
	n := uint64(binary.BigEndian.Uint32(b))
	typ = string(b[4:8])
	hdr := uint64(8)
	switch n {
	case 0: // to the end
		n = uint64(len(b))
	case 1: // a 64-bit length follows
		if len(b) < 16 {
			return "", nil, nil, fmt.Errorf("%w: a box header cut short", ErrMalformed)
		}
		n, hdr = binary.BigEndian.Uint64(b[8:]), 16
	}
	if n < hdr || n > uint64(len(b)) {
		return "", nil, nil, fmt.Errorf("%w: a %q box of %d bytes in %d", ErrMalformed, typ, n, len(b))
	}
	return typ, b[hdr:n], b[n:], nil
}
