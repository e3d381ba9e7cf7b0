package c2pa

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"

	"github.com/narrator-project/narrator/services/mp3"
)

// ErrNoManifest is returned for a file without a manifest store.
var ErrNoManifest = errors.New("c2pa: no manifest store")

// deprecatedMIME is the GEOB type earlier versions of the specification
// used; readers still accept it.
const deprecatedMIME = "application/x-c2pa-manifest-store"

// Report is what Verify found in a manifest store: who signed it, what it
// says, and every check that failed. Trust in the signer is not judged:
// that takes a trust list, which validators keep.
type Report struct {
	Label       string    `json:"label"`
	Offset      int64     `json:"offset"` // of the store in the file
	Size        int       `json:"size"`
	Signer      string    `json:"signer,omitempty"`
	Issuer      string    `json:"issuer,omitempty"`
	Algorithm   string    `json:"algorithm,omitempty"`
	Expires     time.Time `json:"certificate_expires,omitzero"`
	Timestamped bool      `json:"timestamped"`
	Generator   string    `json:"generator,omitempty"`
	Title       string    `json:"title,omitempty"`
	// Action and DigitalSourceType are the first action's; SoftwareAgent
	// and Description too.
	Action            string      `json:"action,omitempty"`
	DigitalSourceType string      `json:"digital_source_type,omitempty"`
	SoftwareAgent     string      `json:"software_agent,omitempty"`
	Description       string      `json:"description,omitempty"`
	Assertions        []string    `json:"assertions"`
	Exclusions        []Exclusion `json:"exclusions,omitempty"`
	// Problems lists every failed check; none means the manifest is well
	// formed, its signature and every hash match.
	Problems []string `json:"problems"`
}

// Valid reports whether every check passed.
func (r *Report) Valid() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, a ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// maxTag bounds the ID3v2 tag read to find the store.
const maxTag = 64 << 20

// VerifyMP3 finds the manifest store in the ID3v2 tag that starts an MP3
// of size bytes and verifies it; it returns ErrNoManifest when there is
// none.
func VerifyMP3(r io.ReaderAt, size int64) (*Report, error) {
	var hdr [10]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoManifest, err)
	}
	n, err := mp3.ID3v2Size(hdr[:])
	if err != nil || string(hdr[:3]) != "ID3" {
		return nil, fmt.Errorf("%w: the file does not start with an ID3v2 tag", ErrNoManifest)
	}
	if n > maxTag || int64(n) > size {
		return nil, fmt.Errorf("%w: an ID3v2 tag of %d bytes in a %d-byte file", ErrMalformed, n, size)
	}
	tag := make([]byte, n)
	if _, err := r.ReadAt(tag, 0); err != nil {
		return nil, fmt.Errorf("c2pa: read tag: %w", err)
	}
	info, err := mp3.ParseID3v2(tag)
	if info == nil {
		return nil, fmt.Errorf("%w: %w", ErrNoManifest, err)
	}
	var found []mp3.Object
	for _, o := range info.Objects {
		if o.MIME == MIME || o.MIME == deprecatedMIME {
			found = append(found, o)
		}
	}
	switch {
	case len(found) == 0:
		return nil, ErrNoManifest
	case len(found) > 1:
		return nil, fmt.Errorf("%w: %d manifest stores in one tag", ErrMalformed, len(found))
	case found[0].Offset < 0:
		return nil, fmt.Errorf("%w: the manifest store's frame is unsynchronised", ErrMalformed)
	}
	return Verify(r, size, found[0].Data, found[0].Offset), nil
}

// Verify checks a manifest store found at offset in a file of size bytes
// read through r: its structure, the hash of every assertion the claim
// lists, the claim's signature against the certificate it carries, the
// certificate's profile, and the data hash of the file.
func Verify(r io.ReaderAt, size int64, store []byte, offset int64) *Report {
	rep := &Report{Offset: offset, Size: len(store), Assertions: []string{}, Problems: []string{}}
	s, err := ParseStore(store)
	if err != nil {
		rep.problem("%v", err)
		return rep
	}
	if len(s.Boxes) == 0 {
		rep.problem("the store holds no manifest")
		return rep
	}
	m := s.Boxes[len(s.Boxes)-1] // the active manifest comes last
	rep.Label = m.Label
	if m.Type != typeManifest {
		rep.problem("the active manifest is not a standard manifest")
	}
	as, ok1 := m.Child(labelAssertions)
	cl, ok2 := m.Child(labelClaim)
	sg, ok3 := m.Child(labelSignature)
	if !ok1 || !ok2 || !ok3 || cl.Data["cbor"] == nil || sg.Data["cbor"] == nil {
		rep.problem("the manifest lacks its assertion store, claim or signature")
		return rep
	}
	var c claim
	if err := cbor.Unmarshal(cl.Data["cbor"], &c); err != nil {
		rep.problem("claim: %v", err)
		return rep
	}
	rep.Generator = strings.TrimSpace(c.Generator.Name + " " + c.Generator.Version)
	rep.Title = c.Title
	if want := "self#jumbf=/c2pa/" + m.Label + "/" + labelSignature; c.Signature != want {
		rep.problem("the claim names signature %q, not %q", c.Signature, want)
	}
	byLabel := map[string]*Box{}
	for i := range as.Boxes {
		byLabel[as.Boxes[i].Label] = &as.Boxes[i]
	}
	for _, u := range c.Created {
		label := strings.TrimPrefix(strings.TrimPrefix(u.URL, "self#jumbf=/c2pa/"+m.Label+"/"), "self#jumbf=")
		label = strings.TrimPrefix(label, labelAssertions+"/")
		rep.Assertions = append(rep.Assertions, label)
		b, ok := byLabel[label]
		if !ok {
			rep.problem("assertion %s is missing", label)
			continue
		}
		if sum := sha256Sum(b.Content); !bytes.Equal(sum, u.Hash) {
			rep.problem("assertion %s does not match its hash in the claim", label)
		}
	}
	verifySignature(rep, sg.Data["cbor"], cl.Data["cbor"])
	if b, ok := byLabel[LabelActions]; ok && slices.Contains(rep.Assertions, LabelActions) {
		readActions(rep, b.Data["cbor"])
	} else {
		rep.problem("no %s assertion", LabelActions)
	}
	if b, ok := byLabel[LabelDataHash]; ok && slices.Contains(rep.Assertions, LabelDataHash) {
		verifyDataHash(rep, r, size, b.Data["cbor"])
	} else {
		rep.problem("no %s assertion: the manifest is not bound to the file", LabelDataHash)
	}
	return rep
}

