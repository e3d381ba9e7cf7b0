package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/redact"
)

func init() {
	register(&command{Name: "c2pa cert", Summary: "make a self-signed test certificate and key for signing Content Credentials", Run: runC2PACert})
}

// credentials are how stitch workers sign each narration's Content
// Credentials (C2PA).
type credentials struct {
	On       bool
	CertFile string
	TSA      string
	TextHash bool
}

func (c *credentials) flags(fs *flag.FlagSet) {
	fs.BoolVar(&c.On, "c2pa", envBool("NARRATOR_C2PA", true), "sign Content Credentials (C2PA) into every narration (env NARRATOR_C2PA)")
	fs.StringVar(&c.CertFile, "c2pa-cert", env("NARRATOR_C2PA_CERT_FILE", ""), "PEM file of the publication's signing certificate and its intermediates; with the key in NARRATOR_C2PA_KEY_FILE. Default: a test certificate generated in the data directory, embedded NATS only (env NARRATOR_C2PA_CERT_FILE)")
	urlVar(fs, &c.TSA, "c2pa-tsa", env("NARRATOR_C2PA_TSA_URL", ""), "`URL` of an RFC 3161 time-stamp authority that countersigns each manifest; none by default (env NARRATOR_C2PA_TSA_URL)")
	fs.BoolVar(&c.TextHash, "c2pa-text-hash", envBool("NARRATOR_C2PA_TEXT_HASH", true), "record the SHA-256 of the article text as the audio's ingredient (env NARRATOR_C2PA_TEXT_HASH)")
}

// signer loads the signing credentials: the configured certificate and key,
// or else a test certificate kept in the data directory. On a NATS cluster
// that is a per-worker key, so it is logged as an error to fix; narrations
// are still marked.
func (s *settings) signer(log *slog.Logger) (*c2pa.Signer, error) {
	c := s.C2PA
	if !c.On {
		log.Warn("c2pa: Content Credentials are off: narrations carry no machine-readable AI marking")
		return nil, nil
	}
	key, err := readSecretEnv(os.Getenv, "NARRATOR_C2PA_KEY")
	if err != nil {
		return nil, err
	}
	cfg := c2pa.SignerConfig{TSA: c.TSA}
	switch {
	case c.CertFile != "" || key != "":
		if c.CertFile == "" || key == "" {
			return nil, errors.New("c2pa: set both NARRATOR_C2PA_CERT_FILE and NARRATOR_C2PA_KEY (or NARRATOR_C2PA_KEY_FILE)")
		}
		cert, err := os.ReadFile(c.CertFile)
		if err != nil {
			return nil, fmt.Errorf("c2pa: NARRATOR_C2PA_CERT_FILE: %w", err)
		}
		sg, err := c2pa.NewSigner(cert, []byte(key), cfg)
		if err != nil {
			return nil, err
		}
		log.Info("c2pa: signing Content Credentials", "signer", sg.Subject(), "expires", sg.Expires().Format("2006-01-02"), "tsa", redact.URL(c.TSA))
		return sg, nil
	}
	dir := filepath.Join(s.DataDir, "c2pa")
	cfg.CertFile, cfg.KeyFile, _, err = c2pa.TestCredentials(dir, "narrator")
	if err != nil {
		return nil, err
	}
	sg, err := c2pa.LoadSigner(cfg)
	if err != nil {
		return nil, err
	}
	if s.NATSURL != "" {
		// Narrations stay marked, but each worker signs with a key of its
		// own: a configuration error for an operator to fix.
		log.Error("c2pa: no signing credentials on a NATS cluster: this stitch worker signs with a test certificate generated for it alone; set NARRATOR_C2PA_CERT_FILE and NARRATOR_C2PA_KEY_FILE, the same on every stitch worker (narrator c2pa cert --out DIR makes a test pair)",
			"cert", cfg.CertFile, "signer", sg.Subject())
		return sg, nil
	}
	log.Warn("c2pa: signing Content Credentials with a generated self-signed test certificate, which validators report as untrusted; set NARRATOR_C2PA_CERT_FILE and NARRATOR_C2PA_KEY_FILE to sign as your publication",
		"cert", cfg.CertFile, "signer", sg.Subject())
	return sg, nil
}

func runC2PACert(_ context.Context, args []string, sio stdio) error {
	fs := newFlags("c2pa cert", "--out DIR [--org NAME]", sio)
	out := fs.String("out", "", "write cert.pem and key.pem to `DIR` (required)")
	org := fs.String("org", "narrator", "organization named in the certificates")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usageError{"want --out DIR and no arguments"}
	}
	cert, key, generated, err := c2pa.TestCredentials(*out, *org)
	if err != nil {
		return err
	}
	verb := "kept"
	if generated {
		verb = "wrote"
	}
	fmt.Fprintf(sio.Out, "%s %s and %s: a test signing certificate (self-signed CA, ES256), untrusted by validators\n", verb, cert, key)
	return nil
}
