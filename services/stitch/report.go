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

// Names of the checks in a Report.
const (
	CheckStructure = "structure"        // every frame parses; nothing outside frames but the leading tag
	CheckFormat    = "format"           // one format throughout, the expected one
	CheckReservoir = "reservoir"        // the chunk starts with an empty bit reservoir
	CheckDecode    = "decode"           // go-mp3 decodes every sample the frames promise
	CheckDuration  = "duration"         // the playing time is plausible for the text
	CheckSilent    = "silent"           // the chunk is not silent
	CheckAbruptEnd = "abrupt_end"       // the speech fades out rather than stops
	CheckSilence   = "internal_silence" // no silence longer than the longest pause
	CheckLoudness  = "loudness"         // the loudness is within tolerance of the target
)

// Check is one verdict of a validation.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Chunk  *int   `json:"chunk,omitempty"` // the chunk it is about, if one
	Detail string `json:"detail,omitempty"`
}

// Repair is a problem a join mended by dropping bytes.
type Repair struct {
	Chunk   int         `json:"chunk"`
	Problem mp3.Problem `json:"problem"`
}

// Report is the machine-readable result of a validation.
type Report struct {
	OK      bool     `json:"ok"`
	Checks  []Check  `json:"checks"`
	Repairs []Repair `json:"repairs,omitempty"`
}

func (r *Report) add(name string, chunk *int, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Chunk: chunk, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) finish() {
	r.OK = true
	for _, c := range r.Checks {
		if !c.OK {
			r.OK = false
		}
	}
}

// Failed returns the checks that did not pass.
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Summary describes the failed checks in one line, for an editor.
func (r Report) Summary() string {
	var parts []string
	for _, c := range r.Failed() {
		s := c.Name
		if c.Chunk != nil {
			s = fmt.Sprintf("chunk %d: %s", *c.Chunk, s)
		}
		if c.Detail != "" {
			s += ": " + c.Detail
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "all checks passed"
	}
	return strings.Join(parts, "; ")
}
