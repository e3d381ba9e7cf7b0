// Package publishtest makes real narrations for tests of publishing and of
// the player: a script split by the real chunker, each chunk's audio
// speech-like sound encoded by lame in the job format (24 kHz mono MPEG-2
// Layer III at 160 kbps), joined by the real stitcher.
package publishtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/narrator-project/narrator/services/align"
	"github.com/narrator-project/narrator/services/chunk"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/publish"
	"github.com/narrator-project/narrator/services/script"
	"github.com/narrator-project/narrator/services/stitch"
)

// Options describe the narration to make; zero fields take the sample
// article's values.
type Options struct {
	ArticleID, Key  string
	Title           string
	Section, Author string
	// Seed varies the audio, as a re-narration with another voice would.
	Seed    uint64
	Created time.Time
	// Script replaces the sample article.
	Script *script.Script
	// Heard gives every chunk word times, as the listening check records
	// them: its words spread evenly over its audio, word by word rather
	// than by characters, so that a test can tell the two timings apart.
	Heard bool
}

// SampleScript is a short article in two sections.
func SampleScript(title string) script.Script {
	return script.Script{
		Title:      title,
		Standfirst: "The council voted on Tuesday to rebuild the old river bridge.",
		Byline:     "By Jane Doe",
		Published:  time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC),
		Language:   "en",
		URL:        "https://news.example.com/2025/03/bridge",
		SiteName:   "The Example Gazette",
		Sections: []script.Section{
			{Blocks: []script.Block{
				{Kind: script.Paragraph, Text: "The bridge has stood for ninety years. Engineers found cracks in two of its piers last spring. Since then, lorries have been sent the long way round."},
				{Kind: script.Paragraph, Text: "Work starts in June. It will take two years."},
			}},
			{Heading: "What residents said", Blocks: []script.Block{
				{Kind: script.Paragraph, Text: "Most people at the meeting welcomed the plan. A few asked about the noise."},
				{Kind: script.Quote, Text: "We have waited long enough, said one shop owner."},
				{Kind: script.Paragraph, Text: "The council will publish a timetable next month."},
			}},
		},
	}
}

// made keeps the narrations made in this test binary: the same options
// always make the same narration, and encoding and joining are the slow
// part of a test.
var made sync.Map // fmt.Sprint(Options) → made

type madeNarration struct {
	n     publish.Narration
	audio []byte
}

// Narration makes a narration ready to publish and returns it with the MP3's
// bytes. Its Audio reads those bytes. Callers may change the narration's
// fields but not the contents of its slices, which calls with the same
// options share.
func Narration(tb testing.TB, o Options) (publish.Narration, []byte) {
	tb.Helper()
	id := fmt.Sprintf("%+v", o)
	if o.Script != nil {
		id += fmt.Sprintf("%+v", *o.Script)
	}
	if m, ok := made.Load(id); ok {
		m := m.(madeNarration)
		n := m.n
		n.Audio = bytes.NewReader(m.audio)
		return n, m.audio
	}
	n, audio := narration(tb, o)
	made.Store(id, madeNarration{n, audio})
	return n, audio
}

func narration(tb testing.TB, o Options) (publish.Narration, []byte) {
	tb.Helper()
	if o.Title == "" {
		o.Title = "Council approves new bridge"
	}
	if o.ArticleID == "" {
		o.ArticleID = "cms-1001"
	}
	if o.Key == "" {
		o.Key = publish.KeyFor(o.ArticleID)
	}
	if o.Section == "" {
		o.Section = "Local News"
	}
	if o.Created.IsZero() {
		o.Created = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	}
	s := SampleScript(o.Title)
	if o.Script != nil {
		s = *o.Script
	}
	c, err := chunk.New(chunk.Config{Target: 160})
	if err != nil {
		tb.Fatal(err)
	}
	chunks, err := c.Split(s)
	if err != nil {
		tb.Fatal(err)
	}
	inputs := make([]stitch.Input, len(chunks))
	var heard [][]publish.WordTime
	for i, ch := range chunks {
		// About a news reader's pace: 950 characters a minute.
		d := time.Duration(float64(utf8.RuneCountInString(ch.Text)) / stitch.DefaultCharsPerMinute * float64(time.Minute))
		d = max(d, time.Second)
		if o.Heard {
			ws := align.Words(ch.Text)
			step := d.Seconds() / float64(len(ws)+1)
			var times []publish.WordTime
			for k, w := range ws {
				times = append(times, publish.WordTime{Start: w.Start, End: w.End, From: step * float64(k+1), To: step * (float64(k) + 1.8), Heard: true})
			}
			heard = append(heard, times)
		}
		pcm := mp3test.Speech(24000, 1, d, -20, o.Seed*1000+uint64(i)+1)
		b := mp3test.Encode(tb, pcm, "-b", "160")
		inputs[i] = stitch.Input{Chunk: ch, Open: func(context.Context) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}}
	}
	meta := stitch.MetadataFromScript(s)
	meta.Provider, meta.Model, meta.Voice = "local", "espeak-ng", "en"
	var out stitch.Buffer
	res, err := stitch.Stitch(context.Background(), &out, inputs, meta, stitch.Config{})
	if err != nil {
		tb.Fatalf("stitch: %v", err)
	}
	sum := sha256.Sum256(out.Bytes())
	audio := out.Bytes()
	return publish.Narration{
		ArticleID: o.ArticleID,
		Key:       o.Key,
		Script:    s,
		Chunks:    chunks,
		Heard:     heard,
		Result:    res,
		Audio:     bytes.NewReader(audio),
		Size:      int64(len(audio)),
		SHA256:    hex.EncodeToString(sum[:]),
		Provider:  "local",
		Model:     "espeak-ng",
		Voice:     "en",
		Section:   o.Section,
		Author:    o.Author,
		Created:   o.Created,
	}, audio
}
