package faketts

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/synth/speechgen"
)

// speechRequest is the JSON body of POST /v1/audio/speech.
type speechRequest struct {
	Model          string   `json:"model"`
	Input          *string  `json:"input"`
	Voice          string   `json:"voice"`
	ResponseFormat string   `json:"response_format,omitempty"`
	Speed          *float64 `json:"speed,omitempty"`
	Instructions   string   `json:"instructions,omitempty"`
	StreamFormat   string   `json:"stream_format,omitempty"`
}

func (s *Server) speech(w http.ResponseWriter, r *http.Request) {
	s.serveLogged(w, r, &s.n, func(w http.ResponseWriter, e *Entry) int {
		status, _, _ := s.answer(w, r, e)
		return status
	})
}

// serveLogged numbers a request with *counter, logs it, and answers it
// with serve, which returns the status to log if it wrote none.
func (s *Server) serveLogged(w http.ResponseWriter, r *http.Request, counter *int, serve func(http.ResponseWriter, *Entry) int) {
	s.mu.Lock()
	*counter++
	e := &Entry{N: *counter, Time: time.Now(), Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type")}
	s.log = append(s.log, e)
	s.mu.Unlock()

	status := serve(&logWriter{ResponseWriter: w, s: s, e: e}, e)
	s.mu.Lock()
	if e.Status == 0 { // no answer was written: the client left or the request hung
		e.Status, e.Elapsed = status, time.Since(e.Time)
	}
	s.mu.Unlock()
}

// logWriter records the status and body size in the log entry before the
// client can see them, so a test that reads the log right after its
// response finds the request complete.
type logWriter struct {
	http.ResponseWriter
	s *Server
	e *Entry
}

// WriteHeader records the status, then sends it.
func (w *logWriter) WriteHeader(code int) {
	w.s.mu.Lock()
	if w.e.Status == 0 {
		w.e.Status, w.e.Elapsed = code, time.Since(w.e.Time)
	}
	w.s.mu.Unlock()
	w.ResponseWriter.WriteHeader(code)
}

// Write counts the bytes, then sends them.
func (w *logWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	if w.e.Status == 0 {
		w.e.Status, w.e.Elapsed = http.StatusOK, time.Since(w.e.Time)
	}
	w.e.Bytes += len(p)
	w.s.mu.Unlock()
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection to flush it.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// answer serves one speech request and returns what the log records.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, e *Entry) (status int, f Fault, n int) {
	w.Header().Set("x-request-id", fmt.Sprintf("req_%032x", e.N))
	if st, ok := s.authorized(w, e.Auth); !ok {
		return st, NoFault, 0
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return 499, NoFault, 0 // the client went away
	}
	var req speechRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		msg := "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			msg = "Unrecognized request argument supplied: " + strings.Trim(f, `"`)
		}
		return writeError(w, http.StatusBadRequest, apiError{Message: msg, Type: "invalid_request_error"}), NoFault, 0
	}
	speed, chars := 1.0, 0
	if req.Input != nil {
		chars = utf8.RuneCountInString(*req.Input)
	}
	// The entry is in the log already, where tests read it at any time.
	s.mu.Lock()
	e.Model, e.Voice, e.ResponseFormat, e.Instructions = req.Model, req.Voice, req.ResponseFormat, req.Instructions
	if req.Input != nil {
		e.Input, e.Chars = *req.Input, chars
	}
	if req.Speed != nil {
		speed = *req.Speed
		e.Speed = speed
	}
	s.mu.Unlock()
	if aerr, st := s.validate(req, chars, speed); st != 0 {
		return writeError(w, st, aerr), NoFault, 0
	}

	f = s.fault(e.N)
	if f != RateLimit {
		if wait, kind := s.admit(w, e.Chars); wait > 0 {
			return s.tooMany(w, req.Model, wait, kind), NoFault, 0
		}
	}
	s.mu.Lock()
	e.Fault = f
	s.mu.Unlock()
	switch f {
	case Fail500:
		return writeError(w, http.StatusInternalServerError, apiError{Message: "The server had an error while processing your request. Sorry about that!", Type: "server_error"}), f, 0
	case Fail503:
		return writeError(w, http.StatusServiceUnavailable, apiError{Message: "The engine is currently overloaded, please try again later.", Type: "server_error"}), f, 0
	case Fail502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		n, _ := io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n")
		return http.StatusBadGateway, f, n
	case RateLimit:
		return s.tooMany(w, req.Model, s.cfg.RetryAfter, "requests"), f, 0
	case Quota:
		return writeError(w, http.StatusTooManyRequests, apiError{Message: "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.", Type: "insufficient_quota", Code: "insufficient_quota"}), f, 0
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return 499, f, 0
	}

	if !s.wait(r, s.cfg.BaseLatency+time.Duration(e.Chars)*s.cfg.LatencyPerChar) {
		return 499, f, 0
	}
	audio, err := s.audio(r.Context(), e, req, speed, f)
	if err != nil {
		return writeError(w, http.StatusInternalServerError, apiError{Message: "fake: " + err.Error(), Type: "server_error"}), f, 0
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("openai-processing-ms", strconv.FormatInt(time.Since(e.Time).Milliseconds(), 10))
	switch f {
	case Truncate:
		audio = audio[:len(audio)*2/3+17] // mid-frame
	case Garbage:
		audio = []byte(`{"object":"error","message":"upstream returned an empty response"}`)
	case Reset:
		w.Header().Set("Content-Length", strconv.Itoa(len(audio)))
		w.WriteHeader(http.StatusOK)
		w.Write(audio[:len(audio)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(audio)))
	w.WriteHeader(http.StatusOK)
	n, _ = w.Write(audio)
	return http.StatusOK, f, n
}

// authorized checks the bearer token, answering 401 as OpenAI does when
// it is missing or wrong.
func (s *Server) authorized(w http.ResponseWriter, auth string) (int, bool) {
	if s.cfg.APIKey == "" {
		return 0, true
	}
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if ok && tok == s.cfg.APIKey {
		return 0, true
	}
	msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
	code := any(nil)
	if ok {
		msg = fmt.Sprintf("Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.", redact(tok))
		code = "invalid_api_key"
	}
	return writeError(w, http.StatusUnauthorized, apiError{Message: msg, Type: "invalid_request_error", Code: code}), false
}

// audio makes the response's MP3: speech shaped by the configuration, or
// tones; for the Short fault, its first frame only.
func (s *Server) audio(ctx context.Context, e *Entry, req speechRequest, speed float64, f Fault) ([]byte, error) {
	if s.cfg.Tones {
		frames := int(math.Round(float64(e.Chars) / (s.cfg.CharsPerSecond * speed) / s.gen.FrameDuration()))
		frames = max(frames, int(math.Ceil(0.5/s.gen.FrameDuration()))) // even "Hi." takes half a second
		if f == Short {
			frames = 1
		}
		return s.gen.Audio(ctx, req.Model+"\x00"+req.Voice+"\x00"+e.Input, frames)
	}
	o := s.cfg.Speech
	if len(s.cfg.Vary) > 0 {
		o = s.cfg.Vary[(e.N-1)%len(s.cfg.Vary)]
	}
	o.Voice, o.Speed, o.CharsPerSecond = req.Model+"/"+req.Voice, speed, s.cfg.CharsPerSecond
	o.AbruptEnd = o.AbruptEnd || f == Abrupt
	said := e.Input
	if slices.Contains(misspeaks, f) {
		if said = misspeak(said, f); said == e.Input { // nothing to misread: the log says so
			s.mu.Lock()
			e.Fault = NoFault
			s.mu.Unlock()
		}
	}
	audio, err := speechgen.Render(ctx, said, o)
	if err != nil {
		return nil, err
	}
	if f != Short {
		// espeak-ng starts speaking about 60 ms in.
		trail := o.Trail
		if trail == 0 && !o.NoTrail && !o.AbruptEnd {
			trail = speechgen.DefaultTrail
		}
		s.remember(audio, spoken{Text: said, Lead: (o.Lead + 60*time.Millisecond).Seconds(), Trail: trail.Seconds()})
		return audio, nil
	}
	sc := mp3.NewScanner(bytes.NewReader(audio))
	for sc.Scan() {
		if it := sc.Item(); it.Kind == mp3.KindFrame {
			return audio[it.Offset : it.Offset+it.Size], nil
		}
	}
	return nil, errors.New("no frame in the speech")
}

// validate checks a request as OpenAI does, returning the error and status
// to answer with, or status 0.
func (s *Server) validate(req speechRequest, chars int, speed float64) (apiError, int) {
	bad := func(param, msg string) (apiError, int) {
		return apiError{Message: msg, Type: "invalid_request_error", Param: param}, http.StatusBadRequest
	}
	switch {
	case req.Model == "":
		return bad("model", "you must provide a model parameter")
	case !slices.Contains(s.cfg.Models, req.Model):
		return apiError{Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", req.Model), Type: "invalid_request_error", Code: "model_not_found"}, http.StatusNotFound
	case req.Input == nil:
		return bad("input", "Missing required parameter: 'input'.")
	case chars == 0:
		return bad("input", "Invalid 'input': empty string. Expected a string with minimum length 1, but got an empty string instead.")
	case chars > s.cfg.MaxChars:
		return apiError{Message: fmt.Sprintf("[{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most %d characters', 'ctx': {'max_length': %d}}]", s.cfg.MaxChars, s.cfg.MaxChars), Type: "invalid_request_error"}, http.StatusBadRequest
	case req.Voice == "":
		return bad("voice", "Missing required parameter: 'voice'.")
	case !slices.Contains(s.cfg.Voices, req.Voice):
		return bad("voice", fmt.Sprintf("Invalid value for 'voice' = %s. Supported values are: '%s'.", req.Voice, strings.Join(s.cfg.Voices, "', '")))
	case speed < 0.25 || speed > 4:
		return bad("speed", fmt.Sprintf("Invalid 'speed': %v. Expected a value between 0.25 and 4.0.", speed))
	case req.StreamFormat != "" && req.StreamFormat != "audio":
		return bad("stream_format", fmt.Sprintf("Invalid value for 'stream_format' = %s: this fake streams only 'audio'.", req.StreamFormat))
	case req.ResponseFormat != "" && req.ResponseFormat != "mp3":
		return bad("response_format", fmt.Sprintf("Invalid value for 'response_format' = %s: this fake serves only 'mp3'.", req.ResponseFormat))
	}
	return apiError{}, 0
}

// wait holds a response for the latency model; false if the client left.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

// admit takes a request and its characters from the rate buckets and sets
// the x-ratelimit-* headers, as OpenAI does on every response. A positive
// wait says how long until the request would fit, and which limit
// ("requests" or "tokens") it hit.
func (s *Server) admit(w http.ResponseWriter, chars int) (wait time.Duration, kind string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.requests != nil {
		if d := s.requests.need(now, 1); d > 0 {
			wait, kind = d, "requests"
		}
	}
	if s.chars != nil {
		if d := s.chars.need(now, float64(chars)); d > wait {
			wait, kind = d, "tokens"
		}
	}
	if wait == 0 {
		if s.requests != nil {
			s.requests.take(1)
		}
		if s.chars != nil {
			s.chars.take(float64(chars))
		}
	}
	h := w.Header()
	if b := s.requests; b != nil {
		h.Set("x-ratelimit-limit-requests", strconv.Itoa(int(b.capacity)))
		h.Set("x-ratelimit-remaining-requests", strconv.Itoa(int(b.tokens)))
		h.Set("x-ratelimit-reset-requests", b.untilFull().String())
	}
	if b := s.chars; b != nil {
		h.Set("x-ratelimit-limit-tokens", strconv.Itoa(int(b.capacity)))
		h.Set("x-ratelimit-remaining-tokens", strconv.Itoa(int(b.tokens)))
		h.Set("x-ratelimit-reset-tokens", b.untilFull().String())
	}
	return wait, kind
}

// tooMany answers 429 with the Retry-After headers OpenAI sends.
func (s *Server) tooMany(w http.ResponseWriter, model string, wait time.Duration, kind string) int {
	wait = max(wait.Round(time.Millisecond), time.Millisecond)
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	w.Header().Set("retry-after-ms", strconv.FormatInt(wait.Milliseconds(), 10))
	usage := ""
	s.mu.Lock()
	if b := s.requests; kind == "requests" && b != nil {
		usage = fmt.Sprintf(": Limit %d, Used %d, Requested 1", int(b.capacity), int(b.capacity-b.tokens))
	} else if b := s.chars; kind == "tokens" && b != nil {
		usage = fmt.Sprintf(": Limit %d, Used %d", int(b.capacity), int(b.capacity-b.tokens))
	}
	s.mu.Unlock() // writeError logs through logWriter, which takes the lock
	return writeError(w, http.StatusTooManyRequests, apiError{
		Message: fmt.Sprintf("Rate limit reached for %s in organization org-fake on %s per min%s. Please try again in %v. Visit https://platform.openai.com/account/rate-limits to learn more.", model, kind, usage, wait),
		Type:    kind,
		Code:    "rate_limit_exceeded",
	})
}

// apiError is the error object of OpenAI's error JSON.
type apiError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    any    `json:"code"`
}

// writeError writes {"error":{"message","type","param","code"}} and
// returns the status.
func writeError(w http.ResponseWriter, status int, e apiError) int {
	if p, ok := e.Param.(string); ok && p == "" {
		e.Param = nil
	}
	b, err := json.MarshalIndent(struct {
		Error apiError `json:"error"`
	}{e}, "", "  ")
	if err != nil {
		panic(errors.Join(errors.New("faketts: encode error"), err)) // a static shape cannot fail
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return status
}

// redact shows a key as OpenAI does: its ends only.
func redact(k string) string {
	if len(k) <= 8 {
		return "sk-****"
	}
	return k[:3] + strings.Repeat("*", 10) + k[len(k)-4:]
}
