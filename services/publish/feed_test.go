package publish_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/services/stitch"
	"github.com/narrator-project/narrator/storage"
)

// three publishes three narrations: two in Local News by Jane Doe (from
// the byline) and Олена Петренко, one in Politics by John Roe.
func three(t *testing.T, s *site) map[string]publish.Narration {
	t.Helper()
	out := map[string]publish.Narration{}
	for i, o := range []publishtest.Options{
		{ArticleID: "cms-1001", Section: "Local News"},
		{ArticleID: "cms/2002?x=1", Title: "Budget vote: what it means", Section: "Politics", Author: "John Roe", Seed: 2, Created: time.Date(2025, 3, 6, 8, 0, 0, 0, time.UTC)},
		{ArticleID: "cms-3003", Title: `Рада & "the <i>bridge</i>" — 橋`, Section: "Local News", Author: "Олена Петренко", Seed: 3, Created: time.Date(2025, 3, 5, 8, 0, 0, 0, time.UTC)},
	} {
		n, _ := publishtest.Narration(t, o)
		n.Script.Published = time.Date(2025, 3, 4+2*i, 9, 0, 0, 0, time.UTC) // 4, 6 and 8 March
		if _, err := s.pub.Publish(t.Context(), n); err != nil {
			t.Fatalf("publish %s: %v", o.ArticleID, err)
		}
		out[o.ArticleID] = n
	}
	return out
}

