package c2pa

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Labels and values the manifest uses, from the C2PA specification and the
// IPTC digital source type vocabulary.
const (
	MIME = "application/c2pa" // the media type of a manifest store

	LabelActions    = "c2pa.actions.v2"
	LabelDataHash   = "c2pa.hash.data"
	LabelIngredient = "c2pa.ingredient.v3"
	// LabelMetadata is a custom metadata assertion: c2pa.metadata may not
	// carry titles, publishers or sources, so the article's are here, in
	// Dublin Core terms.
	LabelMetadata = "io.github.narrator-project.metadata"

	labelAssertions = "c2pa.assertions"
	labelClaim      = "c2pa.claim.v2"
	labelSignature  = "c2pa.signature"

	// TrainedAlgorithmicMedia is the IPTC digital source type of media made
	// by a trained model, as speech synthesis is.
	TrainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

	hashAlg = "sha256"
)

// Narration is what a manifest says about a narrated article.
type Narration struct {
	Title       string
	Publication string
	URL         string    // the article's address
	Language    string    // BCP 47
	Published   time.Time // the article's date
	// Created is when the audio was made; the zero time means now.
	Created time.Time
	// Provider, Model and Voice name the speech that read the article.
	Provider, Model, Voice string
	// Disclosure is the AI disclosure as the tag and the page state it.
	Disclosure string
	// TextSHA256, when set, is the SHA-256 of the article text read aloud,
	// recorded as the ingredient the audio was made from.
	TextSHA256 []byte
	// Format is the asset's media type; audio/mpeg when empty.
	Format string
}

// encMode encodes CBOR in the core deterministic form the specification
// asks of claims; assertions use it too, so equal values are equal bytes.
var encMode = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// hashedURI is a JUMBF URI and the hash of the box it names.
type hashedURI struct {
	URL  string `cbor:"url"`
	Hash []byte `cbor:"hash"`
}

// Exclusion is a byte range a data hash leaves out.
type Exclusion struct {
	Start  int64 `cbor:"start" json:"start"`
	Length int64 `cbor:"length" json:"length"`
}

type dataHash struct {
	Exclusions []Exclusion `cbor:"exclusions"`
	Name       string      `cbor:"name"`
	Alg        string      `cbor:"alg"`
	Hash       []byte      `cbor:"hash"`
	Pad        []byte      `cbor:"pad"`
}

type generatorInfo struct {
	Name    string `cbor:"name" json:"name"`
	Version string `cbor:"version,omitempty" json:"version,omitempty"`
}

type action struct {
	Action            string         `cbor:"action"`
	When              cbor.Tag       `cbor:"when"`
	SoftwareAgent     generatorInfo  `cbor:"softwareAgent"`
	DigitalSourceType string         `cbor:"digitalSourceType"`
	Description       string         `cbor:"description,omitempty"`
	Parameters        map[string]any `cbor:"parameters,omitempty"`
}

type actions struct {
	Actions            []action `cbor:"actions"`
	AllActionsIncluded bool     `cbor:"allActionsIncluded"`
}

type ingredient struct {
	Title         string `cbor:"dc:title,omitempty"`
	Format        string `cbor:"dc:format"`
	Relationship  string `cbor:"relationship"`
	InstanceID    string `cbor:"instanceID"`
	Description   string `cbor:"description"`
	Informational string `cbor:"informationalURI,omitempty"`
}

type claim struct {
	InstanceID string        `cbor:"instanceID"`
	Generator  generatorInfo `cbor:"claim_generator_info"`
	Signature  string        `cbor:"signature"`
	Created    []hashedURI   `cbor:"created_assertions"`
	Title      string        `cbor:"dc:title,omitempty"`
	Alg        string        `cbor:"alg"`
}

// generator names this program in claims.
func generator() generatorInfo {
	g := generatorInfo{Name: "narrator"}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		g.Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
	return g
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand never fails
	u[6] = u[6]&0x0F | 0x40
	u[8] = u[8]&0x3F | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// assertion is one assertion superbox, ready to be hashed and stored.
type assertion struct {
	label string
	box   []byte
}

func (a assertion) uri() hashedURI {
	sum := sha256.Sum256(a.box[8:])
	return hashedURI{URL: "self#jumbf=" + labelAssertions + "/" + a.label, Hash: sum[:]}
}

func cborAssertion(label string, v any) (assertion, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return assertion{}, fmt.Errorf("c2pa: %s: %w", label, err)
	}
	return assertion{label, superbox(typeCBOR, label, box("cbor", b))}, nil
}

