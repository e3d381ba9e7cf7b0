package synth

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
)

// Leveling of the local engine's speech. espeak-ng speaks at about -21.5
// LUFS and stops dead on the last phoneme; a TTS service delivers about
// -16 LUFS and ends in silence. The stitcher matches loudness only in
// 1.5 dB steps and only while peaks stay under its ceiling, so the PCM is
// leveled before lame encodes it.
const (
	// encoderLoss is what lame's low-pass takes from speech's sibilants at
	// 24 kHz: encoded chunks measure about 0.5 LU below their PCM.
	encoderLoss = 0.5
	// levelTarget is the podcast norm the stitcher aims at, -16 LUFS, plus
	// the encoder's loss.
	levelTarget  = -16 + encoderLoss // LUFS
	levelCeiling = -1.5              // dBTP: room for the encoder's overshoot
	endFade      = 5 * time.Millisecond
	endSilence   = 300 * time.Millisecond
)

// endInSilence fades out the last few milliseconds, where espeak-ng cuts
// the speech off, and appends silence, as a TTS service's audio ends.
func endInSilence(p *mp3.PCM) {
	ch := p.Channels
	f := min(int(endFade.Seconds()*float64(p.Rate)), p.Frames())
	for i := range f {
		for c := range ch {
			p.Samples[len(p.Samples)-1-i*ch-c] *= float64(i) / float64(f)
		}
	}
	p.Samples = append(p.Samples, make([]float64, ch*int(endSilence.Seconds()*float64(p.Rate)))...)
}

// encoding is how lame encodes a chunk: the stream format (a Bitrate of 0
// is variable: at ABR kbit/s on average, if set), and whether the stream
// starts with a Xing/Info frame and LAME tag (gapless players trim the
// encoder's delay and padding with it).
type encoding struct {
	Format
	ABR int
	Tag bool
}

// encode encodes p with lame into e's format. Its first frame takes
// nothing from the bit reservoir, as lame's never does. With a tag, lame
// writes into a temporary file: it writes the Xing frame last, by seeking
// back to the start.
func encode(ctx context.Context, lame string, p *mp3.PCM, e encoding) ([]byte, error) {
	mode := "m"
	if e.Channels == 2 {
		mode = "j"
	}
	args := []string{"--quiet", "--noreplaygain", "-m", mode, "--resample", strconv.FormatFloat(float64(e.SampleRate)/1000, 'f', -1, 64)}
	switch {
	case e.Bitrate > 0:
		args = append(args, "--cbr", "-b", strconv.Itoa(e.Bitrate))
	case e.ABR > 0:
		args = append(args, "--abr", strconv.Itoa(e.ABR))
	default:
		args = append(args, "-V", "4")
	}
	out := "-"
	if e.Tag {
		f, err := os.CreateTemp("", "narrator-lame-*.mp3")
		if err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
		out = f.Name()
		f.Close()
		defer os.Remove(out)
	} else {
		args = append(args, "-t")
	}
	cmd := exec.CommandContext(ctx, lame, append(args, "-", out)...)
	var stdout bytes.Buffer
	var stderr tail
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(p.WAV()), &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second // bounds waiting for output after a kill
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("synth: %w", ctx.Err())
	}
	if err != nil {
		return nil, fault.Retry(fmt.Errorf("synth: %w: lame: %w: %s", ErrUnavailable, err, stderr.String()), 0)
	}
	if out == "-" {
		return stdout.Bytes(), nil
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("synth: lame's output: %w", err)
	}
	return b, nil
}
