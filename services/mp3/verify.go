package mp3

import (
	"errors"
	"fmt"
)

// ErrStructure is wrapped by the errors a Verifier finds.
var ErrStructure = errors.New("mp3: stream structure")

// Verifier checks a stream as it is written through it, without holding
// more than one frame: an optional ID3v2 tag at the very start, then
// nothing but frames of one format, the first of which may be a Xing/Info
// header. Unlike the Scanner it resynchronizes on nothing: any byte that is
// not where a frame should start is an error. It is cheap enough (one
// header parse per frame) to run on every byte a join writes.
type Verifier struct {
	// TagSize is the length of the leading ID3v2 tag, or zero.
	TagSize int64
	// Info is the header frame's content, if the first frame is one.
	Info *Info
	// InfoSize is the header frame's length.
	InfoSize int
	// Frames and Bytes count the audio frames, the header frame excluded.
	Frames int
	Bytes  int64
	Format Format

	off   int64
	skip  int64
	pend  []byte
	phase int
	// firstSize is the length of the first frame, which is read whole to
	// see whether it is a header frame.
	firstSize int
	err       error
}

const (
	verifyStart = iota
	verifyFirstHeader
	verifyFirstFrame
	verifyFrames
)

// Write checks b; it never fails, so that it can sit beside the real
// output in an io.MultiWriter. Err and Finish report what it found.
func (v *Verifier) Write(b []byte) (int, error) {
	v.feed(b)
	return len(b), nil
}

// Err returns the first problem found so far.
func (v *Verifier) Err() error { return v.err }

// Finish reports the first problem found, including a stream that ends
// inside a tag or a frame, or has no frame.
func (v *Verifier) Finish() error {
	if v.err == nil && (v.skip > 0 || len(v.pend) > 0) {
		v.fail("the stream ends inside a frame or tag")
	}
	if v.err == nil && v.Frames == 0 {
		v.fail("no audio frame")
	}
	return v.err
}

func (v *Verifier) fail(format string, args ...any) {
	if v.err == nil {
		v.err = fmt.Errorf("%w: at byte %d: %s", ErrStructure, v.off, fmt.Sprintf(format, args...))
	}
}

func (v *Verifier) feed(b []byte) {
	for len(b) > 0 && v.err == nil {
		if v.skip > 0 {
			k := min(v.skip, int64(len(b)))
			v.skip -= k
			v.off += k
			b = b[k:]
			continue
		}
		k := v.need()
		if len(v.pend) == 0 && len(b) >= k {
			n := v.decide(b[:k])
			v.off += int64(n)
			b = b[n:]
			continue
		}
		take := min(k-len(v.pend), len(b))
		v.pend = append(v.pend, b[:take]...)
		b = b[take:]
		if len(v.pend) < k {
			return
		}
		n := v.decide(v.pend)
		v.off += int64(n)
		rest := append([]byte(nil), v.pend[n:]...)
		v.pend = v.pend[:0]
		v.feed(rest)
	}
}

// need is how many bytes the next decision needs in one piece.
func (v *Verifier) need() int {
	switch v.phase {
	case verifyStart:
		return id3HeaderSize
	case verifyFirstFrame:
		return v.firstSize
	}
	return 4
}

// decide consumes the start of b, which is exactly need() bytes long, and
// returns how many bytes it consumed; any bytes it sets to skip follow.
func (v *Verifier) decide(b []byte) int {
	switch v.phase {
	case verifyStart:
		v.phase = verifyFirstHeader
		if string(b[:3]) == "ID3" {
			n, err := ID3v2Size(b)
			if err != nil {
				v.fail("%v", err)
				return 0
			}
			v.TagSize = int64(n)
			v.skip = int64(n - id3HeaderSize)
			return id3HeaderSize
		}
		return 0
	case verifyFirstHeader:
		h, err := ParseHeader(b)
		if err != nil {
			v.fail("the first frame: %v", err)
			return 0
		}
		if h.Size() < h.SideInfoOffset()+h.SideInfoSize() {
			v.fail("a frame of %d bytes cannot hold its side info", h.Size())
			return 0
		}
		v.phase = verifyFirstFrame
		v.Format = h.Format()
		v.firstSize = h.Size()
		return 0
	case verifyFirstFrame:
		h, _ := ParseHeader(b)
		v.phase = verifyFrames
		if in, err := ParseInfo(h, b); err == nil && zeroSideInfo(h, b) {
			v.Info, v.InfoSize = in, len(b)
			return len(b)
		}
		v.Frames++
		v.Bytes += int64(len(b))
		return len(b)
	}
	h, err := ParseHeader(b)
	if err != nil {
		v.fail("after %d frames: %v", v.Frames, err)
		return 0
	}
	if f := h.Format(); f != v.Format {
		v.fail("a frame of %s in a stream of %s", f, v.Format)
		return 0
	}
	v.Frames++
	v.Bytes += int64(h.Size())
	v.skip = int64(h.Size() - 4)
	return 4
}
