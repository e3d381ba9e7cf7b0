// Package tone makes real MP3 audio for the fake TTS servers cheaply: it
// encodes one short note per pitch with lame, once per process, and strings
// notes chosen from a seed into audio of any length. Each note is a whole
// lame stream, so it starts with an empty bit reservoir and the notes join
// frame-exactly, just as responses of a real provider do.
package tone

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"sync"

	"github.com/narrator-project/narrator/services/synth/internal/mpframe"
)

// Notes is the number of pitches a seed picks from: two octaves of
// semitones above 220 Hz.
const Notes = 24

// noteLen is the length of one note; audio changes pitch this often.
const noteLen = 0.5 // seconds

// Generator encodes notes on first use and assembles audio from them. It
// is safe for concurrent use.
type Generator struct {
	sampleRate int
	bitrate    int
	notes      [Notes]*note
}

type note struct {
	mu     sync.Mutex
	frames [][]byte
}

// New returns a generator of mono MP3 at sampleRate Hz and bitrate kbit/s
// (constant bitrate, no Xing/Info frame, no tags).
func New(sampleRate, bitrate int) *Generator {
	g := &Generator{sampleRate: sampleRate, bitrate: bitrate}
	for i := range g.notes {
		g.notes[i] = new(note)
	}
	return g
}

// FrameDuration returns the playing time of one frame in seconds.
func (g *Generator) FrameDuration() float64 {
	spf := 576 // MPEG-2 and 2.5
	if g.sampleRate >= 32000 {
		spf = 1152
	}
	return float64(spf) / float64(g.sampleRate)
}

// Audio returns exactly frames frames of audio whose melody is derived
// from seed, so different texts give different audio.
func (g *Generator) Audio(ctx context.Context, seed string, frames int) ([]byte, error) {
	sum := sha256.Sum256([]byte(seed))
	var out []byte
	for i := 0; frames > 0; i++ {
		n := int(sum[i%len(sum)]) % Notes
		if i > 0 && i%len(sum) == 0 {
			sum = sha256.Sum256(sum[:]) // a fresh run of notes for long audio
		}
		fs, err := g.note(ctx, n)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]byte, 0, frames*len(fs[0]))
		}
		for _, f := range fs[:min(frames, len(fs))] {
			out = append(out, f...)
		}
		frames -= min(frames, len(fs))
	}
	return out, nil
}

// Warm encodes every note now rather than on first use.
func (g *Generator) Warm(ctx context.Context) error {
	for n := range Notes {
		if _, err := g.note(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

func (g *Generator) note(ctx context.Context, n int) ([][]byte, error) {
	nt := g.notes[n]
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.frames == nil {
		// Not cached on failure: a cancelled first caller must not spoil
		// the note for everyone after it.
		fs, err := g.encode(ctx, n)
		if err != nil {
			return nil, err
		}
		nt.frames = fs
	}
	return nt.frames, nil
}

// ErrNoLame is returned when the lame encoder is not installed.
var ErrNoLame = errors.New("tone: lame not found in PATH: install it (Debian: apt-get install lame)")

func (g *Generator) encode(ctx context.Context, n int) ([][]byte, error) {
	lame, err := exec.LookPath("lame")
	if err != nil {
		return nil, ErrNoLame
	}
	freq := 220 * math.Pow(2, float64(n)/12)
	cmd := exec.CommandContext(ctx, lame, "--quiet", "-t", "-m", "m", "--cbr", "-b", strconv.Itoa(g.bitrate), "-", "-")
	cmd.Stdin = bytes.NewReader(wav(g.sampleRate, freq))
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tone: lame: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	b := out.Bytes()
	idx, err := mpframe.Scan(b)
	if err != nil {
		return nil, fmt.Errorf("tone: lame output: %w", err)
	}
	if len(idx) == 0 || mpframe.MainDataBegin(b[idx[0].Offset:], idx[0].Header) != 0 {
		return nil, errors.New("tone: lame output does not start with a self-contained frame")
	}
	frames := make([][]byte, len(idx))
	for i, f := range idx {
		frames[i] = b[f.Offset : f.Offset+f.Header.Size]
	}
	return frames, nil
}

// wav returns a mono 16-bit WAV file holding one note with short fades, so
// that the joins between notes do not click.
func wav(rate int, freq float64) []byte {
	n := int(noteLen * float64(rate))
	fade := rate / 100
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	b.Write(le.AppendUint32(nil, uint32(36+2*n)))
	b.WriteString("WAVEfmt ")
	b.Write(le.AppendUint32(nil, 16))
	b.Write(le.AppendUint16(nil, 1)) // PCM
	b.Write(le.AppendUint16(nil, 1)) // mono
	b.Write(le.AppendUint32(nil, uint32(rate)))
	b.Write(le.AppendUint32(nil, uint32(2*rate)))
	b.Write(le.AppendUint16(nil, 2))
	b.Write(le.AppendUint16(nil, 16))
	b.WriteString("data")
	b.Write(le.AppendUint32(nil, uint32(2*n)))
	for i := range n {
		gain := 0.25
		if d := min(i, n-1-i); d < fade {
			gain *= float64(d) / float64(fade)
		}
		s := int16(gain * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		b.Write(le.AppendUint16(nil, uint16(s)))
	}
	return b.Bytes()
}

var (
	sharedMu sync.Mutex
	shared   = map[[2]int]*Generator{}
)

// Shared returns the process-wide generator for a format, so that every
// fake server in a test binary encodes each note once.
func Shared(sampleRate, bitrate int) *Generator {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	k := [2]int{sampleRate, bitrate}
	if shared[k] == nil {
		shared[k] = New(sampleRate, bitrate)
	}
	return shared[k]
}

// Available reports, with a message saying what to install, whether the
// encoder the generator needs is present.
func Available() error {
	if _, err := exec.LookPath("lame"); err != nil {
		return ErrNoLame
	}
	return nil
}
