package faketts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
)

// Transcription models the fake knows, and whether each gives timestamps
// (verbose_json): only whisper-1 does on OpenAI's API.
var transcribeModels = map[string]bool{"whisper-1": true, "gpt-4o-transcribe": false, "gpt-4o-mini-transcribe": false}

// maxUpload is OpenAI's limit on an audio upload: 25 MB.
const maxUpload = 25 << 20

// maxSpoken bounds how many responses the fake remembers hearing.
const maxSpoken = 20000

// remember keeps what audio says, so that a transcription of it hears it.
func (s *Server) remember(audio []byte, sp spoken) {
	sum := sha256.Sum256(audio)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spoken == nil || len(s.spoken) >= maxSpoken {
		s.spoken = map[[sha256.Size]byte]spoken{}
	}
	s.spoken[sum] = sp
}

// transcribe serves POST /v1/audio/transcriptions as OpenAI does:
// multipart form with file and model; response_format json (default),
// text or verbose_json (whisper-1 only), timestamp_granularities[] word
// and segment. It hears what the fake said in the audio uploaded; audio
// it did not make is heard as silence, and what is not MP3 is refused.
func (s *Server) transcribe(w http.ResponseWriter, r *http.Request) {
	s.serveLogged(w, r, &s.heardN, func(w http.ResponseWriter, e *Entry) int { return s.answerTranscription(w, r, e) })
}

func (s *Server) answerTranscription(w http.ResponseWriter, r *http.Request, e *Entry) int {
	w.Header().Set("x-request-id", fmt.Sprintf("req_t%031x", e.N))
	if st, ok := s.authorized(w, e.Auth); !ok {
		return st
	}
	bad := func(param, msg, code string) int {
		return writeError(w, http.StatusBadRequest, apiError{Message: msg, Type: "invalid_request_error", Param: param, Code: code})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge, apiError{Message: fmt.Sprintf("Maximum content size limit (%d) exceeded.", maxUpload), Type: "invalid_request_error"})
		}
		return bad("", "Could not parse multipart form", "")
	}
	model := r.FormValue("model")
	format := cmpOr(r.FormValue("response_format"), "json")
	grains := r.MultipartForm.Value["timestamp_granularities[]"]
	s.mu.Lock()
	e.Model, e.ResponseFormat = model, format
	s.mu.Unlock()
	words, ok := transcribeModels[model]
	switch {
	case model == "":
		return bad("model", "you must provide a model parameter", "")
	case !ok:
		return writeError(w, http.StatusNotFound, apiError{Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model), Type: "invalid_request_error", Code: "model_not_found"})
	case !slices.Contains([]string{"json", "text", "verbose_json"}, format):
		return bad("response_format", fmt.Sprintf("Invalid value for 'response_format' = %s: this fake serves 'json', 'text' and 'verbose_json'.", format), "invalid_value")
	case format == "verbose_json" && !words:
		return bad("response_format", fmt.Sprintf("response_format 'verbose_json' is not compatible with model '%s'. Use 'json' or 'text' instead.", model), "unsupported_value")
	case len(grains) > 0 && format != "verbose_json":
		return bad("timestamp_granularities", "timestamp_granularities requires response_format=verbose_json", "invalid_value")
	}
	for _, g := range grains {
		if g != "word" && g != "segment" {
			return bad("timestamp_granularities", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'word' and 'segment'.", g), "invalid_value")
		}
	}
	fh := r.MultipartForm.File["file"]
	if len(fh) == 0 {
		return bad("file", "1 validation error for Request\nbody -> file\n  field required (type=value_error.missing)", "")
	}
	f, err := fh[0].Open()
	if err != nil {
		return 499
	}
	audio, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return 499
	}
	duration, ok := playTime(r.Context(), audio)
	if !ok {
		return bad("file", "Audio file might be corrupted or unsupported", "invalid_value")
	}
	s.mu.Lock()
	e.Seconds, e.Bytes = duration, 0
	sp, known := s.spoken[sha256.Sum256(audio)]
	s.mu.Unlock()

	fault := s.cfg.TranscribeScript[e.N]
	s.mu.Lock()
	e.Fault = fault
	s.mu.Unlock()
	switch fault {
	case Fail500:
		return writeError(w, http.StatusInternalServerError, apiError{Message: "The server had an error while processing your request. Sorry about that!", Type: "server_error"})
	case Fail503:
		return writeError(w, http.StatusServiceUnavailable, apiError{Message: "The engine is currently overloaded, please try again later.", Type: "server_error"})
	case RateLimit:
		return s.tooMany(w, model, s.cfg.RetryAfter, "requests")
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return 499
	}
	if s.cfg.TranscribeLatency > 0 && !s.wait(r, time.Duration(duration*s.cfg.TranscribeLatency*float64(time.Second))) {
		return 499
	}
	var text string
	var heard []heardWord
	if known {
		sp.Duration = duration
		text, heard = hear(sp, s.cfg.Seed)
	}
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, text+"\n")
		return http.StatusOK
	}
	resp := map[string]any{"text": text}
	if format == "verbose_json" {
		resp["task"], resp["language"], resp["duration"] = "transcribe", "english", round3(duration)
		if len(grains) == 0 || slices.Contains(grains, "segment") {
			resp["segments"] = segments(heard, text)
		}
		if slices.Contains(grains, "word") {
			resp["words"] = heard
		}
	} else {
		resp["usage"] = map[string]any{"type": "duration", "seconds": int(duration + 0.999)}
	}
	b, _ := json.Marshal(resp) // maps of plain values cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("openai-processing-ms", strconv.FormatInt(time.Since(e.Time).Milliseconds(), 10))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return http.StatusOK
}

// segments are verbose_json's segments: one per sentence heard.
func segments(words []heardWord, text string) []map[string]any {
	var out []map[string]any
	start := 0
	sentences := sentenceEnd.Split(text, -1)
	for i, sent := range sentences {
		n := len(strings.Fields(sent))
		end := min(start+n, len(words))
		if end <= start {
			continue
		}
		out = append(out, map[string]any{"id": i, "seek": 0, "start": words[start].Start, "end": words[end-1].End,
			"text": " " + strings.TrimSpace(sent), "tokens": []int{}, "temperature": 0.0, "avg_logprob": -0.2,
			"compression_ratio": 1.4, "no_speech_prob": 0.01})
		start = end
	}
	return out
}

// playTime returns the seconds of audio in an MP3, and false if it is
// not MP3 with frames.
func playTime(ctx context.Context, audio []byte) (float64, bool) {
	a, err := mp3.Analyze(ctx, bytes.NewReader(audio), mp3.Options{})
	if err != nil || a.Duration == 0 || !a.OK() {
		return 0, false
	}
	return a.Duration.Seconds(), true
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
