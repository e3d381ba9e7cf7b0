package c2pa

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/veraison/go-cose"
)

// ErrTooLarge is returned when a sealed manifest store would not fit the
// space reserved for it: a time-stamp token larger than expected.
var ErrTooLarge = errors.New("c2pa: the manifest store outgrew its reservation")

// tstReserve is the room kept for an RFC 3161 time-stamp token when a TSA
// is configured: tokens carry the authority's certificates and run from 2
// to 8 KB.
const tstReserve = 16 << 10

// Pending is a manifest store whose size and place in the file are fixed
// but whose data hash and signature are not yet known.
type Pending struct {
	signer     *Signer
	n          Narration
	label      string
	instanceID string
	excl       Exclusion
	pad        int // data hash pad that gives the planned size
}

// Prepare plans the manifest store of narration n, to be written at offset
// in the file (where the excluded range starts). Size then says how many
// bytes to reserve there.
func (s *Signer) Prepare(n Narration, offset int64) (*Pending, error) {
	if offset < 0 {
		return nil, fmt.Errorf("c2pa: offset %d", offset)
	}
	if n.Created.IsZero() {
		return nil, errors.New("c2pa: a narration's creation time is required to plan its manifest")
	}
	p := &Pending{signer: s, n: n, label: "urn:c2pa:" + newUUID(), instanceID: "xmp:iid:" + newUUID()}
	p.excl = Exclusion{Start: offset}
	// The store's size is written inside it (the exclusion's length), so
	// find the size that states itself; the data hash's pad absorbs a
	// length whose encoding is shorter than the first guess.
	for range 4 {
		size, err := p.plannedSize(0)
		if err != nil {
			return nil, err
		}
		if int64(size) == p.excl.Length {
			return p, nil
		}
		if int64(size) < p.excl.Length {
			p.pad = int(p.excl.Length) - size
			if got, err := p.plannedSize(p.pad); err != nil {
				return nil, err
			} else if int64(got) == p.excl.Length {
				return p, nil
			}
			p.pad = 0
		}
		p.excl.Length = int64(size)
	}
	return nil, errors.New("c2pa: the manifest store's size does not settle")
}

// plannedSize is the store's size with a placeholder hash and signature of
// the final lengths and no time-stamp, plus room for one if a TSA is set.
func (p *Pending) plannedSize(pad int) (int, error) {
	u, err := p.n.build(p.label, p.instanceID, p.excl, make([]byte, 32), pad)
	if err != nil {
		return 0, err
	}
	cose, err := p.signer.placeholder()
	if err != nil {
		return 0, err
	}
	size := len(u.store(cose))
	if p.signer.tsa != "" {
		size += tstReserve
	}
	return size, nil
}

// Size is the number of bytes to reserve for the store.
func (p *Pending) Size() int { return int(p.excl.Length) }

// Exclusion is the byte range of the file the store occupies, which the
// data hash leaves out.
func (p *Pending) Exclusion() Exclusion { return p.excl }

// Label is the manifest's URN.
func (p *Pending) Label() string { return p.label }

// Seal signs the manifest with hash, the SHA-256 of every byte of the file
// outside Exclusion, and returns the store: exactly Size bytes.
func (p *Pending) Seal(ctx context.Context, hash []byte) ([]byte, error) {
	if len(hash) != 32 {
		return nil, fmt.Errorf("c2pa: a SHA-256 hash is 32 bytes, not %d", len(hash))
	}
	u, err := p.n.build(p.label, p.instanceID, p.excl, hash, p.pad)
	if err != nil {
		return nil, err
	}
	msg, err := p.signer.sign(u.claim)
	if err != nil {
		return nil, err
	}
	if p.signer.tsa != "" {
		token, err := p.signer.timestamp(ctx, msg)
		if err != nil {
			return nil, err
		}
		msg.Headers.Unprotected["sigTst2"] = map[string]any{"tstTokens": []map[string]any{{"val": token}}}
	}
	return p.fit(u, msg)
}

