package synth

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/synth/internal/mpframe"
)

// Check validates a provider's response before it is cached or recorded.
// A failure is treated as a bad response (retried), so a Check must only
// fail for audio that a second request could fix.
type Check func(audio []byte, req Request, want Format) error

// MaxCharsPerSecond bounds how fast speech can be at speed 1: audio shorter
// than the text at this rate is implausibly short (cut off or empty).
// Fast newsreaders speak about 17 characters a second.
const MaxCharsPerSecond = 40

// BasicCheck is a structural check: the response is a run of whole Layer
// III frames in the wanted format (an ID3 tag and a Xing/Info frame are
// allowed), its first audio frame does not borrow from a bit reservoir
// (so chunks join frame-exactly), and it plays long enough for its text.
// Decoding it fully is the MP3 validator's job.
func BasicCheck(audio []byte, req Request, want Format) error {
	frames, err := mpframe.Scan(audio)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadAudio, err)
	}
	var n int
	var played time.Duration
	for i, f := range frames {
		h := f.Header
		if int(h.Version) != want.MPEG || h.SampleRate != want.SampleRate || h.Channels != want.Channels {
			return fmt.Errorf("%w: frame %d is %s %d Hz %d channel(s), want %s", ErrBadAudio, i, h.Version, h.SampleRate, h.Channels, want)
		}
		frame := audio[f.Offset : f.Offset+h.Size]
		if mpframe.IsTag(frame, h) {
			continue
		}
		if n == 0 && mpframe.MainDataBegin(frame, h) != 0 {
			return fmt.Errorf("%w: first audio frame borrows %d bytes from before the stream", ErrBadAudio, mpframe.MainDataBegin(frame, h))
		}
		n++
		played += time.Duration(h.Samples) * time.Second / time.Duration(h.SampleRate)
	}
	if n == 0 {
		return fmt.Errorf("%w: no audio frames in %d bytes", ErrBadAudio, len(audio))
	}
	chars := utf8.RuneCountInString(req.Text)
	least := time.Duration(float64(chars) / (MaxCharsPerSecond * speed(req.Speed)) * float64(time.Second))
	if played < least {
		return fmt.Errorf("%w: %v of audio for %d characters, want at least %v", ErrBadAudio, played, chars, least)
	}
	return nil
}
