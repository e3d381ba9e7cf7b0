package synth

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/mp3"
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
// III frames in the wanted format (an ID3v2 tag first, an ID3v1 tag last
// and Xing/Info frames are allowed), its first audio frame does not borrow
// from a bit reservoir (so chunks join frame-exactly), and it plays long
// enough for its text. Decoding it fully is the MP3 validator's job.
func BasicCheck(audio []byte, req Request, want Format) error {
	wantFormat := want.MP3()
	s := mp3.NewScanner(bytes.NewReader(audio))
	var frames, n int64
	for s.Scan() {
		it := s.Item()
		switch it.Kind {
		case mp3.KindTag:
			if (it.Tag == mp3.TagID3v2 && it.Offset == 0) || (it.Tag == mp3.TagID3v1 && it.Offset+it.Size == int64(len(audio))) {
				continue
			}
			return fmt.Errorf("%w: an %s tag at byte %d, inside the stream", ErrBadAudio, it.Tag, it.Offset)
		case mp3.KindJunk:
			return fmt.Errorf("%w: %d bytes at byte %d are not Layer III frames", ErrBadAudio, it.Size, it.Offset)
		case mp3.KindTruncated:
			return fmt.Errorf("%w: frame %d at byte %d is cut short: %d of its %d bytes", ErrBadAudio, frames, it.Offset, it.Size, it.Header.Size())
		}
		// A frame: audio, or a Xing/Info/VBRI header frame, which must be
		// in the format too but plays nothing.
		if f := it.Header.Format(); f != wantFormat {
			return fmt.Errorf("%w: frame %d is %s, want %s", ErrBadAudio, frames, f, want)
		}
		frames++
		if it.Kind == mp3.KindInfo {
			continue
		}
		if n == 0 {
			if mdb := mp3.MainDataBegin(it.Header, it.Data); mdb != 0 {
				return fmt.Errorf("%w: first audio frame borrows %d bytes from before the stream", ErrBadAudio, mdb)
			}
		}
		n++
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadAudio, err) // cannot happen reading memory
	}
	if n == 0 {
		return fmt.Errorf("%w: no audio frames in %d bytes", ErrBadAudio, len(audio))
	}
	played := wantFormat.Duration(n * int64(wantFormat.FrameSamples()))
	chars := utf8.RuneCountInString(req.Text)
	least := time.Duration(float64(chars) / (MaxCharsPerSecond * speed(req.Speed)) * float64(time.Second))
	if played < least {
		return fmt.Errorf("%w: %v of audio for %d characters, want at least %v", ErrBadAudio, played, chars, least)
	}
	return nil
}
