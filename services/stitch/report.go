package stitch

import (
	"errors"
	"fmt"
	"strings"

	"github.com/narrator-project/narrator/services/mp3"
)

// Errors a caller branches on.
var (
	// ErrRejected means a chunk's audio is unusable: synthesize it again.
	ErrRejected = errors.New("stitch: chunk rejected")
	// ErrInvalid means the joined file failed validation.
	ErrInvalid = errors.New("stitch: output failed validation")
	// ErrNoChunks means there was nothing to join.
	ErrNoChunks = errors.New("stitch: no chunks to join")
)

// Names of the checks in a Report. The structural ones fail a chunk or a
// join: the audio is unusable. The heuristic ones (Heuristic) only warn:
// speech that seems cut off, too long or too short for its text, a long
// silence, a loudness short of the target may be what the speech service
// meant, and an editor decides.
const (
	CheckStructure = "structure"    // every frame parses; nothing outside frames but the leading tag
	CheckFormat    = "format"       // one format throughout, the expected one
	CheckReservoir = "reservoir"    // the chunk starts with an empty bit reservoir
	CheckDecode    = "decode"       // go-mp3 decodes every sample the frames promise
	CheckSilent    = "silent"       // the chunk is not silent
	CheckDuration  = "duration"     // heuristic: the playing time is plausible for the text
	CheckAbruptEnd = "abrupt_end"   // heuristic: the speech fades out rather than stops
	CheckSilence   = "long_silence" // heuristic: no silence longer than the longest pause
	CheckLoudness  = "loudness"     // heuristic: the loudness is within tolerance of the target
)

// Heuristic reports whether a check of this name only warns.
func Heuristic(name string) bool {
	switch name {
	case CheckDuration, CheckAbruptEnd, CheckSilence, CheckLoudness:
		return true
	}
	return false
}

// Check is one verdict of a validation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Warn   bool   `json:"warn,omitempty"`  // heuristic: failing it warns
	Chunk  *int   `json:"chunk,omitempty"` // the chunk it is about, if one
	Detail string `json:"detail,omitempty"`
}

// String describes the check for an editor: "chunk 2: abrupt_end: ...".
func (c Check) String() string {
	s := c.Name
	if c.Chunk != nil {
		s = fmt.Sprintf("chunk %d: %s", *c.Chunk, s)
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// Repair is a problem a join mended by dropping bytes.
type Repair struct {
	Chunk   int         `json:"chunk"`
	Problem mp3.Problem `json:"problem"`
}

// Report is the machine-readable result of a validation. OK is false only
// for a structural failure; heuristic findings are Warnings.
type Report struct {
	OK       bool            `json:"ok"`
	Checks   []Check         `json:"checks"`
	Repairs  []Repair        `json:"repairs,omitempty"`
	Loudness *LoudnessReport `json:"loudness,omitempty"` // of a join that matched loudness
}

func (r *Report) add(name string, chunk *int, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Warn: Heuristic(name), Chunk: chunk, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) finish() {
	r.OK = len(r.Failed()) == 0
}

// Failed returns the structural checks that did not pass.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK && !c.Warn {
			out = append(out, c)
		}
	}
	return out
}

// Warnings returns the heuristic checks that did not pass.
func (r Report) Warnings() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK && c.Warn {
			out = append(out, c)
		}
	}
	return out
}

// Summary describes the report in one line, for an editor: the failed
// checks, or that all passed and what they warn of.
func (r Report) Summary() string {
	if failed := r.Failed(); len(failed) > 0 {
		return joinChecks(failed)
	}
	if w := r.Warnings(); len(w) > 0 {
		return "all checks passed, with warnings: " + joinChecks(w)
	}
	return "all checks passed"
}

func joinChecks(cs []Check) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

// LoudnessReport says where a join's loudness came out and why.
type LoudnessReport struct {
	Target   float64 `json:"target"`   // LUFS
	Achieved float64 `json:"achieved"` // LUFS
	Peak     float64 `json:"peak"`     // true peak, dBTP
	Ceiling  float64 `json:"ceiling"`  // dBTP
	Chunks   int     `json:"chunks"`
	// PeakLimited is set when chunks' peaks kept them, and with them their
	// neighbours, below the target; LimitedChunks lists those chunks.
	PeakLimited   bool  `json:"peak_limited"`
	LimitedChunks []int `json:"limited_chunks,omitempty"`
	// Leveled counts the chunks the limiter levelled at synthesis.
	Leveled int `json:"leveled,omitempty"`
	// LargestJump is the largest loudness difference (LU) between
	// neighbouring chunks after gain, before the chunk JumpAt.
	LargestJump float64 `json:"largest_jump"`
	JumpAt      int     `json:"jump_at,omitempty"`
}

// String says it for an editor: "peak-limited: -19.3 LUFS, target -16.0;
// ...".
func (l LoudnessReport) String() string {
	var b strings.Builder
	if l.PeakLimited {
		b.WriteString("peak-limited: ")
	}
	fmt.Fprintf(&b, "%.1f LUFS, target %.1f, true peak %.1f dBTP", l.Achieved, l.Target, l.Peak)
	if l.PeakLimited {
		fmt.Fprintf(&b, "; %d of %d chunks peak too high to be raised to the target under the %.1f dBTP ceiling (chunks %s)",
			len(l.LimitedChunks), l.Chunks, l.Ceiling, ints(l.LimitedChunks))
		if len(l.LimitedChunks) < l.Chunks {
			b.WriteString(", and their neighbours follow them down")
		}
	}
	if l.Leveled > 0 {
		fmt.Fprintf(&b, "; %d of %d chunks levelled by the limiter", l.Leveled, l.Chunks)
	}
	fmt.Fprintf(&b, "; largest step between chunks %.1f LU", l.LargestJump)
	return b.String()
}

// ints lists up to five numbers.
func ints(xs []int) string {
	var parts []string
	for i, x := range xs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(xs)-5))
			break
		}
		parts = append(parts, fmt.Sprint(x))
	}
	return strings.Join(parts, ", ")
}
