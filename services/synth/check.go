package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/mp3"
)

// Check inspects a provider's response, or a cached chunk, before it is
// used. An error is a structural fault, one a second request could fix:
// the response is refused as bad audio and requested again (a cached chunk
// is synthesized again). Usable audio gets a Verdict. Implementations must
// be safe for concurrent use.
type Check func(ctx context.Context, audio []byte, req Request, want Format) (Verdict, error)

// Verdict is a Check's word on usable audio.
type Verdict struct {
	// Findings are heuristic: the audio may be wrong (cut off, too long or
	// too short for its text, a long silence) or may be what the speech
	// service meant. The Synthesizer asks again for audio with findings at
	// most MaxRerequests times, and not again when the service answers
	// with the same bytes, then keeps it with its findings.
	Findings []Finding `json:"findings,omitempty"`
	// Loudness (LUFS) and Peak (true peak, dBTP) are set when the check
	// measured them (Measured); leveling decides from them.
	Measured bool    `json:"measured,omitempty"`
	Loudness float64 `json:"loudness,omitempty"`
	Peak     float64 `json:"peak,omitempty"`
	// Record is what the check found, kept with the chunk: the pipeline
	// keeps the stitcher's chunk check here, so that the join reads
	// neither the audio's structure nor its samples again.
	Record json.RawMessage `json:"record,omitempty"`
	// Heard is the listening check's record, when it ran.
	Heard *Heard `json:"heard,omitempty"`
}

// Finding is one heuristic finding about a chunk's audio.
type Finding struct {
	Code    string `json:"code"`    // what was found: abrupt_end, duration, long_silence
	Message string `json:"message"` // the measurement, for an editor
}

// MaxRerequests is how many more times a chunk whose audio has heuristic
// findings is requested before it is kept with them.
const MaxRerequests = 2

// basicCheck is the Check of a Synthesizer configured with none.
func basicCheck(_ context.Context, audio []byte, req Request, want Format) (Verdict, error) {
	return Verdict{}, BasicCheck(audio, req, want)
}

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
