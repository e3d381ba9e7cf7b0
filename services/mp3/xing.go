package mp3

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrNoInfo is returned when a frame carries no Xing/Info or VBRI header.
var ErrNoInfo = errors.New("mp3: no Xing, Info or VBRI header")

// Info is what a header frame (Xing/Info or VBRI) says about its stream.
// A header frame is a valid frame whose audio is silence; decoders that know
// it skip it, others play one frame of silence.
type Info struct {
	Tag     string `json:"tag"`              // "Xing", "Info" or "VBRI"
	Frames  int    `json:"frames,omitempty"` // audio frames, the header frame excluded
	Bytes   int64  `json:"bytes,omitempty"`  // stream bytes, the header frame included
	HasTOC  bool   `json:"has_toc,omitempty"`
	TOC     []byte `json:"-"`
	Quality int    `json:"quality,omitempty"`
	// LAME is the LAME tag that follows a Xing/Info header, if any.
	LAME *LAME `json:"lame,omitempty"`
	// VBRIDelay is the encoder delay a VBRI header states.
	VBRIDelay int `json:"vbri_delay,omitempty"`
}

// LAME is the LAME extension of a Xing/Info header: encoder delay and
// padding for gapless playback, and checksums.
type LAME struct {
	Encoder     string `json:"encoder"` // nine bytes, such as "LAME3.100"
	Revision    int    `json:"revision"`
	VBRMethod   int    `json:"vbr_method"`
	Lowpass     int    `json:"lowpass,omitempty"` // Hz
	Bitrate     int    `json:"bitrate,omitempty"` // kbit/s: CBR or ABR bitrate, or a VBR stream's lowest
	Delay       int    `json:"delay"`             // samples the encoder added at the start
	Padding     int    `json:"padding"`           // samples added at the end
	MusicLength int64  `json:"music_length"`      // bytes from the header frame to the last audio frame
	MusicCRC    uint16 `json:"music_crc"`         // CRC-16/ARC of the audio frames
	TagCRC      uint16 `json:"tag_crc"`           // CRC-16/ARC of the header frame up to this field
	TagCRCValid bool   `json:"tag_crc_valid"`
}

const (
	xingFrames  = 1
	xingBytes   = 2
	xingTOC     = 4
	xingQuality = 8
	lameSize    = 36
)

// xingOffset is where a Xing/Info header starts: right after the side info.
func xingOffset(h Header) int { return h.SideInfoOffset() + h.SideInfoSize() }

// vbriOffset is where a VBRI header starts, whatever the frame's format.
const vbriOffset = 36

// ParseInfo parses a Xing/Info (with its LAME tag) or VBRI header in frame.
func ParseInfo(h Header, frame []byte) (*Info, error) {
	if len(frame) < h.Size() {
		return nil, ErrShortFrame
	}
	frame = frame[:h.Size()]
	off := xingOffset(h)
	if len(frame) >= off+8 {
		if id := string(frame[off : off+4]); id == "Xing" || id == "Info" {
			return parseXing(id, frame, off)
		}
	}
	if len(frame) >= vbriOffset+26 && string(frame[vbriOffset:vbriOffset+4]) == "VBRI" {
		return parseVBRI(frame[vbriOffset:])
	}
	return nil, ErrNoInfo
}

