package mp3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	gomp3 "github.com/hajimehoshi/go-mp3"
)

// ErrNoFrames is returned for a stream with no MPEG audio Layer III frame.
var ErrNoFrames = errors.New("mp3: no MPEG audio Layer III frames found")

// ProblemCode names a kind of problem found in a stream.
type ProblemCode string

// Problems a stream can have. Those marked repairable are mended by a join,
// which drops the offending bytes; the others make a stream unusable.
const (
	ProblemJunk          ProblemCode = "junk"            // bytes outside frames and tags (repairable)
	ProblemTagInside     ProblemCode = "tag_inside"      // a tag between frames (repairable)
	ProblemInfoInside    ProblemCode = "info_inside"     // a Xing/Info/VBRI frame after audio (repairable)
	ProblemTruncated     ProblemCode = "truncated_frame" // a frame cut short (repairable)
	ProblemFormatChanged ProblemCode = "format_changed"  // frames of another format
	ProblemReservoir     ProblemCode = "reservoir"       // the first frame needs bytes before it
	ProblemCRC           ProblemCode = "crc"             // a protected frame's CRC does not match
	ProblemDecode        ProblemCode = "decode"          // the decoder failed or came up short
	ProblemUnsupported   ProblemCode = "decode_unsupported"
	ProblemInfoMismatch  ProblemCode = "info_mismatch" // the Xing header's counts are not the stream's
)

// Repairable reports whether a join mends the problem by dropping bytes.
func (c ProblemCode) Repairable() bool {
	switch c {
	case ProblemJunk, ProblemTagInside, ProblemInfoInside, ProblemTruncated, ProblemInfoMismatch:
		return true
	}
	return false
}

// Problem is one thing wrong with a stream.
type Problem struct {
	Code    ProblemCode `json:"code"`
	Offset  int64       `json:"offset"` // byte offset in the stream
	Size    int64       `json:"size,omitempty"`
	Message string      `json:"message"`
}

// String describes the problem with its code and offset.
func (p Problem) String() string {
	return fmt.Sprintf("%s at byte %d: %s", p.Code, p.Offset, p.Message)
}

// TagRef locates a tag in a stream.
type TagRef struct {
	Kind   TagKind  `json:"kind"`
	Offset int64    `json:"offset"`
	Size   int64    `json:"size"`
	Info   *TagInfo `json:"info,omitempty"` // when Options.Tags asked for it
}

// Analysis is what one pass over a stream finds: its structure and, if it
// was decoded, its loudness and silences. It is stored as JSON in job state,
// so that a later join needs neither to scan nor to decode the stream again.
type Analysis struct {
	Format Format `json:"format"`
	// First is the header of the first audio frame; its bitrate and mode
	// shape the silent frames and the Xing frame of a joined file.
	First   HeaderFacts `json:"first"`
	CBR     bool        `json:"cbr"`     // every audio frame has the same bitrate
	Bitrate int         `json:"bitrate"` // average over audio frames, bits per second
	// MinBitrate is the lowest frame bitrate, bits per second.
	MinBitrate int   `json:"min_bitrate,omitempty"`
	Frames     int   `json:"frames"` // audio frames (header frames excluded)
	Bytes      int64 `json:"bytes"`  // bytes of audio frames
	// Samples is what the frames promise a decoder: Frames × samples per
	// frame, per channel.
	Samples int64 `json:"samples"`
	// Delay and Padding are the samples an encoder added at the start and
	// end, from a LAME tag (Gapless) or else taken as zero. Zero is what
	// every decoder assumes for a stream without a LAME tag, so durations and
	// times computed with it match what listeners hear.
	Delay   int  `json:"delay"`
	Padding int  `json:"padding"`
	Gapless bool `json:"gapless"`
	// Duration is the playing time: Samples less Delay and Padding.
	Duration time.Duration `json:"duration"`
	// MainDataBegin is the first audio frame's main_data_begin; a stream
	// can be joined after another only if it is zero.
	MainDataBegin int `json:"main_data_begin"`
	// GainMin and GainMax bound the global_gain of granules with audio, so
	// that a gain change can be chosen that no granule clamps.
	GainMin int `json:"gain_min"`
	GainMax int `json:"gain_max"`
	// Index holds the offset of every IndexStep-th audio frame from the
	// first audio frame, for building seek tables; IndexStep grows with the
	// stream so that the index stays under 256 entries.
	Index     []int64  `json:"index,omitempty"`
	IndexStep int      `json:"index_step,omitempty"`
	Info      *Info    `json:"info,omitempty"` // the stream's own Xing/Info or VBRI header
	Tags      []TagRef `json:"tags,omitempty"`
	Junk      int64    `json:"junk,omitempty"` // bytes outside frames and tags

	Decoded bool `json:"decoded"`
	// DecodedSamples is what go-mp3 produced, per channel; it must equal
	// Samples.
	DecodedSamples int64 `json:"decoded_samples,omitempty"`
	// Loudness is the integrated loudness (LUFS), or Silent; Peak the
	// true peak, 1 being full scale.
	Loudness float64   `json:"loudness,omitempty"`
	Peak     float64   `json:"peak,omitempty"`
	Blocks   Histogram `json:"blocks,omitzero"`
	// Silences are measured on the playing span, in 10 ms windows below
	// Options.SilenceThreshold. Longest is the longest silence with sound on
	// both sides.
	LeadingSilence  time.Duration `json:"leading_silence,omitempty"`
	TrailingSilence time.Duration `json:"trailing_silence,omitempty"`
	LongestSilence  time.Duration `json:"longest_silence,omitempty"`
	// EndLevel is the RMS level (dBFS) of the last 50 ms before the padding:
	// speech that ends naturally has faded out by then.
	EndLevel float64 `json:"end_level,omitempty"`

	Problems []Problem `json:"problems,omitempty"`
}

