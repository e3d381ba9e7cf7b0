package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// AudioIndexStream indexes chunk audio kept outside NATS (in the object
// storage): one message per chunk on narrator.audioidx.<key>, holding its
// size, rewritten when the chunk is used again. The stream's order is
// then least recently used first, which is the order the cache evicts in,
// and NATS holds a few dozen bytes per chunk instead of its megabytes.
const AudioIndexStream = "NARRATOR_AUDIO_INDEX"

const audioSubject = "narrator.audioidx."

// AudioIndex is the index of chunk audio kept in the object storage.
type AudioIndex struct{ q *Queue }

// AudioEntry is one chunk's entry.
type AudioEntry struct {
	Key  string
	Size int64
	Seq  uint64    // the entry's sequence: Remove checks it still is
	Used time.Time // when it was stored or last used
}

type audioEntryBody struct {
	Size int64 `json:"size"`
}

// AudioIndex returns the chunk audio index, declaring its stream if it is
// not there.
func (q *Queue) AudioIndex(ctx context.Context) (*AudioIndex, error) {
	_, err := q.ensureStream(ctx, jetstream.StreamConfig{
		Name:              AudioIndexStream,
		Description:       "narrator chunk audio kept in the object storage, least recently used first",
		Subjects:          []string{audioSubject + ">"},
		Retention:         jetstream.LimitsPolicy,
		Storage:           jetstream.FileStorage,
		Replicas:          q.cfg.Replicas,
		MaxMsgsPerSubject: 1,
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
	})
	if err != nil {
		return nil, q.declareErr("stream "+AudioIndexStream, err)
	}
	return &AudioIndex{q: q}, nil
}

// Put records a chunk's audio as stored, or used, now.
func (x *AudioIndex) Put(ctx context.Context, key string, size int64) error {
	if !ValidID(key) {
		return fmt.Errorf("queue: audio key %q", key)
	}
	data, _ := json.Marshal(audioEntryBody{Size: size})
	// Repeating it only writes the same entry again.
	err := x.q.call(ctx, func(ctx context.Context) error {
		_, err := x.q.js.Publish(ctx, audioSubject+key, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: index audio %s: %w", key, err)
	}
	return nil
}

// Get returns a chunk's entry, or false when it has none.
func (x *AudioIndex) Get(ctx context.Context, key string) (AudioEntry, bool, error) {
	if !ValidID(key) {
		return AudioEntry{}, false, nil
	}
	m, ok, err := x.q.last(ctx, AudioIndexStream, audioSubject+key)
	if err != nil || !ok {
		return AudioEntry{}, false, err
	}
	return audioEntry(m), true, nil
}

func audioEntry(m directMsg) AudioEntry {
	var b audioEntryBody
	_ = json.Unmarshal(m.Data, &b)
	return AudioEntry{Key: m.Subject[len(audioSubject):], Size: b.Size, Seq: m.Seq, Used: m.Time}
}

// Remove deletes an entry as it was read, and reports whether it did: an
// entry used again since then has a new sequence and stays.
func (x *AudioIndex) Remove(ctx context.Context, e AudioEntry) (bool, error) {
	ok, err := x.q.deleteMsg(ctx, AudioIndexStream, e.Seq)
	if err != nil {
		return false, fmt.Errorf("queue: unindex audio %s: %w", e.Key, err)
	}
	return ok, nil
}

// Scan calls fn with every entry, least recently used first, until fn
// returns false. It reads the stream through one ordered consumer, so a
// scan of millions of entries costs no request per entry.
func (x *AudioIndex) Scan(ctx context.Context, fn func(AudioEntry) bool) error {
	s, err := x.q.js.Stream(ctx, AudioIndexStream)
	if err != nil {
		return fmt.Errorf("queue: audio index: %w", err)
	}
	if s.CachedInfo().State.Msgs == 0 {
		return nil
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return fmt.Errorf("queue: scan audio index: %w", err)
	}
	it, err := c.Messages()
	if err != nil {
		return fmt.Errorf("queue: scan audio index: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("queue: scan audio index: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		var b audioEntryBody
		_ = json.Unmarshal(m.Data(), &b)
		e := AudioEntry{Key: m.Subject()[len(audioSubject):], Size: b.Size, Seq: meta.Sequence.Stream, Used: meta.Timestamp}
		if !fn(e) || meta.NumPending == 0 {
			return nil
		}
	}
}
