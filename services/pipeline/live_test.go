package pipeline_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// holdLast holds the chunk that holds a phrase until released.
type holdLast struct {
	synth.Provider
	phrase           string
	started, release chan struct{}
	once             sync.Once
}

func (h *holdLast) Synthesize(ctx context.Context, req synth.Request) ([]byte, error) {
	if strings.Contains(req.Text, h.phrase) {
		h.once.Do(func() { close(h.started) })
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Provider.Synthesize(ctx, req)
}

// flushes is a stream's body and a signal at each flush.
type flushes struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	flushed chan int // bytes so far, at each flush
}

func (f *flushes) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *flushes) flush() error {
	f.mu.Lock()
	n := f.buf.Len()
	f.mu.Unlock()
	select {
	case f.flushed <- n:
	default:
	}
	return nil
}

// TestListenStreamsWhileNarrating listens to the sample article while its
// last chunk is held at the speech service: the first chunk's frames come
// while the narration is still in progress, the stream ends after the
// last chunk, and it is the published file's bytes after its head. The
// first chunk is short, so a listener hears it after about 2 s of
// synthesis at 11 ms a character.
func TestListenStreamsWhileNarrating(t *testing.T) {
	_, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	hold := &holdLast{Provider: prov, phrase: "public meeting", started: make(chan struct{}), release: make(chan struct{})}
	h := start(t, hold, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	j, err := h.p.Submit(ctx, pipeline.Request{ArticleID: "listen", Body: sample(t), Kind: "html", Options: queue.Options{Provider: "openai"}})
	if err != nil {
		t.Fatal(err)
	}
	out := &flushes{flushed: make(chan int, 1)}
	listened := make(chan error, 1)
	go func() { listened <- h.p.Listen(ctx, j.ID, out, out.flush) }()

	select {
	case <-hold.started:
	case err := <-listened:
		t.Fatalf("the stream ended before the last chunk was made: %v", err)
	case <-ctx.Done():
		t.Fatal("the last chunk never reached synthesis")
	}
	var first int
	select {
	case first = <-out.flushed:
	case err := <-listened:
		t.Fatalf("the stream ended while the last chunk was held: %v", err)
	case <-ctx.Done():
		t.Fatal("no audio streamed while the last chunk was held")
	}
	if now, err := h.q.Jobs().Get(ctx, j.ID); err != nil || now.Ended() {
		t.Fatalf("the job ended (%s) before its last chunk was released: %v", now.State, err)
	}
	if first == 0 {
		t.Fatal("a flush with no audio")
	}
	close(hold.release)
	if err := <-listened; err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := h.q.Follow(ctx, j.ID, j.Revision, func(queue.Event) bool { return true }); err != nil {
		t.Fatal(err)
	}
	j, err = h.q.Jobs().Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.checkNarration(t, j)

	file, err := os.ReadFile(h.published(t, j))
	if err != nil {
		t.Fatal(err)
	}
	head := audioStart(t, file)
	stream := out.buf.Bytes()
	if !bytes.Equal(stream, file[head:]) {
		t.Errorf("the stream (%d bytes) is not the published file after its %d-byte head (%d bytes)", len(stream), head, len(file)-head)
	}
	path := mp3test.WriteFile(t, "stream.mp3", stream)
	if w := mp3test.MPG123Warnings(t, path); len(w) > 0 {
		t.Errorf("mpg123 on the stream: %v", w)
	}
	chunks, err := h.q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if n := chunks[0].Chars; n > pipeline.DefaultFirstChars || n == 0 {
		t.Errorf("the first chunk has %d characters, want at most %d", n, pipeline.DefaultFirstChars)
	}
}

// audioStart is the offset of the first audio frame of an MP3 file: the
// length of its tag and Xing frame.
func audioStart(t *testing.T, b []byte) int {
	t.Helper()
	s := mp3.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		if it := s.Item(); it.Kind == mp3.KindFrame {
			return int(it.Offset)
		}
	}
	t.Fatalf("no audio frame: %v", s.Err())
	return 0
}
