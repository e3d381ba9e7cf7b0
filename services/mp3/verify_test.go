package mp3_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

func TestVerifier(t *testing.T) {
	audio := mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 2), "-b", "160")
	bare := mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 2), "-b", "160", "-t")
	tag, _ := mp3.Tag{Title: "x"}.Bytes()
	other := mp3test.Encode(t, mp3test.Speech(22050, 1, time.Second, -20, 2), "-b", "160", "-t")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name   string
		b      []byte
		ok     bool
		tag    int
		info   bool
		frames int
	}{
		{"tag, info frame, audio", cat(tag, audio), true, len(tag), true, len(audio)/480 - 1},
		{"audio only", bare, true, 0, false, len(bare) / 480},
		{"tag then bare audio", cat(tag, bare), true, len(tag), false, len(bare) / 480},
		{"a second tag", cat(tag, bare, tag), false, 0, false, 0},
		{"junk after audio", cat(bare, []byte("junk")), false, 0, false, 0},
		{"cut inside a frame", bare[:len(bare)-7], false, 0, false, 0},
		{"another format", cat(bare, other), false, 0, false, 0},
		{"nothing", nil, false, 0, false, 0},
	}
	for _, tc := range cases {
		for _, piece := range []int{1, 7, 480, 65536} {
			v := &mp3.Verifier{}
			for b := tc.b; len(b) > 0; b = b[min(piece, len(b)):] {
				v.Write(b[:min(piece, len(b))])
			}
			err := v.Finish()
			if tc.ok != (err == nil) {
				t.Errorf("%s in pieces of %d: error %v", tc.name, piece, err)
				continue
			}
			if err != nil {
				if !errors.Is(err, mp3.ErrStructure) {
					t.Errorf("%s: error %v is not ErrStructure", tc.name, err)
				}
				continue
			}
			if v.TagSize != int64(tc.tag) || (v.Info != nil) != tc.info || v.Frames != tc.frames || v.Format != mp3.FormatOpenAI {
				t.Errorf("%s in pieces of %d: tag %d info %v frames %d format %v", tc.name, piece, v.TagSize, v.Info != nil, v.Frames, v.Format)
			}
		}
	}
}
