package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// progress shows a job's events as they arrive.
type progress interface {
	event(e queue.Event)
	// close draws the last state and stops redrawing.
	close()
}

// newProgress returns the display mode asks for: "bars" redraws a bar per
// stage in place, "plain" writes a timestamped line per event, "auto" is
// bars on a terminal and lines otherwise, "none" shows nothing.
func newProgress(mode string, w io.Writer, start time.Time) (progress, error) {
	switch mode {
	case "auto":
		if isTerminal(w) && os.Getenv("TERM") != "dumb" {
			return newBars(w, start, true), nil
		}
		return &lines{w: w, start: start}, nil
	case "bars":
		return newBars(w, start, true), nil
	case "plain":
		return &lines{w: w, start: start}, nil
	case "none":
		return none{}, nil
	}
	return nil, usageError{fmt.Sprintf("--progress %q: want auto, bars, plain or none", mode)}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type none struct{}

func (none) event(queue.Event) {}
func (none) close()            {}

// lines writes one timestamped line per event, for logs and pipes. A
// failure's reason is left to the command's error, so it is said once.
type lines struct {
	w     io.Writer
	start time.Time
}

func (l *lines) close() {}

func (l *lines) event(e queue.Event) {
	at := fmt.Sprintf("[%6.1fs]", time.Since(l.start).Seconds())
	switch e.Kind {
	case queue.EventQueued:
		fmt.Fprintf(l.w, "%s queued\n", at)
	case queue.EventStageStart:
		fmt.Fprintf(l.w, "%s %-7s started\n", at, e.Stage)
	case queue.EventStageDone:
		if e.Chunks > 0 {
			fmt.Fprintf(l.w, "%s %-7s done: %d chunks\n", at, e.Stage, e.Chunks)
		} else {
			fmt.Fprintf(l.w, "%s %-7s done\n", at, e.Stage)
		}
	case queue.EventChunkDone:
		fmt.Fprintf(l.w, "%s synth   chunk %d done (%d/%d)\n", at, e.Chunk+1, e.Done, e.Chunks)
	case queue.EventFirstAudio:
		fmt.Fprintf(l.w, "%s first audio: listen at %s\n", at, e.Message)
	case queue.EventRetry:
		fmt.Fprintf(l.w, "%s %-7s retrying: %s\n", at, e.Stage, e.Message)
	case queue.EventDone:
		fmt.Fprintf(l.w, "%s done\n", at)
	case queue.EventFailed:
		fmt.Fprintf(l.w, "%s %-7s failed\n", at, e.Stage)
	}
}

// stageRow is one stage's line of the bars display.
type stageRow struct {
	name       string
	start, end time.Time
	failed     bool
	done, of   int // chunks, for synth
}

// bars redraws one line per stage in place: state, a bar of chunks done
// for synthesis, time taken, and an estimate of the time left.
type bars struct {
	w     io.Writer
	start time.Time
	now   func() time.Time

	mu    sync.Mutex
	rows  []*stageRow
	note  string // the latest retry
	drawn int    // lines on screen
	stop  chan struct{}
	done  chan struct{}
}

const barWidth = 24

func newBars(w io.Writer, start time.Time, tick bool) *bars {
	b := &bars{w: w, start: start, now: time.Now, stop: make(chan struct{}), done: make(chan struct{})}
	for _, s := range []string{pipeline.StageClean, pipeline.StageChunk, pipeline.StageSynth, pipeline.StageStitch, pipeline.StagePublish} {
		b.rows = append(b.rows, &stageRow{name: s})
	}
	if !tick {
		close(b.done)
		return b
	}
	// The clock moves between events too.
	go func() {
		defer close(b.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.mu.Lock()
				b.draw(b.now())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

func (b *bars) row(stage string) *stageRow {
	for _, r := range b.rows {
		if r.name == stage {
			return r
		}
	}
	return nil
}

func (b *bars) event(e queue.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := e.Time
	if now.IsZero() {
		now = b.now()
	}
	switch e.Kind {
	case queue.EventStageStart:
		if r := b.row(e.Stage); r != nil && r.start.IsZero() {
			r.start = now
		}
	case queue.EventStageDone:
		if r := b.row(e.Stage); r != nil {
			r.end = now
		}
		if e.Stage == pipeline.StageChunk {
			s := b.row(pipeline.StageSynth)
			s.of, s.start = e.Chunks, now
		}
	case queue.EventChunkDone:
		s := b.row(pipeline.StageSynth)
		if s.start.IsZero() {
			s.start = now
		}
		s.done, s.of = max(s.done, e.Done), max(s.of, e.Chunks)
		if s.of > 0 && s.done >= s.of {
			s.end = now
		}
	case queue.EventRetry:
		b.note = e.Stage + " retrying: " + e.Message
	case queue.EventFailed:
		if r := b.row(e.Stage); r != nil {
			r.failed, r.end = true, now
		}
	case queue.EventDone:
		b.note = ""
	}
	b.draw(b.now())
}

func (b *bars) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw(b.now())
}

// draw replaces the lines drawn before with the current state.
func (b *bars) draw(now time.Time) {
	var s strings.Builder
	if b.drawn > 0 {
		fmt.Fprintf(&s, "\x1b[%dA", b.drawn)
	}
	frame := b.frame(now)
	for _, l := range frame {
		s.WriteString("\r\x1b[2K")
		s.WriteString(l)
		s.WriteByte('\n')
	}
	b.drawn = len(frame)
	io.WriteString(b.w, s.String())
}

// frame is the display's lines at a moment.
func (b *bars) frame(now time.Time) []string {
	var out []string
	for _, r := range b.rows {
		out = append(out, r.line(now))
	}
	out = append(out, fmt.Sprintf("elapsed %s", clock(now.Sub(b.start))))
	if b.note != "" {
		out = append(out, clip(b.note, 100))
	}
	return out
}

func (r *stageRow) line(now time.Time) string {
	state := "waiting"
	took := ""
	switch {
	case r.failed:
		state = "failed"
	case !r.end.IsZero():
		state = "done"
		took = clock(r.end.Sub(r.start))
	case !r.start.IsZero():
		state = "running"
		took = clock(now.Sub(r.start))
	}
	if r.name != pipeline.StageSynth || r.of == 0 {
		return strings.TrimRight(fmt.Sprintf("%-8s %-8s %s", r.name, state, took), " ")
	}
	filled := barWidth * r.done / r.of
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
	line := fmt.Sprintf("%-8s %s %*d/%d chunks  %s", r.name, bar, len(fmt.Sprint(r.of)), r.done, r.of, took)
	if state == "running" && r.done > 0 && r.done < r.of {
		// Chunks synthesize in parallel, so the rate so far is the best guess.
		left := now.Sub(r.start) * time.Duration(r.of-r.done) / time.Duration(r.done)
		line += "  about " + clock(left) + " left"
	}
	if state == "failed" {
		line += "  failed"
	}
	return line
}

// clock writes a duration as 4.2s or 1m05s.
func clock(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
