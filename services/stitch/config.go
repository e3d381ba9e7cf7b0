// Package stitch joins the chunk MP3s of one narration into the published
// file, without re-encoding: frames are copied in order, each chunk's gain
// is set through its frames' global_gain, silent frames make the pauses,
// and one ID3v2.4 tag with chapters and one Xing/Info frame with a LAME tag
// head the file. It also checks each chunk right after synthesis, so that
// the join itself needs neither to decode nor to scan twice.
package stitch

import (
	"errors"
	"fmt"
	"time"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/script"
)

// Config tunes the join and the checks. The zero value, after defaults, is
// the house style: podcast loudness, a news reader's pauses.
type Config struct {
	// Pauses is the silence before a chunk for each kind of break.
	Pauses script.Pauses
	// Target is the loudness chunks are matched to, in LUFS.
	Target float64
	// KeepLoudness leaves every chunk's gain as it is.
	KeepLoudness bool
	// PeakCeiling is the highest true peak (dBTP) a gain change may reach.
	PeakCeiling float64
	// Tolerance is how far (LU) the result may be from Target.
	Tolerance float64
	// CharsPerMinute is the speaking rate at speed 1.0 that durations are
	// checked against; a chunk or file outside 0.5× to 2× of it is flagged.
	CharsPerMinute float64
	// Speed is the speech speed the provider was asked for.
	Speed float64
	// SilenceThreshold is the level (dBFS) below which audio is silence.
	SilenceThreshold float64
	// AbruptLevel is the level (dBFS) above which the last 50 ms of a chunk
	// mean the speech was cut off rather than ended.
	AbruptLevel float64
	// Encoder is written as the LAME tag's version string. Decoders such as
	// ffmpeg honour delay and padding only after "LAME", "Lavf" or "Lavc".
	Encoder string
	// Verify decodes, in full, every chunk a join must analyse itself
	// (those without a stored check). Matching loudness needs the decode
	// anyway; with KeepLoudness and without Verify, chunks are checked for
	// structure only (every frame, the format, the bit reservoir), which
	// costs a read, not a decode.
	Verify bool
	// Parallel bounds how many chunks are analysed at once when a join must
	// analyse them itself.
	Parallel int
	// Signer, when set, embeds Content Credentials: a C2PA manifest store,
	// reserved in the tag before the audio and signed once the file is
	// written. The output must then be a file (io.ReaderAt and io.WriterAt).
	Signer *c2pa.Signer
}

// Defaults.
const (
	DefaultTarget         = -16.0 // LUFS: the podcast norm
	DefaultPeakCeiling    = -1.0  // dBTP, as podcast platforms ask
	DefaultTolerance      = 1.0   // LU
	DefaultCharsPerMinute = 950.0 // a news reader at speed 1.0
	DefaultAbruptLevel    = -40.0 // dBFS
	DefaultEncoder        = "LAME3.100"
)

func (c *Config) setDefaults() {
	if c.Pauses == (script.Pauses{}) {
		c.Pauses = script.DefaultPauses
	}
	if c.Target == 0 {
		c.Target = DefaultTarget
	}
	if c.PeakCeiling == 0 {
		c.PeakCeiling = DefaultPeakCeiling
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.CharsPerMinute == 0 {
		c.CharsPerMinute = DefaultCharsPerMinute
	}
	if c.Speed == 0 {
		c.Speed = 1
	}
	if c.SilenceThreshold == 0 {
		c.SilenceThreshold = -50
	}
	if c.AbruptLevel == 0 {
		c.AbruptLevel = DefaultAbruptLevel
	}
	if c.Encoder == "" {
		c.Encoder = DefaultEncoder
	}
	if c.Parallel <= 0 {
		c.Parallel = 4
	}
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Pauses.Paragraph < 0 || c.Pauses.Title < 0 || c.Pauses.Section < 0 {
		errs = append(errs, fmt.Errorf("pauses must not be negative (got %+v)", c.Pauses))
	}
	if c.Pauses.Longest() > time.Minute {
		errs = append(errs, fmt.Errorf("a pause of %s is longer than a minute", c.Pauses.Longest()))
	}
	if c.Target > 0 || c.Target < -70 {
		errs = append(errs, fmt.Errorf("loudness target %.1f LUFS is outside -70..0", c.Target))
	}
	if c.PeakCeiling > 0 {
		errs = append(errs, fmt.Errorf("peak ceiling %.1f dBTP is above full scale", c.PeakCeiling))
	}
	if c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("loudness tolerance %.1f LU is negative", c.Tolerance))
	}
	if c.Speed < 0.25 || c.Speed > 4 {
		errs = append(errs, fmt.Errorf("speed %.2f is outside 0.25..4", c.Speed))
	}
	if c.CharsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("characters per minute %.0f is negative", c.CharsPerMinute))
	}
	if len(c.Encoder) > 9 {
		errs = append(errs, fmt.Errorf("encoder string %q is longer than the LAME tag's nine bytes", c.Encoder))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stitch: config: %w", err)
	}
	return nil
}

// structureOnly reports whether chunks a join analyses are not decoded.
func (c Config) structureOnly() bool { return c.KeepLoudness && !c.Verify }

// expected returns the plausible playing time of chars characters.
func (c Config) expected(chars int) time.Duration {
	return time.Duration(float64(chars) / (c.CharsPerMinute * c.Speed) * float64(time.Minute))
}
