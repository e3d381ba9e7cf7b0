// Package fault classifies errors so that one place, the queue runner, can
// decide whether a task is retried or failed. Stage code wraps its errors
// with Permanent or Retry; an unclassified error is treated as temporary.
package fault

import (
	"errors"
	"time"
)

type permanent struct{ err error }

func (e permanent) Error() string   { return e.err.Error() }
func (e permanent) Unwrap() error   { return e.err }
func (e permanent) Permanent() bool { return true }

type halt struct{ err error }

func (e halt) Error() string   { return e.err.Error() }
func (e halt) Unwrap() error   { return e.err }
func (e halt) Permanent() bool { return true }
func (e halt) Halt() bool      { return true }

type retry struct {
	err   error
	after time.Duration
}

func (e retry) Error() string             { return e.err.Error() }
func (e retry) Unwrap() error             { return e.err }
func (e retry) RetryAfter() time.Duration { return e.after }

// Permanent marks err as one that retrying cannot fix (an empty article,
// input the provider rejects, bad credentials). Nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Halt marks err as one only an operator can fix (credentials refused, a
// spent quota): it is permanent for the task, and the stage stops taking
// work rather than failing every job in the queue the same way.
func Halt(err error) error {
	if err == nil {
		return nil
	}
	return halt{err}
}

// IsHalt reports whether err, or an error it wraps, calls for an operator.
func IsHalt(err error) bool {
	var h interface{ Halt() bool }
	return errors.As(err, &h) && h.Halt()
}

// Retry marks err as temporary, to be retried no sooner than after (zero:
// the runner's backoff decides). Nil stays nil.
func Retry(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return retry{err, after}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// RetryAfter returns the delay the error asks for before a retry, or zero.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0
}
