package publish_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/storage"
)

// partytimeFeed is what the Podcast Index's parser reads from a feed.
type partytimeFeed struct {
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Link          string   `json:"link"`
	Language      string   `json:"language"`
	ItunesImage   string   `json:"itunesImage"`
	ItunesCats    []string `json:"itunesCategory"`
	Categories    []string `json:"categories"`
	Explicit      *bool    `json:"explicit"`
	Author        string   `json:"author"`
	GUID          string   `json:"guid"`
	ItunesType    string   `json:"itunesType"`
	Image         *struct{ URL string }
	Owner         *struct{ Email, Name string }
	PC20Support   map[string][]string `json:"pc20support"`
	Items         []partytimeItem     `json:"items"`
	PodcastLocked *bool               `json:"locked"`
}

type partytimeItem struct {
	Title     string `json:"title"`
	GUID      string `json:"guid"`
	Duration  int    `json:"duration"`
	Enclosure struct {
		URL    string `json:"url"`
		Length int64  `json:"length"`
		Type   string `json:"type"`
	} `json:"enclosure"`
	Transcripts []struct {
		URL string `json:"url"`
	} `json:"podcastTranscripts"`
	Chapters *struct {
		URL string `json:"url"`
	} `json:"podcastChapters"`
}

// partytime parses feeds with podcast-partytime in Node, as the Podcast
// Index does. It skips the test without Node and fails it when the parser
// is not installed.
func partytime(t *testing.T, feeds ...[]byte) []*partytimeFeed {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the feed check needs Node.js (Debian package nodejs) and npm ci --prefix testdata/npm")
	}
	dir, _ := filepath.Abs("../../testdata/npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "podcast-partytime")); err != nil {
		t.Fatalf("podcast-partytime is not installed: run make deps-test (npm ci --prefix testdata/npm): %v", err)
	}
	var files []string
	for i, f := range feeds {
		p := filepath.Join(t.TempDir(), "feed"+string(rune('a'+i))+".xml")
		if err := os.WriteFile(p, f, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "feed-check.mjs")}, files...)...)
	cmd.Env = append(os.Environ(), "LOG=silent")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node feed-check.mjs: %v\n%s", err, stderr.String())
	}
	var res []*partytimeFeed
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r struct {
			Feed  *partytimeFeed `json:"feed"`
			Error string         `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		if r.Feed == nil {
			t.Fatalf("podcast-partytime refused the feed: %s\n%s", r.Error, stderr.String())
		}
		res = append(res, r.Feed)
	}
	if len(res) != len(feeds) {
		t.Fatalf("%d results for %d feeds:\n%s", len(res), len(feeds), out)
	}
	return res
}

// settingsMap keeps feed settings by publication key, as the pipeline's
// NATS bucket does.
type settingsMap map[string]publish.Feed

func (m settingsMap) FeedSettings(_ context.Context, key string) (publish.Feed, error) {
	f, ok := m[key]
	if !ok {
		return publish.Feed{}, publish.ErrNoSettings
	}
	return f, nil
}

// publicSite is a publisher whose files are at a public address, as in
// production, on a filesystem store.
func publicSite(t *testing.T, cfg publish.Config) (*publish.Publisher, *storage.FS) {
	t.Helper()
	st, err := storage.NewFS(t.TempDir(), "https://audio.example.org/media")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pub, st
}

func TestDefaultFeedMeetsEveryDirectorysRequirementsButTheOwnersAddress(t *testing.T) {
	pub, st := publicSite(t, publish.Config{})
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "bridge"})
	if _, err := pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	rebuild(t, pub)
	body, _ := get(t, st, publish.FeedKey)
	f := partytime(t, body)[0]

	cover := publish.NewCover(publish.DefaultTitle)
	coverURL := st.URL(cover.Key())
	if f.Title != publish.DefaultTitle || f.Description == "" || f.Language != "en" {
		t.Errorf("title %q, description %q, language %q", f.Title, f.Description, f.Language)
	}
	if f.Link != "https://news.example.com/" {
		t.Errorf("<link> %q, want the site the articles are from, not the feed", f.Link)
	}
	if f.ItunesImage != coverURL || f.Image == nil || f.Image.URL != coverURL {
		t.Errorf("itunes:image %q, image %+v; want the drawn cover %s", f.ItunesImage, f.Image, coverURL)
	}
	if !slices.Contains(f.ItunesCats, "News > Daily News") || f.Explicit == nil || *f.Explicit || f.Author == "" {
		t.Errorf("categories %q, explicit %v, author %q", f.ItunesCats, f.Explicit, f.Author)
	}
	// The parser takes an owner only with an address, and none is made up.
	if f.Owner != nil {
		t.Errorf("owner %+v by default", f.Owner)
	}
	if len(f.GUID) != 36 {
		t.Errorf("podcast:guid %q", f.GUID)
	}
	if len(f.Items) != 1 {
		t.Fatalf("%d items", len(f.Items))
	}
	it := f.Items[0]
	if it.Title == "" || it.GUID != "bridge" || it.Duration < 1 || it.Enclosure.Type != "audio/mpeg" || it.Enclosure.Length != n.Size ||
		!strings.HasPrefix(it.Enclosure.URL, "https://audio.example.org/media/") || len(it.Transcripts) != 1 || it.Chapters == nil {
		t.Errorf("item %+v", it)
	}

	// The cover is stored where the feed says, and is what Apple takes.
	png, obj := get(t, st, cover.Key())
	a, err := publish.CheckArtwork(png)
	if err != nil || a.Format != "png" || a.Width != publish.CoverSize || a.Height != publish.CoverSize {
		t.Errorf("cover %+v: %v", a, err)
	}
	if obj.Meta.ContentType != "image/png" || obj.Meta.CacheControl != publish.CacheImmutable {
		t.Errorf("cover stored as %+v", obj.Meta)
	}
	checkOpaqueRGB(t, png)

	// Health: Apple and the Podcast Index take it; Spotify needs the
	// address its ownership code goes to, which no default can give.
	h, err := pub.Health(t.Context(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Ready(publish.Apple) || !h.Ready(publish.PodcastIndex) || h.Ready(publish.Spotify) {
		t.Errorf("ready: Apple %v, Podcast Index %v, Spotify %v; checks %+v", h.Ready(publish.Apple), h.Ready(publish.PodcastIndex), h.Ready(publish.Spotify), h.Checks)
	}
	if m := h.Missing(); len(m) != 1 || m[0].Name != "Owner e-mail" {
		t.Errorf("missing %+v, want only the owner e-mail", m)
	}

	// With the address stored, every directory's requirements are met.
	pub, st = publicSite(t, publish.Config{Settings: settingsMap{publish.DefaultPublication: {OwnerEmail: "audio@news.example.com"}}})
	n, _ = publishtest.Narration(t, publishtest.Options{ArticleID: "bridge"})
	if _, err := pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	rebuild(t, pub)
	body, _ = get(t, st, publish.FeedKey)
	if f := partytime(t, body)[0]; f.Owner == nil || f.Owner.Email != "audio@news.example.com" {
		t.Errorf("owner %+v", f.Owner)
	}
	h, err = pub.Health(t.Context(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range publish.Platforms {
		if !h.Ready(p) {
			t.Errorf("not ready for %s: %+v", p, h.Missing())
		}
	}
	for _, c := range h.Checks {
		if !c.OK {
			t.Errorf("check %q fails: %s", c.Name, c.Detail)
		}
	}
}

// checkOpaqueRGB decodes a PNG and checks it is truecolour without alpha:
// Apple asks for RGB artwork.
func checkOpaqueRGB(t *testing.T, b []byte) {
	t.Helper()
	// The IHDR colour type byte: 2 is RGB.
	if len(b) < 26 || b[25] != 2 {
		t.Errorf("PNG colour type %d, want 2 (RGB)", b[25])
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if !img.(interface{ Opaque() bool }).Opaque() {
		t.Error("the cover is not opaque")
	}
}

func TestHealthSaysWhatIsWrongAndHowToFixIt(t *testing.T) {
	// Feeds on the loopback address, as a laptop's narrator serve has.
	s := newSite(t, publish.Config{Feed: publish.Feed{Image: "https://img.example.org/art.jpg", OwnerEmail: "a@news.example.com"}})
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "bridge"})
	if _, err := s.pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	small := encode(t, "jpeg", 600, 400)
	h, err := s.pub.Health(t.Context(), "", func(_ context.Context, u string) ([]byte, error) {
		if u != "https://img.example.org/art.jpg" {
			t.Errorf("fetched %s", u)
		}
		return small, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]publish.Check{}
	for _, c := range h.Checks {
		got[c.Name] = c
	}
	if c := got["Artwork"]; c.OK || !strings.Contains(c.Detail, "must be square") || !strings.Contains(c.Detail, "1400 to 3000") {
		t.Errorf("artwork check %+v", c)
	}
	if c := got["Public addresses"]; c.OK || !strings.Contains(c.Detail, "127.0.0.1") || !strings.Contains(c.Detail, "NARRATOR_PUBLIC_URL") {
		t.Errorf("public addresses check %+v", c)
	}
	for _, p := range publish.Platforms {
		if h.Ready(p) {
			t.Errorf("ready for %s with a 600×400 image on a loopback feed", p)
		}
	}
}

// encode makes an image of a format and size; only its header matters to
// CheckArtwork, so it is a plain one that encodes fast.
func encode(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.White, color.RGBA{0x20, 0x40, 0x80, 0xff}})
	img.SetColorIndex(1, 1, 1)
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "png":
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCheckArtworkFollowsApplesRules(t *testing.T) {
	for _, tc := range []struct {
		name, format string
		w, h         int
		want         []string // in the error; none: accepted
	}{
		{"3000 PNG", "png", 3000, 3000, nil},
		{"1400 JPEG", "jpeg", 1400, 1400, nil},
		{"600×400 JPEG", "jpeg", 600, 400, []string{"600×400", "must be square", "1400 to 3000"}},
		{"1399 PNG", "png", 1399, 1399, []string{"1400 to 3000", "1399×1399"}},
		{"3001 PNG", "png", 3001, 3001, []string{"1400 to 3000"}},
		{"GIF", "gif", 1400, 1400, []string{"not a JPEG or PNG"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := publish.CheckArtwork(encode(t, tc.format, tc.w, tc.h))
			if len(tc.want) == 0 {
				if err != nil || a.Width != tc.w || a.Format != tc.format {
					t.Errorf("%+v: %v", a, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %+v", a)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestStoredSettingsWinAndEachPublicationHasItsFeed(t *testing.T) {
	stored := settingsMap{
		publish.DefaultPublication: {Title: "The Example Gazette", OwnerEmail: "audio@news.example.com", Link: "https://news.example.com/"},
		"Daily":                    {Title: "The Daily Briefing", Description: "Five minutes, every morning."},
	}
	// The process's own seed says otherwise: what is stored wins.
	pub, st := publicSite(t, publish.Config{Feed: publish.Feed{Title: "Narrated articles from a process"}, Settings: stored})
	for _, o := range []struct{ id, pub string }{{"a1", ""}, {"a2", "Daily"}, {"a3", "Weekend"}} {
		// One recording, filed as three articles: encoding is the slow part.
		n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "bridge"})
		n.ArticleID, n.Key, n.Publication = o.id, o.id, o.pub
		if _, err := pub.Publish(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	rep := rebuild(t, pub)
	for _, k := range []string{publish.FeedKey, "feeds/publication/Daily.xml", "feeds/publication/Weekend.xml"} {
		if !slices.Contains(rep.Written, k) {
			t.Errorf("wrote %q, not %s", rep.Written, k)
		}
	}
	var feeds [][]byte
	for _, k := range []string{publish.FeedKey, "feeds/publication/Daily.xml", "feeds/publication/Weekend.xml"} {
		b, _ := get(t, st, k)
		feeds = append(feeds, b)
	}
	fs := partytime(t, feeds...)
	if fs[0].Title != "The Example Gazette" || len(fs[0].Items) != 3 {
		t.Errorf("feed.xml: %q with %d items", fs[0].Title, len(fs[0].Items))
	}
	if fs[1].Title != "The Daily Briefing" || fs[1].Description != "Five minutes, every morning." || len(fs[1].Items) != 1 || fs[1].Items[0].GUID != "a2" {
		t.Errorf("daily feed: %+v", fs[1])
	}
	// Nothing stored for Weekend: its name, and the default's owner.
	if fs[2].Title != "Weekend" || fs[2].Owner == nil || fs[2].Owner.Email != "audio@news.example.com" || len(fs[2].Items) != 1 {
		t.Errorf("weekend feed: title %q owner %+v items %d", fs[2].Title, fs[2].Owner, len(fs[2].Items))
	}
	if fs[1].ItunesImage == fs[2].ItunesImage || !strings.Contains(fs[2].ItunesImage, "/covers/weekend-") {
		t.Errorf("covers %q and %q: each publication gets its own", fs[1].ItunesImage, fs[2].ItunesImage)
	}

	// An edit to the stored settings shows in the next rebuild.
	stored["Daily"] = publish.Feed{Title: "Morning Briefing"}
	rebuild(t, pub)
	b, _ := get(t, st, "feeds/publication/Daily.xml")
	if f := partytime(t, b)[0]; f.Title != "Morning Briefing" {
		t.Errorf("after the edit the daily feed is titled %q", f.Title)
	}
}

func TestRewriteURLsMovesEveryPublishedURL(t *testing.T) {
	dir := t.TempDir()
	old, err := storage.NewFS(dir, "http://127.0.0.1:8080/media")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.New(old, publish.Config{PlayerURL: "http://127.0.0.1:8080/player/", FeedURL: "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "bridge"})
	if _, err := pub.Publish(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	rebuild(t, pub)

	// The public address changes.
	moved, err := storage.NewFS(dir, "https://news.example.com/media")
	if err != nil {
		t.Fatal(err)
	}
	pub, err = publish.New(moved, publish.Config{PlayerURL: "https://news.example.com/player/", FeedURL: "https://news.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	done, err := pub.RewriteURLs(t.Context())
	if err != nil || len(done) != 1 || done[0].Key != "bridge" || done[0].Published.Player != "https://news.example.com/player/bridge" ||
		!strings.HasPrefix(done[0].Published.Audio.URL, "https://news.example.com/media/narrations/bridge/") {
		t.Fatalf("rewrote %+v: %v", done, err)
	}
	rebuild(t, pub)
	m := manifest(t, moved, "bridge")
	b, _ := get(t, moved, publish.FeedKey)
	for _, u := range []string{m.Files.Audio.URL, m.Files.Transcript.URL, m.Files.Chapters.URL, m.Player} {
		if !strings.HasPrefix(u, "https://news.example.com/") {
			t.Errorf("manifest still names %s", u)
		}
	}
	if bytes.Contains(b, []byte("127.0.0.1")) || !bytes.Contains(b, []byte(m.Files.Audio.URL)) {
		t.Errorf("feed after the rewrite:\n%s", b)
	}
	// Done once, there is nothing left to rewrite.
	if again, err := pub.RewriteURLs(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("second rewrite: %+v, %v", again, err)
	}
}
