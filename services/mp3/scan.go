package mp3

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Kind says what an Item of a stream is.
type Kind uint8

// Item kinds.
const (
	KindFrame     Kind = iota // an audio frame
	KindInfo                  // a Xing/Info or VBRI header frame: a frame that carries no audio
	KindTag                   // an ID3v2, ID3v1 or APEv2 tag
	KindJunk                  // bytes that are neither frames nor tags
	KindTruncated             // a frame cut short by the end of the stream
)

// String names the kind.
func (k Kind) String() string {
	return [...]string{"frame", "info", "tag", "junk", "truncated"}[k]
}

// Item is one piece of a stream as the Scanner finds it.
type Item struct {
	Kind   Kind
	Offset int64 // from the start of the stream
	Size   int64
	Header Header  // frames, header frames and truncated frames
	Info   *Info   // header frames
	Tag    TagKind // tags
	// Data holds a frame's bytes, or a tag's when the Scanner keeps tags.
	// It is valid until the next call to Scan, and a caller may change it
	// in place (to adjust gain) before writing it out.
	Data []byte
}

// BufferSize is the Scanner's read buffer: a few dozen frames, however long
// the stream. Tags and junk are skipped through it, never held whole.
const BufferSize = 64 << 10

// maxFrame is the longest Layer III frame: MPEG-1 at 320 kbps and 32 kHz
// (1441 bytes), or MPEG-2.5 at 160 kbps and 8 kHz (1441 bytes).
const maxFrame = 1441

// probeSize is the most a check at one offset looks at: a whole frame and
// the next header.
const probeSize = maxFrame + 4 + apeHeaderSize

// Scanner reads a stream item by item, streaming: frames are checked against
// the next frame's header before they are trusted, so that a stray sync word
// in junk is not taken for audio, and junk and tags anywhere are reported
// rather than decoded.
type Scanner struct {
	r       *bufio.Reader
	off     int64
	pending int // bytes of the last item still to discard
	inSync  bool
	last    Header
	frames  int
	item    Item
	queued  *Item // an APEv2 tag found by its footer, after junk
	// queuedLeft is how much of the queued tag is still to be consumed.
	queuedLeft int
	err        error
	// KeepTags is the largest tag whose bytes Scan returns in Item.Data;
	// larger tags, and all tags when it is zero, are skipped unread.
	KeepTags int
}

// NewScanner returns a Scanner reading r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: bufio.NewReaderSize(r, BufferSize)}
}

// Reset makes s read r from the start, reusing its buffer.
func (s *Scanner) Reset(r io.Reader) {
	s.r.Reset(r)
	keep := s.KeepTags
	*s = Scanner{r: s.r, KeepTags: keep}
}

// Item returns the item the last Scan found.
func (s *Scanner) Item() *Item { return &s.item }

// Err returns the first read error, not counting io.EOF.
func (s *Scanner) Err() error { return s.err }

// Offset returns how many bytes the Scanner has consumed.
func (s *Scanner) Offset() int64 { return s.off + int64(s.pending) }

// peek returns up to n bytes without consuming them; fewer only at the end
// of the stream or on a read error, which it records.
func (s *Scanner) peek(n int) []byte {
	b, err := s.r.Peek(n)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) && s.err == nil {
		s.err = err
	}
	return b
}

func (s *Scanner) discard(n int) int {
	d, err := s.r.Discard(n)
	s.off += int64(d)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return d
}

// Scan advances to the next item. It returns false at the end of the
// stream or on a read error (see Err).
func (s *Scanner) Scan() bool {
	if s.pending > 0 {
		s.discard(s.pending)
		s.pending = 0
	}
	if s.queued != nil {
		s.item, s.queued = *s.queued, nil
		s.discard(s.queuedLeft)
		return true
	}
	if s.err != nil {
		return false
	}
	b := s.peek(4)
	if len(b) == 0 {
		return false
	}
	// Frames first: no tag starts with 0xFF, and frames are most items.
	if b[0] == 0xFF && s.frameAt(s.inSync) {
		return true
	}
	if ok := s.tagAt(); ok {
		return s.finishTag()
	}
	return s.junk()
}

