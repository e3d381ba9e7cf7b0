package webhook

import (
	"errors"
	"time"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/redact"
)

// Delivery states.
const (
	StateDelivered = "delivered"
	StateRetrying  = "retrying"
	StateFailed    = "failed"
)

// Delivery records an event's delivery to one endpoint as of its latest
// attempt, for job state and the dashboard.
type Delivery struct {
	ID       string    `json:"id"` // the event's id
	Event    Type      `json:"event"`
	Endpoint string    `json:"endpoint"` // redacted: no query, no credentials
	State    string    `json:"state"`    // delivered, retrying or failed
	Attempts int       `json:"attempts"`
	Status   int       `json:"status,omitempty"` // the endpoint's last HTTP status
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
}

// Record describes the outcome of attempt number attempt (1 for the
// first) to send e to endpoint, as Send returned it. A permanent error is
// failed; any other error is retrying, and the caller marks it failed when
// it gives up.
func Record(e Event, endpoint string, attempt int, err error, at time.Time) Delivery {
	d := Delivery{ID: e.ID, Event: e.Type, Endpoint: redact.URL(endpoint), State: StateDelivered, Attempts: attempt, At: at.UTC()}
	if err == nil {
		return d
	}
	d.State, d.Error = StateRetrying, err.Error()
	if fault.IsPermanent(err) {
		d.State = StateFailed
	}
	var se *StatusError
	if errors.As(err, &se) {
		d.Status = se.StatusCode
	}
	return d
}
