package synth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/redact"
)

// ErrQuota: the account's quota or billing limit is exhausted (OpenAI's
// 429 insufficient_quota). Like ErrAuth, only an operator can fix it.
var ErrQuota = errors.New("provider quota exhausted")

// NeedsOperator reports whether err is one that no retry can fix until
// someone changes the configuration or the account (bad credentials, quota
// exhausted). The stage should stop taking work instead of failing every
// chunk in the queue.
func NeedsOperator(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrQuota)
}

// classifyOpenAI turns a go-openai error and the response headers into a
// classified error.
func classifyOpenAI(ctx context.Context, err error, h http.Header) error {
	if ctx.Err() != nil {
		// The caller gave up (shutdown or its own deadline): not the
		// provider's fault, and an unclassified error is retried.
		return fmt.Errorf("synth: openai: %w", ctx.Err())
	}
	status, msg, code := 0, "", ""
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
		code, _ = apiErr.Code.(string)
	case errors.As(err, &reqErr):
		status, msg = reqErr.HTTPStatusCode, fmt.Sprintf("%.200s", reqErr.Body)
	default:
		return classifyTransport("openai", err)
	}
	detail := fmt.Sprintf("HTTP %d: %s", status, msg)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fault.Permanent(fmt.Errorf("synth: openai: %w: %s", ErrAuth, detail))
	case status == http.StatusTooManyRequests && (code == "insufficient_quota" || code == "billing_hard_limit_reached"):
		return fault.Permanent(fmt.Errorf("synth: openai: %w: %s", ErrQuota, detail))
	case status == http.StatusTooManyRequests:
		return fault.Retry(fmt.Errorf("synth: openai: %w: %s", ErrRateLimited, detail), RetryAfter(h))
	case status == http.StatusRequestEntityTooLarge || (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) && tooLong(msg):
		return fault.Permanent(fmt.Errorf("synth: openai: %w: %s", ErrTooLong, detail))
	case status == http.StatusRequestTimeout || status == http.StatusConflict || status >= 500:
		return fault.Retry(fmt.Errorf("synth: openai: %w: %s", ErrUnavailable, detail), RetryAfter(h))
	case status >= 400:
		return fault.Permanent(fmt.Errorf("synth: openai: %w: %s", ErrRejected, detail))
	}
	return fault.Retry(fmt.Errorf("synth: openai: %w: unexpected %s", ErrUnavailable, detail), 0)
}

// tooLong recognises the messages OpenAI and compatible servers give for
// over-long input.
func tooLong(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"string_too_long", "too long", "at most", "maximum length", "max_length", "exceeds"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// classifyTransport classifies an error that came with no HTTP answer.
// Timeouts, refused or reset connections and cut-off bodies are temporary;
// so is anything else, since a failure the provider never answered is no
// proof that the request is bad.
func classifyTransport(provider string, err error) error {
	return fault.Retry(fmt.Errorf("synth: %s: %w: %w", provider, ErrUnavailable, redact.Error(err)), 0)
}

// RetryAfter reads how long a provider asked to wait: retry-after-ms, then
// Retry-After (seconds or an HTTP date), then the reset time of whichever
// x-ratelimit-* budget is exhausted. Zero if the headers do not say.
func RetryAfter(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	if ms, err := strconv.ParseFloat(h.Get("retry-after-ms"), 64); err == nil && ms > 0 && ms < 1e12 { // bounded: a Duration overflows past 292 years
		return time.Duration(ms * float64(time.Millisecond))
	}
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 1e9 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	var d time.Duration
	for _, kind := range []string{"requests", "tokens"} {
		if h.Get("x-ratelimit-remaining-"+kind) != "0" {
			continue
		}
		if r, err := time.ParseDuration(h.Get("x-ratelimit-reset-" + kind)); err == nil && r > d {
			d = r
		}
	}
	return d
}
