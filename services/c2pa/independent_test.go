package c2pa_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/narrator-project/narrator/services/c2pa"
)

// CheckResult is what the Content Authenticity Initiative's reader
// (@contentauth/c2pa-wasm, c2pa-rs compiled to WebAssembly) says of a file.
type CheckResult struct {
	File            string          `json:"file"`
	Error           string          `json:"error"`
	ActiveManifest  string          `json:"active_manifest"`
	Manifest        json.RawMessage `json:"manifest"`
	ValidationState string          `json:"validation_state"`
	Results         struct {
		Active struct {
			Success, Informational, Failure []struct {
				Code string `json:"code"`
			}
		} `json:"activeManifest"`
	} `json:"validation_results"`
}

func codes(list []struct {
	Code string `json:"code"`
}) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Code)
	}
	return out
}

// Failures are the failure codes; Successes the success codes.
func (r CheckResult) Failures() []string  { return codes(r.Results.Active.Failure) }
func (r CheckResult) Successes() []string { return codes(r.Results.Active.Success) }

// independentCheck runs the independent reader over files, all in one
// Node process. It skips the test when node is absent and fails it when
// the reader is not installed.
func independentCheck(t *testing.T, files ...string) []CheckResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the independent C2PA check needs Node.js (Debian package nodejs) and npm ci --prefix testdata/npm")
	}
	dir, _ := filepath.Abs("../../testdata/npm")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@contentauth", "c2pa-wasm")); err != nil {
		t.Fatalf("the independent reader is not installed: run make deps-test (npm ci --prefix testdata/npm): %v", err)
	}
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "c2pa-check.mjs")}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node c2pa-check.mjs: %v\n%s", err, stderr.String())
	}
	var res []CheckResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r CheckResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		res = append(res, r)
	}
	if len(res) != len(files) {
		t.Fatalf("%d results for %d files:\n%s", len(res), len(files), out)
	}
	return res
}

// TestIndependentReader checks the manifests with the C2PA reader other
// tools use: present, made by a trained model, hashes and signature valid
// (only the test certificate is untrusted), and a changed audio byte found.
func TestIndependentReader(t *testing.T) {
	body := audio(t)
	es := signedMP3(t, newSigner(t, c2pa.SignerConfig{}), narration(), body)
	cert, key := issue(t, ed25519Key(t), nil)
	eds, err := c2pa.NewSigner(cert, key, c2pa.SignerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ed := signedMP3(t, eds, narration(), body)
	tampered := flipped(t, es, 500)
	res := independentCheck(t, es, ed, tampered)
	for _, r := range res[:2] {
		if r.Error != "" || r.ActiveManifest == "" {
			t.Fatalf("%s: no manifest read: %s", r.File, r.Error)
		}
		if f := r.Failures(); !slices.Equal(f, []string{"signingCredential.untrusted"}) {
			t.Errorf("%s: failures %v, want only signingCredential.untrusted", r.File, f)
		}
		for _, want := range []string{"claimSignature.validated", "claimSignature.insideValidity", "assertion.dataHash.match", "assertion.hashedURI.match"} {
			if !slices.Contains(r.Successes(), want) {
				t.Errorf("%s: no %s in %v", r.File, want, r.Successes())
			}
		}
		var m struct {
			Assertions []struct {
				Label string `json:"label"`
				Data  struct {
					Actions []struct {
						Action            string `json:"action"`
						DigitalSourceType string `json:"digitalSourceType"`
					} `json:"actions"`
				} `json:"data"`
			} `json:"assertions"`
		}
		if err := json.Unmarshal(r.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		ai := false
		for _, a := range m.Assertions {
			ai = ai || a.Label == c2pa.LabelActions && len(a.Data.Actions) > 0 &&
				a.Data.Actions[0].Action == "c2pa.created" && a.Data.Actions[0].DigitalSourceType == c2pa.TrainedAlgorithmicMedia
		}
		if !ai {
			t.Errorf("%s: the reader finds no c2pa.created action with the trained-algorithmic-media source type: %s", r.File, r.Manifest)
		}
	}
	if f := res[2].Failures(); !slices.Contains(f, "assertion.dataHash.mismatch") {
		t.Errorf("one flipped audio byte: failures %v, want assertion.dataHash.mismatch", f)
	}
}
