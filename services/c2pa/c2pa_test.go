package c2pa_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/c2pa"
)

func verifyFile(t *testing.T, path string) *c2pa.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	rep, err := c2pa.VerifyMP3(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// flipped copies path with one byte changed at offset from the end.
func flipped(t *testing.T, path string, fromEnd int) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-fromEnd] ^= 0x01
	out := filepath.Join(t.TempDir(), "flipped.mp3")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSealedManifestVerifies(t *testing.T) {
	s := newSigner(t, c2pa.SignerConfig{})
	n := narration()
	body := audio(t)
	path := signedMP3(t, s, n, body)
	rep := verifyFile(t, path)
	if !rep.Valid() {
		t.Fatalf("problems: %v", rep.Problems)
	}
	if rep.DigitalSourceType != c2pa.TrainedAlgorithmicMedia || rep.Action != "c2pa.created" || rep.SoftwareAgent != "openai tts-1" || rep.Description != n.Disclosure {
		t.Errorf("actions say %q %q by %q: %q", rep.Action, rep.DigitalSourceType, rep.SoftwareAgent, rep.Description)
	}
	if rep.Title != n.Title || rep.Algorithm != "ES256" || !strings.Contains(rep.Signer, "The Daily Example") || !strings.HasPrefix(rep.Label, "urn:c2pa:") {
		t.Errorf("report %+v", rep)
	}
	want := []string{c2pa.LabelDataHash, c2pa.LabelIngredient, c2pa.LabelActions, c2pa.LabelMetadata}
	if strings.Join(rep.Assertions, ",") != strings.Join(want, ",") {
		t.Errorf("assertions %v, want %v", rep.Assertions, want)
	}
	// The store excludes itself and nothing else.
	if len(rep.Exclusions) != 1 || rep.Exclusions[0].Start != rep.Offset || rep.Exclusions[0].Length != int64(rep.Size) {
		t.Errorf("exclusions %+v for a store at %d of %d bytes", rep.Exclusions, rep.Offset, rep.Size)
	}
	// The audio is untouched.
	b, _ := os.ReadFile(path)
	if !bytes.HasSuffix(b, body) {
		t.Error("the audio after the tag changed")
	}
}

func TestChangedBytesAreDetected(t *testing.T) {
	s := newSigner(t, c2pa.SignerConfig{})
	path := signedMP3(t, s, narration(), audio(t))
	size := int(fileSize(t, path))
	rep := verifyFile(t, path)
	for _, c := range []struct {
		name   string
		at     int // from the end
		expect string
	}{
		{"one audio byte", 500, "does not match its hash"},
		{"the tag's title", size - 25, "does not match its hash"},
		{"the claim's signature", size - int(rep.Offset) - rep.Size + 40, "signature"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := verifyFile(t, flipped(t, path, c.at))
			if got.Valid() || !strings.Contains(strings.Join(got.Problems, "; "), c.expect) {
				t.Errorf("problems %v, want one about %q", got.Problems, c.expect)
			}
		})
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func TestEd25519(t *testing.T) {
	cert, key := issue(t, ed25519Key(t), nil)
	s, err := c2pa.NewSigner(cert, key, c2pa.SignerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rep := verifyFile(t, signedMP3(t, s, narration(), audio(t)))
	if !rep.Valid() || rep.Algorithm != "EdDSA" {
		t.Fatalf("%s: %v", rep.Algorithm, rep.Problems)
	}
}

func TestNewSignerRefusesUnusableCredentials(t *testing.T) {
	other := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	for _, c := range []struct {
		name   string
		modify func(*x509.Certificate)
		key    any
		want   string
	}{
		{"CA certificate", func(c *x509.Certificate) {
			c.IsCA, c.KeyUsage = true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign
		}, nil, "CA certificate"},
		{"no extended key usage", func(c *x509.Certificate) { c.ExtKeyUsage, c.UnknownExtKeyUsage = nil, nil }, nil, "extended key usage"},
		{"any extended key usage", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny} }, nil, "any extended key usage"},
		{"key of another certificate", nil, other, "does not match"},
		{"P-224", nil, mustKey(ecdsa.GenerateKey(elliptic.P224(), rand.Reader)), "P-224"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := c.key
			if key == nil {
				key = mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
			}
			cert, keyPEM := issue(t, key, c.modify)
			if c.key != nil && c.name == "key of another certificate" {
				cert, _ = issue(t, mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)), nil)
			}
			_, err := c2pa.NewSigner(cert, keyPEM, c2pa.SignerConfig{})
			if !errors.Is(err, c2pa.ErrCredentials) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrCredentials about %q", err, c.want)
			}
		})
	}
}

func mustKey[K any](k K, err error) K {
	if err != nil {
		panic(err)
	}
	return k
}

func ed25519Key(t *testing.T) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// issue makes a signing certificate for key from the test CA's profile,
// changed by modify, self-issued by a throwaway CA.
func issue(t *testing.T, key any, modify func(*x509.Certificate)) (certPEM, keyPEM []byte) {
	t.Helper()
	caKey := mustKey(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	ca := &x509.Certificate{SerialNumber: bigOne(), Subject: pkixName("CA"), NotBefore: yesterday(), NotAfter: nextYear(),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SubjectKeyId: []byte{1, 2, 3}}
	leaf := &x509.Certificate{SerialNumber: bigOne(), Subject: pkixName("signer"), NotBefore: yesterday(), NotAfter: nextYear(),
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}
	if modify != nil {
		modify(leaf)
	}
	pub := key.(crypto.Signer).Public()
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, pub, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
}

func TestTestCredentialsAreKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c2pa")
	cert, key, generated, err := c2pa.TestCredentials(dir, "The Daily Example")
	if err != nil || !generated {
		t.Fatalf("first start: generated %v, %v", generated, err)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file %v, mode %v", err, st.Mode())
	}
	first, _ := os.ReadFile(cert)
	cert2, _, generated, err := c2pa.TestCredentials(dir, "The Daily Example")
	second, _ := os.ReadFile(cert2)
	if err != nil || generated || !bytes.Equal(first, second) {
		t.Errorf("second start generated %v (%v): the same certificate must be kept", generated, err)
	}
	if _, err := c2pa.LoadSigner(c2pa.SignerConfig{CertFile: cert, KeyFile: key}); err != nil {
		t.Error(err)
	}
	// A damaged pair is replaced.
	if err := os.WriteFile(cert, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, generated, err := c2pa.TestCredentials(dir, "x"); err != nil || !generated {
		t.Errorf("damaged certificate: generated %v, %v", generated, err)
	}
}
