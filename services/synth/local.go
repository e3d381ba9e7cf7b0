package synth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/mp3"
)

// LocalModel is the only model of the local engine.
const LocalModel = "espeak-ng"

// LocalConfig configures the local engine: espeak-ng speech, leveled to
// a TTS service's loudness and encoded by lame to OpenAI's format, so its
// chunks join like OpenAI's.
type LocalConfig struct {
	Espeak          string            // espeak-ng executable; default "espeak-ng" from PATH
	Lame            string            // lame executable; default "lame" from PATH
	Voices          map[string]string // language → espeak-ng voice; en → en-us and uk → uk are added
	DefaultLanguage string            // used when a request has none; default "en"
	WordsPerMinute  int               // speaking rate at speed 1; default 175, espeak's own
	MaxChars        int               // per request; default 4096, OpenAI's limit, so chunks fit either
}

func (c *LocalConfig) setDefaults() {
	if c.Espeak == "" {
		c.Espeak = "espeak-ng"
	}
	if c.Lame == "" {
		c.Lame = "lame"
	}
	v := map[string]string{"en": "en-us", "uk": "uk"}
	maps.Copy(v, c.Voices)
	c.Voices = v
	if c.DefaultLanguage == "" {
		c.DefaultLanguage = "en"
	}
	if c.WordsPerMinute == 0 {
		c.WordsPerMinute = 175
	}
	if c.MaxChars == 0 {
		c.MaxChars = 4096
	}
}

// Validate reports a configuration the engine cannot run with.
func (c LocalConfig) Validate() error {
	var errs []error
	if c.WordsPerMinute < 80 || c.WordsPerMinute > 450 {
		errs = append(errs, fmt.Errorf("words per minute %d is outside espeak-ng's 80 to 450", c.WordsPerMinute))
	}
	if c.MaxChars < 1 {
		errs = append(errs, fmt.Errorf("max characters %d must be positive", c.MaxChars))
	}
	if _, ok := c.Voices[c.DefaultLanguage]; !ok {
		errs = append(errs, fmt.Errorf("no voice for the default language %q", c.DefaultLanguage))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("synth: local config: %w", err)
	}
	return nil
}

// Local is the offline engine. Its voices sound robotic, but it needs no
// network, no key and no money, which makes it the embedded default.
type Local struct {
	cfg    LocalConfig
	espeak string
	lame   string
	known  map[string]bool // espeak-ng voice names
}

// NewLocal finds espeak-ng and lame and lists the installed voices.
func NewLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Local{cfg: cfg, known: map[string]bool{}}
	var err error
	if l.espeak, err = exec.LookPath(cfg.Espeak); err != nil {
		return nil, fmt.Errorf("synth: local: %s not found: install espeak-ng (Debian: apt-get install espeak-ng): %w", cfg.Espeak, err)
	}
	if l.lame, err = exec.LookPath(cfg.Lame); err != nil {
		return nil, fmt.Errorf("synth: local: %s not found: install lame (Debian: apt-get install lame): %w", cfg.Lame, err)
	}
	out, err := exec.CommandContext(ctx, l.espeak, "--voices").Output()
	if err != nil {
		return nil, fmt.Errorf("synth: local: list espeak-ng voices: %w", err)
	}
	l.known = parseVoices(out)
	for lang, v := range cfg.Voices {
		if !l.known[voiceBase(v)] {
			return nil, fmt.Errorf("synth: local: espeak-ng has no voice %q (for language %q); see espeak-ng --voices", v, lang)
		}
	}
	return l, nil
}

// parseVoices reads the language column of espeak-ng --voices, which is
// the name -v takes.
func parseVoices(out []byte) map[string]bool {
	known := map[string]bool{}
	for i, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 2 {
			continue
		}
		known[strings.ToLower(f[1])] = true
	}
	return known
}

// voiceBase strips an espeak-ng variant ("en-us+f3" → "en-us").
func voiceBase(v string) string {
	base, _, _ := strings.Cut(strings.ToLower(v), "+")
	return base
}

// Name implements Provider.
func (l *Local) Name() string { return "local" }

// Limits implements Provider.
func (l *Local) Limits() Limits {
	return Limits{
		MaxChars:  l.cfg.MaxChars,
		Languages: slices.Sorted(maps.Keys(l.cfg.Voices)),
		Voices:    slices.Sorted(maps.Keys(l.known)),
		Models:    []string{LocalModel},
		Format:    OpenAIFormat,
	}
}