// HeaderFacts is the part of a frame header a joined file copies.
type HeaderFacts struct {
	Bitrate int  `json:"bitrate"`
	Mode    Mode `json:"mode"`
}

// Header rebuilds a frame header of the analysed stream's format.
func (a *Analysis) Header() Header {
	return Header{Version: a.Format.Version, SampleRate: a.Format.SampleRate, Bitrate: a.First.Bitrate, Mode: a.First.Mode}
}

// OK reports whether the analysis found no problem.
func (a *Analysis) OK() bool { return len(a.Problems) == 0 }

// Options tune Analyze.
type Options struct {
	// Decode decodes the audio with go-mp3 to check it and to measure
	// loudness, peak and silences.
	Decode bool
	// Tags parses ID3v2 and ID3v1 tags for their contents.
	Tags bool
	// SilenceThreshold is the RMS level (dBFS) below which a 10 ms window
	// counts as silence; zero means -50 dBFS.
	SilenceThreshold float64
}

// DefaultSilenceThreshold is the level below which audio counts as silence.
const DefaultSilenceThreshold = -50.0

// DecoderDelay is the delay, in samples, of every Layer III decoder's
// synthesis filter bank. Gapless players skip it after the encoder delay a
// LAME tag states, and can cut no more than the stated padding less it from
// the end, so a joined file's padding is never written below it.
const DecoderDelay = 529

// minIndexStep and maxIndex bound Analysis.Index: an entry every 8 frames
// for short streams, at most 256 entries for long ones.
const (
	minIndexStep = 8
	maxIndex     = 256
)

const maxKeptTag = 16 << 20

// Analyze reads a whole stream once. It fails only if the stream cannot be
// read or holds no frame; everything else it finds is in Problems.
func Analyze(ctx context.Context, r io.Reader, opt Options) (*Analysis, error) {
	return analyze(ctx, r, opt, nil)
}

// analyze is Analyze that also keeps the decoded samples in keep, if set.
func analyze(ctx context.Context, r io.Reader, opt Options, keep *[]float64) (*Analysis, error) {
	if opt.SilenceThreshold == 0 {
		opt.SilenceThreshold = DefaultSilenceThreshold
	}
	s := NewScanner(r)
	if opt.Tags {
		s.KeepTags = maxKeptTag
	}
	c := &collector{a: &Analysis{IndexStep: minIndexStep}, ctx: ctx, opt: opt, keep: keep}
	var err error
	if opt.Decode {
		err = c.decode(s)
	} else {
		for err == nil && s.Scan() {
			err = c.observe(s.Item())
		}
	}
	if err == nil {
		err = s.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("mp3: analyze: %w", err)
	}
	return c.finish()
}

// collector builds an Analysis from a stream's items.
type collector struct {
	ctx        context.Context
	opt        Options
	a          *Analysis
	lastEnd    int64 // end of the last audio frame
	firstStart int64
	brSum      int64
	pcm        *pcmStats
	keep       *[]float64 // decoded samples, interleaved, when asked for
}

