package mpframe

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// frame builds a Layer III frame of the given header bytes, filled out to
// its size, with main_data_begin mdb.
func frame(t testing.TB, b1, b2, b3 byte, mdb byte) []byte {
	t.Helper()
	h, err := Parse([]byte{0xFF, b1, b2, b3})
	if err != nil {
		t.Fatal(err)
	}
	f := make([]byte, h.Size)
	copy(f, []byte{0xFF, b1, b2, b3})
	f[4] = mdb
	return f
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want Header
		err  bool
	}{
		{"openai 24k mono 160", []byte{0xFF, 0xF3, 0xE4, 0xC4}, Header{Version: MPEG2, Bitrate: 160, SampleRate: 24000, Channels: 1, Size: 480, Samples: 576}, false},
		{"polly 24k mono 48", []byte{0xFF, 0xF3, 0x64, 0xC4}, Header{Version: MPEG2, Bitrate: 48, SampleRate: 24000, Channels: 1, Size: 144, Samples: 576}, false},
		{"mpeg1 44.1k stereo 128 padded", []byte{0xFF, 0xFB, 0x92, 0x00}, Header{Version: MPEG1, Bitrate: 128, SampleRate: 44100, Channels: 2, Padding: true, Size: 418, Samples: 1152}, false},
		{"with crc", []byte{0xFF, 0xF2, 0xE4, 0xC4}, Header{Version: MPEG2, Bitrate: 160, SampleRate: 24000, Channels: 1, CRC: true, Size: 480, Samples: 576}, false},
		{"layer ii", []byte{0xFF, 0xF5, 0xE4, 0xC4}, Header{}, true},
		{"free format", []byte{0xFF, 0xF3, 0x04, 0xC4}, Header{}, true},
		{"bad bitrate", []byte{0xFF, 0xF3, 0xF4, 0xC4}, Header{}, true},
		{"reserved rate", []byte{0xFF, 0xF3, 0xEC, 0xC4}, Header{}, true},
		{"reserved version", []byte{0xFF, 0xEB, 0xE4, 0xC4}, Header{}, true},
		{"no sync", []byte{0x49, 0x44, 0x33, 0x04}, Header{}, true},
		{"short", []byte{0xFF, 0xF3}, Header{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.b)
			if tc.err {
				if !errors.Is(err, ErrNoFrame) {
					t.Fatalf("err = %v, want ErrNoFrame", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestScan(t *testing.T) {
	f0 := frame(t, 0xF3, 0xE4, 0xC4, 0)
	f1 := frame(t, 0xF3, 0xE4, 0xC4, 17)
	id3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x05"), 1, 2, 3, 4, 5)
	v1 := append([]byte("TAG"), make([]byte, 125)...)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name   string
		b      []byte
		frames int
		err    error
	}{
		{"frames", join(f0, f1, f1), 3, nil},
		{"id3v2 then frames then id3v1", join(id3, f0, f1, v1), 2, nil},
		{"cut mid-frame", join(f0, f1[:200]), 1, ErrTruncated},
		{"stray bytes", join(f0, []byte{0xFF, 0xF3}), 1, ErrTruncated},
		{"junk between frames", join(f0, []byte("<html>"), f1), 1, ErrNoFrame},
		{"not mp3", []byte(`{"error":{"message":"x"}}`), 0, ErrNoFrame},
		{"tag longer than data", id3[:12], 0, ErrTruncated},
		{"empty", nil, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := Scan(tc.b)
			if !errors.Is(err, tc.err) || len(fs) != tc.frames {
				t.Errorf("%d frames, err %v; want %d frames, err %v", len(fs), err, tc.frames, tc.err)
			}
		})
	}
	fs, _ := Scan(join(f0, f1))
	if MainDataBegin(f0, fs[0].Header) != 0 || MainDataBegin(f1, fs[1].Header) != 17 {
		t.Error("main_data_begin misread")
	}
}

func TestLameOutput(t *testing.T) {
	if _, err := exec.LookPath("lame"); err != nil {
		t.Fatal("lame not found in PATH: install it (Debian: apt-get install lame)")
	}
	// One second of silence, with and without lame's Info frame.
	raw := make([]byte, 2*24000)
	for _, tc := range []struct {
		args []string
		tag  bool
	}{{[]string{"-t"}, false}, {nil, true}} {
		// A file, not a pipe: lame writes its Info frame only where it can seek.
		path := filepath.Join(t.TempDir(), "out.mp3")
		cmd := exec.Command("lame", append([]string{"--quiet", "-r", "-s", "24", "--bitwidth", "16", "--signed", "--little-endian", "-m", "m", "--cbr", "-b", "160"}, append(tc.args, "-", path)...)...)
		cmd.Stdin = bytes.NewReader(raw)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := Scan(out)
		if err != nil || len(fs) < 40 {
			t.Fatalf("%d frames, %v", len(fs), err)
		}
		first := out[fs[0].Offset : fs[0].Offset+fs[0].Header.Size]
		if IsTag(first, fs[0].Header) != tc.tag {
			t.Errorf("lame %v: first frame is a tag: %v, want %v", tc.args, !tc.tag, tc.tag)
		}
		if h := fs[len(fs)-1].Header; h.Version != MPEG2 || h.SampleRate != 24000 || h.Channels != 1 || h.Bitrate != 160 {
			t.Errorf("header %+v", h)
		}
	}
}

func FuzzScan(f *testing.F) {
	f.Add(frame(f, 0xF3, 0xE4, 0xC4, 0))
	f.Add([]byte("ID3\x04\x00\x00\x00\x00\x00\x05xxxxx\xff\xf3\xe4\xc4"))
	f.Add([]byte("TAG"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, _ := Scan(b)
		end := 0
		for i, fr := range fs {
			if fr.Offset < end || fr.Offset+fr.Header.Size > len(b) {
				t.Fatalf("frame %d at %d+%d overlaps or overruns %d bytes", i, fr.Offset, fr.Header.Size, len(b))
			}
			end = fr.Offset + fr.Header.Size
			f := b[fr.Offset:end]
			MainDataBegin(f, fr.Header)
			IsTag(f, fr.Header)
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0xFF, 0xF3, 0xE4, 0xC4})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Parse(b)
		if err != nil {
			return
		}
		if h.Size < 4+9 || h.Samples == 0 || h.SampleRate == 0 || h.Bitrate == 0 {
			t.Errorf("implausible header %+v from % x", h, b[:4])
		}
	})
}
