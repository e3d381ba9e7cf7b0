package synth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// counted is a real limiter that counts what it paced.
type counted struct {
	synth.Limiter
	n atomic.Int64
}

func (c *counted) Acquire(ctx context.Context, chars int) (func(), error) {
	c.n.Add(1)
	return c.Limiter.Acquire(ctx, chars)
}

func newCounted(t *testing.T) *counted {
	t.Helper()
	b, err := synth.NewTokenBucket(synth.TokenBucketConfig{RPM: 600})
	if err != nil {
		t.Fatal(err)
	}
	return &counted{Limiter: b}
}

// TestRecognitionTakesFromItsLimiter: every recognition request takes
// from the listening limiter (the synthesis one when both bill the same
// account), every synthesis request from the synthesis limiter, and
// neither from the other's when they are different accounts.
func TestRecognitionTakesFromItsLimiter(t *testing.T) {
	for _, shared := range []bool{true, false} {
		fake := startFake(t, faketts.Config{Script: map[int]faketts.Fault{1: faketts.DropSentence}, TranscribeLatency: -1})
		speech, listen := newCounted(t), newCounted(t)
		if shared {
			listen = speech
		}
		s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), nil, synth.Config{Limiter: speech,
			Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{}), Limiter: listen, Policy: synth.ListenRetry}})
		if _, err := s.Synthesize(t.Context(), synth.Request{Text: article}); err != nil {
			t.Fatal(err)
		}
		synths, listens := count(fake, "/v1/audio/speech"), count(fake, "/v1/audio/transcriptions")
		if shared && speech.n.Load() != int64(synths+listens) {
			t.Errorf("shared: the limiter paced %d requests; %d syntheses and %d recognitions were made", speech.n.Load(), synths, listens)
		}
		if !shared && (speech.n.Load() != int64(synths) || listen.n.Load() != int64(listens)) {
			t.Errorf("apart: paced %d syntheses and %d recognitions; %d and %d were made", speech.n.Load(), listen.n.Load(), synths, listens)
		}
		if synths != 2 || listens != 2 {
			t.Errorf("%d syntheses and %d recognitions; want 2 and 2 (a dropped sentence, said again)", synths, listens)
		}
	}
}

// TestEqualChunksAreHeardAndBilledOnce: equal chunks synthesized at once
// share one request and one recognition, and only one of them bills the
// seconds heard.
func TestEqualChunksAreHeardAndBilledOnce(t *testing.T) {
	fake := startFake(t, faketts.Config{TranscribeLatency: -1, LatencyPerChar: 2 * time.Millisecond}) // the second joins the first call
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), synth.NewMemoryCache(), synth.Config{
		Listen: synth.Listening{Listener: newListener(t, fake, synth.ListenConfig{}), Policy: synth.ListenCheck}})
	var wg sync.WaitGroup
	heard := make([]float64, 2)
	for i := range heard {
		wg.Go(func() {
			res, err := s.Synthesize(t.Context(), synth.Request{Text: article})
			if err != nil {
				t.Error(err)
			}
			heard[i] = res.HeardSeconds
		})
	}
	wg.Wait()
	var fakeHeard float64
	for _, e := range fake.Log() {
		if e.Path == "/v1/audio/transcriptions" {
			fakeHeard += e.Seconds
		}
	}
	if n := count(fake, "/v1/audio/transcriptions"); n != 1 || heard[0]+heard[1] != fakeHeard {
		t.Errorf("%d recognitions of %.2f s; the chunks billed %.2f and %.2f s", n, fakeHeard, heard[0], heard[1])
	}
}