func (c *collector) problem(code ProblemCode, off, size int64, format string, args ...any) {
	c.a.Problems = append(c.a.Problems, Problem{Code: code, Offset: off, Size: size, Message: fmt.Sprintf(format, args...)})
}

func (c *collector) observe(it *Item) error {
	a := c.a
	switch it.Kind {
	case KindFrame:
		if a.Frames%256 == 0 {
			if err := c.ctx.Err(); err != nil {
				return err
			}
		}
		h := it.Header
		if a.Frames == 0 {
			a.Format = h.Format()
			a.First = HeaderFacts{Bitrate: h.Bitrate, Mode: h.Mode}
			a.CBR = true
			a.MainDataBegin = MainDataBegin(h, it.Data)
			a.GainMin, a.GainMax = 255, 0
			c.firstStart = it.Offset
			if a.MainDataBegin != 0 {
				c.problem(ProblemReservoir, it.Offset, 0,
					"the first audio frame takes %d bytes from before the stream (main_data_begin is not 0), so it cannot start a chunk", a.MainDataBegin)
			}
		} else if f := h.Format(); f != a.Format {
			c.problem(ProblemFormatChanged, it.Offset, it.Size, "a frame of %s in a stream of %s", f, a.Format)
		}
		if h.Bitrate != a.First.Bitrate {
			a.CBR = false
		}
		if a.MinBitrate == 0 || h.Bitrate < a.MinBitrate {
			a.MinBitrate = h.Bitrate
		}
		if !CheckCRC(h, it.Data) {
			c.problem(ProblemCRC, it.Offset, it.Size, "frame CRC does not match its side info")
		}
		if lo, hi, ok := GainRange(h, it.Data); ok {
			a.GainMin, a.GainMax = min(a.GainMin, lo), max(a.GainMax, hi)
		}
		if a.Frames%a.IndexStep == 0 {
			if len(a.Index) == maxIndex {
				// Keep the index small in job state: halve its resolution.
				for i := range maxIndex / 2 {
					a.Index[i] = a.Index[2*i]
				}
				a.Index = a.Index[:maxIndex/2]
				a.IndexStep *= 2
			}
			if a.Frames%a.IndexStep == 0 {
				a.Index = append(a.Index, a.Bytes)
			}
		}
		a.Frames++
		a.Bytes += it.Size
		c.brSum += int64(h.Bitrate)
		c.lastEnd = it.Offset + it.Size
	case KindInfo:
		if a.Frames > 0 {
			c.problem(ProblemInfoInside, it.Offset, it.Size, "a %s header frame after audio (files joined by concatenation?)", it.Info.Tag)
		} else if a.Info == nil {
			a.Info = it.Info
			// Known before the audio is decoded, so that silences are
			// measured on the playing span.
			if l := it.Info.LAME; l != nil && (l.Delay > 0 || l.Padding > 0) {
				a.Delay, a.Padding, a.Gapless = l.Delay, l.Padding, true
			}
		}
	case KindTag:
		ref := TagRef{Kind: it.Tag, Offset: it.Offset, Size: it.Size}
		if it.Data != nil && c.opt.Tags {
			switch it.Tag {
			case TagID3v2:
				ref.Info, _ = ParseID3v2(it.Data) // a tag we cannot read is still a tag to strip
			case TagID3v1:
				ref.Info, _ = ParseID3v1(it.Data)
			}
		}
		a.Tags = append(a.Tags, ref)
	case KindJunk:
		a.Junk += it.Size
		c.problem(ProblemJunk, it.Offset, it.Size, "%d bytes that are neither frames nor tags", it.Size)
	case KindTruncated:
		c.problem(ProblemTruncated, it.Offset, it.Size, "a frame of %d bytes cut short at %d bytes", it.Header.Size(), it.Size)
	}
	return nil
}

