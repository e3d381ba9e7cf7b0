package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/services/backfill"
)

// printPlan writes a dry run's plan for a reader.
func printPlan(w io.Writer, cfg backfill.Config, p backfill.Plan) {
	est := ""
	if p.Estimated {
		est = fmt.Sprintf(" (estimated from %d of %d articles read)", p.Sample, p.Listed)
	}
	fmt.Fprintf(w, "backfill %s: plan for %s%s\n", cfg.Name, p.Source, est)
	fmt.Fprintf(w, "  articles listed      %s\n", group(p.Listed))
	fmt.Fprintf(w, "  to narrate           %s\n", group(p.Articles))
	fmt.Fprintf(w, "  already narrated     %s (unchanged: skipped)\n", group(p.Unchanged))
	fmt.Fprintf(w, "  unreadable           %s\n", group(p.Unreadable))
	if p.Excluded > 0 {
		fmt.Fprintf(w, "  outside the filter   %s (by their pages' dates or sections)\n", group(p.Excluded))
	}
	fmt.Fprintf(w, "  characters           %s billable (at most: cached chunks cost nothing)\n", group(p.Chars))
	fmt.Fprintf(w, "  provider requests    %s\n", group(p.Requests))
	fmt.Fprintf(w, "  time                 %s, bound by %s", span(p.Time.Seconds), p.Time.Limit)
	var parts []string
	if p.Time.ByRequests > 0 {
		parts = append(parts, fmt.Sprintf("%s at %.0f%% of %d requests a minute", span(p.Time.ByRequests), cfg.Share*100, cfg.RPM))
	}
	if p.Time.ByChars > 0 {
		parts = append(parts, fmt.Sprintf("%s at %.0f%% of %s characters a minute", span(p.Time.ByChars), cfg.Share*100, group(cfg.CPM)))
	}
	if p.Time.BySynthesis > 0 {
		parts = append(parts, fmt.Sprintf("%s synthesizing at %s a character on %d slots", span(p.Time.BySynthesis), cfg.Synthesis.PerChar, cfg.Synthesis.Slots))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, "; "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  cost by provider and model:\n")
	for _, c := range p.Costs {
		mark := ""
		if c.Configured {
			mark = "  ← configured"
		}
		fmt.Fprintf(w, "    %-8s %-28s $%10.2f  ($%g per million characters)%s\n", c.Provider, c.Model, c.USD, c.PerMillion, mark)
	}
	if len(p.ListenCosts) > 0 {
		fmt.Fprintf(w, "  and the listening check hears about %s minutes of speech, by transcription model:\n", group((p.HeardSeconds+59)/60))
		for _, c := range p.ListenCosts {
			mark := ""
			if c.Configured {
				mark = "  ← configured"
			}
			fmt.Fprintf(w, "    %-8s %-28s $%10.2f  ($%g per minute)%s\n", "listen", c.Model, c.USD, c.PerMinute, mark)
		}
	}
	fmt.Fprintf(w, "nothing was submitted; run the same command without --dry-run to start (name %s)\n", cfg.Name)
}

// printRun writes a run's record for a reader.
func printRun(w io.Writer, r backfill.Run) {
	fmt.Fprintf(w, "backfill %s: %s", r.Name, r.State)
	if r.Reason != "" {
		fmt.Fprintf(w, " (%s)", r.Reason)
	}
	fmt.Fprintf(w, "\n  source %s\n", r.Source.Describe())
	total := "?"
	if r.Total >= 0 {
		total = group(r.Total)
	}
	fmt.Fprintf(w, "  listed %s of %s this pass; submitted %s, unchanged %s, unreadable %s; narrations done %s, failed %s\n",
		group(r.Seen), total, group(r.Submitted), group(r.Unchanged), group(r.Failed), group(r.Done), group(r.JobFailed))
	fmt.Fprintf(w, "  characters submitted %s in %s requests", group(r.Chars), group(r.Requests))
	if r.HeardSeconds > 0 {
		fmt.Fprintf(w, ", about %s minutes to be heard by the listening check", group((r.HeardSeconds+59)/60))
	}
	if r.Budget.Chars > 0 || r.Budget.USD > 0 {
		fmt.Fprintf(w, "; budget %s characters, $%.2f", group(r.Budget.Chars), r.Budget.USD)
	}
	fmt.Fprintln(w)
}

// runProgress draws a run's progress bar on a terminal, or a line every few
// seconds elsewhere.
type runProgress struct {
	w     io.Writer
	quiet bool
	tty   bool
	start time.Time

	mu   sync.Mutex
	last time.Time
}

func newRunProgress(w io.Writer, quiet bool) *runProgress {
	return &runProgress{w: w, quiet: quiet, tty: isTerminal(w), start: time.Now()}
}

func (p *runProgress) show(r backfill.Run) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if time.Since(p.last) < every {
		return
	}
	p.last = time.Now()
	p.draw(r, false)
}

func (p *runProgress) done(r backfill.Run) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(r, true)
}

func (p *runProgress) draw(r backfill.Run, final bool) {
	const width = 24
	frac := 0.0
	total := "?"
	if r.Total > 0 {
		frac = min(float64(r.Seen)/float64(r.Total), 1)
		total = group(r.Total)
	}
	fill := int(frac * width)
	bar := strings.Repeat("#", fill) + strings.Repeat("-", width-fill)
	eta := ""
	if el := time.Since(p.start); frac > 0 && frac < 1 && el > 5*time.Second {
		eta = " · ETA " + span(el.Seconds()/frac*(1-frac))
	}
	line := fmt.Sprintf("[%s] %s/%s articles · submitted %s, unchanged %s, unreadable %s · done %s, failed %s · %s chars%s",
		bar, group(r.Seen), total, group(r.Submitted), group(r.Unchanged), group(r.Failed), group(r.Done), group(r.JobFailed), group(r.Chars), eta)
	switch {
	case p.tty && final:
		fmt.Fprintf(p.w, "\r%s\033[K\n", line)
	case p.tty:
		fmt.Fprintf(p.w, "\r%s\033[K", line)
	default:
		fmt.Fprintln(p.w, line)
	}
}

// group writes n with thousands separated: 1,234,567.
func group(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// span writes seconds as a rounded duration: 45s, 12m, 3h20m, 4d6h.
func span(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Minute).String()
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	days := int(d / (24 * time.Hour))
	return fmt.Sprintf("%dd%dh", days, int((d-time.Duration(days)*24*time.Hour)/time.Hour))
}
