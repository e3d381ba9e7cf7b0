package stitch

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
)

// report validates the joined file without decoding it again. What it
// verifies, and why that is enough:
//
//   - structure: the bytes written were parsed again as they went out, by a
//     verifier that resynchronizes on nothing. They must be exactly one
//     ID3v2 tag at offset 0, one Xing/Info frame whose frame and byte counts
//     and LAME delay and padding equal the plan, and then only frames of one
//     format, each starting where the last ended: no junk, no other tag, no
//     cut frame.
//   - decode: every chunk was decoded in full by go-mp3 when it was checked,
//     yielding exactly the samples its frames promise (unless the join was
//     asked for structure only: then this is not claimed). A chunk's first frame
//     takes nothing from the bit reservoir (main_data_begin 0, checked again
//     while copying) and silent frames carry no main data, so no frame of
//     the file depends on bytes outside its own chunk; gain changes touch
//     only global_gain, which moves no bits. The file therefore decodes to
//     the sum of the chunks' samples plus the silent frames', which is the
//     frame count the Xing frame states.
//   - loudness: global_gain scales a granule's samples by exactly 2^(n/4),
//     so each chunk's measured 400 ms blocks move by exactly n × 1.505 dB,
//     and gating the merged blocks gives the file's integrated loudness
//     (blocks that straddle a chunk boundary are the only ones left out).
//   - speech: silence, abrupt ends, long silences and the speaking rate are
//     properties of the chunks and of the pauses between them, all known.
//     All but silence are heuristics: they warn, and never fail the file.
func (p *plan) report(inputs []Input, checks []*ChunkCheck, out *mp3.Verifier, res *Result, cfg Config) Report {
	var r Report
	ok, detail := structure(p, out)
	r.add(CheckStructure, nil, ok, "%s", detail)

	// Per-chunk verdicts, gathered by check.
	failed := map[string][]string{}
	var perChunk []Check
	chars := 0
	var speech time.Duration
	decoded := true
	for i, c := range checks {
		a := c.Analysis
		decoded = decoded && a.Decoded
		for _, pr := range a.Problems {
			if pr.Code.Repairable() {
				r.Repairs = append(r.Repairs, Repair{Chunk: i, Problem: pr})
			}
		}
		n := len([]rune(inputs[i].Chunk.Text))
		chars += n
		speech += a.Duration
		idx := i
		cr := chunkReport(a, n, p.format, cfg, &idx)
		for _, ck := range cr.Checks {
			if ck.OK || ck.Name == CheckStructure {
				continue // mended problems are listed as repairs
			}
			failed[ck.Name] = append(failed[ck.Name], fmt.Sprint(i))
			perChunk = append(perChunk, ck)
		}
	}
	chunkCheck := func(name, ok string) {
		if bad := failed[name]; len(bad) > 0 {
			r.add(name, nil, false, "chunks %s", strings.Join(bad, ", "))
			return
		}
		r.add(name, nil, true, "%s", ok)
	}
	if out.Format == p.format {
		chunkCheck(CheckFormat, p.format.String())
	} else {
		r.add(CheckFormat, nil, false, "the file's frames are not all %s", p.format)
	}
	if decoded {
		chunkCheck(CheckDecode, fmt.Sprintf(
			"every chunk decoded in full when checked; the file's %d frames decode to %d samples", p.frames, int64(p.frames)*int64(p.format.FrameSamples())))
	} else if bad := failed[CheckDecode]; len(bad) > 0 {
		r.add(CheckDecode, nil, false, "chunks %s", strings.Join(bad, ", "))
	}

	if chars > 0 {
		exp := cfg.expected(chars)
		r.add(CheckDuration, nil, speech >= exp/2 && speech <= 2*exp,
			"%s of speech for %d characters; plausible %s to %s", speech.Round(time.Second), chars, (exp / 2).Round(time.Second), (2 * exp).Round(time.Second))
	}
	chunkCheck(CheckSilent, "no chunk is silent")
	chunkCheck(CheckAbruptEnd, "every chunk fades out")

	// Silences: within chunks (above) and at the joins.
	longest := cfg.Pauses.Longest()
	slack := p.format.Duration(int64(p.format.FrameSamples()))
	var gaps []string
	for i := 1; i < len(checks); i++ {
		prev, a := checks[i-1].Analysis, checks[i].Analysis
		if !prev.Decoded || !a.Decoded {
			continue
		}
		gap := prev.TrailingSilence + p.format.Duration(int64(effectivePadding(prev))) + res.Chunks[i].Pause +
			p.format.Duration(int64(a.Delay)) + a.LeadingSilence
		if gap > longest+slack {
			gaps = append(gaps, fmt.Sprintf("%s before chunk %d", gap.Round(time.Millisecond), i))
		}
	}
	if len(gaps) > 0 {
		failed[CheckSilence] = append(failed[CheckSilence], gaps...)
	}
	chunkCheck(CheckSilence, fmt.Sprintf("no silence longer than %s", longest))

	if l := p.loudness; l != nil {
		r.Loudness = l
		r.add(CheckLoudness, nil, l.Achieved > mp3.Silent && math.Abs(l.Achieved-l.Target) <= cfg.Tolerance, "%s", l)
	}
	r.Checks = append(r.Checks, perChunk...)
	r.finish()
	return r
}

// structure compares what the verifier read in the bytes written with
// the plan.
func structure(p *plan, v *mp3.Verifier) (bool, string) {
	var bad []string
	if err := v.Err(); err != nil {
		bad = append(bad, err.Error())
	}
	if v.TagSize != int64(len(p.tag)) {
		bad = append(bad, fmt.Sprintf("a leading tag of %d bytes, want %d", v.TagSize, len(p.tag)))
	}
	if v.Format != p.format {
		bad = append(bad, fmt.Sprintf("frames of %s, want %s", v.Format, p.format))
	}
	if v.Frames != p.frames || v.Bytes != p.bytes {
		bad = append(bad, fmt.Sprintf("%d frames in %d bytes, planned %d in %d", v.Frames, v.Bytes, p.frames, p.bytes))
	}
	switch in := v.Info; {
	case in == nil || in.LAME == nil:
		bad = append(bad, "no Xing/Info frame with a LAME tag")
	case in.Frames != v.Frames || in.Bytes != v.Bytes+int64(v.InfoSize):
		bad = append(bad, fmt.Sprintf("the Xing frame counts %d frames in %d bytes, the file has %d in %d", in.Frames, in.Bytes, v.Frames, v.Bytes+int64(v.InfoSize)))
	case !in.LAME.TagCRCValid:
		bad = append(bad, "the LAME tag CRC does not match")
	case in.LAME.Delay != p.delay || in.LAME.Padding != p.padding:
		bad = append(bad, fmt.Sprintf("the LAME tag says delay %d and padding %d, planned %d and %d", in.LAME.Delay, in.LAME.Padding, p.delay, p.padding))
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, "; ")
	}
	return true, fmt.Sprintf("ID3v2 tag of %d bytes, Xing/Info frame, then only %d frames of %s in %d bytes", v.TagSize, v.Frames, p.format, v.Bytes)
}
