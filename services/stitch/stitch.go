package stitch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
)

// Input is one chunk to join, in order.
type Input struct {
	Chunk script.Chunk
	// Open opens the chunk's MP3; it must yield the same bytes every time.
	// Stitch opens each chunk once if Check is set, and twice (analyse,
	// then copy) if not.
	Open func(ctx context.Context) (io.ReadCloser, error)
	// Check is the chunk's stored CheckChunk result, or nil.
	Check *ChunkCheck
}

// Result describes a joined file.
type Result struct {
	Format   mp3.Format    `json:"format"`
	Bytes    int64         `json:"bytes"`    // the file's length
	Frames   int           `json:"frames"`   // audio frames, silent ones included, the Xing frame not
	Samples  int64         `json:"samples"`  // playing samples per channel
	Duration time.Duration `json:"duration"` // playing time
	// Loudness is the integrated loudness of the file (LUFS), computed from
	// the chunks' measured blocks and the gains applied; Peak the true
	// peak (dBTP).
	Loudness float64       `json:"loudness"`
	Peak     float64       `json:"peak"`
	Delay    int           `json:"delay"`   // encoder delay stated in the LAME tag
	Padding  int           `json:"padding"` // padding stated in the LAME tag
	TagSize  int           `json:"tag_size"`
	Chunks   []Span        `json:"chunks"`
	Chapters []mp3.Chapter `json:"chapters"`
	Report   Report        `json:"report"`
	// Credentials are the file's Content Credentials, when Config.Signer
	// signed it.
	Credentials *Credentials `json:"credentials,omitempty"`
}

// Credentials locate the C2PA manifest store embedded in a joined file.
type Credentials struct {
	Label  string `json:"label"`  // the manifest's URN
	Offset int64  `json:"offset"` // of the store in the file
	// Store is the manifest store itself, as a sidecar .c2pa file holds it.
	Store []byte `json:"store"`
}

// Output is where a join is written. The head of the file (its tag and
// its Xing/LAME header) states facts about the audio after it, the LAME
// tag's CRC of the audio first among them, so the head is written again,
// at offset 0, once the audio has gone out: the output must take writes
// at an offset. A file does; the stitch stage joins into a temporary file
// and uploads it. Whatever else a head must one day say about its audio
// (a content credential's hash, say) is finished the same way.
type Output interface {
	io.Writer
	io.WriterAt
}

// Stitch joins inputs, in order, into one MP3 written to w, and validates
// it. It returns an error wrapping ErrInvalid, with the result and its
// report, when the file was written but failed validation (its structure);
// heuristic findings and a loudness short of the target are warnings in
// the report. Errors about the chunks themselves (another format, a bit
// reservoir that crosses the chunk's start, no audio) are permanent and
// name the chunk; errors opening or reading a chunk are left unclassified,
// so a runner retries them. After any error but ErrInvalid, what was
// written to w is incomplete.
//
// With cfg.Signer, the tag holds a reserved manifest store that is sealed
// once the audio is written: the file is read back once to hash it (the
// hash covers the LAME tag's music CRC, known only at the end) and the
// store is written into its place, so the output must also be an
// io.ReaderAt.
//
// Memory is bounded by two 64 KiB buffers, the plan (a few hundred bytes
// a chunk) and, when signing, the manifest store and a 256 KiB hashing
// buffer, whatever the length of the audio.
func Stitch(ctx context.Context, w Output, inputs []Input, meta Metadata, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fault.Permanent(err)
	}
	if len(inputs) == 0 {
		return nil, fault.Permanent(ErrNoChunks)
	}
	out, readable := w.(interface {
		io.ReaderAt
		io.WriterAt
	})
	if cfg.Signer != nil && !readable {
		return nil, fault.Permanent(errors.New("stitch: Content Credentials are sealed after the audio is written, so the output must be a file"))
	}
	checks, err := analyse(ctx, inputs, cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPlan(inputs, checks, meta, cfg)
	if err != nil {
		return nil, err
	}
	v, err := p.write(ctx, w, inputs)
	if err != nil {
		return nil, err
	}
	res := p.result()
	if p.sealing != nil {
		store, err := p.sealing.SealFile(ctx, out, res.Bytes)
		if err != nil {
			return nil, fmt.Errorf("stitch: %w", err)
		}
		res.Credentials = &Credentials{Label: p.sealing.Label(), Offset: p.sealing.Exclusion().Start, Store: store}
	}
	res.Report = p.report(inputs, checks, v, res, cfg)
	if !res.Report.OK {
		return res, fault.Permanent(fmt.Errorf("%w: %s", ErrInvalid, res.Report.Summary()))
	}
	return res, nil
}

