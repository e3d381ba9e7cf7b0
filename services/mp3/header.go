package mp3

import (
	"errors"
	"fmt"
	"time"
)

// Version is the MPEG audio version of a frame.
type Version uint8

// MPEG versions, numbered as their two header bits are.
const (
	MPEG25 Version = 0 // MPEG-2.5: 8, 11.025 and 12 kHz
	MPEG2  Version = 2 // MPEG-2 LSF: 16, 22.05 and 24 kHz
	MPEG1  Version = 3 // MPEG-1: 32, 44.1 and 48 kHz
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
	return fmt.Sprintf("MPEG(%d)", uint8(v))
}

// MarshalText writes the version as "MPEG-1", "MPEG-2" or "MPEG-2.5".
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads a version written by MarshalText.
func (v *Version) UnmarshalText(b []byte) error {
	switch string(b) {
	case "MPEG-1":
		*v = MPEG1
	case "MPEG-2":
		*v = MPEG2
	case "MPEG-2.5":
		*v = MPEG25
	default:
		return fmt.Errorf("mp3: unknown MPEG version %q", b)
	}
	return nil
}

// Mode is a frame's channel mode.
type Mode uint8

// Channel modes.
const (
	Stereo      Mode = 0
	JointStereo Mode = 1
	DualChannel Mode = 2
	Mono        Mode = 3
)

// Errors returned by ParseHeader.
var (
	ErrNoSync      = errors.New("mp3: no frame sync")
	ErrBadHeader   = errors.New("mp3: invalid frame header")
	ErrNotLayer3   = errors.New("mp3: not MPEG audio Layer III")
	ErrFreeFormat  = errors.New("mp3: free-format bitrate is not supported")
	ErrShortHeader = errors.New("mp3: frame header needs 4 bytes")
)

// Header is a parsed Layer III frame header.
type Header struct {
	Version    Version
	Protected  bool // a CRC-16 follows the header
	Bitrate    int  // bits per second
	SampleRate int  // Hz
	Padding    bool
	Private    bool
	Mode       Mode
	ModeExt    uint8
	Copyright  bool
	Original   bool
	Emphasis   uint8
}

var bitratesKbps = [2][16]int{
	{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}, // MPEG-1
	{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},     // MPEG-2 and 2.5
}

var sampleRates = [4][3]int{
	MPEG25: {11025, 12000, 8000},
	MPEG2:  {22050, 24000, 16000},
	MPEG1:  {44100, 48000, 32000},
}

func lsf(v Version) int {
	if v == MPEG1 {
		return 0
	}
	return 1
}

// ParseHeader parses the four bytes of a frame header. Only Layer III
// frames with a bitrate from the table are accepted.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 4 {
		return Header{}, ErrShortHeader
	}
	if b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return Header{}, ErrNoSync
	}
	v := Version(b[1] >> 3 & 3)
	layer := b[1] >> 1 & 3
	bri := b[2] >> 4
	sri := b[2] >> 2 & 3
	emph := b[3] & 3
	switch {
	case v == 1, sri == 3, bri == 15, emph == 2, layer == 0:
		return Header{}, ErrBadHeader
	case layer != 1:
		return Header{}, ErrNotLayer3
	case bri == 0:
		return Header{}, ErrFreeFormat
	}
	return Header{
		Version:    v,
		Protected:  b[1]&1 == 0,
		Bitrate:    bitratesKbps[lsf(v)][bri] * 1000,
		SampleRate: sampleRates[v][sri],
		Padding:    b[2]&2 != 0,
		Private:    b[2]&1 != 0,
		Mode:       Mode(b[3] >> 6),
		ModeExt:    b[3] >> 4 & 3,
		Copyright:  b[3]&8 != 0,
		Original:   b[3]&4 != 0,
		Emphasis:   emph,
	}, nil
}

