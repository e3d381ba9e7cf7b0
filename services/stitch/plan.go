package stitch

import (
	"cmp"
	"fmt"
	"math"
	"time"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
)

// plan is the layout of the joined file, worked out from the chunks'
// analyses before a byte is written: the tag and the Xing frame at its head
// must state what follows.
type plan struct {
	format  mp3.Format
	like    mp3.Header // shape of silent frames
	silence []byte     // one silent frame
	info    []byte     // the Xing/Info frame
	tag     []byte
	chunks  []chunkPlan
	frames  int   // audio frames, silent frames included
	bytes   int64 // audio bytes, silent frames included
	samples int64 // playing samples
	delay   int
	padding int
	cbr     bool
	spans   []Span
	chaps   []mp3.Chapter
	// sealing is the Content Credentials reserved in the tag, if any.
	sealing *c2pa.Pending
	// achieved and peak are the file's loudness (LUFS) and true peak
	// (dBTP) from the chunks' measurements, mp3.Silent if unmeasured;
	// loudness is the report of the gain plan, nil when loudness is kept.
	achieved, peak float64
	loudness       *LoudnessReport
}

type chunkPlan struct {
	a        *mp3.Analysis
	silent   int   // silent frames before the chunk
	gain     int   // global_gain steps
	offset   int64 // of the chunk's first frame from the start of the file
	rawStart int64 // samples before the chunk's first frame, in the decoder's output
}

func newPlan(inputs []Input, checks []*ChunkCheck, meta Metadata, cfg Config) (*plan, error) {
	p := &plan{}
	first := checks[0].Analysis
	p.format = first.Format
	p.like = first.Header()
	p.silence = mp3.SilentFrame(p.like)
	p.cbr = true
	spf := int64(p.format.FrameSamples())
	for i, c := range checks {
		a := c.Analysis
		if a.Format != p.format {
			return nil, fault.Permanent(fmt.Errorf("stitch: chunk %d is %s, chunk 0 is %s: formats must match to join without re-encoding", i, a.Format, p.format))
		}
		if err := joinable(i, a); err != nil {
			return nil, err
		}
		if !a.CBR || a.First.Bitrate != p.like.Bitrate {
			p.cbr = false
		}
		cp := chunkPlan{a: a}
		if i > 0 {
			cp.silent = pauseFrames(checks[i-1].Analysis, a, cfg.Pauses.Before(inputs[i].Chunk.Break))
		}
		p.chunks = append(p.chunks, cp)
	}
	p.planLoudness(checks, cfg)
	p.delay = first.Delay
	p.padding = effectivePadding(checks[len(checks)-1].Analysis)

	// Raw sample positions and the audio's size.
	var raw int64
	for i := range p.chunks {
		cp := &p.chunks[i]
		p.frames += cp.silent
		p.bytes += int64(cp.silent * len(p.silence))
		raw += int64(cp.silent) * spf
		cp.rawStart = raw
		p.frames += cp.a.Frames
		p.bytes += cp.a.Bytes
		raw += cp.a.Samples
	}
	p.samples = raw - int64(p.delay) - int64(p.padding)

	// Spans and chapters in playing time, then the tag, whose size does not
	// depend on the offsets it states, then the offsets.
	p.spans = p.makeSpans(inputs)
	var firsts []int
	p.chaps, firsts = chapters(inputs, p.spans, meta)
	extra := map[string]string{}
	if p.loudness != nil {
		extra[LoudnessDescription] = p.loudness.String()
	}
	var objects []mp3.Object
	if cfg.Signer != nil {
		created := meta.Created
		if created.IsZero() {
			created = time.Now()
		}
		t, pending, err := cfg.Signer.ReserveMP3(meta.narration(created), meta.tag(p.chaps, extra))
		if err != nil {
			return nil, fault.Permanent(fmt.Errorf("stitch: content credentials: %w", err))
		}
		objects, p.sealing = t.Objects, pending
	}
	tagBytes := func() ([]byte, error) {
		t := meta.tag(p.chaps, extra)
		t.Objects = objects
		return t.Bytes()
	}
	tag, err := tagBytes()
	if err != nil {
		return nil, fault.Permanent(fmt.Errorf("stitch: tag: %w", err))
	}
	infoHeader := mp3.InfoHeader(p.like)
	head := int64(len(tag) + infoHeader.Size())
	off := head
	for i := range p.chunks {
		cp := &p.chunks[i]
		off += int64(cp.silent * len(p.silence))
		cp.offset = off
		p.spans[i].Offset = off
		p.spans[i].Size = cp.a.Bytes
		off += cp.a.Bytes
	}
	setChapterOffsets(p.chaps, firsts, p.spans, off)
	if p.tag, err = tagBytes(); err != nil {
		return nil, fault.Permanent(fmt.Errorf("stitch: tag: %w", err))
	}
	if len(p.tag) != len(tag) {
		panic("stitch: tag size depends on chapter offsets")
	}
	p.info = mp3.InfoFrame{
		Header:  infoHeader,
		CBR:     p.cbr && len(p.silence) == p.like.Size(),
		Frames:  p.frames,
		Bytes:   int64(infoHeader.Size()) + p.bytes,
		TOC:     mp3.TOC(p.frames, p.frameOffset, int64(infoHeader.Size())+p.bytes),
		Encoder: cfg.Encoder,
		Delay:   p.delay,
		Padding: p.padding,
		Bitrate: p.bitrate(checks),
	}.Encode()
	return p, nil
}

