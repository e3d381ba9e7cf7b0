// Package speechgen renders real speech the way speech services deliver
// it, for the fake services and for test fixtures. espeak-ng speaks the
// text; the audio is then shaped as a service's is (its loudness, peaks
// up to full scale, silence before and after the speech, or speech cut
// off mid-sound) and encoded by lame in the service's format (sample rate,
// bitrate, an ID3 tag, a Xing frame). A render is kept by text and
// options, so a fake answers the same text with the same bytes, as real
// services often do.
package speechgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/narrator-project/narrator/services/mp3"
)

// Options shape one render. The zero value, after defaults, is speech as
// OpenAI returns it: 24 kHz mono MPEG-2 Layer III at 160 kbit/s, no tag,
// no Xing frame, about -19 LUFS with peaks reaching full scale, a quarter
// second of silence at the end.
type Options struct {
	// Voice is a speech service's voice name; it picks one of espeak-ng's
	// voice variants, so different voices sound different. Text with
	// Cyrillic letters is spoken in Ukrainian.
	Voice string
	// CharsPerSecond is the speaking rate at speed 1; default 15.
	CharsPerSecond float64
	Speed          float64 // 1 is normal; 0 means 1
	// LUFS is the integrated loudness, -26 to -12; default -19.
	LUFS float64
	// Peak is the true peak (dBTP) of the loudest moment, -20 to 0: above
	// it the speech is limited, below it one transient is raised to it, as
	// a plosive does. Zero is full scale, which is the default.
	Peak float64
	// Lead and Trail are the silence before and after the speech, 0 to
	// 500 ms; Trail defaults to 250 ms unless NoTrail is set.
	Lead, Trail time.Duration
	NoTrail     bool
	// AbruptEnd cuts the speech off mid-sound, without a fade or silence
	// after it.
	AbruptEnd  bool
	SampleRate int  // 24000 by default; services use 24000 and 22050
	Bitrate    int  // kbit/s of a constant-bitrate stream; default 160; -1: variable
	ID3        bool // an ID3v2 tag before the audio
	Xing       bool // a Xing/Info frame with a LAME tag before the audio
}

// Defaults.
const (
	// DefaultLUFS is where espeak-ng's speech peaks near full scale
	// without limiting, as speech services deliver it.
	DefaultLUFS           = -19.0
	DefaultCharsPerSecond = 15.0
	DefaultTrail          = 250 * time.Millisecond
)

func (o *Options) setDefaults() {
	if o.CharsPerSecond == 0 {
		o.CharsPerSecond = DefaultCharsPerSecond
	}
	if o.Speed == 0 {
		o.Speed = 1
	}
	if o.LUFS == 0 {
		o.LUFS = DefaultLUFS
	}
	if o.Trail == 0 && !o.NoTrail && !o.AbruptEnd {
		o.Trail = DefaultTrail
	}
	if o.SampleRate == 0 {
		o.SampleRate = 24000
	}
	if o.Bitrate == 0 {
		o.Bitrate = 160
	}
}

// Validate reports options outside what real services deliver; unset
// options are taken at their defaults.
func (o Options) Validate() error {
	o.setDefaults()
	var errs []error
	if o.LUFS < -26 || o.LUFS > -12 {
		errs = append(errs, fmt.Errorf("loudness %.1f LUFS is outside -26..-12", o.LUFS))
	}
	if o.Peak < -20 || o.Peak > 0 {
		errs = append(errs, fmt.Errorf("peak %.1f dBTP is outside -20..0", o.Peak))
	}
	if o.Lead < 0 || o.Lead > 500*time.Millisecond || o.Trail < 0 || o.Trail > 500*time.Millisecond {
		errs = append(errs, fmt.Errorf("silence of %s before and %s after is outside 0..500ms", o.Lead, o.Trail))
	}
	if !slices.Contains([]int{8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000}, o.SampleRate) {
		errs = append(errs, fmt.Errorf("sample rate %d is not an MP3 sample rate", o.SampleRate))
	}
	if o.Speed < 0.25 || o.Speed > 4 || o.CharsPerSecond <= 0 {
		errs = append(errs, fmt.Errorf("speed %v or rate %v characters a second is out of range", o.Speed, o.CharsPerSecond))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("speechgen: %w", err)
	}
	return nil
}

// ErrMissingTool is returned when espeak-ng or lame is not installed.
var ErrMissingTool = errors.New("speechgen: espeak-ng and lame are needed (Debian: apt-get install espeak-ng lame)")

// Available reports, with a message saying what to install, whether the
// tools a render needs are present.
func Available() error {
	for _, t := range []string{"espeak-ng", "lame"} {
		if _, err := exec.LookPath(t); err != nil {
			return ErrMissingTool
		}
	}
	return nil
}

// renders keeps renders by text and options, up to about 256 MB.
var renders = struct {
	sync.Mutex
	m     map[string]*render
	bytes int
}{m: map[string]*render{}}

type render struct {
	once  sync.Mutex
	audio []byte
}

const maxKept = 256 << 20

// Render returns text spoken with o. Equal text and options give the same
// bytes; a failed render is not kept.
func Render(ctx context.Context, text string, o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.setDefaults()
	key := fmt.Sprintf("%q %+v", text, o)
	renders.Lock()
	r := renders.m[key]
	if r == nil {
		if renders.bytes > maxKept {
			renders.m, renders.bytes = map[string]*render{}, 0
		}
		r = &render{}
		renders.m[key] = r
	}
	renders.Unlock()
	r.once.Lock()
	defer r.once.Unlock()
	if r.audio != nil {
		return r.audio, nil
	}
	audio, err := renderNow(ctx, text, o)
	if err != nil {
		return nil, err
	}
	r.audio = audio
	renders.Lock()
	renders.bytes += len(audio)
	renders.Unlock()
	return audio, nil
}

