package mp3_test

import (
	"errors"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
)

func TestParseHeader(t *testing.T) {
	cases := []struct {
		name   string
		b      []byte
		err    error
		format mp3.Format
		size   int
		spf    int
		side   int
	}{
		{"mpeg1 128k 44.1k joint stereo", []byte{0xFF, 0xFB, 0x90, 0x64}, nil, mp3.Format{Version: mp3.MPEG1, SampleRate: 44100, Channels: 2}, 417, 1152, 32},
		{"mpeg1 128k 44.1k padded", []byte{0xFF, 0xFB, 0x92, 0x64}, nil, mp3.Format{Version: mp3.MPEG1, SampleRate: 44100, Channels: 2}, 418, 1152, 32},
		{"mpeg1 320k 32k mono", []byte{0xFF, 0xFB, 0xE8, 0xC0}, nil, mp3.Format{Version: mp3.MPEG1, SampleRate: 32000, Channels: 1}, 1440, 1152, 17},
		{"mpeg2 160k 24k mono", []byte{0xFF, 0xF3, 0xE4, 0xC4}, nil, mp3.FormatOpenAI, 480, 576, 9},
		{"mpeg2 protected 64k 22.05k stereo", []byte{0xFF, 0xF2, 0x80, 0x00}, nil, mp3.Format{Version: mp3.MPEG2, SampleRate: 22050, Channels: 2}, 208, 576, 17},
		{"mpeg2.5 8k 8k mono", []byte{0xFF, 0xE3, 0x18, 0xC0}, nil, mp3.Format{Version: mp3.MPEG25, SampleRate: 8000, Channels: 1}, 72, 576, 9},
		{"no sync", []byte{0xFF, 0x1B, 0x90, 0x64}, mp3.ErrNoSync, mp3.Format{}, 0, 0, 0},
		{"reserved version", []byte{0xFF, 0xEB, 0x90, 0x64}, mp3.ErrBadHeader, mp3.Format{}, 0, 0, 0},
		{"layer 2", []byte{0xFF, 0xFD, 0x90, 0x64}, mp3.ErrNotLayer3, mp3.Format{}, 0, 0, 0},
		{"bad bitrate", []byte{0xFF, 0xFB, 0xF0, 0x64}, mp3.ErrBadHeader, mp3.Format{}, 0, 0, 0},
		{"free format", []byte{0xFF, 0xFB, 0x00, 0x64}, mp3.ErrFreeFormat, mp3.Format{}, 0, 0, 0},
		{"reserved sample rate", []byte{0xFF, 0xFB, 0x9C, 0x64}, mp3.ErrBadHeader, mp3.Format{}, 0, 0, 0},
		{"reserved emphasis", []byte{0xFF, 0xFB, 0x90, 0x66}, mp3.ErrBadHeader, mp3.Format{}, 0, 0, 0},
		{"short", []byte{0xFF, 0xFB}, mp3.ErrShortHeader, mp3.Format{}, 0, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := mp3.ParseHeader(tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if h.Format() != tc.format || h.Size() != tc.size || h.Samples() != tc.spf || h.SideInfoSize() != tc.side {
				t.Errorf("format %v size %d samples %d side info %d; want %v %d %d %d", h.Format(), h.Size(), h.Samples(), h.SideInfoSize(), tc.format, tc.size, tc.spf, tc.side)
			}
			if b := h.Bytes(); string(b[:]) != string(tc.b) {
				t.Errorf("encodes back to % x, want % x", b, tc.b)
			}
		})
	}
}

func TestFormatDurations(t *testing.T) {
	f := mp3.FormatOpenAI
	if d := f.Duration(24000); d.Seconds() != 1 {
		t.Errorf("24000 samples at 24 kHz are %s", d)
	}
	if n := f.SamplesIn(f.Duration(12345)); n != 12345 {
		t.Errorf("round trip of 12345 samples gives %d", n)
	}
	if !f.Valid() || (mp3.Format{Version: mp3.MPEG1, SampleRate: 24000, Channels: 1}).Valid() {
		t.Error("Valid accepts the wrong formats")
	}
}
