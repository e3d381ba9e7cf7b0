package pipeline

import (
	"context"
	"sync"

	"github.com/narrator-project/narrator/queue"
)

// cpuSlots lets the stages' CPU-bound work (cleaning, chunking, the chunk
// check's full decode, stitching) run on at most one slot per CPU of the
// process, the highest priority first: a breaking story is cleaned,
// checked and stitched before the backfill's work that arrived earlier,
// instead of sharing the CPUs with all of it. Waiting on the network (the
// speech API, NATS) takes no slot.
type cpuSlots struct {
	mu      sync.Mutex
	free    int
	waiting [3][]chan struct{} // high, normal, low; each first come, first served
}

func newCPUSlots(n int) *cpuSlots { return &cpuSlots{free: max(n, 1)} }

func lane(p queue.Priority) int {
	switch p {
	case queue.High:
		return 0
	case queue.Low:
		return 2
	}
	return 1
}

// acquire waits for a slot, behind every waiter of a higher priority and
// those of its own that came first, and returns the function that gives
// it back.
func (c *cpuSlots) acquire(ctx context.Context, p queue.Priority) (release func(), err error) {
	c.mu.Lock()
	if c.free > 0 && len(c.waiting[0])+len(c.waiting[1])+len(c.waiting[2]) == 0 {
		c.free--
		c.mu.Unlock()
		return c.release, nil
	}
	ch := make(chan struct{})
	l := lane(p)
	c.waiting[l] = append(c.waiting[l], ch)
	c.mu.Unlock()
	select {
	case <-ch:
		return c.release, nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, w := range c.waiting[l] {
			if w == ch {
				c.waiting[l] = append(c.waiting[l][:i], c.waiting[l][i+1:]...)
				return nil, ctx.Err()
			}
		}
		// Handed a slot as the context ended: pass it on.
		c.handOn()
		return nil, ctx.Err()
	}
}

func (c *cpuSlots) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handOn()
}

// handOn gives a freed slot to the first waiter of the highest priority.
func (c *cpuSlots) handOn() {
	for l := range c.waiting {
		if len(c.waiting[l]) > 0 {
			ch := c.waiting[l][0]
			c.waiting[l] = c.waiting[l][1:]
			close(ch)
			return
		}
	}
	c.free++
}

// onCPU runs fn on one of the process's CPU slots, taken by the priority
// of the task's job.
func (p *Pipeline) onCPU(ctx context.Context, prio queue.Priority, fn func()) error {
	release, err := p.cpu.acquire(ctx, prio)
	if err != nil {
		return err
	}
	defer release()
	fn()
	return nil
}
