// Package mpframe reads MPEG audio Layer III frame headers: enough to walk
// the frames of a provider's response, check its stream format and cut it
// at frame boundaries. Decoding is left to real decoders.
package mpframe

import (
	"errors"
	"fmt"
)

// Version is the MPEG audio version of a frame.
type Version int

// MPEG versions. MPEG-2 and 2.5 carry 576 samples per Layer III frame.
const (
	MPEG1  Version = 1
	MPEG2  Version = 2
	MPEG25 Version = 25
)

// String returns "MPEG-1", "MPEG-2" or "MPEG-2.5".
func (v Version) String() string {
	switch v {
	case MPEG1:
		return "MPEG-1"
	case MPEG2:
		return "MPEG-2"
	case MPEG25:
		return "MPEG-2.5"
	}
	return fmt.Sprintf("MPEG(%d)", int(v))
}

// ErrNoFrame is returned when bytes do not start with a Layer III frame header.
var ErrNoFrame = errors.New("mpframe: no Layer III frame header")

// Header is a decoded four-byte frame header.
type Header struct {
	Version    Version
	Bitrate    int // kbit/s
	SampleRate int // Hz
	Channels   int
	Padding    bool
	CRC        bool // a 16-bit CRC follows the header
	Size       int  // bytes, header included
	Samples    int  // per channel
}

var bitratesV1 = [16]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}
var bitratesV2 = [16]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}
var rates = map[Version][3]int{
	MPEG1:  {44100, 48000, 32000},
	MPEG2:  {22050, 24000, 16000},
	MPEG25: {11025, 12000, 8000},
}

// Parse decodes the header at the start of b. Free-format frames (bitrate
// index 0) are rejected: no TTS provider emits them and their size is unknown.
func Parse(b []byte) (Header, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return Header{}, ErrNoFrame
	}
	var h Header
	switch (b[1] >> 3) & 3 {
	case 0:
		h.Version = MPEG25
	case 2:
		h.Version = MPEG2
	case 3:
		h.Version = MPEG1
	default:
		return Header{}, ErrNoFrame
	}
	if (b[1]>>1)&3 != 1 { // layer bits 01 are Layer III
		return Header{}, ErrNoFrame
	}
	h.CRC = b[1]&1 == 0
	bi, si := b[2]>>4, (b[2]>>2)&3
	if bi == 0 || bi == 15 || si == 3 {
		return Header{}, ErrNoFrame
	}
	if h.Version == MPEG1 {
		h.Bitrate = bitratesV1[bi]
		h.Samples = 1152
	} else {
		h.Bitrate = bitratesV2[bi]
		h.Samples = 576
	}
	h.SampleRate = rates[h.Version][si]
	h.Padding = (b[2]>>1)&1 == 1
	h.Channels = 2
	if b[3]>>6 == 3 {
		h.Channels = 1
	}
	h.Size = h.Samples/8*h.Bitrate*1000/h.SampleRate + b2i(h.Padding)
	return h, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sideInfo returns the offset and length of the side information.
func (h Header) sideInfo() (off, n int) {
	off = 4
	if h.CRC {
		off += 2
	}
	switch {
	case h.Version == MPEG1 && h.Channels == 1:
		n = 17
	case h.Version == MPEG1:
		n = 32
	case h.Channels == 1:
		n = 9
	default:
		n = 17
	}
	return off, n
}

// MainDataBegin returns how many bytes of the frame's main data lie in
// earlier frames (the bit reservoir). A frame with zero decodes on its own,
// so a stream can be cut or joined just before it.
func MainDataBegin(frame []byte, h Header) int {
	off, n := h.sideInfo()
	if len(frame) < off+n {
		return -1
	}
	if h.Version == MPEG1 {
		return int(frame[off])<<1 | int(frame[off+1]>>7)
	}
	return int(frame[off])
}

// IsTag reports whether the frame carries a Xing, Info or VBRI header
// instead of audio.
func IsTag(frame []byte, h Header) bool {
	off, n := h.sideInfo()
	if p := off + n; len(frame) >= p+4 {
		if s := string(frame[p : p+4]); s == "Xing" || s == "Info" {
			return true
		}
	}
	return len(frame) >= 36+4 && string(frame[36:40]) == "VBRI"
}

// ID3v2Size returns the length of an ID3v2 tag at the start of b, or 0.
func ID3v2Size(b []byte) int {
	if len(b) < 10 || string(b[:3]) != "ID3" {
		return 0
	}
	n := 0
	for _, c := range b[6:10] {
		if c&0x80 != 0 {
			return 0
		}
		n = n<<7 | int(c)
	}
	n += 10
	if b[5]&0x10 != 0 {
		n += 10 // footer
	}
	return n
}

// Frame locates one frame in a stream.
type Frame struct {
	Offset int
	Header Header
}

// ErrTruncated is returned by Scan when the last frame is cut short.
var ErrTruncated = errors.New("mpframe: last frame is truncated")

// Scan walks the frames of b, which must start with an optional ID3v2 tag
// followed by contiguous Layer III frames; an ID3v1 tag may end it. Bytes
// that fit no frame are an error, so a response with junk in the middle is
// caught rather than skipped the way a tolerant decoder would.
func Scan(b []byte) ([]Frame, error) {
	pos := ID3v2Size(b)
	if pos > len(b) {
		return nil, fmt.Errorf("mpframe: ID3v2 tag of %d bytes runs past the end: %w", pos, ErrTruncated)
	}
	var frames []Frame
	for pos < len(b) {
		rest := b[pos:]
		if len(rest) == 128 && string(rest[:3]) == "TAG" {
			break
		}
		h, err := Parse(rest)
		if err != nil {
			if len(rest) < 4 && len(frames) > 0 {
				return frames, fmt.Errorf("mpframe: %d stray bytes at the end: %w", len(rest), ErrTruncated)
			}
			return frames, fmt.Errorf("mpframe: at byte %d: %w", pos, err)
		}
		if h.Size > len(rest) {
			return frames, fmt.Errorf("mpframe: frame %d at byte %d needs %d bytes, %d left: %w", len(frames), pos, h.Size, len(rest), ErrTruncated)
		}
		frames = append(frames, Frame{Offset: pos, Header: h})
		pos += h.Size
	}
	return frames, nil
}
