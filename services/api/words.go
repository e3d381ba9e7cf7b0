package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/pipeline"
)

// unknownWords is the answer to GET /api/narrations/{id}/unknown-words.
type unknownWords struct {
	ID             string            `json:"id"`
	Revision       int               `json:"revision"`
	Publication    string            `json:"publication"`
	LexiconVersion string            `json:"lexicon_version"`
	Words          []lexicon.Unknown `json:"words"`
}

func (s *Server) unknownWords(w http.ResponseWriter, r *http.Request, _ session) {
	rev := 0
	if v := r.URL.Query().Get("revision"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("revision %q: want a positive number", v))
			return
		}
		rev = n
	}
	rep, err := s.report(r.Context(), r.PathValue("id"), rev)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// report lists the proper nouns a job's article uses that its
// publication's lexicon does not know, from the script the clean stage
// wrote (the latest revision when rev is 0).
func (s *Server) report(ctx context.Context, id string, rev int) (unknownWords, error) {
	j, err := s.q.Jobs().Get(ctx, id)
	if err != nil {
		return unknownWords{}, err
	}
	if rev == 0 {
		rev = j.Revision
	}
	sc, err := s.p.Script(ctx, j.ID, rev)
	if errors.Is(err, queue.ErrNoBlob) {
		return unknownWords{}, &httpError{http.StatusNotFound, fmt.Sprintf(
			"narration %s revision %d has no script: it has not been cleaned yet, failed before, or its intermediate files have expired (re-narrate it)", j.ID, rev)}
	}
	if err != nil {
		return unknownWords{}, err
	}
	pub := cmp.Or(j.Options.Publication, pipeline.DefaultPublication)
	lex, err := s.lex.Get(ctx, j.Options.Publication)
	if err != nil && !errors.Is(err, lexicon.ErrNotFound) {
		return unknownWords{}, err
	}
	words := lex.Report(append([]string{sc.Title, sc.Standfirst}, sc.Paragraphs()...)...)
	if words == nil {
		words = []lexicon.Unknown{}
	}
	return unknownWords{ID: j.ID, Revision: rev, Publication: pub, LexiconVersion: lex.Version(), Words: words}, nil
}
