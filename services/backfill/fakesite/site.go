// Package fakesite is a newsroom's website for tests and benchmarks of the
// backfill: an archive of generated articles served as pages, as a news
// sitemap index (one sitemap a month, the oldest gzipped), as a
// WordPress REST API (/wp-json/wp/v2/posts, paged, with its headers and
// errors), as a Ghost Content API, and as JSON Lines and CSV exports. It
// counts the requests it serves, so tests can tell what was fetched.
package fakesite

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes the archive.
type Config struct {
	Articles           int
	MinChars, MaxChars int    // article sizes, spread evenly (default 1,500 to 6,000)
	Seed               uint64 // the same seed makes the same archive
	// Sections articles are spread over (default News, Politics, Sport,
	// Culture).
	Sections []string
	// Newest is the newest article's date; each is a day older than the
	// next (default 2025-03-31).
	Newest time.Time
	// GhostKey is the Content API key Ghost requests must carry.
	GhostKey string
}

// Post is one article of the archive.
type Post struct {
	ID      int
	Slug    string
	Section string
	Date    time.Time
	Chars   int // body characters asked of the generator
	seed    uint64
}

// Site serves the archive. It is safe for concurrent use.
type Site struct {
	cfg   Config
	posts []Post // newest first
	base  string

	mu   sync.Mutex
	hits map[string]int
}

// New makes the archive.
func New(cfg Config) *Site {
	if cfg.MinChars == 0 {
		cfg.MinChars = 1500
	}
	if cfg.MaxChars < cfg.MinChars {
		cfg.MaxChars = max(cfg.MinChars, 6000)
	}
	if len(cfg.Sections) == 0 {
		cfg.Sections = []string{"News", "Politics", "Sport", "Culture"}
	}
	if cfg.Newest.IsZero() {
		cfg.Newest = time.Date(2025, 3, 31, 9, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x73697465))
	s := &Site{cfg: cfg, hits: map[string]int{}}
	for i := range cfg.Articles {
		size := cfg.MinChars
		if cfg.Articles > 1 {
			size = cfg.MinChars + (cfg.MaxChars-cfg.MinChars)*rng.IntN(cfg.Articles)/(cfg.Articles-1)
		}
		id := 1000 + cfg.Articles - i
		s.posts = append(s.posts, Post{ID: id, Slug: fmt.Sprintf("story-%d", id), Section: cfg.Sections[rng.IntN(len(cfg.Sections))],
			Date: cfg.Newest.AddDate(0, 0, -i), Chars: size, seed: cfg.Seed*100000 + uint64(id)})
	}
	return s
}

// Posts returns the archive, newest first.
func (s *Site) Posts() []Post { return slices.Clone(s.posts) }

// Story returns a post's generated text.
func (s *Site) Story(p Post) Story { return Generate(p.seed, p.Chars) }

// URL returns a post's page address on a site served at base.
func (p Post) URL(base string) string {
	return fmt.Sprintf("%s/%s/%s/", strings.TrimRight(base, "/"), p.Date.Format("2006/01"), p.Slug)
}

