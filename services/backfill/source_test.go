package backfill

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/backfill/fakesite"
	"github.com/narrator-project/narrator/services/ingest"
)

// TestSourcesListTheArchive lists one archive through every kind of
// source, with and without filters, and checks each lists the articles
// the filter admits, newest first where the source orders them, with the
// metadata it carries, and counts them as it lists them.
func TestSourcesListTheArchive(t *testing.T) {
	site := fakesite.New(fakesite.Config{Articles: 140, MinChars: 200, MaxChars: 300, Seed: 9, GhostKey: "ghost-key-123"})
	srv := httptest.NewServer(nil)
	srv.Config.Handler = site.Handler(srv.URL)
	t.Cleanup(srv.Close)
	get := NewGetter(ingest.MustGuard(ingest.GuardConfig{Allow: []string{"127.0.0.1"}}))
	posts := site.Posts()
	since, until := posts[100].Date, posts[9].Date // 91 articles: indexes 10 to 100
	for _, tc := range []struct {
		spec    Spec
		id      func(fakesite.Post) string
		ordered bool // newest first
		meta    bool // gives section and HTML
	}{
		{Spec{Kind: KindSitemap, URL: srv.URL + "/sitemap.xml"}, func(p fakesite.Post) string { return p.URL(srv.URL) }, true, false},
		{Spec{Kind: KindWordPress, URL: srv.URL}, func(p fakesite.Post) string { return "wp-" + strconv.Itoa(p.ID) }, true, true},
		{Spec{Kind: KindGhost, URL: srv.URL + "/ghost/", Key: "ghost-key-123"}, func(p fakesite.Post) string {
			return "ghost-" + strings.Repeat("0", 24-len(strconv.FormatInt(int64(p.ID), 16))) + strconv.FormatInt(int64(p.ID), 16)
		}, true, true},
		{Spec{Kind: KindJSONL, URL: srv.URL + "/export.jsonl"}, func(p fakesite.Post) string { return "courier-" + strconv.Itoa(p.ID) }, true, true},
		{Spec{Kind: KindCSV, URL: srv.URL + "/export.csv"}, func(p fakesite.Post) string { return "courier-" + strconv.Itoa(p.ID) }, true, false},
	} {
		for _, f := range []Filter{{}, {Since: since, Until: until}, {Sections: []string{"sport", "CULTURE"}}} {
			t.Run(tc.spec.Kind+filterName(f), func(t *testing.T) {
				src, err := tc.spec.Open(get)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, p := range posts {
					date := p.Date
					if tc.spec.Kind == KindCSV {
						date = date.Truncate(24 * time.Hour) // the export gives days
					}
					if f.dated(date) && (len(f.Sections) == 0 || !tc.meta && tc.spec.Kind != KindCSV || f.sectioned(p.Section, true)) {
						want = append(want, tc.id(p))
					}
				}
				var got []string
				err = src.List(context.Background(), f, func(a Article) error {
					got = append(got, a.ID)
					if tc.meta && (a.Section == "" || a.HTML == "" || a.Title == "" || a.Author == "" || a.Date.IsZero()) {
						t.Errorf("%s: metadata missing: %+v", a.ID, a)
					}
					if a.URL == "" {
						t.Errorf("%s: no URL", a.ID)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if !tc.ordered {
					slices.Sort(got)
					slices.Sort(want)
				}
				if !slices.Equal(got, want) {
					t.Errorf("listed %d: %v\nwant %d: %v", len(got), got, len(want), want)
				}
				n, err := src.Count(context.Background(), f)
				if err != nil {
					t.Fatal(err)
				}
				if n != -1 && n != len(want) {
					t.Errorf("counted %d, listed %d", n, len(want))
				}
			})
		}
	}
	if n := site.Hits("/2025/"); n != 0 {
		t.Errorf("listing fetched %d article pages", n)
	}
}

func filterName(f Filter) string {
	switch {
	case !f.Since.IsZero():
		return "/dates"
	case len(f.Sections) > 0:
		return "/sections"
	}
	return "/all"
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2024-03-04":                "2024-03-04T00:00:00Z",
		"2024-03-04T10:00Z":         "2024-03-04T10:00:00Z",
		"2024-03-04T10:00:00+01:00": "2024-03-04T09:00:00Z",
		"2024-03-04T10:00:00.123Z":  "2024-03-04T10:00:00.123Z",
		"2024-03-04T10:00:00":       "2024-03-04T10:00:00Z",
		"2024-03":                   "2024-03-01T00:00:00Z",
		"yesterday":                 "0001-01-01T00:00:00Z",
	} {
		if got := parseDate(in).Format(time.RFC3339Nano); got != want {
			t.Errorf("parseDate(%q) = %s, want %s", in, got, want)
		}
	}
}

// FuzzParseSitemap: any bytes give articles or an error, never a panic,
// and every article has an id.
func FuzzParseSitemap(f *testing.F) {
	f.Add([]byte(`<urlset><url><loc>/a</loc><lastmod>2024-01-01</lastmod></url></urlset>`))
	f.Add([]byte(`<sitemapindex><sitemap><loc>s1.xml</loc></sitemap></sitemapindex>`))
	f.Add([]byte(`<urlset xmlns:news="n"><url><loc>x</loc><news:news><news:publication_date>2024</news:publication_date></news:news></url></urlset>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = parseSitemap(body, "https://news.example/sitemap.xml", func(a Article) error {
			if a.ID == "" {
				t.Errorf("article without an id: %+v", a)
			}
			return nil
		})
	})
}

// FuzzReadExport: any bytes read as JSON Lines or CSV give rows or an
// error, never a panic.
func FuzzReadExport(f *testing.F) {
	f.Add([]byte("{\"id\":\"a\",\"html\":\"<p>x</p>\"}\n"))
	f.Add([]byte("id,url,title\na,https://x/a,T\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		each := func(int, exportRow) error { return nil }
		_ = readJSONL(strings.NewReader(string(body)), each)
		_ = readCSV(strings.NewReader(string(body)), each)
	})
}