// finishTag consumes a tag found at the current offset, keeping its bytes
// if asked to.
func (s *Scanner) finishTag() bool {
	it := &s.item
	it.Data = nil
	s.inSync = false
	if it.Size <= int64(s.KeepTags) {
		// Read what is there rather than allocate what the header claims.
		buf, err := io.ReadAll(io.LimitReader(s.r, it.Size))
		s.off += int64(len(buf))
		if err != nil && s.err == nil {
			s.err = err
		}
		it.Data, it.Size = buf, int64(len(buf))
		return true
	}
	it.Size = int64(s.discard(int(it.Size)))
	return true
}

// tagAt recognizes a tag at the current offset and fills s.item.
func (s *Scanner) tagAt() bool {
	b := s.peek(apeHeaderSize)
	switch {
	case bytes.HasPrefix(b, []byte("ID3")):
		n, err := ID3v2Size(b)
		if err != nil {
			return false
		}
		s.item = Item{Kind: KindTag, Tag: TagID3v2, Offset: s.off, Size: int64(n)}
		return true
	case bytes.HasPrefix(b, []byte("APETAGEX")):
		n, isHeader, err := APESize(b)
		if err != nil {
			return false
		}
		if !isHeader {
			n = apeHeaderSize // a footer reached in step: the tag had no items
		}
		s.item = Item{Kind: KindTag, Tag: TagAPE, Offset: s.off, Size: int64(n)}
		return true
	case bytes.HasPrefix(b, []byte("TAG")):
		if !s.plausibleAfter(id3v1Size) {
			return false
		}
		s.item = Item{Kind: KindTag, Tag: TagID3v1, Offset: s.off, Size: id3v1Size}
		return true
	}
	return false
}

// plausibleAfter reports whether what follows n bytes from here is the end,
// a tag or a frame header: the test for an ID3v1 tag, which has no length.
func (s *Scanner) plausibleAfter(n int) bool {
	b := s.peek(n + 8)
	if len(b) < n {
		return false
	}
	rest := b[n:]
	if len(rest) == 0 {
		return true
	}
	if isTagStart(rest) {
		return true
	}
	_, err := ParseHeader(rest)
	return err == nil
}

func isTagStart(b []byte) bool {
	return bytes.HasPrefix(b, []byte("ID3")) || bytes.HasPrefix(b, []byte("TAG")) ||
		bytes.HasPrefix(b, []byte("APETAGEX")) || bytes.HasPrefix(b, []byte("LYRICS"))
}

// frameAt recognizes a frame at the current offset and fills s.item. A
// frame that continues the stream in step needs only a good header; any
// other needs the next header to agree, or the stream to end after it.
func (s *Scanner) frameAt(inSync bool) bool {
	h, kind, n := s.checkFrame(inSync)
	if n == 0 {
		return false
	}
	data := s.peek(n)
	s.item = Item{Kind: kind, Offset: s.off, Size: int64(n), Header: h, Data: data}
	s.pending = n
	if kind == KindTruncated {
		s.inSync = false
		return true
	}
	if s.frames == 0 || zeroSideInfo(h, data) {
		if in, err := ParseInfo(h, data); err == nil {
			s.item.Kind, s.item.Info = KindInfo, in
		}
	}
	s.frames++
	s.inSync = true
	s.last = h
	return true
}

// checkFrame decides, without consuming anything, whether a frame starts at
// the current offset; n is zero if not.
func (s *Scanner) checkFrame(inSync bool) (h Header, kind Kind, n int) {
	h, err := ParseHeader(s.peek(4))
	if err != nil {
		return h, 0, 0
	}
	size := h.Size()
	minSize := h.SideInfoOffset() + h.SideInfoSize()
	if size < minSize {
		return h, 0, 0
	}
	b := s.peek(size + 4)
	stepping := inSync && h.Format() == s.last.Format()
	if len(b) < size {
		// Cut short by the end of the stream: a truncated frame if it
		// continues the stream, or could start one; junk otherwise.
		if len(b) < minSize || (!stepping && s.frames > 0) {
			return h, 0, 0
		}
		return h, KindTruncated, len(b)
	}
	if !stepping {
		next := b[size:]
		switch {
		case len(next) == 0:
		case isTagStart(next):
		default:
			nh, err := ParseHeader(next)
			if err != nil || nh.Format() != h.Format() {
				return h, 0, 0
			}
		}
	}
	return h, KindFrame, size
}