// Hits returns how many requests were served for paths starting with
// prefix ("/2025/" for article pages).
func (s *Site) Hits(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.hits {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// Handler serves the site; base is the address it is reached at, for the
// links it writes.
func (s *Site) Handler(base string) http.Handler {
	s.base = strings.TrimRight(base, "/")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sitemap.xml", s.sitemapIndex)
	mux.HandleFunc("GET /sitemaps/{month}", s.sitemap)
	mux.HandleFunc("GET /wp-json/wp/v2/posts", s.wpPosts)
	mux.HandleFunc("GET /wp-json/wp/v2/categories", s.wpCategories)
	mux.HandleFunc("GET /ghost/api/content/posts/", s.ghostPosts)
	mux.HandleFunc("GET /export.jsonl", s.exportJSONL)
	mux.HandleFunc("GET /export.csv", s.exportCSV)
	mux.HandleFunc("GET /{year}/{month}/{slug}/", s.page)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

func (s *Site) page(w http.ResponseWriter, r *http.Request) {
	for _, p := range s.posts {
		if p.Slug == r.PathValue("slug") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, Page(s.Story(p), PageMeta{Section: p.Section, Published: p.Date.Format(time.RFC3339), Date: p.Date.Format("January 2, 2006")}))
			return
		}
	}
	http.NotFound(w, r)
}

// months returns the archive's months, newest first.
func (s *Site) months() []string {
	var out []string
	for _, p := range s.posts {
		if m := p.Date.Format("2006-01"); !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (s *Site) sitemapIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	months := s.months()
	for i, m := range months {
		name := m + ".xml"
		if i == len(months)-1 && len(months) > 1 {
			name += ".gz" // archives gzip their old sitemaps
		}
		last := time.Time{}
		for _, p := range s.posts {
			if p.Date.Format("2006-01") == m && p.Date.After(last) {
				last = p.Date
			}
		}
		fmt.Fprintf(&b, "  <sitemap><loc>%s/sitemaps/%s</loc><lastmod>%s</lastmod></sitemap>\n", s.base, name, last.Format(time.RFC3339))
	}
	b.WriteString("</sitemapindex>\n")
	fmt.Fprint(w, b.String())
}

func (s *Site) sitemap(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("month")
	month := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".xml")
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">` + "\n")
	for _, p := range s.posts {
		if p.Date.Format("2006-01") != month {
			continue
		}
		fmt.Fprintf(&b, "  <url><loc>%s</loc><lastmod>%s</lastmod><news:news><news:publication><news:name>The Riverton Courier</news:name><news:language>en</news:language></news:publication>"+
			"<news:publication_date>%s</news:publication_date><news:title>%s</news:title></news:news></url>\n",
			p.URL(s.base), p.Date.Format(time.DateOnly), p.Date.Format(time.RFC3339), html.EscapeString(s.Story(p).Title))
	}
	b.WriteString("</urlset>\n")
	if strings.HasSuffix(name, ".gz") {
		w.Header().Set("Content-Type", "application/gzip")
		zw := gzip.NewWriter(w)
		zw.Write([]byte(b.String()))
		zw.Close()
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprint(w, b.String())
}

// selected returns the posts a date range and sections admit, newest first.
func (s *Site) selected(after, before time.Time, sections []string) []Post {
	var out []Post
	for _, p := range s.posts {
		if !after.IsZero() && !p.Date.After(after) || !before.IsZero() && !p.Date.Before(before) {
			continue
		}
		if len(sections) > 0 && !slices.ContainsFunc(sections, func(c string) bool { return strings.EqualFold(c, p.Section) }) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (s *Site) category(id string) string {
	n, err := strconv.Atoi(id)
	if err != nil || n < 1 || n > len(s.cfg.Sections) {
		return "\x00"
	}
	return s.cfg.Sections[n-1]
}

// wpError writes WordPress's error shape.
func wpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "data": map[string]int{"status": status}})
}

func (s *Site) wpPosts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	per, page := 10, 1
	if v := q.Get("per_page"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	if v := q.Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if per < 1 || per > 100 {
		wpError(w, 400, "rest_invalid_param", "Invalid parameter(s): per_page")
		return
	}
	var after, before time.Time
	if v := q.Get("after"); v != "" {
		after, _ = time.Parse("2006-01-02T15:04:05", v)
	}
	if v := q.Get("before"); v != "" {
		before, _ = time.Parse("2006-01-02T15:04:05", v)
	}
	var sections []string
	if v := q.Get("categories"); v != "" {
		for _, id := range strings.Split(v, ",") {
			sections = append(sections, s.category(id))
		}
	}
	posts := s.selected(after, before, sections)
	pages := (len(posts) + per - 1) / per
	if page > max(pages, 1) {
		wpError(w, 400, "rest_post_invalid_page_number", "The page number requested is larger than the number of pages available.")
		return
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(len(posts)))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	out := []any{}
	for _, p := range posts[min((page-1)*per, len(posts)):min(page*per, len(posts))] {
		st := s.Story(p)
		cat := slices.Index(s.cfg.Sections, p.Section) + 1
		out = append(out, map[string]any{
			"id": p.ID, "date": p.Date.Format("2006-01-02T15:04:05"), "date_gmt": p.Date.Format("2006-01-02T15:04:05"),
			"slug": p.Slug, "status": "publish", "type": "post", "link": p.URL(s.base),
			"title":   map[string]any{"rendered": html.EscapeString(st.Title)},
			"content": map[string]any{"rendered": st.Body, "protected": false},
			"excerpt": map[string]any{"rendered": "", "protected": false},
			"author":  7, "categories": []int{cat},
			"_embedded": map[string]any{
				"author":  []any{map[string]any{"id": 7, "name": st.Author}},
				"wp:term": []any{[]any{map[string]any{"id": cat, "name": html.EscapeString(p.Section), "taxonomy": "category"}}, []any{}},
			},
		})
	}
	json.NewEncoder(w).Encode(out)
}

func (s *Site) wpCategories(w http.ResponseWriter, r *http.Request) {
	search := strings.ToLower(r.URL.Query().Get("search"))
	out := []any{}
	for i, c := range s.cfg.Sections {
		if search == "" || strings.Contains(strings.ToLower(c), search) {
			out = append(out, map[string]any{"id": i + 1, "name": c, "slug": strings.ToLower(strings.ReplaceAll(c, " ", "-"))})
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(out)
}

func (s *Site) ghostPosts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("key") != s.cfg.GhostKey || s.cfg.GhostKey == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"errors":[{"message":"Unknown Content API Key","type":"UnauthorizedError"}]}`)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, _ := strconv.Atoi(q.Get("page"))
	limit, page = max(limit, 1), max(page, 1)
	var after, before time.Time
	for _, f := range strings.Split(q.Get("filter"), "+") {
		if v, ok := strings.CutPrefix(f, "published_at:>='"); ok {
			after, _ = time.Parse("2006-01-02 15:04:05", strings.TrimSuffix(v, "'"))
			after = after.Add(-time.Nanosecond)
		}
		if v, ok := strings.CutPrefix(f, "published_at:<'"); ok {
			before, _ = time.Parse("2006-01-02 15:04:05", strings.TrimSuffix(v, "'"))
		}
	}
	posts := s.selected(after, before, nil)
	pages := (len(posts) + limit - 1) / limit
	var next any
	if page < pages {
		next = page + 1
	}
	out := []any{}
	for _, p := range posts[min((page-1)*limit, len(posts)):min(page*limit, len(posts))] {
		st := s.Story(p)
		out = append(out, map[string]any{"id": fmt.Sprintf("%024x", p.ID), "title": st.Title, "html": st.Body, "url": p.URL(s.base),
			"published_at": p.Date.Format("2006-01-02T15:04:05.000Z"), "primary_tag": map[string]any{"name": p.Section},
			"primary_author": map[string]any{"name": st.Author}})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"posts": out, "meta": map[string]any{"pagination": map[string]any{
		"page": page, "limit": limit, "pages": pages, "total": len(posts), "next": next}}})
}

func (s *Site) exportJSONL(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, p := range s.posts {
		st := s.Story(p)
		enc.Encode(map[string]string{"id": "courier-" + strconv.Itoa(p.ID), "url": p.URL(s.base), "html": st.Body, "title": st.Title,
			"section": p.Section, "author": st.Author, "date": p.Date.Format(time.RFC3339)})
	}
}

func (s *Site) exportCSV(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{"id", "url", "title", "section", "author", "date"})
	for _, p := range s.posts {
		st := s.Story(p)
		cw.Write([]string{"courier-" + strconv.Itoa(p.ID), p.URL(s.base), st.Title, p.Section, st.Author, p.Date.Format(time.DateOnly)})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv")
	w.Write(b.Bytes())
}
