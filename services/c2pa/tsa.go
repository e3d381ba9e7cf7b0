package c2pa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"

	"github.com/veraison/go-cose"

	"github.com/narrator-project/narrator/services/redact"
)

// ErrTimestamp is returned when the time-stamp authority does not grant a
// time-stamp.
var ErrTimestamp = errors.New("c2pa: time-stamp refused")

var oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

// RFC 3161 structures, as far as a client needs them.
type (
	algorithmIdentifier struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	messageImprint struct {
		HashAlgorithm algorithmIdentifier
		HashedMessage []byte
	}
	timeStampReq struct {
		Version        int
		MessageImprint messageImprint
		Nonce          *big.Int `asn1:"optional"`
		CertReq        bool     `asn1:"optional"`
	}
	pkiStatusInfo struct {
		Status       int
		StatusString []asn1.RawValue `asn1:"optional"`
		FailInfo     asn1.BitString  `asn1:"optional"`
	}
	timeStampResp struct {
		Status         pkiStatusInfo
		TimeStampToken asn1.RawValue `asn1:"optional"`
	}
)

// maxTimestampResp bounds a TSA's answer.
const maxTimestampResp = 1 << 20

// timestamp asks the TSA to countersign the signature, as C2PA's v2
// time-stamps do: the imprint is the hash of a CounterSignature
// Sig_structure whose payload is the signature as a CBOR byte string.
func (s *Signer) timestamp(ctx context.Context, msg *cose.Sign1Message) ([]byte, error) {
	protected, err := msg.Headers.MarshalProtected()
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", err)
	}
	sig, err := encMode.Marshal(msg.Signature)
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", err)
	}
	tbs, err := sigStructure("CounterSignature", protected, sig)
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", err)
	}
	return requestTimestamp(ctx, s.client, s.tsa, tbs)
}

// requestTimestamp sends an RFC 3161 request for the SHA-256 of data and
// returns the DER TimeStampToken granted.
func requestTimestamp(ctx context.Context, client *http.Client, url string, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	nonce, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63)) // crypto/rand never fails
	req, err := asn1.Marshal(timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}, HashedMessage: sum[:]},
		Nonce:          nonce,
		CertReq:        true,
	})
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", redact.Error(err, url))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResp))
	if err != nil {
		return nil, fmt.Errorf("c2pa: time-stamp: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %s", ErrTimestamp, redact.URL(url), resp.Status)
	}
	var tr timeStampResp
	if _, err := asn1.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("%w: %s sent no time-stamp response: %w", ErrTimestamp, redact.URL(url), err)
	}
	// 0 granted, 1 granted with modifications; the rest refuse.
	if tr.Status.Status > 1 || len(tr.TimeStampToken.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: %s answered status %d", ErrTimestamp, redact.URL(url), tr.Status.Status)
	}
	return tr.TimeStampToken.FullBytes, nil
}
