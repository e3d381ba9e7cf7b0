package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/pipeline"
)

// lexiconView is a publication's lexicon as the API shows it.
type lexiconView struct {
	Publication string          `json:"publication"`
	Version     string          `json:"version"`
	Entries     []lexicon.Entry `json:"entries"`
}

// ErrEntryExists is returned when adding an entry for a word the lexicon
// already has.
var ErrEntryExists = errors.New("api: the lexicon already has an entry for this word")

// ErrNoEntry is returned when changing or deleting an entry the lexicon
// does not have.
var ErrNoEntry = errors.New("api: the lexicon has no entry for this word")

// key names an entry: its word, or its pattern.
func key(e lexicon.Entry) string { return cmp.Or(e.Word, e.Pattern) }

func publication(r *http.Request) string {
	return cmp.Or(strings.TrimSpace(r.URL.Query().Get("publication")), pipeline.DefaultPublication)
}

func (s *Server) readLexicon(ctx context.Context, pub string) (lexiconView, error) {
	lx, err := s.lex.Get(ctx, pub)
	if err != nil && !errors.Is(err, lexicon.ErrNotFound) {
		return lexiconView{}, err
	}
	v := lexiconView{Publication: pub, Version: lx.Version(), Entries: lx.Entries()}
	if v.Entries == nil {
		v.Entries = []lexicon.Entry{}
	}
	return v, nil
}

// editLexicon applies change to a publication's entries and stores the
// result if it compiles, with compare-and-swap in NATS, so that editors on
// several API servers never lose each other's edits.
func (s *Server) editLexicon(ctx context.Context, pub string, change func([]lexicon.Entry) ([]lexicon.Entry, error)) (lexiconView, error) {
	lx, err := s.lex.Update(ctx, pub, func(cur *lexicon.Lexicon) (*lexicon.Lexicon, error) {
		entries, err := change(cur.Entries())
		if err != nil {
			return nil, err
		}
		return lexicon.New(entries)
	})
	if err != nil {
		return lexiconView{Publication: pub}, err
	}
	return lexiconView{Publication: pub, Version: lx.Version(), Entries: lx.Entries()}, nil
}

func (s *Server) addEntry(ctx context.Context, pub string, e lexicon.Entry) (lexiconView, error) {
	return s.editLexicon(ctx, pub, func(es []lexicon.Entry) ([]lexicon.Entry, error) {
		if slices.ContainsFunc(es, func(x lexicon.Entry) bool { return strings.EqualFold(key(x), key(e)) }) {
			return nil, fmt.Errorf("%w: %q (change it with PUT /api/lexicon/{word})", ErrEntryExists, key(e))
		}
		return append(es, e), nil
	})
}

// putEntry adds or replaces the entry for word.
func (s *Server) putEntry(ctx context.Context, pub, word string, e lexicon.Entry) (lexiconView, error) {
	return s.editLexicon(ctx, pub, func(es []lexicon.Entry) ([]lexicon.Entry, error) {
		if i := slices.IndexFunc(es, func(x lexicon.Entry) bool { return key(x) == word }); i >= 0 {
			es[i] = e // in place: editors find it where it was
			return es, nil
		}
		return append(es, e), nil
	})
}

func (s *Server) deleteEntry(ctx context.Context, pub, word string) (lexiconView, error) {
	return s.editLexicon(ctx, pub, func(es []lexicon.Entry) ([]lexicon.Entry, error) {
		n := len(es)
		es = slices.DeleteFunc(es, func(x lexicon.Entry) bool { return key(x) == word })
		if len(es) == n {
			return nil, fmt.Errorf("%w: %q", ErrNoEntry, word)
		}
		return es, nil
	})
}

func (s *Server) lexiconFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrEntryExists):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, ErrNoEntry):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) getLexicon(w http.ResponseWriter, r *http.Request, _ session) {
	v, err := s.readLexicon(r.Context(), publication(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) addLexiconEntry(w http.ResponseWriter, r *http.Request, sess session) {
	var e lexicon.Entry
	if herr := decodeJSON(w, r, smallBody, &e); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	v, err := s.addEntry(r.Context(), publication(r), e)
	if err != nil {
		s.lexiconFail(w, r, err)
		return
	}
	s.log.Info("lexicon entry added", "publication", v.Publication, "word", key(e), "by", sess.Name)
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) putLexiconEntry(w http.ResponseWriter, r *http.Request, sess session) {
	word := r.PathValue("word")
	var e lexicon.Entry
	if herr := decodeJSON(w, r, smallBody, &e); herr != nil {
		writeError(w, herr.status, herr.msg)
		return
	}
	if e.Word == "" && e.Pattern == "" {
		e.Word = word // PUT /api/lexicon/Kyiv {"say": "Keev"}
	}
	if key(e) != word {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the entry's word or pattern %q differs from the one in the path, %q", key(e), word))
		return
	}
	v, err := s.putEntry(r.Context(), publication(r), word, e)
	if err != nil {
		s.lexiconFail(w, r, err)
		return
	}
	s.log.Info("lexicon entry set", "publication", v.Publication, "word", word, "by", sess.Name)
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) deleteLexiconEntry(w http.ResponseWriter, r *http.Request, sess session) {
	word := r.PathValue("word")
	v, err := s.deleteEntry(r.Context(), publication(r), word)
	if err != nil {
		s.lexiconFail(w, r, err)
		return
	}
	s.log.Info("lexicon entry deleted", "publication", v.Publication, "word", word, "by", sess.Name)
	writeJSON(w, http.StatusOK, v)
}
