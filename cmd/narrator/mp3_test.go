package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestMP3JoinAndInspect(t *testing.T) {
	var ins []string
	for i, d := range []time.Duration{2 * time.Second, 3 * time.Second} {
		b := mp3test.Encode(t, mp3test.Speech(24000, 1, d, -20, uint64(i)), "-b", "160")
		ins = append(ins, mp3test.WriteFile(t, []string{"intro.mp3", "body.mp3"}[i], b))
	}
	out := filepath.Join(t.TempDir(), "joined.mp3")
	code, stdout, stderr := runCmd(t, append([]string{"mp3", "join", "-o", out, "--title", "Joined", "--chapters", "--pause", "800ms"}, ins...)...)
	if code != 0 {
		t.Fatalf("join exited %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "validation: all checks passed") {
		t.Errorf("join printed %q", stdout)
	}

	code, stdout, stderr = runCmd(t, "mp3", "inspect", "--json", out)
	if code != 0 {
		t.Fatalf("inspect exited %d: %s", code, stderr)
	}
	var a mp3.Analysis
	if err := json.Unmarshal([]byte(stdout), &a); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, stdout)
	}
	if !a.OK() || a.DecodedSamples != a.Samples || len(a.Tags) != 1 || a.Tags[0].Info.Text["TIT2"] != "Joined" {
		t.Errorf("inspected %+v", a)
	}
	if ch := a.Tags[0].Info.Chapters; len(ch) != 2 || ch[0].Title != "intro" || ch[1].Title != "body" {
		t.Errorf("chapters %+v", ch)
	}

	code, stdout, _ = runCmd(t, "mp3", "inspect", out)
	if code != 0 || !strings.Contains(stdout, "MPEG-2 Layer III 24000 Hz mono") || !strings.Contains(stdout, "problems    none") {
		t.Errorf("inspect exited %d:\n%s", code, stdout)
	}
}

func TestMP3CommandErrors(t *testing.T) {
	garbage := mp3test.WriteFile(t, "garbage.mp3", bytes.Repeat([]byte("not audio "), 100))
	good := mp3test.WriteFile(t, "good.mp3", mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 1), "-b", "160"))
	other := mp3test.WriteFile(t, "other.mp3", mp3test.Encode(t, mp3test.Speech(44100, 1, time.Second, -20, 1), "-b", "128"))
	out := filepath.Join(t.TempDir(), "out.mp3")
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"join without -o", []string{"mp3", "join", good}, 2, "-o OUT is required"},
		{"join without inputs", []string{"mp3", "join", "-o", out}, 2, "at least one input"},
		{"inspect two files", []string{"mp3", "inspect", good, good}, 2, "exactly one FILE"},
		{"inspect garbage", []string{"mp3", "inspect", garbage}, 1, "no MPEG audio Layer III frames"},
		{"join formats that differ", []string{"mp3", "join", "-o", out, good, other}, 1, "chunk 1 is MPEG-1 Layer III 44100 Hz mono"},
		{"join a missing file", []string{"mp3", "join", "-o", out, good, "/nonexistent.mp3"}, 1, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q (stdout %q); want %d and %q", code, stderr, stdout, tc.code, tc.want)
			}
		})
	}
}

// TestMP3JoinPublishesRealSpeech joins speech as services deliver it (the
// real-speech matrix at 24 kHz): the join succeeds below the target, says
// so, and `mp3 inspect` reads it back from the file; with --keep-loudness
// the inputs are checked for structure only, with --verify decoded too.
func TestMP3JoinPublishesRealSpeech(t *testing.T) {
	var ins []string
	for i, f := range speechgen.Rows(24000) {
		b, err := speechgen.Render(t.Context(), f.Text, f.Options)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, mp3test.WriteFile(t, fmt.Sprintf("c%02d.mp3", i), b))
	}
	out := filepath.Join(t.TempDir(), "joined.mp3")
	code, stdout, stderr := runCmd(t, append([]string{"mp3", "join", "-o", out}, ins...)...)
	if code != 0 || !strings.Contains(stdout, "loudness: peak-limited: ") || !strings.Contains(stdout, "validation: all checks passed, with warnings: ") {
		t.Fatalf("join exited %d:\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCmd(t, "mp3", "inspect", out)
	if code != 0 || !strings.Contains(stdout, "  joined      peak-limited: ") {
		t.Errorf("inspect exited %d:\n%s", code, stdout)
	}

	for _, tc := range []struct {
		flags  []string
		decode bool
	}{
		{[]string{"--keep-loudness"}, false},
		{[]string{"--keep-loudness", "--verify"}, true},
	} {
		code, stdout, stderr := runCmd(t, append(append([]string{"mp3", "join", "--json", "-o", out}, tc.flags...), ins...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.flags, code, stderr)
		}
		var res stitch.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		decoded := false
		for _, c := range res.Report.Checks {
			decoded = decoded || c.Name == stitch.CheckDecode
		}
		if decoded != tc.decode || res.Report.Loudness != nil || !res.Report.OK {
			t.Errorf("%v: decode checked %v, want %v; report %s", tc.flags, decoded, tc.decode, res.Report.Summary())
		}
	}
}
