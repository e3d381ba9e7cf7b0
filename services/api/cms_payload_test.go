package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCMSPayloads(t *testing.T) {
	for _, tc := range []struct {
		file, contentType string
		want              cmsPost
	}{
		{"ghost-published.json", "application/json", cmsPost{action: actionNarrate, articleID: "ghost-65f1c2a9e4b0a1d2c3f4e5a6",
			title: "Council approves the bridge repairs", url: "https://news.example/council-approves-the-bridge-repairs/", section: "Politics", author: "Jane Doe"}},
		{"ghost-unpublished.json", "application/json", cmsPost{action: actionUnpublish, articleID: "ghost-65f1c2a9e4b0a1d2c3f4e5a6"}},
		{"ghost-deleted.json", "application/json", cmsPost{action: actionUnpublish, articleID: "ghost-65f1c2a9e4b0a1d2c3f4e5a6"}},
		{"wordpress-wp-webhooks.json", "application/json", cmsPost{action: actionNarrate, articleID: "wp-42",
			title: "Council approves the bridge repairs", url: "https://news.example/2026/03/04/council-approves-the-bridge-repairs/", section: "Politics"}},
		{"wordpress-rest.json", "application/json; charset=utf-8", cmsPost{action: actionNarrate, articleID: "wp-43",
			title: "Council approves the bridge repairs", url: "https://news.example/2026/03/04/council-approves-the-bridge-repairs/", section: "Politics", author: "Jane Doe"}},
		{"wordpress-com.form", "application/x-www-form-urlencoded", cmsPost{action: actionNarrate, articleID: "wp-44",
			title: "Council approves the bridge repairs", url: "https://news.example/?p=44"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseCMS(tc.contentType, body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want.action == actionNarrate && !strings.Contains(got.html, "council") {
				t.Errorf("content %q", got.html)
			}
			got.html = ""
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, body string
		action     string // "" for an error
	}{
		{"wordpress trash", `{"action":"delete","post":{"ID":42,"post_status":"trash","post_type":"post"}}`, actionUnpublish},
		{"wordpress back to draft", `{"action":"unpublish","post":{"ID":42,"post_status":"draft"}}`, actionUnpublish},
		{"wordpress draft saved", `{"post_id":42,"post":{"ID":42,"post_status":"draft","post_type":"post"}}`, actionUnpublish},
		{"wordpress scheduled", `{"post":{"ID":42,"post_status":"future","post_type":"post"}}`, actionIgnore},
		{"wordpress revision", `{"post":{"ID":43,"post_status":"inherit","post_type":"revision"}}`, actionIgnore},
		{"wordpress page", `{"post":{"ID":43,"post_status":"publish","post_type":"page","post_content":"<p>x</p>"}}`, actionIgnore},
		{"ghost page", `{"page":{"current":{"id":"x","status":"published"},"previous":{}}}`, actionIgnore},
		{"ghost draft", `{"post":{"current":{"id":"abc","status":"draft"},"previous":{"title":"x"}}}`, actionIgnore},
		{"published without content", `{"post":{"ID":42,"post_status":"publish"}}`, ""},
		{"no id", `{"post":{"post_status":"publish","post_content":"<p>x</p>"}}`, ""},
		{"ghost no id", `{"post":{"current":{},"previous":{}}}`, ""},
		{"not JSON", `<xml/>`, ""},
		{"JSON null", `null`, ""},
		{"JSON list", `[1,2]`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCMS("application/json", []byte(tc.body))
			if tc.action == "" {
				if err == nil {
					t.Errorf("parsed %+v; want an error", got)
				}
				return
			}
			if err != nil || got.action != tc.action {
				t.Errorf("got %+v, %v; want %s", got, err, tc.action)
			}
		})
	}
}

// FuzzParseCMS checks that no payload panics the parser and that what it
// accepts names an article a job can be made for.
func FuzzParseCMS(f *testing.F) {
	for _, name := range []string{"ghost-published.json", "ghost-deleted.json", "wordpress-wp-webhooks.json", "wordpress-rest.json", "wordpress-com.form"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.HasSuffix(name, ".form"), b)
	}
	f.Add(false, []byte(`{"post":{"ID":1e400}}`))
	f.Add(true, []byte(`ID=%zz`))
	f.Fuzz(func(t *testing.T, form bool, body []byte) {
		ct := "application/json"
		if form {
			ct = "application/x-www-form-urlencoded"
		}
		p, err := parseCMS(ct, body)
		if err != nil {
			return
		}
		switch p.action {
		case actionNarrate:
			if strings.TrimSpace(p.html) == "" && p.url == "" {
				t.Errorf("narrate without content or URL: %+v", p)
			}
			fallthrough
		case actionUnpublish:
			if !strings.HasPrefix(p.articleID, "wp-") && !strings.HasPrefix(p.articleID, "ghost-") || len(p.articleID) > 200 {
				t.Errorf("article id %q", p.articleID)
			}
		case actionIgnore:
		default:
			t.Errorf("action %q", p.action)
		}
	})
}
