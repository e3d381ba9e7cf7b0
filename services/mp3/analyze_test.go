package mp3_test

import (
	"bytes"
	"context"
	"math"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

// encoding is one way lame is asked to encode a fixture.
type encoding struct {
	name     string
	rate     int
	channels int
	args     []string
	gapless  bool // lame writes a LAME tag
	tags     []mp3.TagKind
}

var encodings = []encoding{
	{"24k mono cbr", 24000, 1, []string{"-b", "160"}, true, nil},
	{"24k mono cbr no xing", 24000, 1, []string{"-b", "160", "-t"}, false, nil},
	{"24k mono vbr", 24000, 1, []string{"-V", "4"}, true, nil},
	{"24k mono id3v2", 24000, 1, []string{"-b", "64", "--id3v2-only", "--tt", "Chunk", "--ta", "Narrator"}, true, []mp3.TagKind{mp3.TagID3v2}},
	{"44k stereo cbr", 44100, 2, []string{"-b", "128"}, true, nil},
	{"44k stereo vbr id3v1", 44100, 2, []string{"-V", "2", "--id3v1-only", "--tt", "Chunk"}, true, []mp3.TagKind{mp3.TagID3v1}},
	{"44k stereo no xing both tags", 44100, 2, []string{"-b", "96", "-t", "--add-id3v2", "--tt", "Chunk"}, false, []mp3.TagKind{mp3.TagID3v2, mp3.TagID3v1}},
	{"16k mono mpeg2", 16000, 1, []string{"-b", "64"}, true, nil},
	{"16k mono frame too small for a tag", 16000, 1, []string{"-b", "32"}, false, nil},
}

func TestAnalyzeLameFixtures(t *testing.T) {
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			pcm := mp3test.Speech(e.rate, e.channels, 3*time.Second, -20, 1)
			b := mp3test.Encode(t, pcm, e.args...)
			a, err := mp3.Analyze(context.Background(), bytes.NewReader(b), mp3.Options{Decode: true, Tags: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Problems) > 0 {
				t.Fatalf("problems in a clean lame file: %v", a.Problems)
			}
			if a.Format.SampleRate != e.rate || a.Format.Channels != e.channels {
				t.Errorf("format %v, want %d Hz %d channels", a.Format, e.rate, e.channels)
			}
			if a.Gapless != e.gapless {
				t.Errorf("gapless %v, want %v", a.Gapless, e.gapless)
			}
			if e.gapless {
				if a.Info == nil || a.Info.LAME == nil {
					t.Fatalf("no LAME tag found: %+v", a.Info)
				}
				if a.Info.Frames != a.Frames {
					t.Errorf("Xing frame count %d, want %d", a.Info.Frames, a.Frames)
				}
				if !a.Info.LAME.TagCRCValid {
					t.Errorf("LAME tag CRC of a lame file does not check")
				}
				// lame's CRC of its audio frames is ours.
				var crc uint16
				for s := mp3.NewScanner(bytes.NewReader(b)); s.Scan(); {
					if it := s.Item(); it.Kind == mp3.KindFrame {
						crc = mp3.CRC16(crc, it.Data)
					}
				}
				if crc != a.Info.LAME.MusicCRC {
					t.Errorf("music CRC %04x, lame's %04x", crc, a.Info.LAME.MusicCRC)
				}
			}
			if a.DecodedSamples != a.Samples {
				t.Errorf("decoded %d samples, frames promise %d", a.DecodedSamples, a.Samples)
			}
			var kinds []mp3.TagKind
			for _, tg := range a.Tags {
				kinds = append(kinds, tg.Kind)
			}
			if len(kinds) != len(e.tags) || (len(kinds) > 0 && kinds[0] != e.tags[0]) {
				t.Errorf("tags %v, want %v", kinds, e.tags)
			}
			// What a gapless player plays is what the analysis says.
			path := mp3test.WriteFile(t, "a.mp3", b)
			dec := mp3test.Decode(t, path)
			want := a.Samples - int64(a.Delay+a.Padding)
			if !e.gapless {
				want = a.Samples
			}
			if got := int64(dec.Frames()); got != want {
				t.Errorf("ffmpeg decodes %d samples, analysis says %d (delay %d, padding %d)", got, want, a.Delay, a.Padding)
			}
			// ffmpeg's ebur128 filter on the same audio agrees.
			if ref := mp3test.EBUR128(t, path); math.Abs(a.Loudness-ref) > 0.5 {
				t.Errorf("loudness %.2f LUFS, ffmpeg ebur128 says %.2f", a.Loudness, ref)
			}
			if ref, got := mp3test.TruePeak(t, path), 20*math.Log10(a.Peak); math.Abs(got-ref) > 0.3 {
				t.Errorf("true peak %.2f dBTP, ffmpeg ebur128 says %.1f", got, ref)
			}
		})
	}
}
