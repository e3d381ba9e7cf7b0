package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

func init() {
	register(&command{Name: "mp3 inspect", Summary: "show an MP3's format, duration, loudness, tags, chapters and problems", Run: runMP3Inspect})
	register(&command{Name: "mp3 join", Summary: "join MP3s without re-encoding, as the stitch stage does", Run: runMP3Join})
}

func runMP3Inspect(ctx context.Context, args []string, sio stdio) error {
	fs := newFlags("mp3 inspect", "[--json] FILE", sio)
	asJSON := fs.Bool("json", false, "print the analysis as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"want exactly one FILE"}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := mp3.Analyze(ctx, f, mp3.Options{Decode: true, Tags: true})
	if err != nil && !errors.Is(err, mp3.ErrNoFrames) {
		return err
	}
	cr, err2 := contentCredentials(f)
	err = errors.Join(err, err2)
	if *asJSON {
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		out := struct {
			*mp3.Analysis
			ContentCredentials *c2pa.Report `json:"content_credentials"`
		}{a, cr}
		if jerr := enc.Encode(out); jerr != nil {
			return jerr
		}
		return err
	}
	printAnalysis(sio.Out, fs.Arg(0), a)
	printCredentials(sio.Out, cr)
	return err
}

// contentCredentials verifies the file's C2PA manifest store, if it has
// one; a store that fails a check is an error.
func contentCredentials(f *os.File) (*c2pa.Report, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	rep, err := c2pa.VerifyMP3(f, st.Size())
	if errors.Is(err, c2pa.ErrNoManifest) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !rep.Valid() {
		return rep, fmt.Errorf("content credentials do not verify: %s", strings.Join(rep.Problems, "; "))
	}
	return rep, nil
}

func printCredentials(w io.Writer, r *c2pa.Report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	if r == nil {
		p("  credentials none (no C2PA manifest)")
		return
	}
	state := "valid: signature, assertions and data hash match"
	if !r.Valid() {
		state = "INVALID"
	}
	p("  credentials C2PA manifest %s, %d bytes at %d, %s", r.Label, r.Size, r.Offset, state)
	p("    signer    %s (issuer %s, %s, expires %s; trust is for validators' lists)", r.Signer, r.Issuer, r.Algorithm, r.Expires.Format(time.DateOnly))
	p("    action    %s by %s, source %s", r.Action, r.SoftwareAgent, r.DigitalSourceType)
	if r.Description != "" {
		p("    says      %s", r.Description)
	}
	p("    claim     %q by %s; assertions %s; time-stamped %v", r.Title, r.Generator, strings.Join(r.Assertions, ", "), r.Timestamped)
	for _, pr := range r.Problems {
		p("    problem   %s", pr)
	}
}

func printAnalysis(w io.Writer, name string, a *mp3.Analysis) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("%s", name)
	if a.Frames > 0 {
		mode := "VBR"
		if a.CBR {
			mode = "CBR"
		}
		p("  format      %s, %s %d kbps", a.Format, mode, a.Bitrate/1000)
		p("  frames      %d (%d bytes), %d samples", a.Frames, a.Bytes, a.Samples)
		gapless := "no LAME tag: taken as 0"
		if a.Gapless {
			gapless = "from the LAME tag"
		}
		p("  duration    %s (delay %d, padding %d samples, %s)", a.Duration.Round(time.Millisecond), a.Delay, a.Padding, gapless)
	}
	if in := a.Info; in != nil {
		line := fmt.Sprintf("%s: %d frames, %d bytes, TOC %v", in.Tag, in.Frames, in.Bytes, in.HasTOC)
		if l := in.LAME; l != nil {
			line += fmt.Sprintf("; LAME tag %q, tag CRC ok %v", l.Encoder, l.TagCRCValid)
		}
		p("  header      %s", line)
	}
	if a.Decoded {
		p("  loudness    %.1f LUFS, true peak %.1f dBTP", a.Loudness, mp3.DB(a.Peak))
		if plan := joinedLoudness(a); plan != "" {
			p("  joined      %s", plan)
		}
		p("  silence     leading %s, trailing %s, longest inside %s; end level %.1f dBFS",
			a.LeadingSilence, a.TrailingSilence, a.LongestSilence, a.EndLevel)
	}
	for _, t := range a.Tags {
		p("  tag         %s at %d, %d bytes", t.Kind, t.Offset, t.Size)
		if t.Info == nil {
			continue
		}
		keys := make([]string, 0, len(t.Info.Text))
		for k := range t.Info.Text {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p("    %-9s %s", k, t.Info.Text[k])
		}
		for k, v := range t.Info.URLs {
			p("    %-9s %s", k, v)
		}
		for _, pic := range t.Info.Pictures {
			p("    APIC      %s, type %d, %d bytes", pic.MIME, pic.Type, pic.Size)
		}
		for _, c := range t.Info.Chapters {
			p("    chapter   %s–%s %q (bytes %d–%d)", c.Start, c.End, c.Title, c.StartOffset, c.EndOffset)
		}
	}
	if len(a.Problems) == 0 {
		p("  problems    none")
	}
	for _, pr := range a.Problems {
		p("  problem     %s", pr)
	}
}

