package stitch_test

import (
	"encoding/json"
	"os/exec"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// TestLAMETagTellsTheTruth reads a join's LAME tag with mediainfo, which
// reports the encoder settings it states: a constant bitrate of 160 kbit/s
// in mono, and no VBR quality (there was no encoding to have one).
func TestLAMETagTellsTheTruth(t *testing.T) {
	mediainfo := mp3test.Tool(t, "mediainfo", "mediainfo")
	for _, tc := range []struct {
		name     string
		channels int
		args     []string
		want     string
	}{
		{"mono CBR", 1, []string{"-b", "160", "-t"}, "-m m -b 160"},
		{"joint stereo CBR", 2, []string{"-b", "128"}, "-m j -b 128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rate := 24000
			if tc.channels == 2 {
				rate = 44100
			}
			inputs, _ := fixtureChunks(t, rate, tc.channels, []chunkAudio{
				{dur: 2 * time.Second, levelDB: -20, lameArgs: tc.args},
				{dur: 2 * time.Second, levelDB: -20, lameArgs: tc.args, brk: script.BreakParagraph},
			})
			_, path, err := join(t, inputs, stitch.Metadata{}, stitch.Config{KeepLoudness: true})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(mediainfo, "--Output=JSON", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			var mi struct {
				Media struct {
					Track []map[string]any `json:"track"`
				} `json:"media"`
			}
			if err := json.Unmarshal(out, &mi); err != nil {
				t.Fatal(err)
			}
			for _, tr := range mi.Media.Track {
				if tr["@type"] != "Audio" {
					continue
				}
				if tr["BitRate_Mode"] != "CBR" || tr["Encoded_Library_Settings"] != tc.want {
					t.Errorf("mediainfo: bitrate mode %v, settings %q; want CBR and %q", tr["BitRate_Mode"], tr["Encoded_Library_Settings"], tc.want)
				}
				return
			}
			t.Fatalf("mediainfo found no audio track: %s", out)
		})
	}
}
