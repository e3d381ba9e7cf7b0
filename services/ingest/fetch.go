// Package ingest fetches articles by URL with the limits a server that
// fetches on a stranger's behalf needs: time, size, redirects, content
// types, and a guard that keeps it away from private and internal
// addresses (ssrf.go).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/redact"
)

// Errors a fetch can end with, for callers that branch.
var (
	ErrURL         = errors.New("ingest: not a fetchable URL")
	ErrStatus      = errors.New("ingest: the server did not return the page")
	ErrTooLarge    = errors.New("ingest: page too large")
	ErrContentType = errors.New("ingest: not a type this fetch takes")
)

// Config sets a fetcher's limits.
type Config struct {
	Timeout      time.Duration // whole fetch, body included (default 30s)
	MaxBytes     int64         // body size limit (default 10 MiB)
	MaxRedirects int           // default 5
	UserAgent    string
	// Guard refuses private, loopback, link-local and metadata addresses
	// unless allow-listed; nil: a guard that allows only public addresses.
	Guard *Guard
	// Transport makes the connections; nil: the guard's transport. A
	// transport given here makes its own connections, so the guard can vet
	// only the URLs (the first and each redirect), not the connections.
	Transport http.RoundTripper
	// CheckRedirect, when set, vets every redirect target before it is
	// followed, after the guard.
	CheckRedirect func(u *url.URL) error
	// Types are the media types a response may have; default HTML,
	// XHTML, plain text and Markdown (articles).
	Types []string
}

func (c *Config) setDefaults() {
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 10 << 20
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = 5
	}
	if c.Guard == nil {
		c.Guard = MustGuard(GuardConfig{})
	}
	if len(c.Types) == 0 {
		c.Types = []string{"text/html", "application/xhtml+xml", "text/plain", "text/markdown"}
	}
	if c.UserAgent == "" {
		c.UserAgent = "narrator/1 (+https://github.com/narrator-project/narrator)"
	}
}

// Page is a fetched document.
type Page struct {
	Body        []byte
	ContentType string
	URL         string // after redirects
}

// Fetcher fetches pages. It is safe for concurrent use.
type Fetcher struct {
	cfg    Config
	client *http.Client
}

// New returns a fetcher.
func New(cfg Config) *Fetcher {
	cfg.setDefaults()
	tr := cfg.Transport
	if tr == nil {
		tr = cfg.Guard.Transport()
	}
	c := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > cfg.MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrURL, cfg.MaxRedirects)
			}
			if err := cfg.Guard.CheckURL(req.Context(), req.URL); err != nil {
				return err
			}
			if cfg.CheckRedirect != nil {
				return cfg.CheckRedirect(req.URL)
			}
			return nil
		},
	}
	return &Fetcher{cfg: cfg, client: c}
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%w: %q (only http and https URLs can be narrated)", ErrURL, redact.URL(u.String()))
	}
	return nil
}

// Fetch gets a page. Errors that no retry can fix (a 404, an image, a page
// over the size limit) are permanent; network errors and 5xx are not.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (Page, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Page{}, fault.Permanent(fmt.Errorf("%w: %w", ErrURL, err))
	}
	if err := checkScheme(u); err != nil {
		return Page{}, fault.Permanent(err)
	}
	if err := f.cfg.Guard.CheckURL(ctx, u); err != nil {
		if errors.Is(err, ErrBlocked) {
			return Page{}, fault.Permanent(err)
		}
		return Page{}, fault.Retry(err, 0) // a failed DNS lookup may succeed later
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Page{}, fault.Permanent(fmt.Errorf("%w: %w", ErrURL, err))
	}
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	req.Header.Set("Accept", strings.Join(f.cfg.Types, ",")+";q=0.9,*/*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrURL) || fault.IsPermanent(err) {
			return Page{}, fault.Permanent(fmt.Errorf("ingest: fetch %s: %w", redact.URL(u.String()), err))
		}
		return Page{}, fault.Retry(fmt.Errorf("ingest: fetch %s: %w", redact.URL(u.String()), err), 0)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%w: %s answered %s", ErrStatus, redact.URL(u.String()), resp.Status)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return Page{}, fault.Retry(err, 0)
		}
		return Page{}, fault.Permanent(err)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || !slices.Contains(f.cfg.Types, mt)) {
		return Page{}, fault.Permanent(fmt.Errorf("%w: %s is %q, not %s", ErrContentType, redact.URL(u.String()), ct, strings.Join(f.cfg.Types, ", ")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.cfg.MaxBytes+1))
	if err != nil {
		return Page{}, fault.Retry(fmt.Errorf("ingest: read %s: %w", redact.URL(u.String()), err), 0)
	}
	if int64(len(body)) > f.cfg.MaxBytes {
		return Page{}, fault.Permanent(fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, redact.URL(u.String()), f.cfg.MaxBytes))
	}
	return Page{Body: body, ContentType: ct, URL: resp.Request.URL.String()}, nil
}

// ErrNoHost is the cause of URLs whose host name does not resolve.
var ErrNoHost = errors.New("ingest: no such host")

// retryLookup is how long Vet waits before asking once more about a name
// that did not resolve.
var retryLookup = time.Second

// Vet checks a URL as it is submitted: http or https, and a host that
// resolves to addresses the guard allows. A name the resolver says does
// not exist is asked about once more after a short pause, for a resolver's
// passing hiccup, and is then refused for good with ErrNoHost: retrying
// for minutes will not make a misspelt host exist. Other lookup failures
// (a timeout, no DNS server) are returned as they are, for the caller to
// retry.
func (g *Guard) Vet(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fault.Permanent(fmt.Errorf("%w: %w", ErrURL, err))
	}
	if err := checkScheme(u); err != nil {
		return fault.Permanent(err)
	}
	for attempt := 0; ; attempt++ {
		err = g.CheckURL(ctx, u)
		var dns *net.DNSError
		if err == nil || !errors.As(err, &dns) || !dns.IsNotFound {
			if errors.Is(err, ErrBlocked) {
				return fault.Permanent(err)
			}
			return err
		}
		if attempt == 1 {
			return fault.Permanent(fmt.Errorf("%w: %s does not exist (the resolver answered %q twice); check the URL's spelling", ErrNoHost, u.Hostname(), dns.Err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryLookup):
		}
	}
}
