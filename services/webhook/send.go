package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/redact"
)

// Config says where events go and how they are signed.
type Config struct {
	// URLs are the endpoints every event is sent to (NARRATOR_WEBHOOK_URLS).
	URLs []string
	// Secret keys the signatures (NARRATOR_WEBHOOK_SECRET).
	Secret string
	// Timeout bounds one attempt (default 10s).
	Timeout time.Duration
	// Client sends the requests; default: one that follows no redirects.
	Client *http.Client
	// UserAgent of the requests.
	UserAgent string
	// Now is the clock of the signatures' timestamps (default time.Now).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "narrator-webhook/1 (+https://github.com/narrator-project/narrator)"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// MinSecretLen is the shortest secret accepted: a short one can be guessed
// offline from a single signed request.
const MinSecretLen = 16

// Validate reports settings that cannot work.
func (c *Config) Validate() error {
	var errs []error
	for _, u := range c.URLs {
		if err := checkEndpoint(u); err != nil {
			errs = append(errs, err)
		}
	}
	if len(c.URLs) > 0 && len(c.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("webhook: NARRATOR_WEBHOOK_SECRET must be at least %d characters when NARRATOR_WEBHOOK_URLS is set (generate one with: openssl rand -hex 32)", MinSecretLen))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("webhook: timeout %s is negative", c.Timeout))
	}
	return errors.Join(errs...)
}

func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook: endpoint %q: want an absolute http or https URL", redact.URL(raw))
	}
	return nil
}

// SplitURLs splits a comma- or space-separated list of endpoints.
func SplitURLs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// Sender delivers events. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	client *http.Client
}

// New returns a sender.
func New(cfg Config) (*Sender, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.Client
	if c == nil {
		// A redirect is answered as a permanent failure: a POST that a
		// client re-sends as GET to wherever it is told is not a delivery.
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Sender{cfg: cfg, client: c}, nil
}

// Endpoints returns the configured endpoints.
func (s *Sender) Endpoints() []string { return append([]string(nil), s.cfg.URLs...) }

// StatusError is a delivery the endpoint answered with a status other
// than 2xx.
type StatusError struct {
	Endpoint   string // redacted: no query, no credentials
	StatusCode int
	Body       string // the start of the answer, for the operator
}

// Error says which endpoint answered what.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("webhook: %s answered %d %s", e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Send makes one attempt to deliver e to endpoint. A 2xx answer is
// success. Timeouts, network errors, 408, 429 and 5xx are temporary
// (fault.Retry, with the Retry-After the endpoint asked for); any other
// answer, redirects included, is permanent (fault.Permanent): retrying
// cannot fix a 404 or a refused signature.
func (s *Sender) Send(ctx context.Context, endpoint string, e Event) error {
	if err := checkEndpoint(endpoint); err != nil {
		return fault.Permanent(err)
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fault.Permanent(fmt.Errorf("webhook: encode %s: %w", e.Type, err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fault.Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set(EventHeader, string(e.Type))
	req.Header.Set(DeliveryHeader, e.ID)
	SetHeaders(req.Header, s.cfg.Secret, s.cfg.Now(), body)

	resp, err := s.client.Do(req)
	if err != nil {
		return fault.Retry(fmt.Errorf("webhook: deliver %s to %s: %w", e.Type, redact.URL(endpoint), scrub(err)), 0)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	serr := &StatusError{Endpoint: redact.URL(endpoint), StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(snippet))}
	switch {
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fault.Retry(serr, retryAfter(resp.Header.Get("Retry-After"), s.cfg.Now()))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fault.Permanent(fmt.Errorf("%w (configure the URL it redirects to, %s, instead)", serr, redact.URL(resp.Header.Get("Location"))))
	}
	return fault.Permanent(serr)
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// scrub drops the URL a *url.Error repeats, which the message names
// redacted already.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