// joinedLoudness is the loudness report a join wrote into the file's tag:
// target, loudness reached, whether peaks limited it, the largest step
// between chunks.
func joinedLoudness(a *mp3.Analysis) string {
	for _, t := range a.Tags {
		if t.Info != nil {
			if v := t.Info.Text["TXXX:"+stitch.LoudnessDescription]; v != "" {
				return v
			}
		}
	}
	return ""
}

func runMP3Join(ctx context.Context, args []string, sio stdio) error {
	fs := newFlags("mp3 join", "[flags] -o OUT IN...", sio)
	out := fs.String("o", "", "write the joined MP3 to `OUT` (required)")
	pause := fs.Duration("pause", script.DefaultPauses.Paragraph, "silence between inputs")
	target := fs.Float64("target", stitch.DefaultTarget, "loudness target in LUFS; a join whose peaks stop it short is written below it, saying so")
	keep := fs.Bool("keep-loudness", false, "leave each input's loudness as it is; inputs are then checked for structure only (every frame, the format, the bit reservoir), a read, not a decode: the join then costs about what cat does")
	verify := fs.Bool("verify", false, "decode every input in full with go-mp3 (about 0.3 s of CPU a minute of audio), which matching loudness does anyway; with --keep-loudness, check the audio too, not only the structure")
	title := fs.String("title", "", "title (TIT2)")
	byline := fs.String("byline", "", "author (TPE1)")
	publication := fs.String("publication", "", "publication (TPE1, TALB)")
	url := fs.String("url", "", "article URL (WOAS)")
	lang := fs.String("language", "", "language, BCP 47 (TLAN)")
	cover := fs.String("cover", "", "cover image `FILE`, JPEG or PNG (APIC)")
	chapters := fs.Bool("chapters", false, "make each input a chapter, titled by its file name")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError{"-o OUT is required"}
	}
	if fs.NArg() == 0 {
		return usageError{"want at least one input file"}
	}
	meta := stitch.Metadata{Title: *title, Byline: *byline, Publication: *publication, URL: *url, Language: *lang}
	if *cover != "" {
		b, err := os.ReadFile(*cover)
		if err != nil {
			return err
		}
		meta.Cover = b
	}
	var inputs []stitch.Input
	for i, path := range fs.Args() {
		if _, err := os.Stat(path); err != nil {
			return err
		}
		c := script.Chunk{Index: i}
		if i > 0 {
			c.Break = script.BreakParagraph
		}
		if *chapters {
			c.Section = i
			meta.Headings = append(meta.Headings, strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)))
		}
		inputs = append(inputs, stitch.Input{Chunk: c, Open: func(context.Context) (io.ReadCloser, error) { return os.Open(path) }})
	}
	cfg := stitch.Config{
		Pauses:       script.Pauses{Paragraph: *pause, Title: *pause, Section: *pause},
		Target:       *target,
		KeepLoudness: *keep,
		Verify:       *verify,
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	res, err := stitch.Stitch(ctx, f, inputs, meta, cfg)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if res == nil {
		_ = os.Remove(*out) // nothing usable was written
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(sio.Out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(res); jerr != nil {
			return jerr
		}
	} else {
		fmt.Fprintf(sio.Out, "%s: %s, %d bytes, %d chapters\n", *out, res.Duration.Round(time.Millisecond), res.Bytes, len(res.Chapters))
		if l := res.Report.Loudness; l != nil {
			fmt.Fprintf(sio.Out, "loudness: %s\n", l)
		}
		for _, r := range res.Report.Repairs {
			fmt.Fprintf(sio.Err, "repaired input %d (%s): %s\n", r.Chunk, fs.Arg(r.Chunk), r.Problem)
		}
		fmt.Fprintf(sio.Out, "validation: %s\n", res.Report.Summary())
	}
	return err
}