func parseXing(id string, frame []byte, off int) (*Info, error) {
	in := &Info{Tag: id}
	flags := binary.BigEndian.Uint32(frame[off+4:])
	p := off + 8
	need := func(n int) error {
		if len(frame) < p+n {
			return fmt.Errorf("mp3: %s header runs past its frame", id)
		}
		return nil
	}
	if flags&xingFrames != 0 {
		if err := need(4); err != nil {
			return nil, err
		}
		in.Frames = int(binary.BigEndian.Uint32(frame[p:]))
		p += 4
	}
	if flags&xingBytes != 0 {
		if err := need(4); err != nil {
			return nil, err
		}
		in.Bytes = int64(binary.BigEndian.Uint32(frame[p:]))
		p += 4
	}
	if flags&xingTOC != 0 {
		if err := need(100); err != nil {
			return nil, err
		}
		in.HasTOC = true
		in.TOC = append([]byte(nil), frame[p:p+100]...)
		p += 100
	}
	if flags&xingQuality != 0 {
		if err := need(4); err != nil {
			return nil, err
		}
		in.Quality = int(binary.BigEndian.Uint32(frame[p:]))
		p += 4
	}
	if len(frame) >= p+lameSize && printable(frame[p:p+4]) {
		t := frame[p : p+lameSize]
		dp := int(t[21])<<16 | int(t[22])<<8 | int(t[23])
		l := &LAME{
			Encoder:     string(trimZero(t[:9])),
			Revision:    int(t[9] >> 4),
			VBRMethod:   int(t[9] & 15),
			Lowpass:     int(t[10]) * 100,
			Bitrate:     int(t[20]),
			Delay:       dp >> 12,
			Padding:     dp & 0xFFF,
			MusicLength: int64(binary.BigEndian.Uint32(t[28:])),
			MusicCRC:    binary.BigEndian.Uint16(t[32:]),
			TagCRC:      binary.BigEndian.Uint16(t[34:]),
		}
		l.TagCRCValid = crcARC(0, frame[:p+34]) == l.TagCRC
		in.LAME = l
	}
	return in, nil
}

