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
// was genuine but old: a replay or a clock out of step. A receiver that
// wants to refuse stale requests before reading their bodies uses
// ParseSignature, Signature.Fresh and Signature.Verify instead.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	sig, err := ParseSignature(h)
	if err != nil {
		return err
	}
	if _, err := sig.Verify(secret, body); err != nil {
		return err
	}
	return sig.Fresh(now, tolerance)
}

// Signature is a request's signature headers, read before its body.
type Signature struct {
	// At is when the sender signed, from Narrator-Timestamp.
	At   time.Time
	ts   string   // the timestamp as signed
	macs [][]byte // the v1 signatures offered
}

// ParseSignature reads a request's Narrator-Timestamp and
// Narrator-Signature headers; it does not need the body.
func ParseSignature(h http.Header) (Signature, error) {
	ts, sigs := h.Get(TimestampHeader), h.Get(SignatureHeader)
	if ts == "" || sigs == "" {
		return Signature{}, fmt.Errorf("%w: want %s and %s headers", ErrNoSignature, TimestampHeader, SignatureHeader)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Signature{}, fmt.Errorf("%w: %s %q is not Unix seconds", ErrTimestamp, TimestampHeader, ts)
	}
	sig := Signature{At: time.Unix(sec, 0), ts: ts}
	for _, s := range strings.FieldsFunc(sigs, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, found := strings.CutPrefix(s, "v1=")
		if !found {
			continue // a scheme this version does not know
		}
		if mac, err := hex.DecodeString(v); err == nil && len(mac) == sha256.Size {
			sig.macs = append(sig.macs, mac)
		}
	}
	if len(sig.macs) == 0 {
		return Signature{}, ErrSignature
	}
	return sig, nil
}

// Fresh checks that the signature's timestamp is within tolerance of now
// (DefaultTolerance when tolerance is 0).
func (s Signature) Fresh(now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if d := now.Sub(s.At); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrTimestamp,
			s.At.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	}
	return nil
}

// Verify checks body against the signature and returns the MAC that
// matched: the same bytes however the header spelled it (upper-case hex,
// repeated, among other schemes), so that a receiver remembering
// deliveries can key them on it.
func (s Signature) Verify(secret string, body []byte) ([]byte, error) {
	want := mac(secret, s.ts, body)
	ok := false
	for _, got := range s.macs {
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return nil, ErrSignature
	}
	return want, nil
}
