// Package clean turns a web page, plain text or Markdown into a narration
// script: the article, the whole article and nothing but the article, in
// reading order. HTML goes through go-trafilatura for the main content and
// then through a news-specific layer that removes what news sites wrap
// around articles (membership appeals, newsletter boxes, audio-player
// labels, captions, teasers, share buttons, cookie banners).
package clean

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/script"
)

// Errors an editor sees when a page cannot be narrated. They are wrapped in
// fault.Permanent, since retrying the same input cannot help.
var (
	// ErrEmpty is returned for an input with no content at all.
	ErrEmpty = errors.New("the page is empty")
	// ErrNoArticle is returned when a page has content but no article text.
	ErrNoArticle = errors.New("no article text found on the page")
	// ErrNotText is returned for binary input (an image, a PDF, an archive).
	ErrNotText = errors.New("the input is not a web page or text")
	// ErrTooLarge is returned for an input over Config.MaxBytes.
	ErrTooLarge = errors.New("the page is too large")
)

// Input is one document to clean.
type Input struct {
	Body []byte
	// ContentType is the media type the document came with ("text/html;
	// charset=utf-8"); empty means sniff it from the body and URL.
	ContentType string
	// URL is where the page came from; it selects per-site rules and fills
	// Script.URL.
	URL string
	// Title, when set, replaces the title found in the document.
	Title string
}

// Cleaner turns documents into scripts. It is safe for concurrent use.
type Cleaner struct {
	cfg   Config
	sites []siteMatcher
}

type siteMatcher struct {
	cfg   SiteConfig
	rules siteRules
}

// New returns a Cleaner, or an error when the configuration is invalid.
func New(cfg Config) (*Cleaner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cleaner{cfg: cfg}
	for _, s := range cfg.Sites {
		r, _ := s.compile() // checked by Validate
		c.sites = append(c.sites, siteMatcher{s, r})
	}
	return c, nil
}

// format is how a document is read.
type format int

const (
	formatHTML format = iota
	formatText
	formatMarkdown
)

// Clean returns the script of one document. Errors for bad input wrap
// ErrEmpty, ErrNoArticle, ErrNotText or ErrTooLarge and are permanent.
func (c *Cleaner) Clean(ctx context.Context, in Input) (script.Script, error) {
	if err := ctx.Err(); err != nil {
		return script.Script{}, fmt.Errorf("clean: %w", err)
	}
	if len(in.Body) > c.cfg.MaxBytes {
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w: %d bytes, the limit is %d", ErrTooLarge, len(in.Body), c.cfg.MaxBytes))
	}
	body := trimBOM(in.Body)
	if len(strings.TrimSpace(string(body))) == 0 {
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w", ErrEmpty))
	}
	f, err := sniff(body, in.ContentType, in.URL)
	if err != nil {
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w", err))
	}
	var s script.Script
	switch f {
	case formatHTML:
		s, err = c.cleanHTML(ctx, body, in.ContentType, in.URL)
	case formatMarkdown:
		s = parseMarkdown(toUTF8(body), collapse(in.Title))
	default:
		s = parseText(toUTF8(body), collapse(in.Title))
	}
	if err != nil {
		return script.Script{}, err
	}
	if in.Title != "" {
		s.Title = collapse(in.Title)
	}
	if s.URL == "" {
		s.URL = webURL(in.URL)
	}
	if s.Empty() {
		return script.Script{}, fault.Permanent(fmt.Errorf("clean: %w", ErrNoArticle))
	}
	if lang := detectLanguage(s); lang != "" {
		s.Language = lang
	}
	return s, nil
}

// sniff decides how to read a document from its declared type, its URL's
// extension and its first bytes. Binary content (an image, a PDF) is
// refused whatever type it was given as: read as a page it would be
// narrated as gibberish, and paid for.
func sniff(body []byte, contentType, rawURL string) (format, error) {
	if err := checkText(body); err != nil {
		return 0, err
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "text/html", "application/xhtml+xml":
		return formatHTML, nil
	case "text/markdown", "text/x-markdown":
		return formatMarkdown, nil
	case "text/plain":
		return formatText, nil
	}
	head := strings.ToLower(strings.TrimLeft(string(body[:min(len(body), 1024)]), " \t\r\n"))
	if strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		strings.HasPrefix(head, "<?xml") && strings.Contains(head, "<html") ||
		http.DetectContentType(body) == "text/html; charset=utf-8" {
		return formatHTML, nil
	}
	if u, err := url.Parse(rawURL); err == nil {
		switch strings.ToLower(path.Ext(u.Path)) {
		case ".md", ".markdown":
			return formatMarkdown, nil
		case ".html", ".htm":
			return formatHTML, nil
		}
	}
	if strings.HasPrefix(head, "<") && strings.Contains(head, ">") && looksLikeHTML(head) {
		return formatHTML, nil
	}
	return formatText, nil
}

// looksLikeHTML reports whether a fragment starts with a common HTML tag,
// for pasted fragments without a document wrapper.
func looksLikeHTML(head string) bool {
	for _, t := range []string{"<head", "<body", "<article", "<div", "<p>", "<p ", "<h1", "<h2", "<section", "<main", "<meta", "<title", "<!--"} {
		if strings.HasPrefix(head, t) {
			return true
		}
	}
	return false
}

// checkText rejects binary data: NUL bytes or mostly invalid UTF-8 in the
// first kilobytes. A legacy 8-bit encoding passes, since it has neither.
func checkText(body []byte) error {
	head := body[:min(len(body), 8192)]
	ct := http.DetectContentType(head)
	if !strings.HasPrefix(ct, "text/") {
		return fmt.Errorf("%w (it looks like %s)", ErrNotText, strings.TrimSuffix(ct, "; charset=utf-8"))
	}
	if strings.HasSuffix(ct, "utf-16be") || strings.HasSuffix(ct, "utf-16le") {
		return nil // marked by its byte order mark; half its bytes are zero
	}
	ctrl := 0
	for _, c := range head {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			ctrl++
		}
	}
	// A few stray control bytes happen in real text; binary has many.
	if ctrl > len(head)/100 {
		return fmt.Errorf("%w (it contains control characters)", ErrNotText)
	}
	return nil
}

func trimBOM(b []byte) []byte {
	return []byte(strings.TrimPrefix(string(b), "\ufeff"))
}