func TestFeedsCarryEveryFieldAndPassApplesRules(t *testing.T) {
	s := newSite(t, appleConfig())
	ns := three(t, s)
	rep := rebuild(t, s.pub)
	wantFeeds := []string{"feed.xml", "feeds/section/local-news.xml", "feeds/section/politics.xml",
		"feeds/author/jane-doe.xml", "feeds/author/john-roe.xml", "feeds/author/олена-петренко.xml"}
	if got := slices.Sorted(slices.Values(rep.Written)); !slices.Equal(got, slices.Sorted(slices.Values(wantFeeds))) {
		t.Fatalf("wrote %q, want %q", got, wantFeeds)
	}
	if rep.Items != 3 {
		t.Fatalf("%d items, want 3", rep.Items)
	}

	for _, key := range wantFeeds {
		t.Run(key, func(t *testing.T) { checkPodcastFeed(t, s.store.URL(key)) })
	}

	// The real parser sees every field.
	b, obj := get(t, s.store, publish.FeedKey)
	if obj.Meta.CacheControl != publish.CacheFeed || !strings.HasPrefix(obj.Meta.ContentType, "application/rss+xml") {
		t.Errorf("feed headers %+v", obj.Meta)
	}
	f := parseFeed(t, b)
	cfg := appleConfig().Feed
	if f.Title != cfg.Title || f.Link != cfg.Link || f.Description != cfg.Description || f.Language != "en" {
		t.Errorf("channel %q %q %q %q", f.Title, f.Link, f.Description, f.Language)
	}
	it := f.ITunesExt
	if it == nil || it.Image != cfg.Image || it.Explicit != "false" || it.Author != cfg.Author ||
		it.Owner == nil || it.Owner.Email != cfg.OwnerEmail || it.Owner.Name != cfg.OwnerName ||
		len(it.Categories) != 1 || it.Categories[0].Text != "News" || it.Categories[0].Subcategory == nil || it.Categories[0].Subcategory.Text != "Daily News" {
		t.Errorf("itunes channel fields: %+v", it)
	}
	if f.Image == nil || f.Image.URL != cfg.Image {
		t.Errorf("image %+v", f.Image)
	}
	if got := f.Extensions["podcast"]["guid"]; len(got) != 1 || len(got[0].Value) != 36 {
		t.Errorf("podcast:guid %+v", got)
	}
	var order []string
	for _, item := range f.Items {
		order = append(order, item.GUID)
	}
	// Newest first by the article's date.
	if want := []string{"cms-3003", "cms/2002?x=1", "cms-1001"}; !slices.Equal(order, want) {
		t.Fatalf("items %q, want newest first %q", order, want)
	}
	for _, item := range f.Items {
		n := ns[item.GUID]
		m := manifest(t, s.store, n.Key)
		t.Run(item.GUID, func(t *testing.T) {
			if item.Title != m.Title || m.Title != strings.Join(strings.Fields(n.Script.Title), " ") {
				t.Errorf("title %q, manifest %q, script %q", item.Title, m.Title, n.Script.Title)
			}
			if item.Link != n.Script.URL {
				t.Errorf("link %q", item.Link)
			}
			if item.PublishedParsed == nil || !item.PublishedParsed.Equal(n.Script.Published) {
				t.Errorf("pubDate %v, want %v", item.PublishedParsed, n.Script.Published)
			}
			if len(item.Enclosures) != 1 || item.Enclosures[0].URL != m.Files.Audio.URL ||
				item.Enclosures[0].Length != "" && item.Enclosures[0].Length != strconv.FormatInt(n.Size, 10) || item.Enclosures[0].Type != "audio/mpeg" {
				t.Errorf("enclosure %+v, want %s of %d bytes", item.Enclosures, m.Files.Audio.URL, n.Size)
			}
			if !strings.Contains(item.Description, stitch.DefaultDisclosure) || !strings.Contains(item.Content, stitch.DefaultDisclosure) {
				t.Errorf("description %q / content %q lack the disclosure", item.Description, item.Content)
			}
			ie := item.ITunesExt
			if ie == nil || ie.Duration == "" || ie.EpisodeType != "full" || ie.Author != m.Author || ie.Author == "" {
				t.Errorf("itunes item fields %+v", ie)
			}
			// The duration is the audio's, as a decoder plays it.
			audio, _ := get(t, s.store, m.Files.Audio.Key)
			pcm := mp3test.Decode(t, mp3test.WriteFile(t, "a.mp3", audio))
			true_ := float64(pcm.Frames()) / float64(pcm.Rate)
			if d := durationSeconds(t, ie.Duration); float64(d) < true_-1 || float64(d) > true_+1 {
				t.Errorf("itunes:duration %s, the audio plays %.3f s", ie.Duration, true_)
			}
			tr := item.Extensions["podcast"]["transcript"]
			if len(tr) != 1 || tr[0].Attrs["url"] != m.Files.Transcript.URL || tr[0].Attrs["type"] != "text/vtt" || tr[0].Attrs["language"] != "en" {
				t.Errorf("podcast:transcript %+v", tr)
			}
			chs := item.Extensions["podcast"]["chapters"]
			if len(chs) != 1 || chs[0].Attrs["url"] != m.Files.Chapters.URL || chs[0].Attrs["type"] != publish.ChaptersType {
				t.Errorf("podcast:chapters %+v", chs)
			}
		})
	}

	// Section and author feeds hold their own items.
	for key, want := range map[string][]string{
		"feeds/section/local-news.xml":    {"cms-3003", "cms-1001"},
		"feeds/section/politics.xml":      {"cms/2002?x=1"},
		"feeds/author/олена-петренко.xml": {"cms-3003"},
		"feeds/author/jane-doe.xml":       {"cms-1001"},
	} {
		b, _ := get(t, s.store, key)
		f := parseFeed(t, b)
		var got []string
		for _, it := range f.Items {
			got = append(got, it.GUID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s holds %q, want %q", key, got, want)
		}
		if !strings.HasPrefix(f.Title, cfg.Title+" — ") {
			t.Errorf("%s title %q", key, f.Title)
		}
	}

	// Nothing changed: a rebuild writes nothing.
	again := rebuild(t, s.pub)
	if len(again.Written) != 0 || len(again.Unchanged) != len(wantFeeds) {
		t.Errorf("second rebuild wrote %q, left %q", again.Written, again.Unchanged)
	}
}

func TestFeedIsCappedNewestFirst(t *testing.T) {
	cfg := appleConfig()
	cfg.Feed.MaxItems = 2
	s := newSite(t, cfg)
	three(t, s)
	rebuild(t, s.pub)
	b, _ := get(t, s.store, publish.FeedKey)
	f := parseFeed(t, b)
	if len(f.Items) != 2 || f.Items[0].GUID != "cms-3003" || f.Items[1].GUID != "cms/2002?x=1" {
		t.Fatalf("capped feed holds %d items: %+v", len(f.Items), f.Items)
	}
}

func TestReNarrationKeepsTheGUIDAndSwapsTheEnclosure(t *testing.T) {
	s := newSite(t, appleConfig())
	v1, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "cms-1001"})
	p1, err := s.pub.Publish(t.Context(), v1)
	if err != nil {
		t.Fatal(err)
	}
	rebuild(t, s.pub)
	b, _ := get(t, s.store, publish.FeedKey)
	before := parseFeed(t, b).Items[0]

	v2, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "cms-1001", Seed: 7, Created: v1.Created.Add(time.Hour)})
	p2, err := s.pub.Publish(t.Context(), v2)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Audio.Key == p1.Audio.Key || p2.Manifest.Key != p1.Manifest.Key {
		t.Fatalf("audio keys %s → %s, manifest %s → %s", p1.Audio.Key, p2.Audio.Key, p1.Manifest.Key, p2.Manifest.Key)
	}
	rebuild(t, s.pub)
	b, _ = get(t, s.store, publish.FeedKey)
	f := parseFeed(t, b)
	if len(f.Items) != 1 {
		t.Fatalf("%d items after re-narration", len(f.Items))
	}
	after := f.Items[0]
	if after.GUID != before.GUID || after.GUID != "cms-1001" {
		t.Errorf("guid %q → %q", before.GUID, after.GUID)
	}
	if after.Enclosures[0].URL != p2.Audio.URL || after.Enclosures[0].URL == before.Enclosures[0].URL {
		t.Errorf("enclosure %s → %s, want %s", before.Enclosures[0].URL, after.Enclosures[0].URL, p2.Audio.URL)
	}
	checkPodcastFeed(t, s.store.URL(publish.FeedKey))

	// A late retry of the first job must not bring the old audio back.
	v1.Audio = bytes.NewReader(nil)
	if _, err := s.pub.Publish(t.Context(), v1); !errors.Is(err, publish.ErrSuperseded) {
		t.Fatalf("publishing an older narration: %v, want ErrSuperseded", err)
	}
	if m := manifest(t, s.store, v1.Key); m.SHA256 != v2.SHA256 {
		t.Fatal("the older narration replaced the newer")
	}

	// The first narration's files outlive feeds cached before the swap,
	// then go.
	if _, err := s.store.Head(t.Context(), p1.Audio.Key); err != nil {
		t.Fatalf("old audio removed at once: %v", err)
	}
	publish.SetClock(s.pub, func() time.Time { return time.Now().Add(publish.DefaultKeepOld + time.Minute) })
	rep := rebuild(t, s.pub)
	for _, k := range []string{p1.Audio.Key, p1.Transcript.Key} {
		if !slices.Contains(rep.Swept, k) {
			t.Errorf("%s not swept: %q", k, rep.Swept)
		}
		if _, err := s.store.Head(t.Context(), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s still there: %v", k, err)
		}
	}
	for _, k := range []string{p2.Audio.Key, p2.Transcript.Key, p2.Chapters.Key, p2.Manifest.Key} {
		if _, err := s.store.Head(t.Context(), k); err != nil {
			t.Errorf("current file %s: %v", k, err)
		}
	}
}

