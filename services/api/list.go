package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// listPage is the answer to GET /api/narrations.
type listPage struct {
	Narrations []narration `json:"narrations"`
	Total      int         `json:"total"` // narrations matching the filter
	// Counts are the narrations in each state, whatever the filter.
	Counts     map[queue.State]int `json:"counts"`
	NextCursor string              `json:"next_cursor,omitempty"`
}

// listQuery is a parsed filter and page of GET /api/narrations.
type listQuery struct {
	filter  queue.JobFilter
	article string
	limit   int
	before  uint64 // the cursor: the index sequence the page starts below
}

// cursorPrefix versions cursors, so that one from an older listing is
// refused with a clear error rather than misread.
const cursorPrefix = "i1:"

func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

func parseCursor(s string) (uint64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	n, perr := strconv.ParseUint(rest, 10, 64)
	if err != nil || !ok || perr != nil || n == 0 {
		return 0, errors.New("malformed cursor")
	}
	return n, nil
}

var states = queue.States

// parseTime reads a date (2026-03-04, the day's start in UTC; as an upper
// bound, the next day's) or an RFC 3339 time.
func parseTime(s string, upper bool) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if upper {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Parse(time.RFC3339, s)
}

func parseListQuery(v url.Values) (listQuery, *httpError) {
	q := listQuery{filter: queue.JobFilter{Section: v.Get("section")}, article: v.Get("article_id"), limit: 50}
	if st := v.Get("state"); st != "" {
		for _, one := range strings.Split(st, ",") {
			s := queue.State(strings.TrimSpace(one))
			if !slices.Contains(states, s) {
				return q, &httpError{http.StatusBadRequest, fmt.Sprintf("state %q: want queued, running, done, failed or unpublished (several: state=queued,running)", one)}
			}
			q.filter.States = append(q.filter.States, s)
		}
	}
	for _, b := range []struct {
		name  string
		upper bool
		to    *time.Time
	}{{"since", false, &q.filter.Since}, {"until", true, &q.filter.Until}} {
		if s := v.Get(b.name); s != "" {
			t, err := parseTime(s, b.upper)
			if err != nil {
				return q, &httpError{http.StatusBadRequest, fmt.Sprintf("%s %q: want a date (2026-03-04) or a time (2026-03-04T15:00:00Z)", b.name, s)}
			}
			*b.to = t
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > queue.MaxPage {
			return q, &httpError{http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to %d", l, queue.MaxPage)}
		}
		q.limit = n
	}
	if c := v.Get("cursor"); c != "" {
		before, err := parseCursor(c)
		if err != nil {
			return q, &httpError{http.StatusBadRequest, "cursor: use the next_cursor of a previous page"}
		}
		q.before = before
	}
	return q, nil
}

func (s *Server) listNarrations(w http.ResponseWriter, r *http.Request, _ session) {
	lq, herr := parseListQuery(r.URL.Query())
	if herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	page, err := s.list(r.Context(), lq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

// list reads one page from the job index: about a page of index entries,
// whatever the number of jobs, and the chunks of jobs in synthesis for
// their progress.
func (s *Server) list(ctx context.Context, lq listQuery) (listPage, error) {
	jobs := s.q.Jobs()
	counts, err := jobs.Counts(ctx)
	if err != nil {
		return listPage{}, err
	}
	out := listPage{Counts: counts}
	var sel []queue.Job
	if lq.article != "" {
		// One article is one job: read it, no index needed.
		j, err := jobs.Get(ctx, pipeline.JobID(lq.article))
		if err != nil && !errors.Is(err, queue.ErrNoJob) {
			return listPage{}, err
		}
		if err == nil && j.ArticleID == lq.article && matches(lq.filter, j) {
			sel, out.Total = []queue.Job{j}, 1
		}
	} else {
		p, err := jobs.Page(ctx, lq.filter, lq.before, lq.limit)
		if err != nil {
			return listPage{}, err
		}
		sel, out.Total = p.Jobs, p.Total
		if p.Next != 0 {
			out.NextCursor = encodeCursor(p.Next)
		}
	}
	out.Narrations = make([]narration, len(sel))
	errs := make([]error, len(sel))
	var wg sync.WaitGroup
	for i, j := range sel {
		// Only jobs in synthesis need their chunks read, for the progress.
		if j.State != queue.Running || j.Stage != pipeline.StageSynth {
			out.Narrations[i] = s.view(j, nil, false)
			continue
		}
		wg.Go(func() {
			cs, err := jobs.ChunkStates(ctx, j.ID, j.Revision)
			out.Narrations[i], errs[i] = s.view(j, cs, false), err
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// matches reports whether a job passes a filter, for the one job an
// article_id names.
func matches(f queue.JobFilter, j queue.Job) bool {
	return (len(f.States) == 0 || slices.Contains(f.States, j.State)) &&
		(f.Section == "" || queue.SectionToken(f.Section) == queue.SectionToken(j.Options.Section)) &&
		(f.Since.IsZero() || !j.Updated.Before(f.Since)) && (f.Until.IsZero() || j.Updated.Before(f.Until))
}
