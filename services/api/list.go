package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
)

// listPage is the answer to GET /api/narrations.
type listPage struct {
	Narrations []narration `json:"narrations"`
	Total      int         `json:"total"` // narrations matching the filter
	NextCursor string      `json:"next_cursor,omitempty"`
}

// listQuery is a parsed filter and page of GET /api/narrations.
type listQuery struct {
	states  map[queue.State]bool
	section string
	article string
	limit   int
	after   *cursor
}

type cursor struct {
	created time.Time
	id      string
}

// String encodes the cursor for next_cursor.
func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.created.UnixNano(), 10) + ":" + c.id))
}

func parseCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("malformed cursor")
	}
	ns, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !queue.ValidID(id) {
		return nil, errors.New("malformed cursor")
	}
	return &cursor{created: time.Unix(0, n), id: id}, nil
}

var states = []queue.State{queue.Queued, queue.Running, queue.Done, queue.Failed, queue.Unpublished}

func parseListQuery(v url.Values) (listQuery, *httpError) {
	q := listQuery{section: v.Get("section"), article: v.Get("article_id"), limit: 50}
	if st := v.Get("state"); st != "" {
		q.states = map[queue.State]bool{}
		for _, one := range strings.Split(st, ",") {
			s := queue.State(strings.TrimSpace(one))
			if !slices.Contains(states, s) {
				return q, &httpError{http.StatusBadRequest, fmt.Sprintf("state %q: want queued, running, done, failed or unpublished (several: state=queued,running)", one)}
			}
			q.states[s] = true
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 200 {
			return q, &httpError{http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to 200", l)}
		}
		q.limit = n
	}
	if c := v.Get("cursor"); c != "" {
		after, err := parseCursor(c)
		if err != nil {
			return q, &httpError{http.StatusBadRequest, "cursor: use the next_cursor of a previous page"}
		}
		q.after = after
	}
	return q, nil
}

// page filters jobs (newest first) and cuts out one page.
func (lq listQuery) page(jobs []queue.Job) (out []queue.Job, total int, next string) {
	slices.SortStableFunc(jobs, func(a, b queue.Job) int {
		return cmp.Or(b.Created.Compare(a.Created), strings.Compare(a.ID, b.ID))
	})
	for _, j := range jobs {
		if lq.states != nil && !lq.states[j.State] || lq.section != "" && !strings.EqualFold(j.Options.Section, lq.section) ||
			lq.article != "" && j.ArticleID != lq.article {
			continue
		}
		total++
		if lq.after != nil && cmp.Or(lq.after.created.Compare(j.Created), strings.Compare(j.ID, lq.after.id)) <= 0 {
			continue
		}
		if len(out) == lq.limit {
			if next == "" {
				last := out[len(out)-1]
				next = cursor{created: last.Created, id: last.ID}.String()
			}
			continue
		}
		out = append(out, j)
	}
	return out, total, next
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

func (s *Server) list(ctx context.Context, lq listQuery) (listPage, error) {
	jobs, err := s.q.Jobs().List(ctx)
	if err != nil {
		return listPage{}, err
	}
	sel, total, next := lq.page(jobs)
	out := listPage{Narrations: make([]narration, 0, len(sel)), Total: total, NextCursor: next}
	for _, j := range sel {
		var cs []queue.Chunk
		// Only jobs in synthesis need their chunks read, for the progress.
		if j.State == queue.Running && j.Stage == pipeline.StageSynth {
			if cs, err = s.q.Jobs().Chunks(ctx, j.ID, j.Revision); err != nil {
				return listPage{}, err
			}
		}
		out.Narrations = append(out.Narrations, s.view(j, cs, false))
	}
	return out, nil
}