// fit pads the signature's unprotected header so that the store is exactly
// the reserved size; the header is not signed, so padding changes nothing
// a validator checks.
func (p *Pending) fit(u *unsigned, msg *cose.Sign1Message) ([]byte, error) {
	msg.Headers.Unprotected["pad"] = []byte{}
	b, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("c2pa: signature: %w", err)
	}
	extra := p.Size() - len(u.store(b))
	if extra < 0 {
		return nil, fmt.Errorf("%w by %d bytes", ErrTooLarge, -extra)
	}
	// An empty pad encodes in one byte; pad lengths 24 and 256 add two
	// bytes of header at once, which a second pad ("pad2", five bytes with
	// its label) makes up.
	p1, p2 := padLengths(extra)
	msg.Headers.Unprotected["pad"] = make([]byte, p1)
	if p2 >= 0 {
		msg.Headers.Unprotected["pad2"] = make([]byte, p2)
	}
	if b, err = msg.MarshalCBOR(); err != nil {
		return nil, fmt.Errorf("c2pa: signature: %w", err)
	}
	store := u.store(b)
	if len(store) != p.Size() {
		return nil, fmt.Errorf("c2pa: padded store of %d bytes, reserved %d", len(store), p.Size())
	}
	return store, nil
}

// bstrLen is the encoded length of a CBOR byte string of n bytes.
func bstrLen(n int) int {
	switch {
	case n < 24:
		return 1 + n
	case n < 1<<8:
		return 2 + n
	case n < 1<<16:
		return 3 + n
	}
	return 5 + n
}

// padLengths returns the lengths of "pad" and, if one is needed, "pad2"
// (-1 when not) that grow an empty pad by extra bytes.
func padLengths(extra int) (p1, p2 int) {
	want := extra + bstrLen(0)
	if n, ok := bstrFor(want); ok {
		return n, -1
	}
	for p2 = 0; ; p2++ {
		if n, ok := bstrFor(want - 5 - bstrLen(p2)); ok {
			return n, p2
		}
	}
}

// bstrFor returns the byte string length whose encoding is enc bytes long.
func bstrFor(enc int) (int, bool) {
	for _, hdr := range []int{1, 2, 3, 5} {
		if n := enc - hdr; n >= 0 && bstrLen(n) == enc {
			return n, true
		}
	}
	return 0, false
}

// sign signs the claim: COSE_Sign1 with the algorithm and certificate chain
// in the protected header and the claim as detached payload.
func (s *Signer) sign(claim []byte) (*cose.Sign1Message, error) {
	cs, err := cose.NewSigner(s.alg, s.key)
	if err != nil {
		return nil, fmt.Errorf("c2pa: %w", err)
	}
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(s.alg)
	msg.Headers.Protected[cose.HeaderLabelX5Chain] = s.x5chain()
	msg.Payload = claim
	if err := msg.Sign(rand.Reader, nil, cs); err != nil {
		return nil, fmt.Errorf("c2pa: sign: %w", err)
	}
	msg.Payload = nil
	return msg, nil
}

// x5chain is one certificate as a byte string, several as an array.
func (s *Signer) x5chain() any {
	if len(s.chain) == 1 {
		return s.chain[0]
	}
	return s.chain
}

// sigLen is the signature's length: ECDSA's r and s at the curve's size,
// or Ed25519's 64 bytes.
func (s *Signer) sigLen() int {
	switch s.alg {
	case cose.AlgorithmES384:
		return 96
	case cose.AlgorithmES512:
		return 132
	}
	return 64
}

// placeholder is a signature of the final size with an empty pad.
func (s *Signer) placeholder() ([]byte, error) {
	msg := cose.NewSign1Message()
	msg.Headers.Protected.SetAlgorithm(s.alg)
	msg.Headers.Protected[cose.HeaderLabelX5Chain] = s.x5chain()
	msg.Headers.Unprotected["pad"] = []byte{}
	msg.Signature = make([]byte, s.sigLen())
	b, err := msg.MarshalCBOR()
	if err != nil {
		return nil, fmt.Errorf("c2pa: signature: %w", err)
	}
	return b, nil
}

// sigStructure is the ToBeSigned of RFC 8152 section 4.4.
func sigStructure(context string, protected, payload []byte) ([]byte, error) {
	return encMode.Marshal([]any{context, protected, []byte{}, payload})
}
