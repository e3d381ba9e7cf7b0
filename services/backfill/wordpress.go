package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/services/fault"
)

// wordpress lists a WordPress site's published posts through its REST API
// (/wp-json/wp/v2/posts), a hundred a page, newest first, with their
// authors and categories embedded. Dates and sections are filtered by the
// API itself (after, before, categories); an article's id is wp-<ID>, as
// the CMS webhook's, so a post narrated on publish is the same job.
type wordpress struct {
	api string // ends in /wp-json/
	get *Getter
}

// wpAPI returns the REST API root of a site given by its address or by
// its API root.
func wpAPI(site string) string {
	if i := strings.Index(site, "/wp-json"); i >= 0 {
		return site[:i] + "/wp-json/"
	}
	return strings.TrimRight(site, "/") + "/wp-json/"
}

func (w *wordpress) Describe() string { return "wordpress " + strings.TrimSuffix(w.api, "wp-json/") }

// wpPost is the part of a post object read here.
type wpPost struct {
	ID      int64  `json:"id"`
	DateGMT string `json:"date_gmt"`
	Link    string `json:"link"`
	Title   struct {
		Rendered string `json:"rendered"`
	} `json:"title"`
	Content struct {
		Rendered string `json:"rendered"`
	} `json:"content"`
	Embedded struct {
		Author []struct {
			Name string `json:"name"`
		} `json:"author"`
		Terms [][]struct {
			Name     string `json:"name"`
			Taxonomy string `json:"taxonomy"`
		} `json:"wp:term"`
	} `json:"_embedded"`
}

func (p wpPost) article() Article {
	a := Article{
		ID: "wp-" + strconv.FormatInt(p.ID, 10), URL: p.Link, HTML: p.Content.Rendered,
		Title: html.UnescapeString(p.Title.Rendered), Date: parseDate(p.DateGMT),
	}
	if len(p.Embedded.Author) > 0 {
		a.Author = p.Embedded.Author[0].Name
	}
	for _, terms := range p.Embedded.Terms {
		for _, t := range terms {
			if t.Taxonomy == "category" && a.Section == "" {
				a.Section = html.UnescapeString(t.Name)
			}
		}
	}
	return a
}

// query builds a posts query for a page of n.
func (w *wordpress) query(ctx context.Context, f Filter, page, n int) (string, error) {
	v := url.Values{"per_page": {strconv.Itoa(n)}, "page": {strconv.Itoa(page)}, "orderby": {"date"}, "order": {"desc"}, "_embed": {"author,wp:term"}}
	if !f.Since.IsZero() {
		v.Set("after", f.Since.UTC().Add(-time.Second).Format("2006-01-02T15:04:05")) // WordPress's after is exclusive
	}
	if !f.Until.IsZero() {
		v.Set("before", f.Until.UTC().Format("2006-01-02T15:04:05"))
	}
	if len(f.Sections) > 0 {
		ids, err := w.categories(ctx, f.Sections)
		if err != nil {
			return "", err
		}
		v.Set("categories", strings.Join(ids, ","))
	}
	return w.api + "wp/v2/posts?" + v.Encode(), nil
}

// categories finds the ids of the categories named (by name or slug).
func (w *wordpress) categories(ctx context.Context, names []string) ([]string, error) {
	var ids []string
	for _, name := range names {
		body, _, err := w.get.Get(ctx, w.api+"wp/v2/categories?per_page=100&search="+url.QueryEscape(name), "application/json")
		if err != nil {
			return nil, err
		}
		var cats []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
			Slug string `json:"slug"`
		}
		if err := json.Unmarshal(body, &cats); err != nil {
			return nil, fmt.Errorf("%w: WordPress categories: %w", ErrFetch, err)
		}
		found := false
		for _, c := range cats {
			if strings.EqualFold(html.UnescapeString(c.Name), name) || strings.EqualFold(c.Slug, name) {
				ids, found = append(ids, strconv.FormatInt(c.ID, 10)), true
			}
		}
		if !found {
			return nil, fault.Permanent(fmt.Errorf("%w: WordPress has no category %q", ErrSpec, name))
		}
	}
	return ids, nil
}

func (w *wordpress) Count(ctx context.Context, f Filter) (int, error) {
	u, err := w.query(ctx, f, 1, 1)
	if err != nil {
		return 0, err
	}
	_, h, err := w.get.Get(ctx, u, "application/json")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(h.Get("X-WP-Total"))
	if err != nil {
		return -1, nil
	}
	return n, nil
}

func (w *wordpress) List(ctx context.Context, f Filter, fn func(Article) error) error {
	for page := 1; ; page++ {
		u, err := w.query(ctx, f, page, 100)
		if err != nil {
			return err
		}
		body, h, err := w.get.Get(ctx, u, "application/json")
		if page > 1 && status(err) == 400 {
			return nil // past the last page: rest_post_invalid_page_number
		}
		if err != nil {
			return err
		}
		var posts []wpPost
		if err := json.Unmarshal(body, &posts); err != nil {
			return fmt.Errorf("%w %s: not a WordPress posts page: %w", ErrFetch, u, err)
		}
		for _, p := range posts {
			if a := p.article(); f.admits(a) {
				if err := fn(a); err != nil {
					return err
				}
			}
		}
		pages, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if len(posts) == 0 || err == nil && page >= pages {
			return nil
		}
	}
}