func (c *collector) finish() (*Analysis, error) {
	a := c.a
	if a.Frames == 0 {
		return a, ErrNoFrames
	}
	a.Bitrate = int(c.brSum / int64(a.Frames))
	a.Samples = int64(a.Frames) * int64(a.Format.FrameSamples())
	if in := a.Info; in != nil {
		if in.Frames != 0 && in.Frames != a.Frames {
			c.problem(ProblemInfoMismatch, 0, 0, "the %s header counts %d frames, the stream has %d", in.Tag, in.Frames, a.Frames)
		}
	}
	if int64(a.Delay+a.Padding) >= a.Samples {
		a.Delay, a.Padding, a.Gapless = 0, 0, false
	}
	a.Duration = a.Format.Duration(a.Samples - int64(a.Delay+a.Padding))
	if a.Gapless && a.Padding < DecoderDelay {
		// Players cut the end no later than the decoder's own delay allows.
		a.Duration = a.Format.Duration(a.Samples - int64(a.Delay+DecoderDelay))
	}
	for _, t := range a.Tags {
		if t.Offset > c.firstStart && t.Offset < c.lastEnd {
			c.problem(ProblemTagInside, t.Offset, t.Size, "an %s tag between audio frames", t.Kind)
		}
	}
	if c.pcm != nil {
		c.pcm.finish(a)
	}
	return a, nil
}

// frameFeed is the reader go-mp3 decodes: the stream's audio frames only,
// with tags, junk and header frames left out, as each is observed.
type frameFeed struct {
	s   *Scanner
	c   *collector
	buf []byte
	err error
}

// Read hands the decoder the next audio frame's bytes.
func (f *frameFeed) Read(p []byte) (int, error) {
	for len(f.buf) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if !f.s.Scan() {
			f.err = io.EOF
			continue
		}
		it := f.s.Item()
		if err := f.c.observe(it); err != nil {
			f.err = err
			continue
		}
		if it.Kind == KindFrame && it.Header.Format() == f.c.a.Format {
			f.buf = it.Data
		}
	}
	n := copy(p, f.buf)
	f.buf = f.buf[n:]
	return n, nil
}

// decode scans and decodes in one pass.
func (c *collector) decode(s *Scanner) (err error) {
	feed := &frameFeed{s: s, c: c}
	drain := func() error {
		for feed.err == nil && s.Scan() {
			if err := c.observe(s.Item()); err != nil {
				return err
			}
		}
		if feed.err != nil && feed.err != io.EOF {
			return feed.err
		}
		return nil
	}
	// Find the format before the decoder starts, so that an MPEG-2.5
	// stream, which go-mp3 cannot decode, is still analysed.
	for c.a.Frames == 0 && feed.err == nil {
		var one [1]byte
		if n, _ := feed.Read(one[:]); n == 1 {
			feed.buf = append([]byte{one[0]}, feed.buf...)
			break
		}
	}
	if feed.err != nil && feed.err != io.EOF {
		return feed.err
	}
	if c.a.Frames == 0 {
		return nil
	}
	if c.a.Format.Version == MPEG25 {
		c.problem(ProblemUnsupported, 0, 0, "the decoder cannot decode MPEG-2.5; structure checked, audio not")
		return drain()
	}
	c.pcm = newPCMStats(c.a.Format, c.opt.SilenceThreshold, c.a)
	c.pcm.keep = c.keep
	if c.a.Gapless {
		// Audio starts after the encoder's delay and the decoder's own.
		c.pcm.skip = int64(c.a.Delay + DecoderDelay)
	}
	defer func() {
		if r := recover(); r != nil {
			c.problem(ProblemDecode, 0, 0, "the decoder failed: %v", r)
			err = drain()
		}
	}()
	d, derr := gomp3.NewDecoder(feed)
	if derr != nil {
		if feed.err != nil && feed.err != io.EOF {
			return feed.err
		}
		c.problem(ProblemDecode, 0, 0, "the decoder failed to start: %v", derr)
		return drain()
	}
	c.a.Decoded = true
	buf := make([]byte, 4*c.a.Format.FrameSamples()*8)
	for {
		n, rerr := io.ReadFull(d, buf)
		c.pcm.add(buf[:n-n%4])
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			if feed.err != nil && feed.err != io.EOF {
				return feed.err
			}
			c.problem(ProblemDecode, 0, 0, "the decoder failed after %d samples: %v", c.pcm.samples, rerr)
			return drain()
		}
	}
	return drain()
}

// pcmStats measures decoded audio: go-mp3 always yields 16-bit stereo, with
// mono duplicated into both channels, so only the stream's own channels are
// measured (a mono stream counted twice would read 3 dB too loud).
type pcmStats struct {
	channels  int
	meter     *Meter
	samples   int64
	threshold float64 // mean square of a silent window
	window    int     // samples per 10 ms window
	wAcc      float64
	wN        int
	wIndex    int64 // windows completed
	a         *Analysis
	skip      int64 // samples before the first playing one
	keep      *[]float64

	// Silence runs, in windows.
	firstSound, lastSound int64 // -1 before any sound
	runStart              int64 // start of the current silent run, or -1
	longest               int64
	tail                  []float64 // mean squares of the last windows
}

