// Package webhook tells other systems what happened to a narration:
// narration.started_audio, narration.completed, narration.failed and
// narration.deleted events, sent
// as signed JSON over HTTP POST. The Sender makes one attempt and classifies
// its failure with package fault, so that the queue's runner retries with
// backoff what may succeed later and gives up on what cannot.
//
// Every request carries Narrator-Timestamp (Unix seconds) and
// Narrator-Signature ("v1=" and the hex HMAC-SHA256 of timestamp, ".",
// body, keyed with the shared secret); Verify checks both.
package webhook

import (
	"fmt"
	"time"
)

// Type names an event.
type Type string

// Event types.
const (
	// StartedAudio: the first chunk is ready, and StreamURL plays the
	// narration while the rest is made.
	StartedAudio Type = "narration.started_audio"
	Completed    Type = "narration.completed" // the narration is published
	Failed       Type = "narration.failed"    // the narration ended failed; Error says why
	Deleted      Type = "narration.deleted"   // the narration was unpublished
)

// Valid reports whether t is an event type this package sends.
func (t Type) Valid() bool { return t == StartedAudio || t == Completed || t == Failed || t == Deleted }

// Event is the JSON body of a webhook request.
type Event struct {
	// ID is the same on every attempt to deliver the event, so that a
	// receiver can drop repeats.
	ID        string    `json:"id"`
	Type      Type      `json:"type"`
	Created   time.Time `json:"created"`
	Narration Narration `json:"narration"`
}

// Narration is what an event says about the narration.
type Narration struct {
	ID          string `json:"id"` // job id
	ArticleID   string `json:"article_id"`
	Revision    int    `json:"revision"`
	State       string `json:"state"`
	Title       string `json:"title,omitempty"`
	Section     string `json:"section,omitempty"`
	Publication string `json:"publication,omitempty"`
	AudioURL    string `json:"audio_url,omitempty"`
	// StreamURL plays the narration as it is made (GET /listen/{id});
	// FirstAudio is how long after submission its first chunk was ready.
	StreamURL   string            `json:"stream_url,omitempty"`
	FirstAudio  float64           `json:"first_audio_seconds,omitempty"`
	Duration    float64           `json:"duration_seconds,omitempty"`
	Bytes       int64             `json:"bytes,omitempty"`
	SHA256      string            `json:"sha256,omitempty"`
	Files       map[string]string `json:"files,omitempty"` // transcript, chapters, ... by kind
	Chars       int               `json:"chars,omitempty"`
	BilledChars int               `json:"billed_chars"`
	// HeardSeconds is the audio the listening check transcribed, billed
	// by the second.
	HeardSeconds int    `json:"heard_seconds,omitempty"`
	Error        string `json:"error,omitempty"`
	FailedStage  string `json:"failed_stage,omitempty"`
	// Warnings are what an editor should know of a narration published
	// anyway: speech that seems cut off, a loudness short of the target.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Warning is one warning about a narration.
type Warning struct {
	Chunk   *int   `json:"chunk,omitempty"` // the chunk it is about, if one
	Code    string `json:"code"`            // abrupt_end, duration, long_silence, peak_limited, ...
	Message string `json:"message"`
}

// NewEvent returns the event of type t about n. Its id depends only on the
// narration's id, revision and the type, so a redelivered task sends the
// same id; created is when the event happened (the job's last update).
func NewEvent(t Type, n Narration, created time.Time) Event {
	return Event{
		ID:        fmt.Sprintf("%s.%d.%s", n.ID, n.Revision, t),
		Type:      t,
		Created:   created.UTC().Truncate(time.Second),
		Narration: n,
	}
}
