package stitch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

func analyze(t testing.TB, b []byte) *mp3.Analysis {
	t.Helper()
	a, err := mp3.Analyze(context.Background(), bytes.NewReader(b), mp3.Options{Decode: true})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStitchJoinsFramesExactly(t *testing.T) {
	cases := []struct {
		name     string
		rate, ch int
		args     [][]string // lame options per chunk
	}{
		{"24k mono cbr with xing", 24000, 1, [][]string{{"-b", "160"}, {"-b", "160"}, {"-b", "160"}}},
		{"24k mono cbr without xing", 24000, 1, [][]string{{"-b", "160", "-t"}, {"-b", "160", "-t"}, {"-b", "160", "-t"}}},
		{"24k mono vbr with id3v2", 24000, 1, [][]string{{"-V", "5", "--tt", "one"}, {"-V", "5", "--add-id3v2", "--tt", "two"}, {"-V", "5"}}},
		{"24k mono mixed tags and headers", 24000, 1, [][]string{{"-b", "160", "-t"}, {"-b", "160", "--id3v1-only", "--tt", "x"}, {"-b", "160"}}},
		{"44k stereo cbr", 44100, 2, [][]string{{"-b", "128"}, {"-b", "128"}, {"-b", "128"}}},
		{"44k stereo vbr with tags", 44100, 2, [][]string{{"-V", "2", "--add-id3v2", "--tt", "a"}, {"-V", "2"}, {"-V", "2", "-t"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := []chunkAudio{
				{dur: 3 * time.Second, levelDB: -20, section: -1},
				{dur: 4 * time.Second, levelDB: -22, section: 0, brk: script.BreakTitle},
				{dur: 3 * time.Second, levelDB: -20, section: 1, brk: script.BreakSection},
			}
			for i := range specs {
				specs[i].lameArgs = tc.args[i]
			}
			inputs, raw := fixtureChunks(t, tc.rate, tc.ch, specs)
			res, path, err := join(t, inputs, stitch.Metadata{Title: "Title", Headings: []string{"", "Two"}}, stitch.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Report.OK {
				t.Fatalf("report: %s", res.Report.Summary())
			}

			// The playing samples are the chunks' own, plus what lies
			// between them: inserted silence, and the padding and delay
			// each inner boundary keeps.
			// Players skip the first chunk's delay and the last one's
			// padding, which covers at least the decoder's delay of 529
			// samples.
			var want int64
			for i, b := range raw {
				a := analyze(t, b)
				want += a.Samples + res.Format.SamplesIn(res.Chunks[i].Pause)
				if i == 0 {
					want -= int64(a.Delay)
				}
				if i == len(raw)-1 {
					want -= int64(max(a.Padding, mp3.DecoderDelay))
				}
			}
			if res.Samples != want {
				t.Errorf("result says %d samples, chunks and pauses add up to %d", res.Samples, want)
			}
			if dec := mp3test.Decode(t, path); int64(dec.Frames()) != res.Samples {
				t.Errorf("ffmpeg decodes %d samples, result says %d", dec.Frames(), res.Samples)
			}

			// go-mp3 decodes every frame the file has.
			out, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			oa := analyze(t, out)
			if !oa.OK() || oa.DecodedSamples != oa.Samples || oa.Frames != res.Frames {
				t.Errorf("output: %d frames, decoded %d of %d samples, problems %v", oa.Frames, oa.DecodedSamples, oa.Samples, oa.Problems)
			}
			if int64(len(out)) != res.Bytes {
				t.Errorf("file is %d bytes, result says %d", len(out), res.Bytes)
			}

			// ffprobe's duration is the Xing frame count's.
			frame := res.Format.Duration(int64(res.Format.FrameSamples()))
			pr := mp3test.Probe(t, path)
			if d := pr.Duration - res.Format.Duration(int64(res.Frames)*int64(res.Format.FrameSamples())); d.Abs() > frame {
				t.Errorf("ffprobe duration %s, frames say %s", pr.Duration, res.Format.Duration(int64(res.Frames)*int64(res.Format.FrameSamples())))
			}
			if w := mp3test.MPG123Warnings(t, path); len(w) > 0 {
				t.Errorf("mpg123 -t: %v", w)
			}
			if p := mp3test.MP3ValProblems(t, path); len(p) > 0 {
				t.Errorf("mp3val: %v", p)
			}
			// The seek table points at the frame playing at each percent,
			// to within 2/256 of the file: offsets inside a chunk are
			// interpolated from its index, which VBR frames stray from.
			var offsets []int64
			sc := mp3.NewScanner(bytes.NewReader(out))
			infoAt := int64(-1)
			for sc.Scan() {
				switch it := sc.Item(); it.Kind {
				case mp3.KindInfo:
					infoAt = it.Offset
				case mp3.KindFrame:
					offsets = append(offsets, it.Offset-infoAt)
				}
			}
			for k, v := range oa.Info.TOC {
				want := offsets[k*len(offsets)/100] * 256 / oa.Info.Bytes
				if d := int64(v) - want; d < -2 || d > 2 {
					t.Errorf("TOC[%d] = %d, the frame at %d%% is at %d/256", k, v, k, want)
				}
			}
			// The LAME tag states the audio's CRC and the bitrate.
			if oa.Info.LAME.MusicCRC != mp3.CRC16(0, out[int64(res.TagSize)+oa.Info.Bytes-oa.Bytes:]) {
				t.Errorf("LAME music CRC %04x does not match the audio", oa.Info.LAME.MusicCRC)
			}
			if br := oa.Info.LAME.Bitrate; br == 0 || (oa.CBR && br*1000 != oa.Bitrate) {
				t.Errorf("LAME tag bitrate %d kbit/s for a stream of %d bit/s (constant: %v)", br, oa.Bitrate, oa.CBR)
			}
		})
	}
}

// splice returns b with extra inserted before the frame nearest the middle.
func splice(t *testing.T, b, extra []byte) []byte {
	t.Helper()
	s := mp3.NewScanner(bytes.NewReader(b))
	var cut int64
	for s.Scan() {
		if it := s.Item(); it.Kind == mp3.KindFrame && it.Offset > int64(len(b)/2) {
			cut = it.Offset
			break
		}
	}
	out := append([]byte{}, b[:cut]...)
	out = append(out, extra...)
	return append(out, b[cut:]...)
}

func id3Tag(t *testing.T) []byte {
	t.Helper()
	b, err := mp3.Tag{Title: "stray tag", Extra: map[string]string{"pad": strings.Repeat("x", 300)}}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStitchBadInputs(t *testing.T) {
	good := func(seed uint64, rate int, args ...string) []byte {
		return mp3test.Encode(t, mp3test.Speech(rate, 1, 3*time.Second, -20, seed), args...)
	}
	a, b := good(1, 24000, "-b", "160"), good(2, 24000, "-b", "160")
	garbage := make([]byte, 50_000)
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	// A stream that starts mid-way, where the reservoir is in use.
	vbr := good(3, 24000, "-V", "0")
	var midway []byte
	s := mp3.NewScanner(bytes.NewReader(vbr))
	for s.Scan() {
		it := s.Item()
		if it.Kind == mp3.KindFrame && it.Offset > int64(len(vbr)/3) && mp3.MainDataBegin(it.Header, it.Data) > 0 {
			midway = vbr[it.Offset:]
			break
		}
	}
	if midway == nil {
		t.Fatal("no frame using the bit reservoir in a VBR stream")
	}

	cases := []struct {
		name    string
		second  []byte
		errWant string          // the error names the chunk and this
		repair  mp3.ProblemCode // or the join mends this
		frames  int             // frames the repair drops
	}{
		{name: "id3v2 tag in the middle", second: splice(t, b, id3Tag(t)), repair: mp3.ProblemTagInside},
		{name: "truncated last frame", second: b[:len(b)-100], repair: mp3.ProblemTruncated, frames: 1},
		{name: "junk between frames", second: splice(t, b, garbage[:777]), repair: mp3.ProblemJunk},
		{name: "concatenated with its own xing frame", second: append(append([]byte{}, b...), b...), repair: mp3.ProblemInfoInside, frames: -analyze(t, b).Frames},
		{name: "another sample rate", second: good(4, 22050, "-b", "160"), errWant: "chunk 1 is MPEG-2 Layer III 22050 Hz mono, chunk 0 is MPEG-2 Layer III 24000 Hz mono"},
		{name: "random garbage", second: garbage, errWant: "chunk 1: mp3: no MPEG audio Layer III frames found"},
		{name: "empty", second: nil, errWant: "chunk 1: mp3: no MPEG audio Layer III frames found"},
		{name: "starts with a full bit reservoir", second: midway, errWant: "chunk 1 starts with a frame that needs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inputs := []stitch.Input{
				{Chunk: script.Chunk{Index: 0}, Open: opener(a)},
				{Chunk: script.Chunk{Index: 1, Break: script.BreakParagraph}, Open: opener(tc.second)},
			}
			res, path, err := join(t, inputs, stitch.Metadata{}, stitch.Config{KeepLoudness: true})
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("error %v, want one containing %q", err, tc.errWant)
				}
				if !fault.IsPermanent(err) {
					t.Errorf("error %v is not permanent", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("join: %v", err)
			}
			var repaired bool
			for _, r := range res.Report.Repairs {
				repaired = repaired || (r.Chunk == 1 && r.Problem.Code == tc.repair)
			}
			if !repaired {
				t.Errorf("repairs %+v, want %s in chunk 1", res.Report.Repairs, tc.repair)
			}
			// Nothing is lost silently: every frame of the good chunks is
			// there, less exactly what the repair dropped.
			pauseFrames := int(res.Format.SamplesIn(res.Chunks[1].Pause)) / res.Format.FrameSamples()
			wantFrames := analyze(t, a).Frames + analyze(t, b).Frames - tc.frames + pauseFrames
			if res.Frames != wantFrames {
				t.Errorf("%d frames, want %d", res.Frames, wantFrames)
			}
			if dec := mp3test.Decode(t, path); int64(dec.Frames()) != res.Samples {
				t.Errorf("ffmpeg decodes %d samples, result says %d", dec.Frames(), res.Samples)
			}
			if p := mp3test.MP3ValProblems(t, path); len(p) > 0 {
				t.Errorf("mp3val: %v", p)
			}
		})
	}
}

func TestStitchMatchesLoudness(t *testing.T) {
	// Two chunks encoded 6 dB apart.
	inputs, _ := fixtureChunks(t, 24000, 1, []chunkAudio{
		{dur: 8 * time.Second, levelDB: -17},
		{dur: 8 * time.Second, levelDB: -23, brk: script.BreakParagraph},
	})
	res, path, err := join(t, inputs, stitch.Metadata{}, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dec := mp3test.Decode(t, path)
	span := func(i int) float64 {
		c := res.Chunks[i]
		from, to := res.Format.SamplesIn(c.Start), res.Format.SamplesIn(c.End)
		m := mp3.NewMeter(dec.Rate, 1)
		for _, s := range dec.Samples[from:to] {
			m.Add(float64(s) / 32768)
		}
		return m.Integrated()
	}
	l0, l1 := span(0), span(1)
	if math.Abs(l0-l1) > 1.5 {
		t.Errorf("chunks come out at %.2f and %.2f LUFS, more than 1.5 dB apart", l0, l1)
	}
	ref := mp3test.EBUR128(t, path)
	if math.Abs(ref-stitch.DefaultTarget) > 1 {
		t.Errorf("ffmpeg ebur128 measures %.2f LUFS, target %.1f", ref, stitch.DefaultTarget)
	}
	if math.Abs(ref-res.Loudness) > 0.5 {
		t.Errorf("result says %.2f LUFS, ffmpeg ebur128 measures %.2f", res.Loudness, ref)
	}
	if res.Chunks[1].Gain-res.Chunks[0].Gain != 4 {
		t.Errorf("gains %d and %d steps, want 4 steps (6 dB) apart", res.Chunks[0].Gain, res.Chunks[1].Gain)
	}
}

func TestStitchKeepsPeaksBelowCeiling(t *testing.T) {
	// A quiet chunk with a loud peak: raising it to the target would clip.
	quiet := mp3test.Speech(24000, 1, 6*time.Second, -30, 5)
	for i := 24000; i < 24000+240; i++ {
		quiet.Samples[i] = int16(12000 * math.Sin(float64(i)/3))
	}
	b := mp3test.Encode(t, quiet, "-b", "160")
	a := analyze(t, b)
	inputs := []stitch.Input{{Chunk: script.Chunk{Text: strings.Repeat("a", 95)}, Open: opener(b)}}
	res, _, err := join(t, inputs, stitch.Metadata{}, stitch.Config{})
	if err != nil {
		t.Fatalf("a loudness short of the target failed the join: %v", err)
	}
	if res.Peak > stitch.DefaultPeakCeiling {
		t.Errorf("peak %.2f dBFS above the ceiling", res.Peak)
	}
	most := int(math.Floor((stitch.DefaultPeakCeiling - 20*math.Log10(a.Peak)) / mp3.GainStepDB))
	if most <= 0 || res.Chunks[0].Gain != most {
		t.Errorf("gain %d steps, the peak of %.2f dBFS allows %d", res.Chunks[0].Gain, 20*math.Log10(a.Peak), most)
	}
	warned := res.Report.Warnings()
	if len(res.Report.Failed()) > 0 || len(warned) != 1 || warned[0].Name != stitch.CheckLoudness {
		t.Errorf("failed %+v and warned %+v, want only a loudness warning", res.Report.Failed(), warned)
	}
	l := res.Report.Loudness
	if l == nil || !l.PeakLimited || len(l.LimitedChunks) != 1 || math.Abs(l.Achieved-res.Loudness) > 1e-9 || l.Target != stitch.DefaultTarget {
		t.Fatalf("loudness report %+v, want peak-limited at %.2f LUFS", l, res.Loudness)
	}
	if !strings.HasPrefix(l.String(), "peak-limited: ") || !strings.Contains(res.Report.Summary(), "peak-limited") {
		t.Errorf("report says %q", res.Report.Summary())
	}
}

func TestStitchWithStoredChecks(t *testing.T) {
	inputs, raw := fixtureChunks(t, 24000, 1, []chunkAudio{
		{dur: 3 * time.Second, levelDB: -20},
		{dur: 3 * time.Second, levelDB: -24, brk: script.BreakParagraph},
	})
	_, want, err := join(t, inputs, stitch.Metadata{Title: "t"}, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	for i := range inputs {
		c, err := stitch.CheckChunk(context.Background(), bytes.NewReader(raw[i]), inputs[i].Chunk.Text, mp3.FormatOpenAI, stitch.Config{})
		if err != nil {
			t.Fatal(err)
		}
		// As job state keeps it.
		j, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back stitch.ChunkCheck
		if err := json.Unmarshal(j, &back); err != nil {
			t.Fatal(err)
		}
		inputs[i].Check = &back
		b := raw[i]
		inputs[i].Open = func(context.Context) (io.ReadCloser, error) {
			opens.Add(1)
			return io.NopCloser(bytes.NewReader(b)), nil
		}
	}
	_, got, err := join(t, inputs, stitch.Metadata{Title: "t"}, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if n := opens.Load(); n != int32(len(inputs)) {
		t.Errorf("opened chunks %d times, want once each", n)
	}
	wb, _ := os.ReadFile(want)
	gb, _ := os.ReadFile(got)
	if !bytes.Equal(wb, gb) {
		t.Error("joining with stored checks wrote different bytes")
	}
}

func TestStitchTagsAndChapters(t *testing.T) {
	inputs, raw := fixtureChunks(t, 24000, 1, []chunkAudio{
		{dur: 2 * time.Second, levelDB: -20, section: -1},
		{dur: 3 * time.Second, levelDB: -20, section: 0, brk: script.BreakTitle},
		{dur: 3 * time.Second, levelDB: -20, section: 1, brk: script.BreakSection},
		{dur: 2 * time.Second, levelDB: -20, section: 1, brk: script.BreakParagraph},
		{dur: 3 * time.Second, levelDB: -20, section: 2, brk: script.BreakSection},
	})
	cover := mp3test.PNG(8, 8)
	meta := stitch.Metadata{
		Title: "Rivers rise", Byline: "By Jane Doe", Publication: "The Daily", Section: "Science",
		Date: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Language: "en", URL: "https://example.org/rivers",
		Cover: cover, Provider: "openai", Model: "gpt-4o-mini-tts", Voice: "alloy",
		Headings: []string{"", "Upstream", "Downstream"},
	}
	res, path, err := join(t, inputs, meta, stitch.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pr := mp3test.Probe(t, path)
	for k, v := range map[string]string{
		"title": "Rivers rise", "artist": "Jane Doe / The Daily", "album": "Science", "date": "2025-03-04T05:06:07",
		"language":      "eng",
		"ai disclosure": "This audio is created with AI assistance. provider: openai; model: gpt-4o-mini-tts; voice: alloy.",
	} {
		if pr.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q (all: %v)", k, pr.Tags[k], v, pr.Tags)
		}
	}
	if pr.Pictures != 1 {
		t.Errorf("%d pictures, want the cover", pr.Pictures)
	}
	wantTitles := []string{"Rivers rise", "Upstream", "Downstream"}
	if len(pr.Chapters) != len(wantTitles) {
		t.Fatalf("ffprobe chapters %+v, want %v", pr.Chapters, wantTitles)
	}
	for i, c := range pr.Chapters {
		rc := res.Chapters[i]
		if c.Title != wantTitles[i] || (c.Start-rc.Start).Abs() > time.Millisecond || (c.End-rc.End).Abs() > time.Millisecond {
			t.Errorf("chapter %d: ffprobe %+v, result %+v", i, c, rc)
		}
	}
	// Chapters start where their first chunk's speech starts, and the
	// byte offsets point at that chunk's first frame.
	out, _ := os.ReadFile(path)
	for i, first := range []int{0, 2, 4} {
		if i > 0 && res.Chapters[i].Start != res.Chunks[first].Start {
			t.Errorf("chapter %d starts at %s, its first chunk at %s", i, res.Chapters[i].Start, res.Chunks[first].Start)
		}
		off := res.Chapters[i].StartOffset
		if off != res.Chunks[first].Offset {
			t.Errorf("chapter %d offset %d, chunk %d at %d", i, off, first, res.Chunks[first].Offset)
		}
		if _, err := mp3.ParseHeader(out[off:]); err != nil {
			t.Errorf("chapter %d offset %d is not a frame: %v", i, off, err)
		}
	}
	// The silence heard between two chunks' speech is the configured
	// pause, to half a frame: the chunks' own silence at their edges, their
	// padding and delay, and the silent frames inserted.
	frame := res.Format.Duration(int64(res.Format.FrameSamples()))
	for i := 1; i < len(res.Chunks); i++ {
		prev, cur := analyze(t, raw[i-1]), analyze(t, raw[i])
		heard := prev.TrailingSilence + (res.Chunks[i].Start - res.Chunks[i-1].End) + cur.LeadingSilence
		pause := script.DefaultPauses.Before(inputs[i].Chunk.Break)
		if (heard - pause).Abs() > frame/2 {
			t.Errorf("silence before chunk %d is %s, pause %s", i, heard, pause)
		}
	}
}