func renderNow(ctx context.Context, text string, o Options) ([]byte, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	// espeak-ng speaks about 18.5 characters a second at 175 words a
	// minute.
	wpm := min(max(int(math.Round(o.CharsPerSecond*o.Speed*175/18.5)), 80), 450)
	v, pitch := voice(o.Voice, text)
	wav, err := run(ctx, exec.CommandContext(ctx, "espeak-ng", "-b", "1", "-z", "-v", v, "-p", strconv.Itoa(pitch),
		"-s", strconv.Itoa(wpm), "--stdin", "--stdout"), []byte(text))
	if err != nil {
		return nil, err
	}
	p, err := mp3.ReadWAV(wav)
	if err != nil {
		return nil, fmt.Errorf("speechgen: espeak-ng output: %w", err)
	}
	shape(p, o)
	args := []string{"--quiet", "--noreplaygain", "-m", "m", "--resample", strconv.FormatFloat(float64(o.SampleRate)/1000, 'f', -1, 64)}
	if o.Bitrate > 0 {
		args = append(args, "--cbr", "-b", strconv.Itoa(o.Bitrate))
	} else {
		args = append(args, "-V", "4")
	}
	if !o.Xing {
		args = append(args, "-t")
	}
	if o.ID3 {
		args = append(args, "--id3v2-only", "--tt", "speech", "--ta", "speechgen")
	}
	return encode(ctx, args, p)
}

// encode runs lame into a file, not a pipe: lame writes the Xing frame
// by seeking back to the start when it is done.
func encode(ctx context.Context, args []string, p *mp3.PCM) ([]byte, error) {
	f, err := os.CreateTemp("", "speechgen-*.mp3")
	if err != nil {
		return nil, fmt.Errorf("speechgen: %w", err)
	}
	name := f.Name()
	f.Close()
	defer os.Remove(name)
	if _, err := run(ctx, exec.CommandContext(ctx, "lame", append(args, "-", name)...), p.WAV()); err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}

// voice picks an espeak-ng voice and pitch for a service's voice name and
// the text.
func voice(name, text string) (string, int) {
	lang := "en-us"
	for _, r := range text {
		if unicode.Is(unicode.Cyrillic, r) {
			lang = "uk"
			break
		}
	}
	variants := []string{"m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4", "f5"}
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	return lang + "+" + variants[int(sum%uint32(len(variants)))], 30 + int(sum/16%40)
}

// encoderLoss is what lame's low-pass takes from espeak-ng's sibilants:
// encoded speech measures about 0.5 LU below its PCM.
const encoderLoss = 0.5

// shape levels the speech and gives it its ends.
func shape(p *mp3.PCM, o Options) {
	target := o.LUFS + encoderLoss
	if o.AbruptEnd {
		cutMidSound(p)
	} else {
		fadeOut(p, 30*time.Millisecond)
	}
	// Audio too short to measure (under 400 ms) is left as spoken.
	if l, peak := p.Level(target, min(o.Peak, -0.05)); l > mp3.Silent && peak < o.Peak-0.2 { // 16-bit samples stop at full scale
		raiseTransient(p, o.Peak, peak)
	}
	silence := func(d time.Duration) []float64 { return make([]float64, int(d.Seconds()*float64(p.Rate))) }
	p.Samples = append(append(silence(o.Lead), p.Samples...), silence(o.Trail)...)
}

// fadeOut fades the last d of p out, where espeak-ng stops.
func fadeOut(p *mp3.PCM, d time.Duration) {
	n := min(int(d.Seconds()*float64(p.Rate)), len(p.Samples))
	for i := range n {
		p.Samples[len(p.Samples)-1-i] *= float64(i) / float64(n)
	}
}

// cutMidSound ends p in the middle of its last loud sound: the last 50 ms
// before the cut are speech at full level, as in a response cut off.
func cutMidSound(p *mp3.PCM) {
	w := p.Rate / 20
	thresh := math.Pow(10, -30.0/10) // mean square of -30 dBFS
	var sum float64
	last := -1
	for i, x := range p.Samples {
		sum += x * x
		if i >= w {
			sum -= p.Samples[i-w] * p.Samples[i-w]
		}
		if i >= w && sum/float64(w) > thresh {
			last = i
		}
	}
	if last > 0 {
		p.Samples = p.Samples[:last+1]
	}
}

// raiseTransient lifts the loudest moment of p, whose true peak is tp
// (dBTP), to peak over a few milliseconds, as a plosive stands out of
// speech.
func raiseTransient(p *mp3.PCM, peak, tp float64) {
	at, top := 0, 0.0
	for i, x := range p.Samples {
		if a := math.Abs(x); a > top {
			at, top = i, a
		}
	}
	if top == 0 {
		return
	}
	g := math.Pow(10, (min(peak, -0.05)-tp)/20)
	half := p.Rate / 200 // 5 ms each side
	for i := max(at-half, 0); i < min(at+half, len(p.Samples)); i++ {
		w := 0.5 * (1 + math.Cos(math.Pi*float64(i-at)/float64(half)))
		p.Samples[i] *= 1 + (g-1)*w
	}
}

// run runs a tool on stdin and returns its output.
func run(ctx context.Context, cmd *exec.Cmd, stdin []byte) ([]byte, error) {
	var out, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &out, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("speechgen: %s: %w: %s", cmd.Args[0], err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
