package publish_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/publish/publishtest"
	"github.com/narrator-project/narrator/storage"
)

// BenchmarkRebuildFeeds rebuilds the feeds of a publication of 500
// narrations (NARRATOR_BENCH_NARRATIONS, comma-separated, for others) in
// 10 sections and 50 authors; after the first rebuild the publisher reads
// only the manifests whose ETag changed, so this measures the steady
// state: one listing, the feeds rendered, their ETags compared.
func BenchmarkRebuildFeeds(b *testing.B) {
	sizes := []int{500}
	if env := os.Getenv("NARRATOR_BENCH_NARRATIONS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("NARRATOR_BENCH_NARRATIONS: %q is not a count", f)
			}
			sizes = append(sizes, n)
		}
	}
	for _, size := range sizes {
		b.Run(fmt.Sprintf("narrations=%d", size), func(b *testing.B) { benchmarkRebuildFeeds(b, size) })
	}
}

func benchmarkRebuildFeeds(b *testing.B, size int) {
	s := newSite(b, appleConfig())
	n, _ := publishtest.Narration(b, publishtest.Options{})
	if _, err := s.pub.Publish(b.Context(), n); err != nil {
		b.Fatal(err)
	}
	base := manifest(b, s.store, n.Key)
	for i := range size {
		m := base
		m.Key, m.ArticleID = fmt.Sprintf("a%d", i), fmt.Sprintf("cms-%d", i)
		m.Title = fmt.Sprintf("Article %d & more", i)
		m.Section, m.Author = fmt.Sprintf("Section %d", i%10), fmt.Sprintf("Author %d", i%50)
		m.Published = base.Published.Add(time.Duration(i) * time.Hour)
		body, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.store.Put(b.Context(), publish.ManifestKey(publish.DefaultPrefix, m.Key), strings.NewReader(string(body)), int64(len(body)), storage.Meta{}); err != nil {
			b.Fatal(err)
		}
	}
	first, err := s.pub.RebuildFeeds(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(first.Written)), "feeds")
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.pub.RebuildFeeds(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebVTT writes the transcript of a long article: 400 sentences.
func BenchmarkWebVTT(b *testing.B) {
	sentences := make([]publish.Sentence, 400)
	for i := range sentences {
		sentences[i] = publish.Sentence{Start: publish.Seconds(i) * 3, End: publish.Seconds(i)*3 + 2.9, Text: "The council voted on Tuesday to rebuild the old river bridge & more."}
	}
	b.ResetTimer()
	for b.Loop() {
		publish.WebVTT(sentences, "note")
	}
}
