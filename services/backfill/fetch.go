package backfill

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/ingest"
)

// ErrFetch wraps failures to read a source's sitemaps, API pages or export.
var ErrFetch = errors.New("backfill: fetch")

// Getter reads sitemaps, API pages and exports through the SSRF guard
// (article pages go through ingest.Fetcher, which also checks they are
// HTML). Transient failures are retried a few times with backoff: one
// slow page must not end a run of thousands.
type Getter struct {
	client   *http.Client
	maxBytes int64
	agent    string
	retries  int
}

// NewGetter returns a Getter whose connections the guard vets.
func NewGetter(guard *ingest.Guard) *Getter {
	return &Getter{
		client: &http.Client{
			Transport: guard.Transport(),
			Timeout:   60 * time.Second,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 5 {
					return fmt.Errorf("%w: more than 5 redirects", ingest.ErrURL)
				}
				return guard.CheckURL(req.Context(), req.URL)
			},
		},
		maxBytes: 64 << 20, // a sitemap may hold 50 MB uncompressed
		agent:    "narrator-backfill/1 (+https://github.com/narrator-project/narrator)",
		retries:  4,
	}
}

// Get returns the body at u (gunzipped when it is gzip) and its headers.
func (g *Getter) Get(ctx context.Context, u, accept string) ([]byte, http.Header, error) {
	var err error
	for attempt := 0; ; attempt++ {
		var body []byte
		var h http.Header
		body, h, err = g.get(ctx, u, accept)
		if err == nil || fault.IsPermanent(err) || attempt >= g.retries || ctx.Err() != nil {
			return body, h, err
		}
		wait := time.Duration(1<<attempt) * 500 * time.Millisecond
		if d := fault.RetryAfter(err); d > wait {
			wait = min(d, time.Minute)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

func (g *Getter) get(ctx context.Context, raw, accept string) ([]byte, http.Header, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fault.Permanent(fmt.Errorf("%w: %q is not an http(s) URL", ErrFetch, raw))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fault.Permanent(fmt.Errorf("%w: %w", ErrFetch, err))
	}
	req.Header.Set("User-Agent", g.agent)
	req.Header.Set("Accept", accept)
	resp, err := g.client.Do(req)
	if err != nil {
		if errors.Is(err, ingest.ErrBlocked) || errors.Is(err, ingest.ErrURL) {
			return nil, nil, fault.Permanent(fmt.Errorf("%w %s: %w", ErrFetch, u.Redacted(), err))
		}
		return nil, nil, fault.Retry(fmt.Errorf("%w %s: %w", ErrFetch, u.Redacted(), err), 0)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := &StatusError{Code: resp.StatusCode, err: fmt.Errorf("%w %s: the server answered %s", ErrFetch, u.Redacted(), resp.Status)}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			after, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			return nil, nil, fault.Retry(err, time.Duration(after)*time.Second)
		}
		return nil, nil, fault.Permanent(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, g.maxBytes+1))
	if err != nil {
		return nil, nil, fault.Retry(fmt.Errorf("%w %s: %w", ErrFetch, u.Redacted(), err), 0)
	}
	if int64(len(body)) > g.maxBytes {
		return nil, nil, fault.Permanent(fmt.Errorf("%w %s: over %d bytes", ErrFetch, u.Redacted(), g.maxBytes))
	}
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b { // gzip, whatever the headers say
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, nil, fault.Permanent(fmt.Errorf("%w %s: %w", ErrFetch, u.Redacted(), err))
		}
		body, err = io.ReadAll(io.LimitReader(zr, g.maxBytes+1))
		if err != nil || int64(len(body)) > g.maxBytes {
			return nil, nil, fault.Permanent(fmt.Errorf("%w %s: a bad or oversized gzip body", ErrFetch, u.Redacted()))
		}
	}
	return body, resp.Header, nil
}

// StatusError is a source's answer other than 200 OK.
type StatusError struct {
	Code int
	err  error
}

func (e *StatusError) Error() string { return e.err.Error() }

// Unwrap makes a StatusError match ErrFetch.
func (e *StatusError) Unwrap() error { return e.err }

// status returns the HTTP status an error carries, or 0.
func status(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// join resolves ref against base: sitemap locations and API paths.
func join(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}