// analyse fills in the checks the inputs lack, several chunks at a time.
func analyse(ctx context.Context, inputs []Input, cfg Config) ([]*ChunkCheck, error) {
	checks := make([]*ChunkCheck, len(inputs))
	errs := make([]error, len(inputs))
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	for i, in := range inputs {
		if in.Check != nil && in.Check.Analysis != nil {
			checks[i] = in.Check
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			checks[i], errs[i] = checkInput(ctx, in, cfg)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("stitch: chunk %d: %w", i, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return checks, nil
}

func checkInput(ctx context.Context, in Input, cfg Config) (*ChunkCheck, error) {
	rc, err := in.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if cfg.structureOnly() {
		return checkStructure(ctx, rc, in.Chunk.Text, cfg)
	}
	c, err := CheckChunk(ctx, rc, in.Chunk.Text, mp3.Format{}, cfg)
	if errors.Is(err, ErrRejected) {
		if c.Analysis.Frames == 0 {
			return nil, fault.Permanent(fmt.Errorf("%w: %s", mp3.ErrNoFrames, c.Report.Summary()))
		}
		// A join mends what it can and reports the rest.
		return c, nil
	}
	return c, err
}

// write streams the file: tag, Xing frame, then each chunk's frames with
// its gain applied, after the silent frames of its pause; then it writes
// the head again with the audio's CRC. The bytes written go through a
// Verifier too, so the report speaks for the file itself and not only for
// the plan.
func (p *plan) write(ctx context.Context, w Output, inputs []Input) (*mp3.Verifier, error) {
	v := &mp3.Verifier{}
	crc := newCRCWriter(int64(len(p.tag) + len(p.info)))
	bw := bufio.NewWriterSize(io.MultiWriter(w, v, crc), mp3.BufferSize)
	err := p.copyAll(ctx, bw, inputs)
	if err == nil {
		err = bw.Flush()
	}
	sum := crc.Sum()
	if err != nil {
		return nil, err
	}
	_ = v.Finish() // the report states what the verifier found
	if err := mp3.SetMusicCRC(p.info, sum); err != nil {
		return nil, fmt.Errorf("stitch: %w", err)
	}
	if _, err := w.WriteAt(p.info, int64(len(p.tag))); err != nil {
		return nil, fmt.Errorf("stitch: write the LAME tag: %w", err)
	}
	return v, nil
}

func (p *plan) copyAll(ctx context.Context, w io.Writer, inputs []Input) error {
	if _, err := w.Write(p.tag); err != nil {
		return fmt.Errorf("stitch: write: %w", err)
	}
	if _, err := w.Write(p.info); err != nil {
		return fmt.Errorf("stitch: write: %w", err)
	}
	s := mp3.NewScanner(nil)
	for i, cp := range p.chunks {
		for range cp.silent {
			if _, err := w.Write(p.silence); err != nil {
				return fmt.Errorf("stitch: write: %w", err)
			}
		}
		if err := p.copyChunk(ctx, w, s, i, inputs[i], cp); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) copyChunk(ctx context.Context, w io.Writer, s *mp3.Scanner, i int, in Input, cp chunkPlan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rc, err := in.Open(ctx)
	if err != nil {
		return fmt.Errorf("stitch: open chunk %d: %w", i, err)
	}
	defer rc.Close()
	s.Reset(rc)
	frames, n := 0, int64(0)
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			continue // tags, header frames, junk and cut frames stay behind
		}
		if it.Header.Format() != p.format {
			return fault.Permanent(fmt.Errorf("stitch: chunk %d: a frame of %s at byte %d in a %s join", i, it.Header.Format(), it.Offset, p.format))
		}
		if frames == 0 && mp3.MainDataBegin(it.Header, it.Data) != 0 {
			return fault.Permanent(fmt.Errorf("stitch: chunk %d: first frame needs bit reservoir from before the chunk", i))
		}
		if cp.gain != 0 {
			if _, err := mp3.AdjustGain(it.Header, it.Data, cp.gain); err != nil {
				return fmt.Errorf("stitch: chunk %d: %w", i, err)
			}
		}
		if _, err := w.Write(it.Data); err != nil {
			return fmt.Errorf("stitch: write: %w", err)
		}
		frames++
		n += it.Size
		if frames%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("stitch: read chunk %d: %w", i, err)
	}
	if frames != cp.a.Frames || n != cp.a.Bytes {
		return fmt.Errorf("stitch: chunk %d has %d frames in %d bytes, its analysis says %d in %d: the analysis is not of these bytes",
			i, frames, n, cp.a.Frames, cp.a.Bytes)
	}
	return nil
}

func (p *plan) result() *Result {
	r := &Result{
		Format:   p.format,
		Bytes:    int64(len(p.tag)+len(p.info)) + p.bytes,
		Frames:   p.frames,
		Samples:  p.samples,
		Duration: p.format.Duration(p.samples),
		Delay:    p.delay,
		Padding:  p.padding,
		TagSize:  len(p.tag),
		Chunks:   p.spans,
		Chapters: p.chaps,
	}
	r.Loudness, r.Peak = p.achieved, p.peak
	return r
}

// Buffer is an Output in memory, for joins small enough to hold whole.
type Buffer struct{ b []byte }

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.b = append(b.b, p...)
	return len(p), nil
}

// WriteAt writes p at off, within what was written or just after it.
func (b *Buffer) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(b.b)) {
		return 0, fmt.Errorf("stitch: write at %d in a buffer of %d bytes", off, len(b.b))
	}
	n := copy(b.b[off:], p)
	b.b = append(b.b, p[n:]...)
	return len(p), nil
}

// Bytes returns what was written.
func (b *Buffer) Bytes() []byte { return b.b }
