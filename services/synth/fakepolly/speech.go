package fakepolly

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/synth/internal/tone"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// speechInput is the JSON body of SynthesizeSpeech.
type speechInput struct {
	Engine          string
	LanguageCode    string
	LexiconNames    []string
	OutputFormat    string
	SampleRate      string
	SpeechMarkTypes []string
	Text            *string
	TextType        string
	VoiceId         string //nolint:revive // Polly's field name
}

// pollyError is an error answer: its HTTP status, x-amzn-ErrorType and
// message.
type pollyError struct {
	status int
	kind   string
	msg    string
}

func (s *Server) speech(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.n++
	e := &Entry{N: s.n, Time: time.Now(), Path: r.URL.Path}
	s.log = append(s.log, e)
	s.mu.Unlock()

	status, kind := s.answer(w, r, e)
	s.mu.Lock()
	if e.Status == 0 {
		e.Status, e.ErrorType = status, kind
	}
	s.mu.Unlock()
}

// record fills the log entry before the answer leaves, so a test that
// reads the log after its response finds the request complete.
func (s *Server) record(e *Entry, status int, kind string, f Fault, billed int) {
	s.mu.Lock()
	e.Status, e.ErrorType, e.Fault, e.Billed = status, kind, f, billed
	s.mu.Unlock()
}

func (s *Server) fail(w http.ResponseWriter, e *Entry, f Fault, pe pollyError) (int, string) {
	s.record(e, pe.status, pe.kind, f, 0)
	writeError(w, pe.status, pe.kind, pe.msg)
	return pe.status, pe.kind
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request, e *Entry) (int, string) {
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("00000000-0000-4000-8000-%012d", e.N))
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return 499, ""
	}
	key, perr := s.verify(r, body)
	s.mu.Lock()
	e.AccessKeyID = key
	s.mu.Unlock()
	if perr != nil {
		return s.fail(w, e, NoFault, *perr)
	}
	var in speechInput
	if err := json.Unmarshal(body, &in); err != nil {
		return s.fail(w, e, NoFault, pollyError{400, "SerializationException", "Could not parse request body: " + err.Error()})
	}
	if in.Engine == "" {
		in.Engine = "standard"
	}
	if in.TextType == "" {
		in.TextType = "text"
	}
	s.mu.Lock()
	e.Engine, e.VoiceID, e.LanguageCode, e.LexiconNames = in.Engine, in.VoiceId, in.LanguageCode, in.LexiconNames
	e.OutputFormat, e.SampleRate, e.TextType = in.OutputFormat, in.SampleRate, in.TextType
	if in.Text != nil {
		e.Text = *in.Text
	}
	s.mu.Unlock()

	billed, pe := s.validate(&in)
	if pe != nil {
		return s.fail(w, e, NoFault, *pe)
	}
	if !s.admit(time.Now()) {
		return s.fail(w, e, NoFault, pollyError{400, "ThrottlingException", "Rate exceeded"})
	}
	f := s.fault(e.N)
	switch f {
	case Throttle:
		return s.fail(w, e, f, pollyError{400, "ThrottlingException", "Rate exceeded"})
	case Failure:
		return s.fail(w, e, f, pollyError{500, "ServiceFailureException", "Internal service failure."})
	case Unavailable:
		return s.fail(w, e, f, pollyError{503, "ServiceUnavailableException", "Service is unavailable."})
	case Hang:
		s.record(e, 0, "", f, 0)
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return 499, ""
	}
	if d := time.Duration(billed) * s.cfg.LatencyPerChar; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return 499, ""
		case <-s.closing:
			return 499, ""
		}
	}
	audio, err := s.audio(r.Context(), e.N, in, e.Text, billed)
	if err != nil {
		return s.fail(w, e, f, pollyError{500, "ServiceFailureException", "fake: " + err.Error()})
	}
	if f == Truncate {
		audio = audio[:len(audio)*2/3+7]
	}
	s.record(e, http.StatusOK, "", f, billed)
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("x-amzn-RequestCharacters", strconv.Itoa(billed))
	w.WriteHeader(http.StatusOK)
	w.Write(audio)
	return http.StatusOK, ""
}

// audio makes the response's MP3: speech shaped by the configuration, or
// tones.
func (s *Server) audio(ctx context.Context, n int, in speechInput, text string, billed int) ([]byte, error) {
	rate, _ := strconv.Atoi(in.SampleRate)
	if s.cfg.Tones {
		gen := tone.Shared(rate, s.cfg.Bitrate)
		frames := max(int(math.Round(float64(billed)/s.cfg.CharsPerSecond/gen.FrameDuration())), int(math.Ceil(0.5/gen.FrameDuration())))
		return gen.Audio(ctx, in.Engine+"\x00"+in.VoiceId+"\x00"+text, frames)
	}
	o := s.cfg.Speech
	if len(s.cfg.Vary) > 0 {
		o = s.cfg.Vary[(n-1)%len(s.cfg.Vary)]
	}
	o.Voice, o.CharsPerSecond, o.SampleRate = in.Engine+"/"+in.VoiceId, s.cfg.CharsPerSecond, rate
	if o.Bitrate == 0 {
		o.Bitrate = s.cfg.Bitrate
	}
	if in.TextType == "ssml" {
		text = spoken(text)
	}
	return speechgen.Render(ctx, text, o)
}

