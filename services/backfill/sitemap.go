package backfill

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
)

// sitemap lists the articles of a sitemap or sitemap index (sitemaps.org),
// news sitemaps included (Google's news extension gives the publication
// date and title). An index's sitemaps are read newest first by their
// lastmod, and those last modified before the filter's Since are not read
// at all; a sitemap's articles come in its order.
type sitemap struct {
	url string
	get *Getter
}

const sitemapAccept = "application/xml, text/xml;q=0.9, */*;q=0.1"

func (s *sitemap) Describe() string { return "sitemap " + s.url }

func (s *sitemap) Count(ctx context.Context, f Filter) (int, error) {
	n := 0
	err := s.List(ctx, f, func(Article) error { n++; return nil })
	return n, err
}

func (s *sitemap) List(ctx context.Context, f Filter, fn func(Article) error) error {
	return s.walk(ctx, s.url, f, fn, 0)
}

// sitemapURL is a <url> entry.
type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
	News    struct {
		Date  string `xml:"publication_date"`
		Title string `xml:"title"`
	} `xml:"news"`
}

// sitemapRef is a <sitemap> entry of an index.
type sitemapRef struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
}

func (s *sitemap) walk(ctx context.Context, u string, f Filter, fn func(Article) error, depth int) error {
	if depth > 3 {
		return fmt.Errorf("%w %s: sitemap indexes nested more than 3 deep", ErrFetch, u)
	}
	body, _, err := s.get.Get(ctx, u, sitemapAccept)
	if err != nil {
		return err
	}
	refs, err := parseSitemap(body, u, func(a Article) error {
		if f.admits(a) {
			return fn(a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Newest sitemaps first; one last changed before Since holds nothing
	// newer.
	slices.SortStableFunc(refs, func(a, b sitemapRef) int { return parseDate(b.LastMod).Compare(parseDate(a.LastMod)) })
	for _, r := range refs {
		if m := parseDate(r.LastMod); !m.IsZero() && !f.Since.IsZero() && m.Before(f.Since) {
			continue
		}
		if err := s.walk(ctx, join(u, r.Loc), f, fn, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// parseSitemap reads a sitemap (calling fn with each article) or a
// sitemap index (returning its sitemaps); u is its address, against which
// relative locations resolve.
func parseSitemap(body []byte, u string, fn func(Article) error) ([]sitemapRef, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var refs []sitemapRef
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w %s: not a sitemap: %w", ErrFetch, u, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
			if root != "urlset" && root != "sitemapindex" {
				return nil, fmt.Errorf("%w %s: not a sitemap: the document is <%s>, not <urlset> or <sitemapindex>", ErrFetch, u, root)
			}
			continue
		}
		switch se.Name.Local {
		case "url":
			var e sitemapURL
			if err := dec.DecodeElement(&e, &se); err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrFetch, u, err)
			}
			if e.Loc == "" {
				continue
			}
			loc := join(u, e.Loc)
			if err := fn(Article{ID: loc, URL: loc, Title: e.News.Title, Date: parseDate(cmp.Or(e.News.Date, e.LastMod))}); err != nil {
				return nil, err
			}
		case "sitemap":
			var r sitemapRef
			if err := dec.DecodeElement(&r, &se); err != nil {
				return nil, fmt.Errorf("%w %s: %w", ErrFetch, u, err)
			}
			if r.Loc != "" {
				refs = append(refs, r)
			}
		}
	}
	if root == "" {
		return nil, fmt.Errorf("%w %s: not a sitemap: no XML in it", ErrFetch, u)
	}
	return refs, nil
}
