package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// directRequest is a JetStream direct get of several messages: those
// matching Filter from sequence Seq on, Batch at most. The server answers
// with the messages, then an end-of-batch status carrying how many more
// match. Streams must allow direct gets.
type directRequest struct {
	Seq       uint64     `json:"seq,omitempty"`
	Filter    string     `json:"next_by_subj,omitempty"`
	LastFor   string     `json:"last_by_subj,omitempty"` // instead of a batch: the last message matching
	MultiLast []string   `json:"multi_last,omitempty"`   // instead: the last message of each subject matching these
	Batch     int        `json:"batch,omitempty"`
	MaxBytes  int        `json:"max_bytes,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
}

// directMsg is one message of a direct batch.
type directMsg struct {
	Subject string
	Seq     uint64
	Time    time.Time
	Data    []byte
}

// errDirect marks a direct get the server refused.
var errDirect = errors.New("queue: direct get refused")

// direct runs a batch direct get on a stream and calls fn with each
// message in sequence order until it returns false. It returns how many
// matching messages the server had left after the last one it sent: for a
// batch of one from the start, the filter's count less one. A filter that
// matches nothing is not an error.
func (q *Queue) direct(ctx context.Context, stream string, req directRequest, fn func(directMsg) bool) (pending uint64, err error) {
	single := req.LastFor != ""
	if req.Batch == 0 && !single {
		req.Batch = 1
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, err
	}
	// A batch may be large: a deadline per request, like the queue's
	// others, but four of them.
	ctx, cancel := context.WithTimeout(ctx, 4*q.cfg.RequestTimeout)
	defer cancel()
	// The channel holds a whole batch and its end: the server sends no
	// more, so none is dropped however slowly fn reads.
	msgs := make(chan *nats.Msg, req.Batch+2)
	inbox := q.nc.NewInbox()
	sub, err := q.nc.ChanSubscribe(inbox, msgs)
	if err != nil {
		return 0, fmt.Errorf("queue: direct get on %s: %w", stream, err)
	}
	defer sub.Unsubscribe()
	if err := q.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return 0, fmt.Errorf("queue: direct get on %s: %w", stream, err)
	}
	more := true
	for {
		var m *nats.Msg
		select {
		case m = <-msgs:
		case <-ctx.Done():
			return 0, fmt.Errorf("queue: direct get on %s: %w", stream, ctx.Err())
		}
		if len(m.Data) == 0 {
			switch status := m.Header.Get("Status"); status {
			case "204": // end of batch
				n, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				return n, nil
			case "404":
				return 0, nil
			case "":
				// An empty message: fall through to deliver it.
			default:
				return 0, fmt.Errorf("%w: %s %s on %s", errDirect, status, m.Header.Get("Description"), stream)
			}
		}
		if !more {
			continue // drain to the end of the batch
		}
		seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("queue: direct get on %s: bad sequence header: %w", stream, err)
		}
		t, _ := time.Parse(time.RFC3339Nano, m.Header.Get(jetstream.TimeStampHeaer))
		more = fn(directMsg{Subject: m.Header.Get(jetstream.SubjectHeader), Seq: seq, Time: t, Data: m.Data})
		if single {
			return 0, nil
		}
	}
}

// count returns how many messages of a stream match filter from sequence
// seq on, from the server's subject index, without reading them.
func (q *Queue) count(ctx context.Context, stream, filter string, seq uint64) (int, error) {
	got := 0
	pending, err := q.direct(ctx, stream, directRequest{Seq: max(seq, 1), Filter: filter, Batch: 1, MaxBytes: 1}, func(directMsg) bool {
		got++
		return true
	})
	if err != nil || got == 0 {
		return 0, err
	}
	return int(pending) + got, nil
}

// last returns the last message of a stream matching filter (wildcards
// allowed; empty matches all), or false when none does.
func (q *Queue) last(ctx context.Context, stream, filter string) (directMsg, bool, error) {
	var out directMsg
	found := false
	if filter == "" {
		filter = ">"
	}
	_, err := q.direct(ctx, stream, directRequest{LastFor: filter}, func(m directMsg) bool {
		out, found = m, true
		return false
	})
	return out, found, err
}

// seqAt returns the sequence of the first message of a stream stored at or
// after t, or 0 when every message is older.
func (q *Queue) seqAt(ctx context.Context, stream string, t time.Time) (uint64, error) {
	var seq uint64
	_, err := q.direct(ctx, stream, directRequest{StartTime: &t, Batch: 1, MaxBytes: 1}, func(m directMsg) bool {
		seq = m.Seq
		return true
	})
	return seq, err
}

// deleteMsg removes a message from a stream by sequence and reports
// whether it was there; one that is not is not an error. (nats.go's
// DeleteMsg flattens the server's error to text, so "not there" could not
// be told from a failure.)
func (q *Queue) deleteMsg(ctx context.Context, stream string, seq uint64) (bool, error) {
	body, _ := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NoErase bool   `json:"no_erase"`
	}{seq, true})
	ctx, cancel := context.WithTimeout(ctx, q.cfg.RequestTimeout)
	defer cancel()
	m, err := q.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.DELETE."+stream, body)
	if err != nil {
		return false, err
	}
	var resp struct {
		Success bool                `json:"success"`
		Error   *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return false, err
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jsErrSequenceNotFound || resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return false, nil
		}
		return false, resp.Error
	}
	return resp.Success, nil
}

// jsErrSequenceNotFound is the server's answer to deleting a message that
// is not there (NATS error 10043, which nats.go does not name).
const jsErrSequenceNotFound jetstream.ErrorCode = 10043

// batches reads up to n messages (0: all) matching filter from sequence
// seq on, fn taking them a batch at a time, and returns the sequence after
// the last one read, or 1 when the stream's end was reached.
func (q *Queue) batches(ctx context.Context, stream, filter string, seq uint64, n int, fn func([]directMsg) error) (uint64, error) {
	for read := 0; n == 0 || read < n; {
		size := 256
		if n > 0 {
			size = min(size, n-read)
		}
		var batch []directMsg
		_, err := q.direct(ctx, stream, directRequest{Seq: seq, Filter: filter, Batch: size}, func(m directMsg) bool {
			batch = append(batch, m)
			seq = m.Seq + 1
			return true
		})
		if err != nil {
			return seq, err
		}
		if len(batch) == 0 {
			return 1, nil
		}
		if err := fn(batch); err != nil {
			return seq, err
		}
		read += len(batch)
		if len(batch) < size {
			return 1, nil
		}
	}
	return seq, nil
}