// spoken returns the text of an SSML document, which was checked already.
func spoken(doc string) string {
	var b strings.Builder
	d := xml.NewDecoder(strings.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return b.String()
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}

// mp3Rates are the sample rates Polly offers for mp3.
var mp3Rates = []string{"8000", "16000", "22050", "24000", "44100", "48000"}

// validate checks a request as Polly does and returns its billed characters.
func (s *Server) validate(in *speechInput) (int, *pollyError) {
	bad := func(status int, kind, msg string) (int, *pollyError) {
		return 0, &pollyError{status, kind, msg}
	}
	var missing []string
	if in.OutputFormat == "" {
		missing = append(missing, "outputFormat")
	}
	if in.Text == nil {
		missing = append(missing, "text")
	}
	if in.VoiceId == "" {
		missing = append(missing, "voiceId")
	}
	if len(missing) > 0 {
		return bad(400, "ValidationException", fmt.Sprintf("%d validation error(s) detected: Value null at '%s' failed to satisfy constraint: Member must not be null", len(missing), strings.Join(missing, "', '")))
	}
	v, ok := s.cfg.Voices[in.VoiceId]
	if !ok {
		return bad(400, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'voiceId' failed to satisfy constraint: Member must satisfy enum value set", in.VoiceId))
	}
	if !slices.Contains([]string{"standard", "neural", "long-form", "generative"}, in.Engine) {
		return bad(400, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'engine' failed to satisfy constraint: Member must satisfy enum value set: [standard, neural, long-form, generative]", in.Engine))
	}
	if !slices.Contains(v.Engines, in.Engine) {
		return bad(400, "EngineNotSupportedException", fmt.Sprintf("This voice does not support the selected engine: %s", in.Engine))
	}
	if in.OutputFormat != "mp3" {
		return bad(400, "ValidationException", fmt.Sprintf("this fake serves only mp3, not %q", in.OutputFormat))
	}
	if in.SampleRate == "" {
		in.SampleRate = "24000"
		if in.Engine == "standard" {
			in.SampleRate = "22050"
		}
	}
	if !slices.Contains(mp3Rates, in.SampleRate) {
		return bad(400, "InvalidSampleRateException", fmt.Sprintf("The specified sample rate %s is not valid for output format mp3.", in.SampleRate))
	}
	if in.LanguageCode != "" && in.LanguageCode != v.Language {
		return bad(400, "LanguageNotSupportedException", fmt.Sprintf("Voice %s does not support language %s", in.VoiceId, in.LanguageCode))
	}
	for _, l := range in.LexiconNames {
		if !slices.Contains(s.cfg.Lexicons, l) {
			return bad(404, "LexiconNotFoundException", fmt.Sprintf("Lexicon not found: %s", l))
		}
	}
	text := *in.Text
	billed := utf8.RuneCountInString(text)
	switch in.TextType {
	case "text":
	case "ssml":
		n, err := ssmlChars(text)
		if err != nil {
			return bad(400, "InvalidSsmlException", "Invalid SSML request: "+err.Error())
		}
		billed = n
	default:
		return bad(400, "ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'textType' failed to satisfy constraint: Member must satisfy enum value set: [text, ssml]", in.TextType))
	}
	if billed > s.cfg.MaxBilledChars || utf8.RuneCountInString(text) > MaxTotalChars {
		return bad(400, "TextLengthExceededException", fmt.Sprintf("Maximum text length has been exceeded: %d billed characters (limit %d), %d in all (limit %d)", billed, s.cfg.MaxBilledChars, utf8.RuneCountInString(text), MaxTotalChars))
	}
	return billed, nil
}

// ssmlTags are the SSML elements Polly accepts (amazon:* extensions too).
var ssmlTags = []string{"speak", "break", "emphasis", "lang", "mark", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}

// ssmlChars checks SSML the way Polly does, roughly, and counts the
// characters it bills: text outside the tags.
func ssmlChars(doc string) (int, error) {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	n, depth, roots := 0, 0, 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if depth == 0 {
				roots++
				if name != "speak" || roots > 1 {
					return 0, errors.New("the document must have one <speak> root")
				}
			}
			if t.Name.Space != "amazon" && !slices.Contains(ssmlTags, name) {
				return 0, fmt.Errorf("unsupported tag <%s>", name)
			}
			if err := checkAttrs(name, t.Attr); err != nil {
				return 0, err
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return 0, errors.New("text outside <speak>")
			}
			n += utf8.RuneCount(t)
		}
	}
	if roots == 0 {
		return 0, errors.New("no <speak> element")
	}
	return n, nil
}

// checkAttrs validates the attributes the provider uses: break times and
// prosody rates.
func checkAttrs(tag string, attrs []xml.Attr) error {
	for _, a := range attrs {
		switch {
		case tag == "break" && a.Name.Local == "time":
			d, err := time.ParseDuration(a.Value)
			if err != nil || d < 0 || d > 10*time.Second {
				return fmt.Errorf("invalid break time %q (at most 10s)", a.Value)
			}
		case tag == "prosody" && a.Name.Local == "rate":
			if p, ok := strings.CutSuffix(a.Value, "%"); ok {
				if v, err := strconv.Atoi(p); err != nil || v < 20 {
					return fmt.Errorf("invalid prosody rate %q (at least 20%%)", a.Value)
				}
			} else if !slices.Contains([]string{"x-slow", "slow", "medium", "fast", "x-fast"}, a.Value) {
				return fmt.Errorf("invalid prosody rate %q", a.Value)
			}
		}
	}
	return nil
}

// writeError answers as Polly's REST-JSON protocol does: the error code in
// x-amzn-ErrorType, the message in the JSON body.
func writeError(w http.ResponseWriter, status int, kind, msg string) {
	w.Header().Set("x-amzn-ErrorType", kind+":http://internal.amazon.com/coral/com.amazonaws.tts/")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}
