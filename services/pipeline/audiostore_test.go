package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
	"github.com/narrator-project/narrator/storage"
)

// withStoreAudio keeps the harness's chunk audio in store, indexed in NATS.
func withStoreAudio(t *testing.T, store storage.Store, cfg pipeline.AudioStoreConfig) option {
	return func(d *pipeline.Deps, _ *pipeline.Config, _ *synth.Config) {
		a, err := pipeline.NewStoreAudio(context.Background(), d.Queue, store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Audio = a
	}
}

// checkChunksIn checks that a job's chunk audio is in store under prefix
// and in the NATS index, not in NATS's audio bucket.
func checkChunksIn(t *testing.T, h *harness, j queue.Job, store storage.Store, prefix string) {
	t.Helper()
	ctx := context.Background()
	chunks, err := h.q.Jobs().Chunks(ctx, j.ID, j.Revision)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := store.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(objects) != len(chunks) {
		t.Errorf("%d chunk objects under %s for %d chunks", len(objects), prefix, len(chunks))
	}
	index, err := h.q.AudioIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chunks {
		e, ok, err := index.Get(ctx, c.Audio)
		if err != nil || !ok || e.Size == 0 {
			t.Errorf("chunk %d (%s): index entry %+v %v %v", c.Index, c.Audio, e, ok, err)
		}
		if _, err := h.q.Audio().Size(ctx, c.Audio); !errors.Is(err, queue.ErrNoBlob) {
			t.Errorf("chunk %d is in the NATS audio bucket too: %v", c.Index, err)
		}
	}
}

// failingStore refuses every write.
type failingStore struct{ storage.Store }

func (failingStore) Put(context.Context, string, io.Reader, int64, storage.Meta) error {
	return errors.New("disk full")
}

// TestStoreAudioEvicts fills the cache and evicts from it: the least
// recently used first while the total passes the cap (a chunk found in
// the cache counts as used), then everything unused for the maximum age,
// but never a chunk used within the minimum age.
func TestStoreAudioEvicts(t *testing.T) {
	q, err := queue.Open(context.Background(), queue.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	dir := t.TempDir()
	fs, err := storage.NewFS(dir, "http://x")
	if err != nil {
		t.Fatal(err)
	}
	// The clock runs a second ahead: every chunk is past the minimum age.
	ahead := time.Second
	clock := func() time.Time { return time.Now().Add(ahead) }
	cfg := pipeline.AudioStoreConfig{MaxBytes: 750, MinAge: time.Nanosecond, TouchAfter: time.Nanosecond, Now: clock}
	a, err := pipeline.NewStoreAudio(context.Background(), q, fs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	keys := map[string]int{"aa01": 100, "bb02": 200, "cc03": 300, "dd04": 400}
	for _, k := range []string{"aa01", "bb02", "cc03", "dd04"} {
		if err := a.Put(ctx, k, bytes.Repeat([]byte{0xff}, keys[k])); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Get(ctx, "aa01"); err != nil || len(got) != 100 {
		t.Fatalf("get: %d bytes, %v", len(got), err)
	}
	has := func() []string {
		var out []string
		for _, k := range []string{"aa01", "bb02", "cc03", "dd04"} {
			ok, err := a.Has(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			r, err := a.Open(ctx, k)
			if ok != (err == nil) {
				t.Errorf("%s: indexed %v, stored %v", k, ok, err)
			}
			if err == nil {
				r.Close()
				out = append(out, k)
			} else if !errors.Is(err, synth.ErrNotCached) {
				t.Errorf("%s: %v, want ErrNotCached", k, err)
			}
		}
		return out
	}
	rep, err := a.Evict(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(has(), " "); got != "aa01 dd04" || rep.Chunks != 4 || rep.Bytes != 1000 || rep.Evicted != 2 || rep.EvictedBytes != 500 {
		t.Errorf("evicted to %q (%+v); want bb02 and cc03 gone: 1,000 bytes over a cap of 750, aa01 used since", got, rep)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "objects", "cache", "audio", "*", "*.mp3"))
	if len(files) != 2 {
		t.Errorf("%d audio files left: %v", len(files), files)
	}

	// Recently used chunks stay, whatever the cap.
	young, err := pipeline.NewStoreAudio(ctx, q, fs, pipeline.AudioStoreConfig{MaxBytes: 1, MinAge: time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := young.Evict(ctx); err != nil || rep.Evicted != 0 || rep.OverCap != 499 {
		t.Errorf("with only young chunks: %+v %v; want none evicted, 499 bytes over", rep, err)
	}
	// Ninety-one days on, everything is too old.
	ahead = 91 * 24 * time.Hour
	if rep, err := a.Evict(ctx); err != nil || rep.Evicted != 2 {
		t.Errorf("91 days on: %+v %v", rep, err)
	}
	if got := has(); len(got) != 0 {
		t.Errorf("kept %v past the maximum age", got)
	}

	// Audio that cannot be stored is an error, and is not indexed.
	broken, err := pipeline.NewStoreAudio(ctx, q, failingStore{fs}, pipeline.AudioStoreConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := broken.Put(ctx, "ee05", []byte("x")); err == nil {
		t.Error("a failed write was not an error")
	}
	if ok, _ := broken.Has(ctx, "ee05"); ok {
		t.Error("audio that was not stored is indexed")
	}
}

// TestCorruptChunkAudioIsSynthesizedAgain: chunk audio whose bytes in
// NATS no longer match their digest (seen after a node of the cluster was
// lost) reads as not cached, and is removed, so that the chunk is
// synthesized and stored again rather than retried until the job fails.
func TestCorruptChunkAudioIsSynthesizedAgain(t *testing.T) {
	ctx := t.Context()
	q, err := queue.Open(ctx, queue.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	audio := pipeline.AudioCache(q)
	want := bytes.Repeat([]byte("frame"), 1000)
	if err := audio.Put(ctx, "chunk", want); err != nil {
		t.Fatal(err)
	}
	if err := spoil(q, "chunk"); err != nil {
		t.Fatal(err)
	}

	if _, err := audio.Get(ctx, "chunk"); !errors.Is(err, synth.ErrNotCached) || !errors.Is(err, queue.ErrCorruptBlob) {
		t.Fatalf("reading the spoilt chunk: %v, want not cached (corrupt)", err)
	}
	if has, err := audio.Has(ctx, "chunk"); err != nil || has {
		t.Fatalf("after reading it, the spoilt chunk is kept: %v, %v", has, err)
	}
	if err := audio.Put(ctx, "chunk", want); err != nil {
		t.Fatal(err)
	}
	if got, err := audio.Get(ctx, "chunk"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("stored again, the chunk reads %d bytes, %v", len(got), err)
	}
}

// spoil overwrites a chunk's audio stored in NATS with the same bytes in
// another order, behind the object store's back, so that its digest no
// longer matches.
func spoil(q *queue.Queue, key string) error {
	ctx := context.Background()
	nc, err := nats.Connect(q.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	obs, err := js.ObjectStore(ctx, queue.AudioBucket)
	if err != nil {
		return err
	}
	info, err := obs.GetInfo(ctx, key)
	if err != nil {
		return err
	}
	data, err := obs.GetBytes(ctx, key)
	if err != nil {
		return err
	}
	k := len(data)/2 + 1
	spoilt := append(slices.Clone(data[k:]), data[:k]...)
	if bytes.Equal(spoilt, data) {
		return fmt.Errorf("%s: rotating its bytes does not change them", key)
	}
	subject := "$O." + queue.AudioBucket + ".C." + info.NUID
	stream, err := js.Stream(ctx, "OBJ_"+queue.AudioBucket)
	if err != nil {
		return err
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeSubject(subject)); err != nil {
		return err
	}
	for chunk := range slices.Chunk(spoilt, 128*1024) {
		if _, err := js.Publish(ctx, subject, chunk); err != nil {
			return err
		}
	}
	return nil
}

// spoilOnOpen spoils the first chunk the stitch stage opens, as losing a
// NATS node once did.
type spoilOnOpen struct {
	pipeline.ChunkAudio
	q    *queue.Queue
	t    *testing.T
	once sync.Once
	key  string
}

func (s *spoilOnOpen) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	s.once.Do(func() {
		s.key = key
		if err := spoil(s.q, key); err != nil {
			s.t.Errorf("spoil %s: %v", key, err)
		}
	})
	return s.ChunkAudio.Open(ctx, key)
}

// A chunk whose stored audio reads back spoilt when the stitch stage joins
// it is synthesized again, and the job ends done, not failed.
func TestStitchSynthesizesASpoiltChunkAgain(t *testing.T) {
	fake, prov := openAI(t, faketts.Config{LatencyPerChar: -1}, synth.OpenAIConfig{})
	audio := &spoilOnOpen{t: t}
	h := start(t, prov, nil, withConfig(pipeline.Config{TargetChars: 60}), func(d *pipeline.Deps, _ *pipeline.Config, _ *synth.Config) {
		audio.q, audio.ChunkAudio = d.Queue, pipeline.AudioCache(d.Queue)
		d.Audio = audio
	})
	body := "Flood wall\n\nThe council met on Tuesday to discuss the flood wall along the river.\n\n" +
		"Engineers said the wall would protect four hundred homes from a once-in-a-century flood.\n\n" +
		"Residents asked how long the work would close the riverside path."
	j := h.narrate(t, pipeline.Request{ArticleID: "spoilt", Kind: "text", Body: []byte(body), Options: queue.Options{Provider: "openai"}})
	h.checkNarration(t, j)
	if audio.key == "" {
		t.Fatal("the stitch stage opened no chunk")
	}
	var again []string
	for _, c := range fake.Log() {
		if c.Status == http.StatusOK {
			again = append(again, c.Input)
		}
	}
	if len(again) != j.Chunks+1 {
		t.Fatalf("%d requests for %d chunks, one of them spoilt: want %d", len(again), j.Chunks, j.Chunks+1)
	}
	// The last request repeats the spoilt chunk's, which came before it.
	if last := again[len(again)-1]; !slices.Contains(again[:len(again)-1], last) {
		t.Errorf("the request after the spoilt join was for %q, which no earlier request was", last)
	}
}
