package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/pipeline"
)

// liveRun is one article narrated alone twice: as before the live
// stream (every chunk at the target size, audio when the file is
// published), and with short first chunks and a listener on the stream
// from submission, playing at 1×.
type liveRun struct {
	Chars  int `json:"chars"`
	Chunks int `json:"chunks"`
	// Published is today's time to audio: the published file, with chunks
	// all at the target size.
	Published benchSeconds `json:"published"`
	// FirstAudio is the time to the stream's first frames; Stall how long
	// a listener who starts then, at 1×, waits for later chunks;
	// StreamPublished the published file's time with the short first
	// chunks.
	FirstAudio      benchSeconds `json:"first_audio"`
	Stall           benchSeconds `json:"stall"`
	StreamPublished benchSeconds `json:"stream_published"`
	StreamChunks    int          `json:"stream_chunks"`
}

// parseSizes reads a comma-separated list of article sizes.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 100 {
			return nil, fmt.Errorf("--listen: %q is not a size of at least 100 characters", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchLive narrates an article of each size alone, before and with
// the live stream, against fakes of their own.
func benchLive(ctx context.Context, cfg benchConfig) ([]liveRun, error) {
	var out []liveRun
	for _, n := range cfg.Live {
		a := []benchArticle{makeArticle(cfg.Seed^0x115e^uint64(n), n)}
		before := cfg
		before.chunkFirst = -1
		old, err := benchPipeline(ctx, before, a, nil)
		if err != nil {
			return nil, err
		}
		l := listener{want: 1}
		now := cfg
		now.listener = l.listen
		cur, err := benchPipeline(ctx, now, a, nil)
		if err != nil {
			return nil, err
		}
		if e := cmp.Or(old.Articles[0].Error, cur.Articles[0].Error); e != "" {
			return nil, fmt.Errorf("the %d-character article: %s", n, e)
		}
		if l.err != nil {
			return nil, fmt.Errorf("the %d-character article's stream: %w", n, l.err)
		}
		first, stall, err := l.playback()
		if err != nil {
			return nil, err
		}
		out = append(out, liveRun{
			Chars: old.Articles[0].Chars, Chunks: old.Articles[0].Chunks, Published: old.Articles[0].TimeToAudio,
			FirstAudio: benchSeconds(first), Stall: benchSeconds(stall),
			StreamPublished: cur.Articles[0].TimeToAudio, StreamChunks: cur.Articles[0].Chunks,
		})
	}
	return out, nil
}

// listener follows a job of a bench pipeline on its live stream and
// records when each chunk's frames arrived: once want jobs are submitted,
// the nth submitted (0 the first).
type listener struct {
	want    int
	nth     int
	buf     bytes.Buffer
	arrived []time.Duration // since the batch's start, at each chunk
	size    []int           // bytes so far, at each chunk
	err     error
}

func (l *listener) listen(ctx context.Context, p *pipeline.Pipeline, q *queue.Queue, start time.Time) {
	// The jobs appear when the articles are submitted.
	var id string
	for id == "" {
		jobs, err := q.Jobs().List(ctx)
		if err != nil {
			l.err = err
			return
		}
		if len(jobs) >= l.want {
			slices.SortStableFunc(jobs, func(a, b queue.Job) int { return a.Submitted.Compare(b.Submitted) })
			id = jobs[l.nth].ID
			break
		}
		select {
		case <-ctx.Done():
			l.err = ctx.Err()
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
	l.err = p.Listen(ctx, id, &l.buf, func() error {
		l.arrived = append(l.arrived, time.Since(start))
		l.size = append(l.size, l.buf.Len())
		return nil
	})
}

// playback returns when the first frames came, and how long a listener
// who began then, at 1×, would have waited for the frames after them.
func (l *listener) playback() (first, stall time.Duration, err error) {
	if len(l.arrived) == 0 {
		return 0, 0, errors.New("no audio streamed")
	}
	// The playing time of the stream's first bytes, at each chunk.
	played := make([]time.Duration, len(l.size))
	s := mp3.NewScanner(bytes.NewReader(l.buf.Bytes()))
	var t time.Duration
	k := 0
	for s.Scan() {
		it := s.Item()
		for k < len(l.size) && it.Offset >= int64(l.size[k]) {
			played[k] = t
			k++
		}
		if it.Kind == mp3.KindFrame {
			f := it.Header.Format()
			t += f.Duration(int64(f.FrameSamples()))
		}
	}
	if err := s.Err(); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	for ; k < len(l.size); k++ {
		played[k] = t
	}
	first = l.arrived[0]
	for i := 1; i < len(l.arrived); i++ {
		// Chunk i is needed once what came before it has played.
		if need := first + stall + played[i-1]; l.arrived[i] > need {
			stall += l.arrived[i] - need
		}
	}
	return first, stall, nil
}

// burstRun is a burst of articles submitted at once at the same
// priority, with a listener on each: with synthesis banded by where a
// chunk falls in the listening, no story's opening waits for the others'
// later chunks.
type burstRun struct {
	Articles int          `json:"articles"`
	Chars    int          `json:"chars"` // each
	Chunks   int          `json:"chunks"`
	Wall     benchSeconds `json:"wall"`
	// Stories' first audio and stall, in the order submitted.
	FirstAudio []benchSeconds `json:"first_audio"`
	Stall      []benchSeconds `json:"stall"`
}

// benchBurst submits cfg.LiveBurst articles of the middle --live size at
// once, with short first chunks, listening to each.
func benchBurst(ctx context.Context, cfg benchConfig) (*burstRun, error) {
	n := cfg.Live[len(cfg.Live)/2]
	var articles []benchArticle
	ls := make([]*listener, cfg.LiveBurst)
	for i := range cfg.LiveBurst {
		articles = append(articles, makeArticle(cfg.Seed^0xb0b^uint64(n+i), n))
		ls[i] = &listener{want: cfg.LiveBurst, nth: i}
	}
	run := cfg
	run.listener = func(ctx context.Context, p *pipeline.Pipeline, q *queue.Queue, start time.Time) {
		var wg sync.WaitGroup
		for _, l := range ls {
			wg.Go(func() { l.listen(ctx, p, q, start) })
		}
		wg.Wait()
	}
	rep, err := benchPipeline(ctx, run, articles, nil)
	if err != nil {
		return nil, err
	}
	out := &burstRun{Articles: len(articles), Chars: n, Wall: rep.Wall}
	for _, a := range rep.Articles {
		if a.Error != "" {
			return nil, fmt.Errorf("the burst: %s", a.Error)
		}
		out.Chunks += a.Chunks
	}
	for _, l := range ls {
		if l.err != nil {
			return nil, fmt.Errorf("the burst's stream: %w", l.err)
		}
		first, stall, err := l.playback()
		if err != nil {
			return nil, err
		}
		out.FirstAudio, out.Stall = append(out.FirstAudio, benchSeconds(first)), append(out.Stall, benchSeconds(stall))
	}
	return out, nil
}

func (b *burstRun) print(w io.Writer) {
	if b == nil {
		return
	}
	fmt.Fprintf(w, "\nlisten now, a burst: %d articles of %d characters (%d chunks) submitted at once at one priority, in %s\n", b.Articles, b.Chars, b.Chunks, b.Wall)
	fmt.Fprintf(w, "  first audio, in the order submitted: %v (latest %s)\n", b.FirstAudio, slices.Max(b.FirstAudio))
	fmt.Fprintf(w, "  stall at 1×: %v (longest %s)\n", b.Stall, slices.Max(b.Stall))
}

// printLive shows the live stream's figures beside today's.
func printLive(w io.Writer, runs []liveRun) {
	if len(runs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nlisten now: one article alone; today audio comes with the published file, the stream from its first chunk (listener at 1×)\n")
	fmt.Fprintf(w, "  %8s  %14s  %13s  %12s  %17s\n", "chars", "today (chunks)", "first audio", "stall at 1×", "published (chunks)")
	for _, r := range runs {
		fmt.Fprintf(w, "  %8d  %8s (%3d)  %13s  %12s  %11s (%3d)\n", r.Chars, r.Published, r.Chunks, r.FirstAudio, r.Stall, r.StreamPublished, r.StreamChunks)
	}
}
