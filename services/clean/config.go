package clean

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/andybalholm/cascadia"
)

// Config configures a Cleaner. The zero value is usable.
type Config struct {
	// MaxBytes bounds the input size; larger inputs fail with ErrTooLarge.
	// Extraction time grows with the page, so the bound is what keeps a
	// worker from stalling on a pathological page. Default 5 MiB.
	MaxBytes int `json:"max_bytes,omitempty"`
	// KeepCaptions reads image captions and alt text aloud; by default they
	// are left out, since a listener cannot see the picture.
	KeepCaptions bool `json:"keep_captions,omitempty"`
	// DropTables leaves data tables out; by default they are read row by
	// row, cells separated by commas, since they are part of the article.
	DropTables bool `json:"drop_tables,omitempty"`
	// Sites holds per-site rules for what no general rule can know.
	Sites []SiteConfig `json:"sites,omitempty"`
	// Logger receives debug records about dropped blocks. Default: discard.
	Logger *slog.Logger `json:"-"`
}

// SiteConfig holds extraction rules for the sites whose host names it lists.
type SiteConfig struct {
	// Hosts are host names the rules apply to; "example.com" also matches
	// its subdomains, "*" matches every site.
	Hosts []string `json:"hosts"`
	// Drop lists CSS selectors of elements removed before extraction.
	Drop []string `json:"drop,omitempty"`
	// Keep lists CSS selectors of the article body: when one matches, the
	// matched elements are the article, and the extractor's guess is not
	// used. General boilerplate rules still apply inside them.
	Keep []string `json:"keep,omitempty"`
	// DropPhrases drops every paragraph that contains one of the phrases
	// (case-insensitive).
	DropPhrases []string `json:"drop_phrases,omitempty"`
}

// siteRules is a SiteConfig with its selectors compiled.
type siteRules struct {
	drop, keep cascadia.SelectorGroup
	phrases    []string
}

const defaultMaxBytes = 5 << 20

func (c *Config) setDefaults() {
	if c.MaxBytes == 0 {
		c.MaxBytes = defaultMaxBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports configuration errors in words a user can act on.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("clean: max_bytes must not be negative, got %d", c.MaxBytes))
	}
	for i, s := range c.Sites {
		if _, err := s.compile(); err != nil {
			errs = append(errs, fmt.Errorf("clean: site %d (%s): %w", i, strings.Join(s.Hosts, ", "), err))
		}
	}
	return errors.Join(errs...)
}

func (s SiteConfig) compile() (siteRules, error) {
	if len(s.Hosts) == 0 {
		return siteRules{}, errors.New("no hosts listed (use \"*\" for every site)")
	}
	var r siteRules
	for _, sel := range s.Drop {
		m, err := cascadia.Parse(sel)
		if err != nil {
			return r, fmt.Errorf("drop selector %q: %w", sel, err)
		}
		r.drop = append(r.drop, m)
	}
	for _, sel := range s.Keep {
		m, err := cascadia.Parse(sel)
		if err != nil {
			return r, fmt.Errorf("keep selector %q: %w", sel, err)
		}
		r.keep = append(r.keep, m)
	}
	for _, p := range s.DropPhrases {
		if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
			r.phrases = append(r.phrases, p)
		}
	}
	return r, nil
}

// matches reports whether the rules apply to host.
func (s SiteConfig) matches(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range s.Hosts {
		h = strings.ToLower(h)
		if h == "*" || host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

// LoadSites reads per-site rules from JSON: either a list of site objects
// or an object with a "sites" list.
func LoadSites(r io.Reader) ([]SiteConfig, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("clean: read site rules: %w", err)
	}
	var sites []SiteConfig
	if err := json.Unmarshal(raw, &sites); err != nil {
		var wrapped struct {
			Sites []SiteConfig `json:"sites"`
		}
		if err2 := json.Unmarshal(raw, &wrapped); err2 != nil {
			return nil, fmt.Errorf("clean: parse site rules: %w", err)
		}
		sites = wrapped.Sites
	}
	for i, s := range sites {
		if _, err := s.compile(); err != nil {
			return nil, fmt.Errorf("clean: site %d (%s): %w", i, strings.Join(s.Hosts, ", "), err)
		}
	}
	return sites, nil
}
