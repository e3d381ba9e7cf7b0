package pipeline

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/narrator-project/narrator/queue"
)

// TestCPUSlotsGoToTheHighestPriority holds the only slot while work of
// every priority waits, then lets it go: high goes first, then normal,
// then low, each in the order it came; a waiter that gives up is skipped.
func TestCPUSlotsGoToTheHighestPriority(t *testing.T) {
	c := newCPUSlots(1)
	ctx := context.Background()
	hold, err := c.acquire(ctx, queue.Low)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 8)
	gaveUp, giveUp := context.WithCancel(ctx)
	var seq []string
	for _, w := range []struct {
		name string
		p    queue.Priority
		ctx  context.Context
	}{{"low1", queue.Low, ctx}, {"normal1", queue.Normal, ctx}, {"low2", queue.Low, ctx}, {"high-quitter", queue.High, gaveUp}, {"high1", queue.High, ctx}, {"normal2", queue.Normal, ctx}} {
		before := pending(c)
		go func() {
			release, err := c.acquire(w.ctx, w.p)
			if err != nil {
				order <- w.name + " gave up"
				return
			}
			order <- w.name
			release()
		}()
		for pending(c) == before { // until it waits in line
			runtime.Gosched()
		}
		seq = append(seq, w.name)
	}
	giveUp()
	if got := <-order; got != "high-quitter gave up" {
		t.Fatalf("first: %s", got)
	}
	hold()
	var got []string
	for range 5 {
		got = append(got, <-order)
	}
	want := []string{"high1", "normal1", "normal2", "low1", "low2"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ran %v, want %v (queued %v)", got, want, seq)
		}
	}
	// Every slot came back: one more is taken at once.
	quick, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	release, err := c.acquire(quick, queue.Low)
	if err != nil {
		t.Fatalf("the slot was not given back: %v", err)
	}
	release()
}

func pending(c *cpuSlots) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiting[0]) + len(c.waiting[1]) + len(c.waiting[2])
}
