package api_test

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/publish"
)

// serveImage serves an image of a format and size at path on the env.
func (e *env) serveImage(path, format string, w, h int) {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.Black})
	var b bytes.Buffer
	var ct string
	switch format {
	case "png":
		ct = "image/png"
		if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
			e.t.Fatal(err)
		}
	default:
		ct = "image/jpeg"
		if err := jpeg.Encode(&b, img, nil); err != nil {
			e.t.Fatal(err)
		}
	}
	e.mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.Write(b.Bytes())
	})
}

type feedView struct {
	Publication string       `json:"publication"`
	Stored      publish.Feed `json:"stored"`
	Effective   publish.Feed `json:"effective"`
	FeedURL     string       `json:"feed_url"`
}

func TestFeedSettingsAreEditedThroughTheAPIAndChecked(t *testing.T) {
	e := start(t)
	e.serveImage("/art-600x400.jpg", "jpeg", 600, 400)
	e.serveImage("/art-1400.png", "png", 1400, 1400)

	status, body := e.do("GET", "/api/feeds/default", readerToken, nil)
	v := decode[feedView](t, body)
	if status != 200 || v.Publication != "default" || !v.Stored.IsZero() || v.Effective.Title != publish.DefaultTitle || v.FeedURL != e.srv.URL+"/media/feed.xml" {
		t.Fatalf("GET: %d %s", status, body)
	}
	if status, body := e.do("PUT", "/api/feeds/default", readerToken, publish.Feed{Title: "X"}); status != 403 {
		t.Errorf("PUT with a read token: %d %s", status, body)
	}
	for _, tc := range []struct {
		name string
		body any
		want string
	}{
		{"small artwork", publish.Feed{Image: e.srv.URL + "/art-600x400.jpg"}, "600×400"},
		{"missing artwork", publish.Feed{Image: e.srv.URL + "/none.png"}, "cannot be fetched"},
		{"private artwork", publish.Feed{Image: "http://10.1.2.3/art.png"}, "cannot be fetched"},
		{"bad e-mail", publish.Feed{OwnerEmail: "audio desk"}, "not a plain e-mail address"},
		{"bad category", publish.Feed{Category: "Newz"}, "not an Apple Podcasts category"},
		{"unknown field", `{"titel": "x"}`, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.do("PUT", "/api/feeds/default", editorToken, tc.body)
			if status != 400 || !strings.Contains(string(body), tc.want) {
				t.Errorf("%d %s, want 400 saying %q", status, body, tc.want)
			}
		})
	}

	want := publish.Feed{Title: "The Example Gazette", OwnerEmail: "audio@news.example.com", Image: e.srv.URL + "/art-1400.png", Category: "News", Subcategory: "Politics"}
	status, body = e.do("PUT", "/api/feeds/default", editorToken, want)
	if v := decode[feedView](t, body); status != 200 || v.Stored != want || v.Effective.Title != want.Title || v.Effective.Author != want.Title {
		t.Fatalf("PUT: %d %s", status, body)
	}
	// The feed is rebuilt with the settings at once.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.srv.URL + "/media/feed.xml")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(b.String(), "<title>The Example Gazette</title>") &&
			strings.Contains(b.String(), `<itunes:image href="`+want.Image+`">`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("feed.xml after the change: %d\n%s", resp.StatusCode, b.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Health names what is still wrong: the feed is on a loopback address
	// and has no episode yet.
	status, body = e.do("GET", "/api/feeds/default/health", readerToken, nil)
	h := decode[publish.Health](t, body)
	missing := map[string]bool{}
	for _, c := range h.Missing() {
		missing[c.Name] = true
	}
	if status != 200 || !missing["Public addresses"] || !missing["Episodes"] || missing["Artwork"] || missing["Owner e-mail"] || len(missing) != 2 {
		t.Errorf("health %d: missing %v\n%s", status, missing, body)
	}
}
