package c2pa

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Test certificates: what the embedded default signs with until a
// publication configures its own.
const (
	testCertName = "cert.pem"
	testKeyName  = "key.pem"
	testLifetime = 2 * 365 * 24 * time.Hour
	// testRenew is how long before expiry a generated certificate is
	// replaced, so that no narration is signed by one about to lapse.
	testRenew = 30 * 24 * time.Hour
)

// GenerateTestCredentials makes a self-signed test CA and an ES256 signing
// certificate it issues for org, with the extensions the C2PA certificate
// profile asks for. certPEM holds the signing certificate then the CA;
// keyPEM the signing key. Validators report such a signer as untrusted.
func GenerateTestCredentials(org string) (certPEM, keyPEM []byte, err error) {
	now := time.Now().Add(-time.Hour).UTC()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " test CA (not trusted)"},
		NotBefore:             now,
		NotAfter:              now.Add(testLifetime + 24*time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(&caKey.PublicKey),
	}
	ca.AuthorityKeyId = ca.SubjectKeyId
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " test signer (not trusted)"},
		NotBefore:             now,
		NotAfter:              now.Add(testLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{ekuClaimSigning, ekuDocumentSigning},
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})...)
	return certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

// TestCredentials returns the files of the test credentials kept in dir,
// generating them when absent, unreadable or near expiry; generated says
// whether it did.
func TestCredentials(dir, org string) (certFile, keyFile string, generated bool, err error) {
	certFile, keyFile = filepath.Join(dir, testCertName), filepath.Join(dir, testKeyName)
	if s, err := LoadSigner(SignerConfig{CertFile: certFile, KeyFile: keyFile}); err == nil && time.Until(s.Expires()) > testRenew {
		return certFile, keyFile, false, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, ErrCredentials) {
		return "", "", false, err
	}
	certPEM, keyPEM, err := GenerateTestCredentials(org)
	if err != nil {
		return "", "", false, fmt.Errorf("c2pa: generate test certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, fmt.Errorf("c2pa: %w", err)
	}
	// The key first: a crash in between leaves no certificate without it.
	if err := writeFileAtomic(keyFile, keyPEM, 0o600); err != nil {
		return "", "", false, err
	}
	if err := writeFileAtomic(certFile, certPEM, 0o644); err != nil {
		return "", "", false, err
	}
	return certFile, keyFile, true, nil
}

func writeFileAtomic(name string, b []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name))
	if err != nil {
		return fmt.Errorf("c2pa: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("c2pa: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("c2pa: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("c2pa: %w", err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("c2pa: %w", err)
	}
	return nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}

func keyID(pub *ecdsa.PublicKey) []byte {
	b, _ := x509.MarshalPKIXPublicKey(pub) // a P-256 key always marshals
	sum := sha256.Sum256(b)
	return sum[:20]
}