// zeroSideInfo reports whether a frame's side info is all zero, as a header
// frame's is; it keeps audio that happens to contain "Xing" from being
// taken for a header frame.
func zeroSideInfo(h Header, frame []byte) bool {
	for _, c := range frame[h.SideInfoOffset() : h.SideInfoOffset()+h.SideInfoSize()] {
		if c != 0 {
			return false
		}
	}
	return true
}

// junk consumes bytes up to the next frame or tag and reports them as one
// item. An APEv2 tag without a header is recognized here, by its footer,
// when the footer's size covers exactly the junk before it.
func (s *Scanner) junk() bool {
	start := s.off
	s.inSync = false
	// The byte at the current offset starts nothing, or Scan would not be here.
	s.discard(1)
	for s.err == nil {
		// Probe what is buffered, refilling only when too little is left to
		// check a frame and the header after it: a refill moves the buffered
		// bytes to the front, and doing that for every candidate made
		// sync-dense junk (runs of 0xFF) cost 64 KiB of copying per byte.
		n := s.r.Buffered()
		if n < probeSize {
			n = BufferSize
		}
		b := s.peek(n)
		if len(b) == 0 {
			break
		}
		i := candidate(b)
		if i < 0 {
			s.discard(len(b))
			continue
		}
		s.discard(i)
		if b[i] == 'A' {
			if it, ok := s.apeFooter(start); ok {
				return it
			}
		}
		if s.startsItem() {
			break
		}
		s.discard(1)
	}
	s.item = Item{Kind: KindJunk, Offset: start, Size: s.off - start}
	return true
}

// startsItem reports whether a tag or a frame starts at the current offset.
func (s *Scanner) startsItem() bool {
	b := s.peek(apeHeaderSize)
	switch {
	case bytes.HasPrefix(b, []byte("ID3")):
		_, err := ID3v2Size(b)
		return err == nil
	case bytes.HasPrefix(b, []byte("APETAGEX")):
		_, _, err := APESize(b)
		return err == nil
	case bytes.HasPrefix(b, []byte("TAG")):
		return s.plausibleAfter(id3v1Size)
	}
	_, _, n := s.checkFrame(false)
	return n > 0
}

// apeFooter handles an APEv2 footer met while skipping junk: the tag's
// items were skipped as junk, so the tag is reported from where they began.
func (s *Scanner) apeFooter(junkStart int64) (found, ok bool) {
	b := s.peek(apeHeaderSize)
	if !bytes.HasPrefix(b, []byte("APETAGEX")) {
		return false, false
	}
	n, isHeader, err := APESize(b)
	if err != nil || isHeader {
		return false, false
	}
	items := int64(n - apeHeaderSize)
	if b[23]&0x80 != 0 { // the tag has a header too, counted in n
		items -= apeHeaderSize
	}
	junk := s.off - junkStart
	if items > junk {
		return false, false
	}
	tag := Item{Kind: KindTag, Tag: TagAPE, Offset: s.off - items, Size: items + apeHeaderSize}
	if junk > items {
		s.item = Item{Kind: KindJunk, Offset: junkStart, Size: junk - items}
		s.queued, s.queuedLeft = &tag, apeHeaderSize
		return true, true
	}
	s.discard(apeHeaderSize)
	s.item = tag
	return true, true
}

// candidate returns the index of the first byte in b that may start a frame
// or a tag, or -1.
func candidate(b []byte) int {
	for i, c := range b {
		switch c {
		case 0xFF:
			// The rest of the sync word, and Layer III (the only layer a
			// frame may have), so that runs of 0xFF are passed over here.
			if i+1 == len(b) || b[i+1]&0xE6 == 0xE2 {
				return i
			}
		case 'I', 'T', 'A':
			return i
		}
	}
	return -1
}
