package mp3test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ProbeResult is what ffprobe reports about an MP3 file.
type ProbeResult struct {
	Duration   time.Duration // the stream's duration
	StartTime  time.Duration // the delay ffmpeg skips (LAME delay + 529 samples)
	SampleRate int
	Channels   int
	Tags       map[string]string // format tags, lower-cased keys
	Chapters   []ProbeChapter
	Pictures   int // attached pictures, which ffprobe lists as video streams
}

// ProbeChapter is one chapter as ffprobe reads it.
type ProbeChapter struct {
	Start, End time.Duration
	Title      string
}

// Probe runs ffprobe on path.
func Probe(tb testing.TB, path string) ProbeResult {
	tb.Helper()
	ffprobe := Tool(tb, "ffprobe", "ffmpeg")
	out, err := exec.Command(ffprobe, "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", path).Output()
	if err != nil {
		tb.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct {
		Streams []struct {
			CodecType  string `json:"codec_type"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			Duration   string `json:"duration"`
			StartTime  string `json:"start_time"`
		} `json:"streams"`
		Chapters []struct {
			Start string            `json:"start_time"`
			End   string            `json:"end_time"`
			Tags  map[string]string `json:"tags"`
		} `json:"chapters"`
		Format struct {
			Tags map[string]string `json:"tags"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		tb.Fatalf("ffprobe %s: %v", path, err)
	}
	secs := func(s string) time.Duration {
		f, _ := strconv.ParseFloat(s, 64)
		return time.Duration(f * float64(time.Second))
	}
	var r ProbeResult
	audio := 0
	for _, s := range v.Streams {
		if s.CodecType != "audio" {
			r.Pictures++
			continue
		}
		audio++
		rate, _ := strconv.Atoi(s.SampleRate)
		r.Duration, r.StartTime, r.SampleRate, r.Channels = secs(s.Duration), secs(s.StartTime), rate, s.Channels
	}
	if audio != 1 {
		tb.Fatalf("ffprobe %s: %d audio streams", path, audio)
	}
	r.Tags = map[string]string{}
	for k, val := range v.Format.Tags {
		r.Tags[strings.ToLower(k)] = val
	}
	for _, c := range v.Chapters {
		r.Chapters = append(r.Chapters, ProbeChapter{Start: secs(c.Start), End: secs(c.End), Title: c.Tags["title"]})
	}
	return r
}

// MPG123Warnings decodes path with mpg123 -t and returns what it printed
// besides its progress: warnings, errors and notes about the stream.
func MPG123Warnings(tb testing.TB, path string) []string {
	tb.Helper()
	mpg123 := Tool(tb, "mpg123", "mpg123")
	cmd := exec.Command(mpg123, "-q", "-t", path)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var out []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	if err != nil {
		out = append(out, "mpg123: "+err.Error())
	}
	return out
}

// MP3ValProblems runs mp3val on path and returns its WARNING and ERROR
// lines, less the one that says a file has no tags.
func MP3ValProblems(tb testing.TB, path string) []string {
	tb.Helper()
	mp3val := Tool(tb, "mp3val", "mp3val")
	out, err := exec.Command(mp3val, path).CombinedOutput()
	if err != nil {
		tb.Fatalf("mp3val %s: %v\n%s", path, err, out)
	}
	var probs []string
	for _, l := range strings.Split(string(out), "\n") {
		if (strings.HasPrefix(l, "WARNING") || strings.HasPrefix(l, "ERROR")) && !strings.Contains(l, "No supported tags") {
			probs = append(probs, l)
		}
	}
	return probs
}

var integratedRE = regexp.MustCompile(`I:\s+(-?[0-9.]+|-inf) LUFS`)

// EBUR128 returns the integrated loudness ffmpeg's ebur128 filter
// measures in the file (LUFS).
func EBUR128(tb testing.TB, path string) float64 {
	tb.Helper()
	return ebur128(tb, path, "ebur128", integratedRE)
}

// TruePeak returns the true peak ffmpeg's ebur128 filter measures in the
// file (dBTP, to a tenth).
func TruePeak(tb testing.TB, path string) float64 {
	tb.Helper()
	return ebur128(tb, path, "ebur128=peak=true", truePeakRE)
}

// Measure returns what ffmpeg's ebur128 filter measures of an MP3 file in
// one run: its integrated loudness (LUFS) and true peak (dBTP).
func Measure(tb testing.TB, path string) (lufs, peak float64) {
	tb.Helper()
	s := summary(tb, path, "ebur128=peak=true")
	return figure(tb, s, integratedRE), figure(tb, s, truePeakRE)
}

var truePeakRE = regexp.MustCompile(`True peak:\s+Peak:\s+(-?[0-9.]+|-inf) dBFS`)

func ebur128(tb testing.TB, path, filter string, re *regexp.Regexp) float64 {
	tb.Helper()
	return figure(tb, summary(tb, path, filter), re)
}

// summary runs ffmpeg's filter on path and returns its summary.
func summary(tb testing.TB, path, filter string) string {
	tb.Helper()
	ffmpeg := Tool(tb, "ffmpeg", "ffmpeg")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-nostats", "-i", path, "-af", filter, "-f", "null", "-").CombinedOutput()
	if err != nil {
		tb.Fatalf("ffmpeg %s %s: %v\n%s", filter, path, err, out)
	}
	s := string(out)
	i := strings.LastIndex(s, "Summary:")
	if i < 0 {
		tb.Fatalf("ffmpeg %s %s: no summary\n%s", filter, path, out)
	}
	return s[i:]
}

// figure reads one figure from an ebur128 summary.
func figure(tb testing.TB, s string, re *regexp.Regexp) float64 {
	tb.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		tb.Fatalf("ffmpeg: no %s in the summary\n%s", re, s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
