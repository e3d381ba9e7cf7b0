package publish

import "time"

// SetClock sets the clock a publisher reads, so tests can age files past
// KeepOld without waiting.
func SetClock(p *Publisher, now func() time.Time) { p.now = now }
