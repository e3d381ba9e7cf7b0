package mp3

import "errors"

// ErrShortFrame is returned when a frame is shorter than its header says.
var ErrShortFrame = errors.New("mp3: frame shorter than its header says")

// Granule is the side info of one granule of one channel.
type Granule struct {
	Part23Length     int // bits of scale factors and Huffman data
	BigValues        int
	GlobalGain       int // quantizer step: +1 is +1.5 dB
	ScalefacCompress int
	BlockType        int // 0 long, 1 start, 2 short, 3 stop
	MixedBlock       bool
}

// SideInfo is a Layer III frame's side info: where its main data begins in
// the bit reservoir and how each granule is coded.
type SideInfo struct {
	// MainDataBegin is how many bytes before this frame's side info end its
	// main data begins; zero means the frame does not use the reservoir.
	MainDataBegin int
	Granules      [2][2]Granule // [granule][channel]
}

// bitReader reads big-endian bit fields.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) read(n int) int {
	v := 0
	for range n {
		v = v<<1 | int(r.b[r.pos>>3]>>(7-r.pos&7)&1)
		r.pos++
	}
	return v
}

// ParseSideInfo parses the side info of a frame whose header is h. frame
// holds the whole frame, header first.
func ParseSideInfo(h Header, frame []byte) (SideInfo, error) {
	off := h.SideInfoOffset()
	if len(frame) < off+h.SideInfoSize() {
		return SideInfo{}, ErrShortFrame
	}
	r := bitReader{b: frame[off : off+h.SideInfoSize()]}
	var si SideInfo
	nch := h.Channels()
	if h.Version == MPEG1 {
		si.MainDataBegin = r.read(9)
		if nch == 1 {
			r.read(5)
		} else {
			r.read(3)
		}
		r.read(4 * nch) // scfsi
	} else {
		si.MainDataBegin = r.read(8)
		r.read(nch) // private bits
	}
	for gr := range h.Granules() {
		for ch := range nch {
			g := &si.Granules[gr][ch]
			g.Part23Length = r.read(12)
			g.BigValues = r.read(9)
			g.GlobalGain = r.read(8)
			if h.Version == MPEG1 {
				g.ScalefacCompress = r.read(4)
			} else {
				g.ScalefacCompress = r.read(9)
			}
			if r.read(1) == 1 { // window switching
				g.BlockType = r.read(2)
				g.MixedBlock = r.read(1) == 1
				r.read(10 + 9) // table_select[2], subblock_gain[3]
			} else {
				r.read(15 + 4 + 3) // table_select[3], region0, region1
			}
			if h.Version == MPEG1 {
				r.read(1) // preflag
			}
			r.read(2) // scalefac_scale, count1table_select
		}
	}
	return si, nil
}

// gainBits returns the bit offsets, from the start of the side info, of
// every granule's global_gain field. The fields sit at fixed offsets because
// every granule's side info has the same length (59 bits in MPEG-1, 63 in
// MPEG-2 and 2.5), whatever its block type.
func gainBits(h Header) []int {
	t := &gainTable[lsf(h.Version)][h.Channels()-1]
	return t.pos[:t.n]
}

type gainPositions struct {
	pos [4]int
	n   int
}

// gainTable holds gainBits for [MPEG-1, MPEG-2/2.5][mono, stereo], so the
// per-frame work of a gain change allocates nothing.
var gainTable = func() (t [2][2]gainPositions) {
	for v := range 2 {
		for c := range 2 {
			nch := c + 1
			var base, step, granules int
			if v == 0 {
				base, step, granules = 9+3+4*nch, 59, 2
				if nch == 1 {
					base = 9 + 5 + 4
				}
			} else {
				base, step, granules = 8+nch, 63, 1
			}
			g := &t[v][c]
			for i := range granules * nch {
				g.pos[i] = base + i*step + 12 + 9
			}
			g.n = granules * nch
		}
	}
	return t
}()

// MainDataBegin returns the frame's main_data_begin without parsing the
// rest of its side info.
func MainDataBegin(h Header, frame []byte) int {
	off := h.SideInfoOffset()
	if len(frame) < off+2 {
		return 0
	}
	v := int(frame[off])<<8 | int(frame[off+1])
	if h.Version == MPEG1 {
		return v >> 7
	}
	return v >> 8
}

// quietGain is the global_gain below which a granule is inaudible even at
// the largest quantized value (under -90 dBFS), so that clamping it at 0
// changes nothing a listener hears. Encoders leave such granules in quiet
// passages; counting them would forbid any cut in gain.
const quietGain = 80

// AdjustGain adds steps (each 1.5 dB) to every granule's global_gain in
// frame, in place, keeping each within 0..255, and fixes the frame's CRC if
// it has one. It returns how many fields had to be clamped, which means the
// change was not exact for those granules; inaudible granules clamped at 0
// are not counted. Granules that carry no audio (part2_3_length 0) are left
// alone: they decode to silence at any gain.
func AdjustGain(h Header, frame []byte, steps int) (clamped int, err error) {
	off := h.SideInfoOffset()
	n := h.SideInfoSize()
	if len(frame) < off+n {
		return 0, ErrShortFrame
	}
	if steps == 0 {
		return 0, nil
	}
	si := frame[off : off+n]
	for _, pos := range gainBits(h) {
		if getBits(si, pos-21, 12) == 0 {
			continue
		}
		old := getBits(si, pos, 8)
		g := old + steps
		if g < 0 {
			g = 0
			if old >= quietGain {
				clamped++
			}
		} else if g > 255 {
			g, clamped = 255, clamped+1
		}
		setBits(si, pos, 8, g)
	}
	if h.Protected {
		c := frameCRC(frame[2:4], si)
		frame[4], frame[5] = byte(c>>8), byte(c)
	}
	return clamped, nil
}

// GainRange returns the lowest and highest global_gain of the frame's
// granules that carry audible audio, or ok false if none does.
func GainRange(h Header, frame []byte) (lo, hi int, ok bool) {
	off := h.SideInfoOffset()
	n := h.SideInfoSize()
	if len(frame) < off+n {
		return 0, 0, false
	}
	si := frame[off : off+n]
	lo, hi = 255, 0
	for _, pos := range gainBits(h) {
		if getBits(si, pos-21, 12) == 0 {
			continue
		}
		g := getBits(si, pos, 8)
		if g < quietGain {
			continue
		}
		lo, hi, ok = min(lo, g), max(hi, g), true
	}
	return lo, hi, ok
}

func getBits(b []byte, pos, n int) int {
	v := 0
	for i := range n {
		p := pos + i
		v = v<<1 | int(b[p>>3]>>(7-p&7)&1)
	}
	return v
}

func setBits(b []byte, pos, n, v int) {
	for i := range n {
		p := pos + i
		bit := byte(v>>(n-1-i)) & 1
		mask := byte(1) << (7 - p&7)
		b[p>>3] = b[p>>3]&^mask | bit<<(7-p&7)
	}
}

// CheckCRC reports whether a protected frame's CRC matches its header and
// side info. Unprotected frames always pass.
func CheckCRC(h Header, frame []byte) bool {
	if !h.Protected {
		return true
	}
	n := h.SideInfoSize()
	if len(frame) < 6+n {
		return false
	}
	c := frameCRC(frame[2:4], frame[6:6+n])
	return frame[4] == byte(c>>8) && frame[5] == byte(c)
}