// joinable reports why chunk i cannot be joined, if it cannot.
func joinable(i int, a *mp3.Analysis) error {
	if a.MainDataBegin != 0 {
		return fault.Permanent(fmt.Errorf("stitch: chunk %d starts with a frame that needs %d bytes of bit reservoir from before the chunk (main_data_begin is not 0)", i, a.MainDataBegin))
	}
	for _, pr := range a.Problems {
		if !pr.Code.Repairable() && pr.Code != mp3.ProblemUnsupported && pr.Code != mp3.ProblemDecode {
			return fault.Permanent(fmt.Errorf("stitch: chunk %d: %s", i, pr))
		}
	}
	return nil
}

// pauseFrames is how many silent frames go between chunks prev and a for
// a pause. The silence already there counts toward it: prev's trailing
// silence and padding, a's delay and leading silence.
func pauseFrames(prev, a *mp3.Analysis, pause time.Duration) int {
	f := a.Format
	frameDur := f.Duration(int64(f.FrameSamples()))
	have := prev.TrailingSilence + f.Duration(int64(effectivePadding(prev))) + f.Duration(int64(a.Delay)) + a.LeadingSilence
	if need := pause - have; need > 0 {
		return int((need + frameDur/2) / frameDur)
	}
	return 0
}

// bitrate is the LAME tag's bitrate byte: the stream's bitrate if it is
// constant, else its lowest, in kbit/s.
func (p *plan) bitrate(checks []*ChunkCheck) int {
	if p.cbr {
		return p.like.Bitrate / 1000
	}
	lowest := p.like.Bitrate
	for _, c := range checks {
		lowest = min(lowest, cmp.Or(c.Analysis.MinBitrate, c.Analysis.Bitrate))
	}
	return lowest / 1000
}

// LoudnessDescription is the TXXX description under which a joined file's
// tag states its loudness report, for `narrator mp3 inspect`.
const LoudnessDescription = "loudness"

// planLoudness sets every chunk's gain with PlanGains, unless loudness is
// kept, and works out the loudness the file will have from the chunks'
// measured blocks: global_gain moves every block by exactly its steps.
func (p *plan) planLoudness(checks []*ChunkCheck, cfg Config) {
	levels := make([]ChunkLevel, len(checks))
	for i, c := range checks {
		levels[i] = LevelOf(c.Analysis, cfg.PeakCeiling)
	}
	g := Gains{Steps: make([]int, len(checks))}
	if !cfg.KeepLoudness {
		g = PlanGains(levels, cfg.Target)
	}
	var h mp3.Histogram
	peak, leveled := 0.0, 0
	for i, c := range checks {
		p.chunks[i].gain = g.Steps[i]
		db := float64(g.Steps[i]) * mp3.GainStepDB
		h.Merge(c.Analysis.Blocks, db)
		peak = max(peak, c.Analysis.Peak*math.Pow(10, db/20))
		if c.Leveled {
			leveled++
		}
	}
	p.achieved, p.peak = mp3.Silent, mp3.DB(peak)
	if h.Blocks() > 0 {
		p.achieved = h.Integrated()
	}
	if cfg.KeepLoudness {
		return
	}
	p.loudness = &LoudnessReport{
		Target: cfg.Target, Achieved: p.achieved, Peak: p.peak, Ceiling: cfg.PeakCeiling, Chunks: len(checks),
		PeakLimited: len(g.Limited) > 0, LimitedChunks: g.Limited, Leveled: leveled,
		LargestJump: g.LargestJump, JumpAt: max(g.JumpAt, 0),
	}
}

