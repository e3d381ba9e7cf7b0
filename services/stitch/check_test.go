package stitch_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/stitch"
)

func TestCheckChunk(t *testing.T) {
	speech := func(d time.Duration) mp3test.PCM { return mp3test.Speech(24000, 1, d, -20, 9) }
	withGap := func() mp3test.PCM {
		a, b := speech(2*time.Second), speech(2*time.Second)
		gap := make([]int16, 24000*3)
		return mp3test.PCM{Rate: 24000, Channels: 1, Samples: append(append(a.Samples, gap...), b.Samples...)}
	}
	text := func(d time.Duration) string {
		return strings.Repeat("a", int(d.Minutes()*stitch.DefaultCharsPerMinute))
	}
	cases := []struct {
		name   string
		audio  []byte
		text   string
		want   mp3.Format
		failed []string // checks that fail: the chunk is rejected
		warned []string // heuristic checks that fail: the chunk is kept, with warnings
	}{
		{name: "good speech", audio: mp3test.Encode(t, speech(4*time.Second), "-b", "160"), text: text(4 * time.Second), want: mp3.FormatOpenAI},
		{name: "good speech without lame tag", audio: mp3test.Encode(t, speech(4*time.Second), "-b", "160", "-t"), text: text(4 * time.Second), want: mp3.FormatOpenAI},
		{name: "any format", audio: mp3test.Encode(t, mp3test.Speech(44100, 2, 3*time.Second, -20, 1), "-b", "128"), text: text(3 * time.Second)},
		{name: "digital silence", audio: mp3test.Encode(t, mp3test.PCM{Rate: 24000, Channels: 1, Samples: make([]int16, 24000*4)}, "-b", "160"),
			text: text(4 * time.Second), want: mp3.FormatOpenAI, failed: []string{stitch.CheckSilent}},
		{name: "cut off mid-sound", audio: mp3test.Encode(t, mp3test.Tone(24000, 1, 4*time.Second, 220, -6), "-b", "160"),
			text: text(4 * time.Second), want: mp3.FormatOpenAI, warned: []string{stitch.CheckAbruptEnd}},
		{name: "long silence inside", audio: mp3test.Encode(t, withGap(), "-b", "160"), text: text(7 * time.Second), want: mp3.FormatOpenAI, warned: []string{stitch.CheckSilence}},
		{name: "too short for its text", audio: mp3test.Encode(t, speech(3*time.Second), "-b", "160"), text: text(30 * time.Second), want: mp3.FormatOpenAI, warned: []string{stitch.CheckDuration}},
		{name: "too long for its text", audio: mp3test.Encode(t, speech(20*time.Second), "-b", "160"), text: text(5 * time.Second), want: mp3.FormatOpenAI, warned: []string{stitch.CheckDuration}},
		{name: "another format", audio: mp3test.Encode(t, mp3test.Speech(22050, 1, 3*time.Second, -20, 1), "-b", "64"), text: text(3 * time.Second), want: mp3.FormatOpenAI, failed: []string{stitch.CheckFormat}},
		{name: "junk appended", audio: append(mp3test.Encode(t, speech(3*time.Second), "-b", "160"), bytes.Repeat([]byte("<html>error</html>"), 20)...),
			text: text(3 * time.Second), want: mp3.FormatOpenAI, failed: []string{stitch.CheckStructure}},
		{name: "not audio", audio: []byte(`{"error": {"message": "rate limited"}}`), text: "hello", want: mp3.FormatOpenAI, failed: []string{stitch.CheckStructure}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := stitch.CheckChunk(context.Background(), bytes.NewReader(tc.audio), tc.text, tc.want, stitch.Config{})
			if len(tc.failed) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if !c.Report.OK || c.Analysis.Loudness <= mp3.Silent {
					t.Errorf("report %+v", c.Report)
				}
				var names []string
				for _, w := range c.Report.Warnings() {
					names = append(names, w.Name)
				}
				if strings.Join(names, ",") != strings.Join(tc.warned, ",") {
					t.Errorf("warnings %v, want %v (%s)", names, tc.warned, c.Report.Summary())
				}
				return
			}
			if !errors.Is(err, stitch.ErrRejected) {
				t.Fatalf("error %v, want ErrRejected", err)
			}
			var names []string
			for _, f := range c.Report.Failed() {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed checks %v, want %v (%s)", names, tc.failed, c.Report.Summary())
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  stitch.Config
		want string
	}{
		{"positive target", stitch.Config{Target: 3}, "loudness target"},
		{"peak above full scale", stitch.Config{PeakCeiling: 1}, "peak ceiling"},
		{"speed", stitch.Config{Speed: 10}, "speed"},
		{"encoder string", stitch.Config{Encoder: "much-too-long"}, "encoder string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := stitch.CheckChunk(context.Background(), bytes.NewReader(nil), "", mp3.Format{}, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %s", err, tc.want)
			}
		})
	}
}