func verifySignature(rep *Report, sig, claimBytes []byte) {
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sig); err != nil {
		rep.problem("signature: %v", err)
		return
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		rep.problem("signature: %v", err)
		return
	}
	rep.Algorithm = alg.String()
	var chain [][]byte
	switch v := msg.Headers.Protected[cose.HeaderLabelX5Chain].(type) {
	case []byte:
		chain = [][]byte{v}
	case []any:
		for _, c := range v {
			if b, ok := c.([]byte); ok {
				chain = append(chain, b)
			}
		}
	}
	if len(chain) == 0 {
		rep.problem("signature: no certificate in the protected header")
		return
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		rep.problem("signature: certificate: %v", err)
		return
	}
	rep.Signer, rep.Issuer, rep.Expires = leaf.Subject.String(), leaf.Issuer.String(), leaf.NotAfter
	_, rep.Timestamped = msg.Headers.Unprotected["sigTst2"]
	for _, k := range []string{"pad", "pad2"} {
		if p, ok := msg.Headers.Unprotected[k].([]byte); ok && bytes.Count(p, []byte{0}) != len(p) {
			rep.problem("signature: its %s holds data; padding must be zeros", k)
		}
	}
	if err := checkProfile(leaf, time.Now()); err != nil {
		rep.problem("%v", err)
	}
	v, err := cose.NewVerifier(alg, leaf.PublicKey)
	if err != nil {
		rep.problem("signature: %v", err)
		return
	}
	msg.Payload = claimBytes
	if err := msg.Verify(nil, v); err != nil {
		rep.problem("the claim's signature does not verify: %v", err)
	}
}

func readActions(rep *Report, b []byte) {
	var a struct {
		Actions []struct {
			Action            string        `cbor:"action"`
			DigitalSourceType string        `cbor:"digitalSourceType"`
			SoftwareAgent     generatorInfo `cbor:"softwareAgent"`
			Description       string        `cbor:"description"`
		} `cbor:"actions"`
	}
	if err := cbor.Unmarshal(b, &a); err != nil || len(a.Actions) == 0 {
		rep.problem("%s: no actions (%v)", LabelActions, err)
		return
	}
	first := a.Actions[0]
	rep.Action, rep.DigitalSourceType, rep.Description = first.Action, first.DigitalSourceType, first.Description
	rep.SoftwareAgent = strings.TrimSpace(first.SoftwareAgent.Name + " " + first.SoftwareAgent.Version)
	if first.Action != "c2pa.created" {
		rep.problem("the first action is %q, not c2pa.created", first.Action)
	}
}

func verifyDataHash(rep *Report, r io.ReaderAt, size int64, b []byte) {
	var dh dataHash
	if err := cbor.Unmarshal(b, &dh); err != nil {
		rep.problem("%s: %v", LabelDataHash, err)
		return
	}
	rep.Exclusions = dh.Exclusions
	if dh.Alg != "" && dh.Alg != hashAlg {
		rep.problem("%s: algorithm %q is not supported here", LabelDataHash, dh.Alg)
		return
	}
	covered := false
	for _, e := range dh.Exclusions {
		covered = covered || e.Start <= rep.Offset && rep.Offset+int64(rep.Size) <= e.Start+e.Length
	}
	if !covered {
		rep.problem("%s: the exclusions do not cover the manifest store at %d (%d bytes)", LabelDataHash, rep.Offset, rep.Size)
	}
	sum, err := Hash(r, size, dh.Exclusions)
	if err != nil {
		rep.problem("%s: %v", LabelDataHash, err)
		return
	}
	if !bytes.Equal(sum, dh.Hash) {
		rep.problem("%s: the file does not match its hash: it was changed after signing", LabelDataHash)
	}
}