// unsigned is a manifest up to its signature: the parts a Seal fills in
// around the claim it signs.
type unsigned struct {
	label      string // the manifest's URN
	assertions []assertion
	claim      []byte
}

// build lays out the assertions and the claim of a manifest whose data
// hash is hash over the file with excl left out; pad fills the data hash
// assertion to a chosen size.
func (n Narration) build(label, instanceID string, excl Exclusion, hash []byte, pad int) (*unsigned, error) {
	created := n.Created
	if created.IsZero() {
		created = time.Now()
	}
	u := &unsigned{label: label}
	dh, err := cborAssertion(LabelDataHash, dataHash{
		Exclusions: []Exclusion{excl}, Name: "jumbf manifest", Alg: hashAlg, Hash: hash, Pad: make([]byte, pad),
	})
	if err != nil {
		return nil, err
	}
	u.assertions = append(u.assertions, dh)

	params := map[string]any{}
	if len(n.TextSHA256) > 0 {
		ing, err := cborAssertion(LabelIngredient, ingredient{
			Title:         n.Title,
			Format:        "text/plain",
			Relationship:  "inputTo",
			InstanceID:    "sha256:" + hex.EncodeToString(n.TextSHA256),
			Description:   "The article text read aloud; instanceID is the SHA-256 of its paragraphs, UTF-8, joined by blank lines",
			Informational: n.URL,
		})
		if err != nil {
			return nil, err
		}
		u.assertions = append(u.assertions, ing)
		params["ingredients"] = []hashedURI{ing.uri()}
	}
	agent := generatorInfo{Name: n.Provider, Version: n.Model}
	if agent.Name == "" {
		agent = generator()
	}
	act := action{
		Action:            "c2pa.created",
		When:              cbor.Tag{Number: 0, Content: created.UTC().Format(time.RFC3339)},
		SoftwareAgent:     agent,
		DigitalSourceType: TrainedAlgorithmicMedia,
		Description:       n.Disclosure,
	}
	if len(params) > 0 {
		act.Parameters = params
	}
	acts, err := cborAssertion(LabelActions, actions{Actions: []action{act}, AllActionsIncluded: true})
	if err != nil {
		return nil, err
	}
	u.assertions = append(u.assertions, acts)

	meta, err := n.metadata()
	if err != nil {
		return nil, err
	}
	u.assertions = append(u.assertions, assertion{LabelMetadata, superbox(typeJSON, LabelMetadata, box("json", meta))})

	c := claim{
		InstanceID: instanceID,
		Generator:  generator(),
		Signature:  "self#jumbf=/c2pa/" + label + "/" + labelSignature,
		Title:      n.Title,
		Alg:        hashAlg,
	}
	for _, a := range u.assertions {
		c.Created = append(c.Created, a.uri())
	}
	if u.claim, err = encMode.Marshal(c); err != nil {
		return nil, fmt.Errorf("c2pa: claim: %w", err)
	}
	return u, nil
}

// metadata is the article's description as JSON-LD in Dublin Core terms.
func (n Narration) metadata() ([]byte, error) {
	format := n.Format
	if format == "" {
		format = "audio/mpeg"
	}
	m := map[string]any{
		"@context":  map[string]string{"dc": "http://purl.org/dc/elements/1.1/"},
		"dc:format": format,
		"dc:type":   "Sound",
	}
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			m[k] = v
		}
	}
	set("dc:title", n.Title)
	set("dc:publisher", n.Publication)
	set("dc:source", n.URL)
	set("dc:language", n.Language)
	set("dc:description", n.Disclosure)
	if !n.Published.IsZero() {
		m["dc:date"] = n.Published.UTC().Format(time.RFC3339)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("c2pa: metadata: %w", err)
	}
	return b, nil
}

// store assembles the manifest store around the signature box's content.
func (u *unsigned) store(cose []byte) []byte {
	boxes := make([][]byte, len(u.assertions))
	for i, a := range u.assertions {
		boxes[i] = a.box
	}
	return superbox(typeStore, "c2pa",
		superbox(typeManifest, u.label,
			superbox(typeAssertions, labelAssertions, boxes...),
			superbox(typeClaim, labelClaim, box("cbor", u.claim)),
			superbox(typeSignature, labelSignature, box("cbor", cose)),
		))
}