// frameOffset returns the offset of audio frame k from the start of the
// Xing frame, exact at chunk and silence boundaries and interpolated from
// each chunk's index within it.
func (p *plan) frameOffset(k int) int64 {
	off := int64(len(p.info))
	if off == 0 {
		off = int64(mp3.InfoHeader(p.like).Size())
	}
	for _, cp := range p.chunks {
		if k < cp.silent {
			return off + int64(k*len(p.silence))
		}
		k -= cp.silent
		off += int64(cp.silent * len(p.silence))
		if k < cp.a.Frames {
			return off + indexOffset(cp.a, k)
		}
		k -= cp.a.Frames
		off += cp.a.Bytes
	}
	return off
}

func indexOffset(a *mp3.Analysis, k int) int64 {
	step := a.IndexStep
	if step == 0 || len(a.Index) == 0 {
		return int64(k) * a.Bytes / int64(max(a.Frames, 1))
	}
	i := min(k/step, len(a.Index)-1)
	lo := a.Index[i]
	hiFrame, hi := a.Frames, a.Bytes
	if i+1 < len(a.Index) {
		hiFrame, hi = (i+1)*step, a.Index[i+1]
	}
	loFrame := i * step
	if hiFrame == loFrame {
		return lo
	}
	return lo + int64(k-loFrame)*(hi-lo)/int64(hiFrame-loFrame)
}

// effectivePadding is the padding players honour at the end of a chunk:
// what its LAME tag states, but never less than the decoder's delay, whose
// last samples no decoder can produce. A chunk without a LAME tag is taken
// to have no padding of its own.
func effectivePadding(a *mp3.Analysis) int { return max(a.Padding, mp3.DecoderDelay) }

// Span is where one chunk's speech lies in the joined file.
type Span struct {
	Index int `json:"index"`
	// Start and End bound the chunk's speech in playing time (what a
	// gapless player shows), from real frame counts and inserted silence.
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	// Pause is the silence inserted before the chunk.
	Pause time.Duration `json:"pause"`
	// Offset and Size locate the chunk's frames in the file.
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
	// Gain is the global_gain change applied, in steps of 1.5 dB.
	Gain   int     `json:"gain"`
	GainDB float64 `json:"gain_db"`
}

func (p *plan) makeSpans(inputs []Input) []Span {
	spf := int64(p.format.FrameSamples())
	out := make([]Span, len(p.chunks))
	for i, cp := range p.chunks {
		start := cp.rawStart + int64(cp.a.Delay) - int64(p.delay)
		end := cp.rawStart + cp.a.Samples - int64(effectivePadding(cp.a)) - int64(p.delay)
		out[i] = Span{
			Index:  inputs[i].Chunk.Index,
			Start:  p.format.Duration(max(start, 0)),
			End:    p.format.Duration(max(end, 0)),
			Pause:  p.format.Duration(int64(cp.silent) * spf),
			Gain:   cp.gain,
			GainDB: float64(cp.gain) * mp3.GainStepDB,
		}
	}
	return out
}

// chapters makes one chapter per run of chunks from the same section. The
// title block and a first section without a heading make the opening
// chapter, titled by the article's title.
func chapters(inputs []Input, spans []Span, meta Metadata) (out []mp3.Chapter, firsts []int) {
	section := math.MinInt
	for i, in := range inputs {
		s := in.Chunk.Section
		if s == section {
			continue
		}
		section = s
		title := ""
		if s >= 0 && s < len(meta.Headings) {
			title = meta.Headings[s]
		}
		if title == "" && len(out) > 0 && s <= 0 {
			continue // the opening section without a heading joins the title chapter
		}
		if title == "" && len(out) == 0 {
			title = meta.Title
		}
		if title == "" {
			title = fmt.Sprintf("Part %d", len(out)+1)
		}
		start := spans[i].Start
		if len(out) == 0 {
			start = 0
		}
		out = append(out, mp3.Chapter{ID: fmt.Sprintf("chp%d", len(out)), Title: title, Start: start})
		firsts = append(firsts, i)
	}
	for i := range out {
		if i+1 < len(out) {
			out[i].End = out[i+1].Start
		} else {
			out[i].End = spans[len(spans)-1].End
		}
	}
	return out, firsts
}

// setChapterOffsets sets each chapter's byte offsets from the offset of
// its first chunk.
func setChapterOffsets(chaps []mp3.Chapter, firsts []int, spans []Span, end int64) {
	for i := range chaps {
		chaps[i].StartOffset = spans[firsts[i]].Offset
	}
	for i := range chaps {
		if i+1 < len(chaps) {
			chaps[i].EndOffset = chaps[i+1].StartOffset
		} else {
			chaps[i].EndOffset = end
		}
	}
}
