package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a signed request.
const (
	SignatureHeader = "Narrator-Signature"
	TimestampHeader = "Narrator-Timestamp"
	EventHeader     = "Narrator-Event"
	DeliveryHeader  = "Narrator-Delivery"
)

// DefaultTolerance is how far a request's timestamp may be from the
// receiver's clock before Verify refuses it as a replay.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature = errors.New("webhook: the request is not signed")
	ErrSignature   = errors.New("webhook: signature does not match")
	ErrTimestamp   = errors.New("webhook: timestamp outside the tolerance")
)

// Sign returns the Narrator-Signature value of body sent at ts: "v1=" and
// the hex HMAC-SHA256 of "<unix seconds>.<body>" keyed with secret.
func Sign(secret string, ts time.Time, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SetHeaders signs body as sent at ts and sets the timestamp and signature
// headers on h.
func SetHeaders(h http.Header, secret string, ts time.Time, body []byte) {
	h.Set(TimestampHeader, strconv.FormatInt(ts.Unix(), 10))
	h.Set(SignatureHeader, Sign(secret, ts, body))
}

// Verify checks a request's Narrator-Timestamp and Narrator-Signature
// headers against its body: the signature must be the HMAC of the
// timestamp and body under secret (one of several, separated by commas or
// spaces, is enough, so that a sender can rotate secrets), and the
// timestamp within tolerance of now (DefaultTolerance when tolerance is 0).
// The signature is checked first, so a timestamp error means the request
// was genuine but old: a replay or a clock out of step.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, sigs := h.Get(TimestampHeader), h.Get(SignatureHeader)
	if ts == "" || sigs == "" {
		return fmt.Errorf("%w: want %s and %s headers", ErrNoSignature, TimestampHeader, SignatureHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, TimestampHeader, ts)
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range strings.FieldsFunc(sigs, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, found := strings.CutPrefix(s, "v1=")
		if !found {
			continue // a scheme this version does not know
		}
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrTimestamp,
			time.Unix(sec, 0).UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	}
	return nil
}
