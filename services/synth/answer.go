package synth

import (
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
)

// Bounds of a provider's answer, derived from what was asked: an answer
// larger than the text could take to say is not speech for it, and
// reading, caching and scanning it whole would cost memory and CPU.
const (
	// SlowestCharsPerSecond is the slowest plausible speech at speed 1: a
	// quarter of a slow reader's pace (news is read at 12 to 17 characters
	// a second).
	SlowestCharsPerSecond = 4
	// extraSeconds allows for breaths, pauses and silence at either end,
	// which short texts are mostly made of.
	extraSeconds = 30
	// tagBytes allows for tags a provider may add (OpenAI adds none).
	tagBytes = 64 << 10
)

// MaxSeconds is the longest a provider may take to say req's text.
func MaxSeconds(req Request) float64 {
	return float64(utf8.RuneCountInString(req.Text))/(SlowestCharsPerSecond*speed(req.Speed)) + extraSeconds
}

// MaxAudioBytes is the largest answer to req a provider returning format f
// may send: MaxSeconds at the format's bitrate (the highest Layer III
// bitrate of its MPEG version when the bitrate varies), plus room for tags.
// For 4,096 characters at 160 kbit/s it is about 21 MB.
func MaxAudioBytes(req Request, f Format) int64 {
	kbps := f.Bitrate
	if kbps == 0 {
		kbps = 160 // MPEG-2 and 2.5
		if f.MPEG == 1 {
			kbps = 320
		}
	}
	return int64(MaxSeconds(req)*float64(kbps)*1000/8) + tagBytes
}

// readAnswer reads a provider's answer of at most limit bytes. An answer
// past the limit is a bad answer, retried like any other; a read error is
// returned as it is, for the provider to classify.
func readAnswer(provider string, r io.Reader, req Request, limit int64) ([]byte, error) {
	audio, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(audio)) > limit {
		return nil, overLimit(provider, req, limit)
	}
	return audio, nil
}

func overLimit(provider string, req Request, limit int64) error {
	return fault.Retry(fmt.Errorf("synth: %s: %w: answer over %d bytes, more than %d characters can take to say",
		provider, ErrBadAudio, limit, utf8.RuneCountInString(req.Text)), 0)
}
