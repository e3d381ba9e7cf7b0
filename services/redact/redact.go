// Package redact takes the secrets out of what narrator logs or shows:
// one place decides how a URL that may carry credentials is written, so
// that NATS, S3, webhook and speech-service addresses are shown alike.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Unparsable stands for a URL that cannot be shown safely.
const Unparsable = "(unparsable URL)"

// URL returns raw without the parts of a URL that carry secrets: the user
// information (a NATS token, user:password), the query (signatures, API
// keys) and the fragment. A list of URLs separated by commas, as NATS_URL
// may be, is redacted URL by URL; a URL without a scheme ("host:4222") is
// read as a host.
func URL(raw string) string {
	if strings.Contains(raw, ",") {
		parts := strings.Split(raw, ",")
		for i, p := range parts {
			parts[i] = URL(strings.TrimSpace(p))
		}
		return strings.Join(parts, ",")
	}
	if raw == "" {
		return ""
	}
	withScheme := strings.Contains(raw, "://")
	if !withScheme {
		raw = "//" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return Unparsable
	}
	out := u.Host + u.EscapedPath()
	if u.User != nil {
		out = "REDACTED@" + out
	}
	if withScheme {
		out = u.Scheme + "://" + out
	}
	if u.RawQuery != "" || u.ForceQuery {
		out += "?REDACTED"
	}
	return out
}

// Error returns err with the URLs its message repeats redacted: the URL of
// a *url.Error in its chain (net/http's client errors repeat the request's
// URL, user name and query included), and each of known, the URLs the
// caller configured, which some libraries quote in their own errors. The
// result still unwraps to err.
func Error(err error, known ...string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		known = append(known, ue.URL)
	}
	msg := err.Error()
	for _, u := range known {
		if r := URL(u); u != "" && r != u {
			msg = strings.ReplaceAll(msg, u, r)
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redacted{err: err, msg: msg}
}

// redacted is an error whose message has its URL redacted and which still
// unwraps to the original, so that errors.Is and errors.As see through it.
type redacted struct {
	err error
	msg string
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