func parseVBRI(b []byte) (*Info, error) {
	in := &Info{Tag: "VBRI"}
	in.VBRIDelay = int(binary.BigEndian.Uint16(b[6:]))
	in.Bytes = int64(binary.BigEndian.Uint32(b[10:]))
	in.Frames = int(binary.BigEndian.Uint32(b[14:]))
	entries := int(binary.BigEndian.Uint16(b[18:]))
	size := int(binary.BigEndian.Uint16(b[22:]))
	if size < 1 || size > 4 {
		return nil, fmt.Errorf("mp3: VBRI table entry size %d", size)
	}
	in.HasTOC = entries > 0 && len(b) >= 26+entries*size
	return in, nil
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

func trimZero(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == 0 || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// InfoFrame describes the Xing/Info frame that heads a joined stream.
type InfoFrame struct {
	// Header is the frame header to use; its bitrate must leave room for
	// the Xing and LAME data (see InfoHeader).
	Header Header
	CBR    bool  // every audio frame has one bitrate: the tag is "Info"
	Frames int   // audio frames, this frame excluded
	Bytes  int64 // stream bytes, this frame included
	TOC    [100]byte
	// Encoder is written as the LAME tag's nine-byte version string.
	// Decoders honour delay and padding only after a string they know.
	Encoder string
	Delay   int // encoder delay of the first audio, samples
	Padding int // padding after the last audio, samples
	// Bitrate is the LAME tag's bitrate byte, in kbit/s: a CBR stream's
	// bitrate, else its lowest. Tools read the encoding settings from it.
	Bitrate  int
	MusicCRC uint16
}

// The Xing header written has every field. Its quality is not ours to
// state (whoever encoded the chunks chose it), so it is written out of its
// 0..100 range, which says "none": tools such as mediainfo otherwise read
// a zero there as "-V 10 -q 0", even of a constant-bitrate stream.
const (
	infoFlags     = xingFrames | xingBytes | xingTOC | xingQuality
	infoLAMEStart = 8 + 4 + 4 + 100 + 4 // from the Xing tag to the LAME tag
	noQuality     = 0xFFFFFFFF
)

// infoFrameMin is the shortest frame that holds the Xing header written
// and a LAME tag.
func infoFrameMin(h Header) int { return xingOffset(h) + infoLAMEStart + lameSize }

// InfoHeader returns a header for the Xing/Info frame of a stream whose
// audio frames look like audio: the same format and, if it is large enough,
// the same bitrate, so that a constant-bitrate stream stays constant.
func InfoHeader(audio Header) Header {
	h := audio
	h.Protected, h.Padding = false, false
	if h.Size() >= infoFrameMin(h) {
		return h
	}
	for _, br := range h.Format().Bitrates() {
		h.Bitrate = br
		if h.Size() >= infoFrameMin(h) {
			break
		}
	}
	return h
}

// Encode encodes the Xing/Info frame with its LAME tag and the tag's CRC.
func (f InfoFrame) Encode() []byte {
	h := f.Header
	h.Protected = false
	b := make([]byte, h.Size())
	hb := h.Bytes()
	copy(b, hb[:])
	p := xingOffset(h)
	if f.CBR {
		copy(b[p:], "Info")
	} else {
		copy(b[p:], "Xing")
	}
	binary.BigEndian.PutUint32(b[p+4:], infoFlags)
	binary.BigEndian.PutUint32(b[p+8:], uint32(f.Frames))
	binary.BigEndian.PutUint32(b[p+12:], uint32(f.Bytes))
	copy(b[p+16:], f.TOC[:])
	binary.BigEndian.PutUint32(b[p+116:], noQuality)
	l := p + infoLAMEStart
	t := b[l : l+lameSize]
	enc := []byte(f.Encoder)
	for i := range 9 {
		t[i] = ' '
		if i < len(enc) {
			t[i] = enc[i]
		}
	}
	method := 0 // unknown
	if f.CBR {
		method = 1
	}
	t[9] = 1<<4 | byte(method)
	t[20] = byte(min(max(f.Bitrate, 0), 255))
	t[24] = sourceRate(f.Header.SampleRate)<<6 | stereoMode[f.Header.Mode]<<2
	delay := min(max(f.Delay, 0), 4095)
	pad := min(max(f.Padding, 0), 4095)
	t[21] = byte(delay >> 4)
	t[22] = byte(delay<<4) | byte(pad>>8)
	t[23] = byte(pad)
	binary.BigEndian.PutUint32(t[28:], uint32(f.Bytes))
	binary.BigEndian.PutUint16(t[32:], f.MusicCRC)
	binary.BigEndian.PutUint16(t[34:], crcARC(0, b[:l+34]))
	return b
}

// stereoMode is the LAME tag's code for a channel mode: mono, stereo,
// dual channel, joint stereo.
var stereoMode = map[Mode]byte{Mono: 0, Stereo: 1, DualChannel: 2, JointStereo: 3}

// sourceRate is the LAME tag's code for the source's sample rate.
func sourceRate(hz int) byte {
	switch {
	case hz <= 32000:
		return 0
	case hz <= 44100:
		return 1
	case hz <= 48000:
		return 2
	}
	return 3
}

// TOC builds a Xing seek table. offsets[i] is the byte offset of audio frame
// i from the start of the header frame; total is the stream's length, the
// header frame included. Entry k is the offset, in 256ths of total, of the
// frame playing at k% of the duration.
func TOC(frames int, offsetOf func(frame int) int64, total int64) [100]byte {
	var t [100]byte
	if frames == 0 || total == 0 {
		return t
	}
	for k := range 100 {
		i := min(k*frames/100, frames-1)
		v := offsetOf(i) * 256 / total
		t[k] = byte(min(v, 255))
	}
	return t
}

// SetMusicCRC writes the CRC of the audio into the LAME tag of a Xing/Info
// frame made by InfoFrame.Encode, and updates the tag's own CRC.
func SetMusicCRC(frame []byte, crc uint16) error {
	h, err := ParseHeader(frame)
	if err != nil {
		return err
	}
	x := xingOffset(h)
	if len(frame) < x+8 || string(frame[x:x+4]) != "Xing" && string(frame[x:x+4]) != "Info" ||
		binary.BigEndian.Uint32(frame[x+4:]) != infoFlags || len(frame) < x+infoLAMEStart+lameSize {
		return ErrNoInfo
	}
	t := x + infoLAMEStart
	binary.BigEndian.PutUint16(frame[t+32:], crc)
	binary.BigEndian.PutUint16(frame[t+34:], crcARC(0, frame[:t+34]))
	return nil
}

// CRC16 updates a CRC-16/ARC, the checksum of the LAME tag, with b.
func CRC16(crc uint16, b []byte) uint16 { return crcARC(crc, b) }
