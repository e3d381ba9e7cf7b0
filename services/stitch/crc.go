package stitch

import (
	"sync"

	"github.com/narrator-project/narrator/services/mp3"
)

// crcWriter computes the LAME tag's CRC of a file's audio (every byte
// after the first skip) on a goroutine of its own, so that a join runs
// about as fast as copying its bytes: the CRC is the costliest thing a join
// does to each byte, and runs beside the copy on a second core.
type crcWriter struct {
	skip   int64
	blocks chan []byte
	free   sync.Pool
	done   chan struct{}
	crc    uint16
}

func newCRCWriter(skip int64) *crcWriter {
	c := &crcWriter{skip: skip, blocks: make(chan []byte, 8), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for b := range c.blocks {
			c.crc = mp3.CRC16(c.crc, b)
			c.free.Put(&b)
		}
	}()
	return c
}

// Write takes a copy of p's audio bytes for the CRC; it never fails.
func (c *crcWriter) Write(p []byte) (int, error) {
	n := len(p)
	if c.skip > 0 {
		k := min(c.skip, int64(len(p)))
		c.skip -= k
		p = p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	var b []byte
	if v, ok := c.free.Get().(*[]byte); ok {
		b = (*v)[:0]
	}
	c.blocks <- append(b, p...)
	return n, nil
}

// Sum waits for the bytes written and returns their CRC. The writer must
// not be written to afterwards.
func (c *crcWriter) Sum() uint16 {
	close(c.blocks)
	<-c.done
	return c.crc
}
