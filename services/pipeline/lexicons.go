package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/lexicon"
	"github.com/narrator-project/narrator/services/publish"
)

// DefaultPublication names the lexicon and feed settings of jobs that
// name no publication.
const DefaultPublication = publish.DefaultPublication

// Lexicons returns the pronunciation lexicons kept in NATS, where editors
// change them without a deploy.
func Lexicons(q *queue.Queue) lexicon.Store { return lexicons{q.Lexicons()} }

type lexicons struct{ d *queue.Docs }

func pubKey(publication string) string { return publish.PublicationKey(publication) }

func (l lexicons) Get(ctx context.Context, publication string) (*lexicon.Lexicon, error) {
	data, err := l.d.Get(ctx, pubKey(publication))
	if errors.Is(err, queue.ErrNoDoc) {
		return nil, lexicon.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return lexicon.Decode(bytes.NewReader(data))
}

func (l lexicons) Update(ctx context.Context, publication string, change func(*lexicon.Lexicon) (*lexicon.Lexicon, error)) (*lexicon.Lexicon, error) {
	var out *lexicon.Lexicon
	_, err := l.d.Update(ctx, pubKey(publication), func(old []byte) ([]byte, error) {
		var cur *lexicon.Lexicon
		if old != nil {
			var err error
			if cur, err = lexicon.Decode(bytes.NewReader(old)); err != nil {
				return nil, err
			}
		}
		next, err := change(cur)
		if err != nil {
			return nil, err
		}
		out = next
		return json.Marshal(next)
	})
	return out, err
}