func TestUnpublishRemovesTheNarrationAndItsEmptyFeeds(t *testing.T) {
	s := newSite(t, appleConfig())
	keep, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "keep", Section: "Politics"})
	gone, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "gone", Section: "Sport", Author: "Sam Lee", Seed: 4})
	for _, n := range []publish.Narration{keep, gone} {
		if _, err := s.pub.Publish(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	rebuild(t, s.pub)
	for range 2 { // a second call finds nothing to do
		if err := s.pub.Unpublish(t.Context(), gone.Key); err != nil {
			t.Fatal(err)
		}
	}
	rep := rebuild(t, s.pub)
	if want := []string{"feeds/author/sam-lee.xml", "feeds/section/sport.xml"}; !slices.Equal(slices.Sorted(slices.Values(rep.Removed)), want) {
		t.Errorf("removed feeds %q, want %q", rep.Removed, want)
	}
	left, err := s.store.List(t.Context(), publish.DefaultPrefix+"/"+gone.Key+"/")
	if err != nil || len(left) != 0 {
		t.Errorf("files left: %v %v", left, err)
	}
	b, _ := get(t, s.store, publish.FeedKey)
	f := parseFeed(t, b)
	if len(f.Items) != 1 || f.Items[0].GUID != "keep" {
		t.Fatalf("feed after unpublish: %+v", f.Items)
	}
	if _, err := s.pub.Manifest(t.Context(), gone.Key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("manifest of the unpublished narration: %v", err)
	}
}

func TestPublishRejectsNarrationsItCannotPublish(t *testing.T) {
	s := newSite(t, appleConfig())
	base, audio := publishtest.Narration(t, publishtest.Options{})
	cases := []struct {
		name string
		edit func(*publish.Narration)
		want error
	}{
		{"no article id", func(n *publish.Narration) { n.ArticleID = " " }, publish.ErrInvalidNarration},
		{"key with a slash", func(n *publish.Narration) { n.Key = "a/b" }, publish.ErrInvalidKey},
		{"size of another file", func(n *publish.Narration) { n.Size-- }, publish.ErrInvalidNarration},
		{"bad hash", func(n *publish.Narration) { n.SHA256 = "xyz" }, publish.ErrInvalidNarration},
		{"spans of other chunks", func(n *publish.Narration) { n.Chunks = n.Chunks[1:] }, publish.ErrInvalidNarration},
		{"bytes that are not the hash's", func(n *publish.Narration) { n.SHA256 = strings.Repeat("ab", 32) }, publish.ErrInvalidNarration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := base
			n.Audio = bytes.NewReader(audio)
			tc.edit(&n)
			_, err := s.pub.Publish(t.Context(), n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var p interface{ Permanent() bool }
			if !errors.As(err, &p) || !p.Permanent() {
				t.Errorf("error %v is not permanent", err)
			}
			if objs, _ := s.store.List(t.Context(), ""); len(objs) != 0 {
				t.Errorf("a rejected narration left %d files", len(objs))
			}
		})
	}
}

// titles that must survive escaping in the feed, the transcript and the
// player.
var hostileTitles = []string{
	`Tom & Jerry`,
	`<script>alert("x")</script>`,
	`"Quoted" and 'single' & <b>bold</b>`,
	`]]> breaks CDATA <![CDATA[`,
	`Рада ухвалила бюджет — 議会 — مجلس المدينة`,
	"Tabs\tand\nnewlines",
	"Control \x01 char and bad \xff byte",
	`&amp; &lt; already escaped`,
}

func TestFeedEscapesTitles(t *testing.T) {
	s := newSite(t, appleConfig())
	base, audio := publishtest.Narration(t, publishtest.Options{})
	for i, title := range hostileTitles {
		n := base
		n.ArticleID, n.Key = "t"+strconv.Itoa(i), "t"+strconv.Itoa(i)
		n.Script.Title = title
		n.Script.Published = base.Script.Published.Add(time.Duration(i) * time.Hour)
		n.Audio = bytes.NewReader(audio)
		if _, err := s.pub.Publish(t.Context(), n); err != nil {
			t.Fatal(err)
		}
	}
	rebuild(t, s.pub)
	b, _ := get(t, s.store, publish.FeedKey)
	var raw checkRSS
	if err := xml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("feed does not parse: %v", err)
	}
	f := parseFeed(t, b)
	for i, title := range hostileTitles {
		t.Run(title, func(t *testing.T) {
			want := publishSafe(strings.Join(strings.Fields(title), " "))
			j := len(hostileTitles) - 1 - i // newest first
			if got := raw.Channel.Items[j].Title; got != want {
				t.Errorf("XML title %q, want %q", got, want)
			}
			if got := f.Items[j].Title; got != want {
				t.Errorf("gofeed title %q, want %q", got, want)
			}
		})
	}
}

