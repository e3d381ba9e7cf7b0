// Package tone makes real MP3 audio for the fake TTS servers cheaply: it
// encodes one short note per pitch (and its shortened versions) with lame,
// once per process, and strings notes chosen from a seed into audio of any
// length that ends, as a real provider's does, in a fade and silence. Each
// note is a whole lame stream, so it starts with an empty bit reservoir and
// the notes join frame-exactly, just as responses of a real provider do.
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

	"github.com/narrator-project/narrator/services/mp3"
)

// Notes is the number of pitches a seed picks from: two octaves of
// semitones above 220 Hz.
const Notes = 24

// Parts a note is divided into: the last note of a response may be cut
// short to a whole number of parts, so that responses of any length end on
// a complete, faded note.
const parts = 4

const (
	noteLen = 0.5 // seconds; audio changes pitch this often
	// amplitude of the notes: a sine peaking at -14 dBFS measures about
	// -17.5 LUFS, inside the -16 to -20 LUFS that TTS services deliver, so
	// the stitcher's gain matching reaches -16 LUFS with its peak far below
	// the ceiling.
	amplitude = 0.2
	fadeIn    = 0.01 // seconds
	fadeOut   = 0.03 // seconds: each note dies away instead of stopping
	// tailLen is the least silence a response ends with: real providers
	// close on a breath of silence, and the stitcher's chunk check takes
	// loud last 50 ms for speech cut off mid-word.
	tailLen = 0.25 // seconds
)

// Generator encodes notes on first use and assembles audio from them. It
// is safe for concurrent use.
type Generator struct {
	sampleRate int
	bitrate    int
	notes      [Notes][parts]*note // by pitch, then length in parts less one
	silence    note                // lame-encoded digital silence, several tails long
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
		for j := range g.notes[i] {
			g.notes[i][j] = new(note)
		}
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
// from seed, so different texts give different audio. The melody is made
// of whole notes, the last one possibly shortened, and is followed by at
// least a quarter second of silence; audio too short to hold a note and
// that silence is silence only.
func (g *Generator) Audio(ctx context.Context, seed string, frames int) ([]byte, error) {
	silence, err := g.silent(ctx)
	if err != nil {
		return nil, err
	}
	tail := int(math.Ceil(tailLen / g.FrameDuration()))
	room := frames - tail // frames the melody may take
	out := make([]byte, 0, frames*len(silence[0]))
	sum := sha256.Sum256([]byte(seed))
	for i := 0; room > 0; i++ {
		if i > 0 && i%len(sum) == 0 {
			sum = sha256.Sum256(sum[:]) // a fresh run of notes for long audio
		}
		pitch := int(sum[i%len(sum)]) % Notes
		// The longest version of the note that fits.
		var fs [][]byte
		for p := parts - 1; p >= 0; p-- {
			if fs, err = g.note(ctx, pitch, p); err != nil {
				return nil, err
			}
			if len(fs) <= room {
				break
			}
			fs = nil
		}
		if fs == nil {
			break
		}
		for _, f := range fs {
			out = append(out, f...)
		}
		room -= len(fs)
		frames -= len(fs)
	}
	// The rest is silence, cut from the end of a longer silent stream: its
	// first frame starts the stream, so it borrows nothing from the melody.
	for frames > 0 {
		n := min(frames, len(silence))
		for _, f := range silence[:n] {
			out = append(out, f...)
		}
		frames -= n
	}
	return out, nil
}

// Warm encodes every note now rather than on first use.
func (g *Generator) Warm(ctx context.Context) error {
	if _, err := g.silent(ctx); err != nil {
		return err
	}
	for n := range Notes {
		for p := range parts {
			if _, err := g.note(ctx, n, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// note returns pitch n lasting (p+1)/parts of a note.
func (g *Generator) note(ctx context.Context, n, p int) ([][]byte, error) {
	freq := 220 * math.Pow(2, float64(n)/12)
	return g.notes[n][p].get(func() ([][]byte, error) {
		return g.encode(ctx, wav(g.sampleRate, freq, noteLen*float64(p+1)/parts))
	})
}

// silent returns the cached silence: a second and a half, enough for the
// longest tail Audio needs (a tail and a note part).
func (g *Generator) silent(ctx context.Context) ([][]byte, error) {
	return g.silence.get(func() ([][]byte, error) {
		return g.encode(ctx, wav(g.sampleRate, 0, 1.5))
	})
}

func (nt *note) get(encode func() ([][]byte, error)) ([][]byte, error) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.frames == nil {
		// Not cached on failure: a cancelled first caller must not spoil
		// the note for everyone after it.
		fs, err := encode()
		if err != nil {
			return nil, err
		}
		nt.frames = fs
	}
	return nt.frames, nil
}

// ErrNoLame is returned when the lame encoder is not installed.
var ErrNoLame = errors.New("tone: lame not found in PATH: install it (Debian: apt-get install lame)")

func (g *Generator) encode(ctx context.Context, wav []byte) ([][]byte, error) {
	lame, err := exec.LookPath("lame")
	if err != nil {
		return nil, ErrNoLame
	}
	cmd := exec.CommandContext(ctx, lame, "--quiet", "-t", "-m", "m", "--cbr", "-b", strconv.Itoa(g.bitrate), "-", "-")
	cmd.Stdin = bytes.NewReader(wav)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("tone: lame: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	b := out.Bytes()
	var frames [][]byte
	s := mp3.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		it := s.Item()
		if it.Kind != mp3.KindFrame {
			return nil, fmt.Errorf("tone: lame output: %s of %d bytes at byte %d", it.Kind, it.Size, it.Offset)
		}
		if len(frames) == 0 && mp3.MainDataBegin(it.Header, it.Data) != 0 {
			return nil, errors.New("tone: lame output does not start with a self-contained frame")
		}
		frames = append(frames, b[it.Offset:it.Offset+it.Size]) // it.Data is the Scanner's buffer
	}
	if len(frames) == 0 {
		return nil, errors.New("tone: lame output holds no frames")
	}
	return frames, nil
}

// wav returns a mono 16-bit WAV file holding secs seconds of a note of
// freq Hz (0: silence), faded in and out so that the joins between notes
// do not click.
func wav(rate int, freq, secs float64) []byte {
	n := int(secs * float64(rate))
	in, out := int(fadeIn*float64(rate)), int(fadeOut*float64(rate))
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
		gain := amplitude
		if i < in {
			gain *= float64(i) / float64(in)
		}
		if d := n - 1 - i; d < out {
			gain *= float64(d) / float64(out)
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
