package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ghost lists a Ghost site's published posts through its Content API, a
// hundred a page, newest first, with their tags and authors. Dates are
// filtered by the API (an NQL filter on published_at); sections, the
// primary tag's name, here. An article's id is ghost-<id>, as the CMS
// webhook's.
type ghost struct {
	api string // ends in /ghost/api/content/
	key string
	get *Getter
}

func (g *ghost) Describe() string { return "ghost " + strings.TrimSuffix(g.api, "ghost/api/content/") }

// ghostPage is a posts page of the Content API.
type ghostPage struct {
	Posts []struct {
		ID          string `json:"id"`
		Title       string `json:"title"`
		HTML        string `json:"html"`
		URL         string `json:"url"`
		PublishedAt string `json:"published_at"`
		PrimaryTag  *struct {
			Name string `json:"name"`
		} `json:"primary_tag"`
		PrimaryAuthor *struct {
			Name string `json:"name"`
		} `json:"primary_author"`
	} `json:"posts"`
	Meta struct {
		Pagination struct {
			Pages int  `json:"pages"`
			Total int  `json:"total"`
			Next  *int `json:"next"`
		} `json:"pagination"`
	} `json:"meta"`
}

func (g *ghost) page(ctx context.Context, f Filter, page, limit int) (ghostPage, error) {
	v := url.Values{"key": {g.key}, "limit": {strconv.Itoa(limit)}, "page": {strconv.Itoa(page)},
		"include": {"tags,authors"}, "formats": {"html"}, "order": {"published_at desc"}}
	var nql []string
	if !f.Since.IsZero() {
		nql = append(nql, "published_at:>='"+f.Since.UTC().Format("2006-01-02 15:04:05")+"'")
	}
	if !f.Until.IsZero() {
		nql = append(nql, "published_at:<'"+f.Until.UTC().Format("2006-01-02 15:04:05")+"'")
	}
	if len(nql) > 0 {
		v.Set("filter", strings.Join(nql, "+"))
	}
	var p ghostPage
	body, _, err := g.get.Get(ctx, g.api+"posts/?"+v.Encode(), "application/json")
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("%w: not a Ghost posts page: %w", ErrFetch, err)
	}
	return p, nil
}

func (g *ghost) Count(ctx context.Context, f Filter) (int, error) {
	if len(f.Sections) > 0 {
		return -1, nil // sections are told here, post by post
	}
	p, err := g.page(ctx, f, 1, 1)
	return p.Meta.Pagination.Total, err
}

func (g *ghost) List(ctx context.Context, f Filter, fn func(Article) error) error {
	for page := 1; ; page++ {
		p, err := g.page(ctx, f, page, 100)
		if err != nil {
			return err
		}
		for _, post := range p.Posts {
			a := Article{ID: "ghost-" + post.ID, URL: post.URL, HTML: post.HTML, Title: post.Title, Date: parseDate(post.PublishedAt)}
			if post.PrimaryTag != nil {
				a.Section = post.PrimaryTag.Name
			}
			if post.PrimaryAuthor != nil {
				a.Author = post.PrimaryAuthor.Name
			}
			if f.admits(a) && f.sectioned(a.Section, true) {
				if err := fn(a); err != nil {
					return err
				}
			}
		}
		if len(p.Posts) == 0 || p.Meta.Pagination.Next == nil {
			return nil
		}
	}
}
