package fakepolly

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// verify checks a request's SigV4 signature by signing the same request
// again with the configured secret, as AWS does. It returns the access key
// ID the request names.
func (s *Server) verify(r *http.Request, body []byte) (string, *pollyError) {
	auth := r.Header.Get("Authorization")
	fields, ok := parseAuth(auth)
	key := strings.Split(fields["Credential"], "/")[0]
	if s.cfg.AccessKeyID == "" {
		return key, nil
	}
	if !ok {
		return key, &pollyError{403, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	if key != s.cfg.AccessKeyID {
		return key, &pollyError{403, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	scope := strings.Split(fields["Credential"], "/")
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || len(scope) != 5 || scope[2] != s.cfg.Region || scope[3] != "polly" {
		return key, &pollyError{403, "InvalidSignatureException", "Credential should be scoped to a valid region and service polly."}
	}
	if d := time.Since(when); d > 5*time.Minute || d < -5*time.Minute {
		return key, &pollyError{403, "InvalidSignatureException", "Signature expired: the request time is more than 5 minutes from the server time."}
	}

	again, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return key, &pollyError{400, "SerializationException", err.Error()}
	}
	again.Host = r.Host
	again.ContentLength = int64(len(body))
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, again, hex.EncodeToString(sum[:]), "polly", s.cfg.Region, when); err != nil {
		return key, &pollyError{500, "ServiceFailureException", err.Error()}
	}
	want, _ := parseAuth(again.Header.Get("Authorization"))
	if subtle.ConstantTimeCompare([]byte(want["Signature"]), []byte(fields["Signature"])) != 1 {
		return key, &pollyError{403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return key, nil
}

// parseAuth splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=..." into its fields.
func parseAuth(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, "AWS4-HMAC-SHA256 ")
	fields := map[string]string{}
	if !ok {
		return fields, false
	}
	for _, part := range strings.Split(rest, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok {
			fields[k] = v
		}
	}
	_, c := fields["Credential"]
	_, sh := fields["SignedHeaders"]
	_, sig := fields["Signature"]
	return fields, c && sh && sig
}
