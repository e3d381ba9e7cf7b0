package queue

import (
	"errors"

	"github.com/nats-io/nats.go"
)

// Unavailable reports whether err says that NATS could not be reached or
// did not answer in time (ErrUnavailable after the retry window, or a
// transient error, or a closed connection), rather than that a request
// was wrong: the caller should try again later. A caller whose own
// context has ended should not ask.
func Unavailable(err error) bool {
	return errors.Is(err, ErrUnavailable) || transient(err) || errors.Is(err, nats.ErrConnectionClosed)
}