// Bytes encodes the header. It panics if the bitrate or sample rate is not
// one the header's version can signal, which only a programming error does.
func (h Header) Bytes() [4]byte {
	bri, sri := -1, -1
	for i, k := range bitratesKbps[lsf(h.Version)] {
		if i > 0 && k*1000 == h.Bitrate {
			bri = i
		}
	}
	for i, r := range sampleRates[h.Version] {
		if r == h.SampleRate {
			sri = i
		}
	}
	if bri < 0 || sri < 0 {
		panic(fmt.Sprintf("mp3: no header for %s at %d bps, %d Hz", h.Version, h.Bitrate, h.SampleRate))
	}
	var b [4]byte
	b[0] = 0xFF
	b[1] = 0xE0 | byte(h.Version)<<3 | 1<<1
	if !h.Protected {
		b[1] |= 1
	}
	b[2] = byte(bri)<<4 | byte(sri)<<2
	if h.Padding {
		b[2] |= 2
	}
	if h.Private {
		b[2] |= 1
	}
	b[3] = byte(h.Mode)<<6 | h.ModeExt<<4 | h.Emphasis
	if h.Copyright {
		b[3] |= 8
	}
	if h.Original {
		b[3] |= 4
	}
	return b
}

// Channels returns 1 for mono and 2 otherwise.
func (h Header) Channels() int {
	if h.Mode == Mono {
		return 1
	}
	return 2
}

// Samples returns the number of samples per channel the frame decodes to.
func (h Header) Samples() int {
	if h.Version == MPEG1 {
		return 1152
	}
	return 576
}

// Granules returns the number of granules in the frame: two in MPEG-1, one
// in MPEG-2 and 2.5.
func (h Header) Granules() int {
	if h.Version == MPEG1 {
		return 2
	}
	return 1
}

// Size returns the frame's length in bytes, header included.
func (h Header) Size() int {
	n := 144 * h.Bitrate / h.SampleRate
	if h.Version != MPEG1 {
		n = 72 * h.Bitrate / h.SampleRate
	}
	if h.Padding {
		n++
	}
	return n
}

// SideInfoSize returns the length of the side info in bytes.
func (h Header) SideInfoSize() int {
	switch {
	case h.Version == MPEG1 && h.Mode == Mono:
		return 17
	case h.Version == MPEG1:
		return 32
	case h.Mode == Mono:
		return 9
	}
	return 17
}

// SideInfoOffset returns where the side info starts in the frame: after the
// header and, in a protected frame, its CRC.
func (h Header) SideInfoOffset() int {
	if h.Protected {
		return 6
	}
	return 4
}

// Format returns the stream format the frame belongs to.
func (h Header) Format() Format {
	return Format{Version: h.Version, SampleRate: h.SampleRate, Channels: h.Channels()}
}

// Format is what every frame of one stream shares. Frames of different
// formats cannot be joined without re-encoding.
type Format struct {
	Version    Version `json:"version"`
	SampleRate int     `json:"sample_rate"`
	Channels   int     `json:"channels"`
}

// FormatOpenAI is the format of OpenAI's speech MP3s, which the other
// engines are configured to match: MPEG-2 Layer III, 24 kHz mono.
var FormatOpenAI = Format{Version: MPEG2, SampleRate: 24000, Channels: 1}

// String describes the format as "MPEG-2 Layer III 24000 Hz mono".
func (f Format) String() string {
	ch := "stereo"
	if f.Channels == 1 {
		ch = "mono"
	}
	return fmt.Sprintf("%s Layer III %d Hz %s", f.Version, f.SampleRate, ch)
}

// IsZero reports whether the format is unset.
func (f Format) IsZero() bool { return f == Format{} }

// FrameSamples returns the samples per channel in one frame of the format.
func (f Format) FrameSamples() int {
	if f.Version == MPEG1 {
		return 1152
	}
	return 576
}

// Duration converts a count of samples per channel to time.
func (f Format) Duration(samples int64) time.Duration {
	if f.SampleRate == 0 {
		return 0
	}
	return time.Duration(samples * int64(time.Second) / int64(f.SampleRate))
}

// SamplesIn converts a duration to a count of samples per channel, rounded
// to the nearest.
func (f Format) SamplesIn(d time.Duration) int64 {
	return (int64(d)*int64(f.SampleRate) + int64(time.Second)/2) / int64(time.Second)
}

// Bitrates returns the bitrates, in bits per second, a frame of the format
// can have, lowest first.
func (f Format) Bitrates() []int {
	var out []int
	for _, k := range bitratesKbps[lsf(f.Version)][1:15] {
		out = append(out, k*1000)
	}
	return out
}

// Valid reports whether the format is one Layer III can carry.
func (f Format) Valid() bool {
	if f.Version != MPEG1 && f.Version != MPEG2 && f.Version != MPEG25 {
		return false
	}
	if f.Channels != 1 && f.Channels != 2 {
		return false
	}
	for _, r := range sampleRates[f.Version] {
		if r == f.SampleRate {
			return true
		}
	}
	return false
}