// FuzzFeedTitle publishes one narration under any title and section and
// checks that every feed still parses, with the title intact.
func FuzzFeedTitle(f *testing.F) {
	for _, s := range hostileTitles {
		f.Add(s, "Politics & <Power>")
	}
	s := newSite(f, appleConfig())
	n, audio := publishtest.Narration(f, publishtest.Options{})
	f.Fuzz(func(t *testing.T, title, section string) {
		n := n
		n.Script.Title, n.Section = title, section
		n.Audio = bytes.NewReader(audio)
		if _, err := s.pub.Publish(t.Context(), n); err != nil {
			t.Fatal(err)
		}
		rep, err := s.pub.RebuildFeeds(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := publishSafe(strings.Join(strings.Fields(title), " "))
		if want == "" {
			want = n.Key // an untitled narration is named by its key
		}
		for _, key := range append(rep.Written, rep.Unchanged...) {
			b, _ := get(t, s.store, key)
			var raw checkRSS
			if err := xml.Unmarshal(b, &raw); err != nil {
				t.Fatalf("%s does not parse: %v\n%s", key, err, b)
			}
			pf := parseFeed(t, b)
			if len(raw.Channel.Items) != 1 || raw.Channel.Items[0].Title != want || pf.Items[0].Title != want {
				t.Fatalf("%s: title %q (gofeed %q), want %q", key, raw.Channel.Items[0].Title, pf.Items[0].Title, want)
			}
		}
	})
}

func TestSweepKeepsWhatAnUnreadableManifestMayName(t *testing.T) {
	s := newSite(t, appleConfig())
	n, _ := publishtest.Narration(t, publishtest.Options{ArticleID: "good"})
	p, err := s.pub.Publish(t.Context(), n)
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		t.Helper()
		if err := s.store.Put(t.Context(), key, strings.NewReader(body), int64(len(body)), storage.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	// A manifest of a later version this one cannot read, its audio, and
	// the leftovers of a publish that never reached its manifest.
	put("narrations/newer/manifest.json", `{"version": 2, "article_id": "x", "key": "newer"}`)
	put("narrations/newer/abc.mp3", "audio")
	put("narrations/failed/def.mp3", "audio")

	rep := rebuild(t, s.pub)
	if rep.Items != 1 || len(rep.Swept) != 0 {
		t.Fatalf("report %+v", rep)
	}
	publish.SetClock(s.pub, func() time.Time { return time.Now().Add(publish.DefaultKeepOld + time.Minute) })
	rep = rebuild(t, s.pub)
	if !slices.Equal(rep.Swept, []string{"narrations/failed/def.mp3"}) {
		t.Errorf("swept %q, want only the failed publish's file", rep.Swept)
	}
	for _, k := range []string{"narrations/newer/abc.mp3", "narrations/newer/manifest.json", p.Audio.Key, p.Manifest.Key, p.Transcript.Key, p.Chapters.Key} {
		if _, err := s.store.Head(t.Context(), k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}
