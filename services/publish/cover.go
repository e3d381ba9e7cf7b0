package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/gomedium"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/narrator-project/narrator/storage"
)

// CoverSize is the side of a drawn cover in pixels: the largest artwork
// Apple Podcasts takes, so it stays sharp on every screen.
const CoverSize = 3000

// CoverMark is the AI-narration mark every drawn cover carries.
const CoverMark = "Narrated with AI"

// coverVersion names the design: a new design gets new keys, so covers
// cached forever are never stale.
const coverVersion = "cover-1"

// Cover is the artwork drawn for a publication that has none: its name
// and the AI-narration mark on a plain ground, a square PNG Apple
// Podcasts, Spotify and the Podcast Index accept as it is.
type Cover struct {
	Title string
}

// NewCover returns the cover of a publication named title.
func NewCover(title string) *Cover { return &Cover{Title: oneLine(title)} }

// Key is where the cover is stored: named by a hash of what it shows, so
// it is cached forever and a new title gets a new file.
func (c *Cover) Key() string {
	sum := sha256.Sum256([]byte(coverVersion + "\x00" + c.Title))
	slug := Slug(c.Title)
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	if slug != "" {
		slug += "-"
	}
	return Covers + slug + hex.EncodeToString(sum[:8]) + ".png"
}

// grounds are the cover's background colours, one chosen by the title so
// that a newsroom's publications are told apart at a glance; each takes
// white text at well over 7:1 contrast.
var grounds = []color.RGBA{
	{0x14, 0x21, 0x3d, 0xff}, // navy
	{0x1b, 0x3a, 0x2f, 0xff}, // forest
	{0x4a, 0x14, 0x1c, 0xff}, // claret
	{0x23, 0x23, 0x2b, 0xff}, // charcoal
	{0x12, 0x34, 0x4d, 0xff}, // petrol
}

var (
	fontsOnce         sync.Once
	boldFont, medFont *opentype.Font
	errFonts          error
)

func loadFonts() error {
	fontsOnce.Do(func() {
		boldFont, errFonts = opentype.Parse(gobold.TTF)
		if errFonts == nil {
			medFont, errFonts = opentype.Parse(gomedium.TTF)
		}
	})
	return errFonts
}

// drawn keeps the covers this process has drawn, by key: each publisher
// stores a cover once, but a process may run many publishers.
var drawn sync.Map // key → []byte

// PNG draws the cover, or returns it as drawn before in this process.
func (c *Cover) PNG() ([]byte, error) {
	if b, ok := drawn.Load(c.Key()); ok {
		return b.([]byte), nil
	}
	b, err := c.draw()
	if err == nil {
		drawn.Store(c.Key(), b)
	}
	return b, err
}

func (c *Cover) draw() ([]byte, error) {
	if err := loadFonts(); err != nil {
		return nil, fmt.Errorf("publish: cover fonts: %w", err)
	}
	sum := sha256.Sum256([]byte(c.Title))
	ground := grounds[int(sum[0])%len(grounds)]
	white := color.RGBA{0xff, 0xff, 0xff, 0xff}
	accent := color.RGBA{0xff, 0xc8, 0x4a, 0xff}
	img := image.NewRGBA(image.Rect(0, 0, CoverSize, CoverSize))
	draw.Draw(img, img.Bounds(), image.NewUniform(ground), image.Point{}, draw.Src)

	// A sound wave above the name.
	heights := []int{180, 340, 520, 300, 620, 420, 560, 260, 160}
	const barW, gap = 110, 70
	x0 := (CoverSize - len(heights)*barW - (len(heights)-1)*gap) / 2
	for i, h := range heights {
		x := x0 + i*(barW+gap)
		roundRect(img, image.Rect(x, 900-h/2, x+barW, 900+h/2), barW/2, accent)
	}

	// The name, as large as fits between the wave and the mark.
	title := c.Title
	if title == "" {
		title = DefaultTitle
	}
	var face font.Face
	var lines []string
	for size := 380.0; ; size -= 20 {
		f, err := opentype.NewFace(boldFont, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
		if err != nil {
			return nil, fmt.Errorf("publish: cover font: %w", err)
		}
		lines = wrap(f, title, 2500)
		if len(lines)*f.Metrics().Height.Ceil() <= 1000 && widest(f, lines) <= 2500 || size <= 100 {
			face = f
			break
		}
		f.Close()
	}
	defer face.Close()
	lineH := face.Metrics().Height.Ceil()
	y := 1860 - lineH*len(lines)/2 + face.Metrics().Ascent.Ceil()
	for _, l := range lines {
		centre(img, face, l, y, white)
		y += lineH
	}

	// The mark: an "AI" badge and the words.
	mark, err := opentype.NewFace(medFont, &opentype.FaceOptions{Size: 150, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("publish: cover font: %w", err)
	}
	defer mark.Close()
	badge, err := opentype.NewFace(boldFont, &opentype.FaceOptions{Size: 150, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("publish: cover font: %w", err)
	}
	defer badge.Close()
	aiW := font.MeasureString(badge, "AI").Ceil()
	textW := font.MeasureString(mark, CoverMark).Ceil()
	const pad, space = 50, 60
	total := aiW + 2*pad + space + textW
	bx := (CoverSize - total) / 2
	base := 2680
	asc := badge.Metrics().Ascent.Ceil()
	roundRect(img, image.Rect(bx, base-asc-pad, bx+aiW+2*pad, base+pad), 40, white)
	(&font.Drawer{Dst: img, Src: image.NewUniform(ground), Face: badge, Dot: fixed.P(bx+pad, base)}).DrawString("AI")
	(&font.Drawer{Dst: img, Src: image.NewUniform(white), Face: mark, Dot: fixed.P(bx+aiW+2*pad+space, base)}).DrawString(CoverMark)

	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("publish: cover: %w", err)
	}
	return b.Bytes(), nil
}

// wrap breaks s into lines no wider than width, at spaces; a word wider
// than the line stands alone.
func wrap(face font.Face, s string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		try := w
		if cur != "" {
			try = cur + " " + w
		}
		if cur != "" && font.MeasureString(face, try).Ceil() > width {
			lines = append(lines, cur)
			cur = w
			continue
		}
		cur = try
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

func widest(face font.Face, lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, font.MeasureString(face, l).Ceil())
	}
	return w
}

func centre(img draw.Image, face font.Face, s string, y int, c color.Color) {
	w := font.MeasureString(face, s).Ceil()
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P((CoverSize-w)/2, y)}
	d.DrawString(s)
}

// roundRect fills r with corners of radius rad.
func roundRect(img *image.RGBA, r image.Rectangle, rad int, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cx := min(max(x, r.Min.X+rad), r.Max.X-rad-1)
			cy := min(max(y, r.Min.Y+rad), r.Max.Y-rad-1)
			if dx, dy := x-cx, y-cy; dx*dx+dy*dy <= rad*rad {
				img.SetRGBA(x, y, c)
			}
		}
	}
}

// putCover stores a drawn cover unless it is there already.
func (p *Publisher) putCover(ctx context.Context, c *Cover) error {
	key := c.Key()
	p.mu.Lock()
	done := p.covers[key]
	p.mu.Unlock()
	if done {
		return nil
	}
	_, err := p.store.Head(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		var body []byte
		if body, err = c.PNG(); err != nil {
			return err
		}
		err = p.store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), storage.Meta{
			ContentType: "image/png", CacheControl: CacheImmutable,
		})
	}
	if err != nil {
		return fmt.Errorf("publish: cover %s: %w", key, err)
	}
	p.mu.Lock()
	p.covers[key] = true
	p.mu.Unlock()
	return nil
}
