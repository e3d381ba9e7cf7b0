package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Source lists an archive's articles.
type Source interface {
	// Describe names the source for plans, logs and run records, without
	// secrets.
	Describe() string
	// Count returns how many articles List yields under f (Max aside), or
	// -1 when only listing them all would tell.
	Count(ctx context.Context, f Filter) (int, error)
	// List calls fn with each article f admits as far as the listing
	// tells, in the source's order (newest first where the source can),
	// until fn returns an error, which List returns.
	List(ctx context.Context, f Filter, fn func(Article) error) error
}

// Source kinds.
const (
	KindSitemap   = "sitemap"
	KindWordPress = "wordpress"
	KindGhost     = "ghost"
	KindJSONL     = "jsonl"
	KindCSV       = "csv"
)

// Spec says where a run's articles come from. It is kept in the run's
// record, so that a run can be resumed from the API as from the command
// line.
type Spec struct {
	Kind string `json:"kind"`
	// URL is the sitemap (or sitemap index), the WordPress or Ghost site,
	// or an export to download.
	URL string `json:"url,omitempty"`
	// Path is an export file on the machine running the backfill.
	Path string `json:"path,omitempty"`
	// Key is the Ghost Content API key: read-only access to published
	// content, which Ghost deems safe to put in a browser.
	Key string `json:"key,omitempty"`
}

// ErrSpec wraps what is wrong with a Spec.
var ErrSpec = errors.New("backfill: source")

// Validate reports a spec that cannot be opened.
func (s Spec) Validate() error {
	switch s.Kind {
	case KindSitemap, KindWordPress, KindGhost:
		if s.Path != "" {
			return fmt.Errorf("%w: a %s source is read from a URL, not a file", ErrSpec, s.Kind)
		}
		if err := checkURL(s.URL); err != nil {
			return err
		}
		if s.Kind == KindGhost && s.Key == "" {
			return fmt.Errorf("%w: the Ghost Content API needs its key (Ghost admin → Integrations → a custom integration's Content API key)", ErrSpec)
		}
	case KindJSONL, KindCSV:
		if (s.URL == "") == (s.Path == "") {
			return fmt.Errorf("%w: give an export's file or its URL, not both or neither", ErrSpec)
		}
		if s.URL != "" {
			return checkURL(s.URL)
		}
	default:
		return fmt.Errorf("%w: kind %q: want sitemap, wordpress, ghost, jsonl or csv", ErrSpec, s.Kind)
	}
	return nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrSpec, raw)
	}
	return nil
}

// Open returns the source the spec names; get fetches what it reads.
func (s Spec) Open(get *Getter) (Source, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	switch s.Kind {
	case KindSitemap:
		return &sitemap{url: s.URL, get: get}, nil
	case KindWordPress:
		return &wordpress{api: wpAPI(s.URL), get: get}, nil
	case KindGhost:
		return &ghost{api: strings.TrimRight(strings.TrimSuffix(strings.TrimRight(s.URL, "/"), "/ghost"), "/") + "/ghost/api/content/", key: s.Key, get: get}, nil
	}
	return &export{spec: s, get: get}, nil
}

// Describe names the source without its key.
func (s Spec) Describe() string {
	where := s.URL
	if s.Path != "" {
		where = s.Path
	}
	return s.Kind + " " + where
}

// parseDate reads the dates sources write: W3C datetimes in their forms
// (2024-03-04, 2024-03-04T10:00Z, 2024-03-04T10:00:00+01:00), RFC 3339
// with fractions, and WordPress's and Ghost's.
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05", time.DateOnly, "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
