package publish

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
)

// Artwork limits, as Apple Podcasts sets them; Spotify and the Podcast
// Index take the same.
const (
	ArtworkMin = 1400
	ArtworkMax = 3000
)

// ErrArtwork is the cause of artwork podcast directories refuse.
var ErrArtwork = errors.New("publish: artwork refused")

// Artwork describes a podcast image.
type Artwork struct {
	Format        string // "jpeg" or "png"
	Width, Height int
	Bytes         int
}

// CheckArtwork reads an image's header and says what podcast directories
// would refuse: anything but a square RGB JPEG or PNG of 1400 to 3000
// pixels. Every problem found is in the error, joined.
func CheckArtwork(data []byte) (Artwork, error) {
	a := Artwork{Bytes: len(data)}
	var (
		cfg image.Config
		err error
	)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		a.Format = "png"
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		a.Format = "jpeg"
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
	default:
		return a, fmt.Errorf("%w: it is not a JPEG or PNG image (it starts % x)", ErrArtwork, data[:min(len(data), 8)])
	}
	if err != nil {
		return a, fmt.Errorf("%w: the %s image cannot be read: %w", ErrArtwork, a.Format, err)
	}
	a.Width, a.Height = cfg.Width, cfg.Height
	var wrong []string
	if a.Width != a.Height {
		wrong = append(wrong, fmt.Sprintf("it is %d×%d pixels and must be square", a.Width, a.Height))
	}
	if max(a.Width, a.Height) > ArtworkMax || min(a.Width, a.Height) < ArtworkMin {
		wrong = append(wrong, fmt.Sprintf("each side must be %d to %d pixels, not %d×%d", ArtworkMin, ArtworkMax, a.Width, a.Height))
	}
	if cfg.ColorModel == color.CMYKModel {
		wrong = append(wrong, "it is CMYK and must be RGB")
	}
	if len(wrong) > 0 {
		return a, fmt.Errorf("%w: %s", ErrArtwork, strings.Join(wrong, "; "))
	}
	return a, nil
}
