package synth_test

import (
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/synth"
)

func TestBucketsSpendRefillAndDrain(t *testing.T) {
	// 60 requests and 6,000 characters a minute: 1 request and 100
	// characters a second, bursting to 3 requests and 300 characters.
	b := synth.NewBuckets(60, 6000, 3, time.Minute)
	tok := b.Full()
	if tok != (synth.Tokens{Reqs: 3, Chars: 300}) {
		t.Fatalf("full buckets hold %+v", tok)
	}
	for i := range 3 {
		if d := b.Take(&tok, 100); d != 0 {
			t.Fatalf("request %d of a burst of 3 waits %v", i, d)
		}
	}
	if d := b.Take(&tok, 100); d != time.Second || tok != (synth.Tokens{}) {
		t.Errorf("after the burst: wait %v, tokens %+v; want 1s and nothing spent", d, tok)
	}
	b.Refill(&tok, 500*time.Millisecond)
	if d := b.Take(&tok, 100); d != 500*time.Millisecond {
		t.Errorf("half refilled: wait %v, want 500ms", d)
	}
	b.Refill(&tok, -time.Second) // a clock behind the state's
	if tok != (synth.Tokens{Reqs: 0.5, Chars: 50}) {
		t.Errorf("a negative refill changed the tokens to %+v", tok)
	}
	b.Refill(&tok, time.Hour)
	if tok != b.Full() {
		t.Errorf("refilled for an hour: %+v, want full", tok)
	}

	// A request longer than the character bucket goes when it is full and
	// leaves a debt that later requests wait out.
	if d := b.Take(&tok, 500); d != 0 || tok.Chars != -200 {
		t.Fatalf("long request: wait %v, %v characters left; want 0 and -200", d, tok.Chars)
	}
	if d := b.Take(&tok, 100); d != 3*time.Second {
		t.Errorf("after a long request: wait %v, want 3s", d)
	}
	tok.Drain()
	if tok != (synth.Tokens{Reqs: 0, Chars: -200}) {
		t.Errorf("drained: %+v, want no requests and the debt kept", tok)
	}

	if d := b.Take(&synth.Tokens{Reqs: 1 - 1e-9, Chars: 300}, 1); d != time.Millisecond {
		t.Errorf("nearly enough waits %v, want the 1ms floor", d)
	}

	unlimited := synth.NewBuckets(0, 0, 0, time.Minute)
	tok = unlimited.Full()
	for range 10 {
		if d := unlimited.Take(&tok, 1e6); d != 0 {
			t.Fatalf("an unlimited budget waits %v", d)
		}
	}
}
