package c2pa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/veraison/go-cose"
)

// ErrCredentials is returned for a certificate or key that cannot sign
// C2PA claims.
var ErrCredentials = errors.New("c2pa: unusable signing credentials")

// Extended key usages a C2PA signing certificate may carry (the
// specification's certificate profile); it must carry at least one.
var (
	ekuClaimSigning    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62558, 2, 1}
	ekuDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
)

// Signer signs claims with a publication's key and X.509 certificate chain,
// optionally time-stamped by an RFC 3161 authority. It is safe for
// concurrent use.
type Signer struct {
	key    crypto.Signer
	alg    cose.Algorithm
	chain  [][]byte // DER, the signing certificate first, no trust anchor
	leaf   *x509.Certificate
	tsa    string
	client *http.Client
}

// SignerConfig says where a Signer's key and certificates are and which
// time-stamp authority, if any, it asks.
type SignerConfig struct {
	// CertFile holds PEM certificates: the signing certificate first, then
	// any intermediates; a self-signed root is left out of manifests.
	CertFile string
	// KeyFile holds the PEM private key (PKCS #8, SEC 1 or PKCS #1 is not
	// accepted: ECDSA P-256/384/521 or Ed25519 only).
	KeyFile string
	// TSA is the URL of an RFC 3161 time-stamp authority; empty for none.
	TSA string
	// Client makes the time-stamp requests; a client with a 30-second
	// timeout when nil.
	Client *http.Client
}

// LoadSigner reads a Signer's credentials from files.
func LoadSigner(cfg SignerConfig) (*Signer, error) {
	certPEM, err := os.ReadFile(cfg.CertFile)
	if err != nil {
		return nil, fmt.Errorf("c2pa: certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(cfg.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("c2pa: key: %w", err)
	}
	return NewSigner(certPEM, keyPEM, cfg)
}

// NewSigner returns a Signer for PEM credentials; cfg's file names are
// ignored. It checks what validators check: that the key matches the
// certificate, the algorithm is allowed, and the certificate is a valid
// end-entity certificate for signing claims.
func NewSigner(certPEM, keyPEM []byte, cfg SignerConfig) (*Signer, error) {
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	s := &Signer{key: key, leaf: certs[0], tsa: cfg.TSA, client: cfg.Client}
	if s.client == nil {
		s.client = &http.Client{Timeout: 30 * time.Second}
	}
	if s.alg, err = algorithm(key); err != nil {
		return nil, err
	}
	if !publicKeyEqual(key.Public(), s.leaf.PublicKey) {
		return nil, fmt.Errorf("%w: the key does not match the certificate of %q", ErrCredentials, s.leaf.Subject)
	}
	if err := checkProfile(s.leaf, time.Now()); err != nil {
		return nil, err
	}
	for i, c := range certs {
		if i > 0 && c.IsCA && bytes.Equal(c.RawIssuer, c.RawSubject) {
			continue // a trust anchor: validators have their own
		}
		s.chain = append(s.chain, c.Raw)
	}
	return s, nil
}

// Subject names the signer as its certificate does.
func (s *Signer) Subject() string { return s.leaf.Subject.String() }

// Expires is when the signing certificate stops being valid.
func (s *Signer) Expires() time.Time { return s.leaf.NotAfter }

func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: no PEM CERTIFICATE block", ErrCredentials)
	}
	return certs, nil
}

func parseKey(b []byte) (crypto.Signer, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%w: no PEM private key", ErrCredentials)
		}
		var k any
		var err error
		switch blk.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(blk.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCredentials, err)
		}
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("%w: a %T key cannot sign", ErrCredentials, k)
	}
}

// algorithm picks the COSE algorithm of a key: ECDSA on P-256, P-384 or
// P-521 with the matching hash, or Ed25519.
func algorithm(k crypto.Signer) (cose.Algorithm, error) {
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return cose.AlgorithmES256, nil
		case elliptic.P384():
			return cose.AlgorithmES384, nil
		case elliptic.P521():
			return cose.AlgorithmES512, nil
		}
		return 0, fmt.Errorf("%w: ECDSA on %s; use P-256, P-384 or P-521", ErrCredentials, k.Curve.Params().Name)
	case ed25519.PrivateKey:
		return cose.AlgorithmEdDSA, nil
	}
	return 0, fmt.Errorf("%w: a %T key; use ECDSA (ES256) or Ed25519", ErrCredentials, k)
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// checkProfile checks an end-entity certificate against the C2PA
// certificate profile, as validators will.
func checkProfile(c *x509.Certificate, now time.Time) error {
	var errs []error
	if c.Version != 3 {
		errs = append(errs, fmt.Errorf("version %d, not 3", c.Version))
	}
	if c.IsCA {
		errs = append(errs, errors.New("it is a CA certificate; claims are signed with end-entity certificates"))
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 || c.KeyUsage&x509.KeyUsageCertSign != 0 {
		errs = append(errs, errors.New("its key usage must include digitalSignature and not keyCertSign"))
	}
	if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		errs = append(errs, errors.New("it allows any extended key usage, which C2PA forbids"))
	}
	ok := slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageEmailProtection)
	for _, o := range c.UnknownExtKeyUsage {
		ok = ok || o.Equal(ekuClaimSigning) || o.Equal(ekuDocumentSigning)
	}
	if !ok {
		errs = append(errs, errors.New("its extended key usage has none of c2pa-kp-claimSigning, id-kp-documentSigning, id-kp-emailProtection"))
	}
	if len(c.AuthorityKeyId) == 0 {
		errs = append(errs, errors.New("it has no authority key identifier"))
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		errs = append(errs, fmt.Errorf("it is valid from %s to %s", c.NotBefore.Format(time.DateOnly), c.NotAfter.Format(time.DateOnly)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: certificate %q: %w", ErrCredentials, c.Subject, err)
	}
	return nil
}