// Resolve implements Provider. Instructions are dropped: espeak-ng has no
// style prompt, and keeping them would only split the cache.
func (l *Local) Resolve(req Request) (Request, error) {
	if req.Model == "" {
		req.Model = LocalModel
	}
	if req.Model != LocalModel {
		return req, fault.Permanent(fmt.Errorf("synth: local: %w: model %q (the local engine has only %q)", ErrRejected, req.Model, LocalModel))
	}
	if req.Language == "" {
		req.Language = l.cfg.DefaultLanguage
	}
	if req.Voice == "" {
		v, ok := l.cfg.Voices[req.Language]
		if !ok {
			v = req.Language // espeak-ng names most voices after their language
		}
		req.Voice = v
	}
	if !l.known[voiceBase(req.Voice)] {
		return req, fault.Permanent(fmt.Errorf("synth: local: %w: espeak-ng has no voice %q for language %q", ErrRejected, req.Voice, req.Language))
	}
	// espeak-ng's voices are named after the language they read: en-us, uk.
	lang, _, _ := strings.Cut(voiceBase(req.Voice), "-")
	if err := checkText(req.Text, l.cfg.MaxChars, lang); err != nil {
		return req, fmt.Errorf("synth: local: voice %s: %w", req.Voice, err)
	}
	if err := checkSpeed(req.Speed); err != nil {
		return req, fmt.Errorf("synth: local: %w", err)
	}
	req.Speed = speed(req.Speed)
	req.Instructions = ""
	return req, nil
}

// checkText rejects text no provider should be sent; lang is the language
// of a voice that reads only its own (see Readable), or empty.
func checkText(text string, maxChars int, lang string) error {
	if strings.TrimSpace(text) == "" {
		return fault.Permanent(fmt.Errorf("%w: empty text", ErrRejected))
	}
	if n := utf8.RuneCountInString(text); n > maxChars {
		return fault.Permanent(fmt.Errorf("%w: %d characters, limit %d", ErrTooLong, n, maxChars))
	}
	return Readable(text, lang)
}

// checkSpeed accepts OpenAI's range, which every provider can map.
func checkSpeed(s float64) error {
	if s != 0 && (s < 0.25 || s > 4 || math.IsNaN(s)) {
		return fault.Permanent(fmt.Errorf("%w: speed %v is outside 0.25 to 4", ErrRejected, s))
	}
	return nil
}

// wpm maps a speed to espeak-ng's words per minute, within its range.
func (l *Local) wpm(speed float64) int {
	return min(max(int(math.Round(float64(l.cfg.WordsPerMinute)*speed)), 80), 450)
}

// Synthesize implements Provider. The text goes to espeak-ng on stdin,
// never through a shell or an argument; its speech is leveled in Go (see
// level.go) and encoded by lame. Both processes are killed when ctx ends.
func (l *Local) Synthesize(ctx context.Context, req Request) ([]byte, error) {
	req, err := l.Resolve(req)
	if err != nil {
		return nil, err
	}
	speech, err := l.run(ctx, "espeak-ng", exec.CommandContext(ctx, l.espeak,
		"-b", "1", // UTF-8 input
		"-z", // no pause at the end: level.go adds a short one, the stitcher the rest
		"-v", req.Voice, "-s", strconv.Itoa(l.wpm(req.Speed)), "--stdin", "--stdout"), strings.NewReader(req.Text),
		req, int64(MaxSeconds(req)*maxWAVBytesPerSecond))
	if err != nil {
		return nil, err
	}
	p, err := mp3.ReadWAV(speech)
	if err != nil {
		return nil, fault.Retry(fmt.Errorf("synth: local: %w: espeak-ng output: %w", ErrUnavailable, err), 0)
	}
	p.Level(levelTarget, levelCeiling) // too short to measure: left as spoken
	endInSilence(p)
	// No Xing/Info frame, as OpenAI sends none.
	return encode(ctx, l.lame, p, encoding{Format: OpenAIFormat})
}

// maxWAVBytesPerSecond bounds espeak-ng's output: 16-bit mono at 48 kHz,
// twice the rate of its voices.
const maxWAVBytesPerSecond = 2 * 48000

// run runs one tool on stdin and returns its output, of at most limit
// bytes: a tool that writes more is stopped.
func (l *Local) run(ctx context.Context, name string, cmd *exec.Cmd, stdin io.Reader, req Request, limit int64) ([]byte, error) {
	out := &capped{limit: limit}
	var stderr tail
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, out, &stderr
	cmd.WaitDelay = 5 * time.Second // bounds waiting for output after a kill
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, fmt.Errorf("synth: local: %w", ctx.Err())
	}
	if out.over {
		return nil, overLimit("local: "+name, req, limit)
	}
	if err != nil {
		return nil, fault.Retry(fmt.Errorf("synth: local: %w: %s: %w: %s", ErrUnavailable, name, err, stderr.String()), 0)
	}
	return out.Bytes(), nil
}

// capped keeps what is written to it up to a limit, and refuses more.
type capped struct {
	bytes.Buffer
	limit int64
	over  bool
}

var errCapped = errors.New("output over its limit")

// Write keeps p, or refuses it whole if it would pass the limit.
func (c *capped) Write(p []byte) (int, error) {
	if int64(c.Len()+len(p)) > c.limit {
		c.over = true
		return 0, errCapped
	}
	return c.Buffer.Write(p)
}

// tail keeps the last 1 KB written to it: enough of a tool's stderr to
// explain a failure without holding a runaway log.
type tail struct{ b []byte }

// Write keeps the end of p.
func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 1024 {
		t.b = t.b[len(t.b)-1024:]
	}
	return len(p), nil
}

// String returns what was kept, trimmed.
func (t *tail) String() string { return strings.TrimSpace(string(t.b)) }
