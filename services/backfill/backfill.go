// Package backfill narrates a newsroom's archive: it lists the articles a
// source holds (a news or plain sitemap, the WordPress REST API, the Ghost
// Content API, or a JSON Lines or CSV export), filters them by date,
// section and count, plans what narrating them costs and how long it
// takes under the configured rate limits, and submits them at low
// priority, paced to what the workers take, skipping articles already
// narrated unchanged, resuming where it stopped, and stopping cleanly at
// a budget. Its progress is kept in NATS, so a run killed at any moment
// goes on from where it was without submitting anything twice.
package backfill

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// Article is one article of an archive, as its source lists it.
type Article struct {
	// ID is the article's stable id: the CMS's ("wp-123", "ghost-abc",
	// the export's id) or its URL. It becomes the job's article id, so an
	// article the CMS webhook narrated is the same job.
	ID      string
	URL     string // where it is published; fetched when HTML is empty
	HTML    string // its content, when the source holds it
	Title   string
	Section string
	Author  string
	Date    time.Time // published; zero when the source does not say
}

// Filter selects the articles of a run.
type Filter struct {
	// Since and Until bound the publication date: Since ≤ date < Until.
	// Articles whose source gives no date are kept, then checked against
	// the date their page states.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Sections keeps articles of any of these sections (compared without
	// case); none keeps all.
	Sections []string `json:"sections,omitempty"`
	// Max stops after this many articles; 0: no limit.
	Max int `json:"max,omitempty"`
}

// Validate reports a filter that selects nothing by construction.
func (f Filter) Validate() error {
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return errors.New("backfill: since must be before until")
	}
	if f.Max < 0 {
		return errors.New("backfill: max must not be negative")
	}
	return nil
}

// dated reports whether t passes the date bounds; a zero t passes.
func (f Filter) dated(t time.Time) bool {
	return t.IsZero() || (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// sectioned reports whether a section passes; an unknown one ("") passes
// while known is false.
func (f Filter) sectioned(section string, known bool) bool {
	if len(f.Sections) == 0 || section == "" && !known {
		return true
	}
	return slices.ContainsFunc(f.Sections, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(section)) })
}

// admits reports whether a listed article passes the filter as far as its
// listing tells.
func (f Filter) admits(a Article) bool { return f.dated(a.Date) && f.sectioned(a.Section, false) }

// ParseSections reads a comma-separated list of section names, keeping
// spaces inside names ("Arts & Culture").
func ParseSections(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// errStop ends a listing early: the filter's Max was reached.
var errStop = errors.New("backfill: enough articles")