const tailWindows = 64

func newPCMStats(f Format, thresholdDB float64, a *Analysis) *pcmStats {
	return &pcmStats{
		channels:   f.Channels,
		meter:      NewMeter(f.SampleRate, f.Channels),
		threshold:  math.Pow(10, thresholdDB/10),
		window:     f.SampleRate / 100,
		firstSound: -1, lastSound: -1, runStart: -1,
		a: a,
	}
}

func (p *pcmStats) add(b []byte) {
	var fr [2]float64
	for i := 0; i+4 <= len(b); i += 4 {
		l := float64(int16(uint16(b[i])|uint16(b[i+1])<<8)) / 32768
		r := float64(int16(uint16(b[i+2])|uint16(b[i+3])<<8)) / 32768
		fr[0], fr[1] = l, r
		p.meter.Add(fr[:p.channels]...)
		if p.keep != nil {
			*p.keep = append(*p.keep, fr[:p.channels]...)
		}
		p.samples++
		// Windows are counted from the first playing sample.
		if p.samples <= p.skip {
			continue
		}
		if p.channels == 1 {
			p.wAcc += l * l
		} else {
			p.wAcc += (l*l + r*r) / 2
		}
		p.wN++
		if p.wN == p.window {
			p.endWindow(p.wAcc / float64(p.window))
			p.wAcc, p.wN = 0, 0
		}
	}
}

func (p *pcmStats) endWindow(ms float64) {
	w := p.wIndex
	p.wIndex++
	p.tail = append(p.tail, ms)
	if len(p.tail) > tailWindows {
		p.tail = p.tail[1:]
	}
	if ms < p.threshold {
		if p.runStart < 0 {
			p.runStart = w
		}
		return
	}
	if p.firstSound < 0 {
		p.firstSound = w
	} else if p.runStart >= 0 {
		p.longest = max(p.longest, w-p.runStart)
	}
	p.runStart = -1
	p.lastSound = w
}

func (p *pcmStats) finish(a *Analysis) {
	a.DecodedSamples = p.samples
	if p.samples != a.Samples {
		a.Problems = append(a.Problems, Problem{Code: ProblemDecode, Message: fmt.Sprintf(
			"the decoder produced %d samples, the frames promise %d", p.samples, a.Samples)})
	}
	a.Loudness = p.meter.Integrated()
	a.Peak = p.meter.Peak()
	a.Blocks = p.meter.Histogram()
	win := time.Duration(p.window) * time.Second / time.Duration(a.Format.SampleRate)
	// The padding's windows are not part of the audio; the decoder's delay
	// moves where it starts.
	padWindows := int64(0)
	if a.Gapless {
		padWindows = int64(max(a.Padding-DecoderDelay, 0) / p.window)
	}
	played := p.wIndex - padWindows
	if p.firstSound < 0 || p.firstSound >= played {
		a.LeadingSilence = time.Duration(played) * win
		a.EndLevel = Silent
		return
	}
	last := min(p.lastSound, played-1)
	a.LeadingSilence = time.Duration(p.firstSound) * win
	a.TrailingSilence = time.Duration(played-1-last) * win
	a.LongestSilence = time.Duration(p.longest) * win
	// End level: the 5 windows before the padding. A stream without a
	// LAME tag does not say where its padding starts; an encoder pads with
	// silence no more than its delay and a frame, so up to that much
	// silence at the end is taken as padding, and speech cut off just
	// before it still shows.
	end := len(p.tail) - int(padWindows)
	if !a.Gapless {
		most := (DecoderDelay + 576 + a.Format.FrameSamples() + p.window - 1) / p.window
		for k := 0; k < most && end > 0 && p.tail[end-1] < p.threshold; k++ {
			end--
		}
	}
	if end > len(p.tail) {
		end = len(p.tail)
	}
	var sum float64
	n := 0
	for i := max(end-5, 0); i < end; i++ {
		sum += p.tail[i]
		n++
	}
	a.EndLevel = Silent
	if n > 0 && sum > 0 {
		a.EndLevel = max(10*math.Log10(sum/float64(n)), Silent)
	}
}
