package c2pa_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/narrator-project/narrator/services/c2pa"
)

// FuzzVerify checks that parsing and verifying any bytes as a manifest
// store never panics, and that only a real store passes.
func FuzzVerify(f *testing.F) {
	s := newSigner(f, c2pa.SignerConfig{})
	b, err := os.ReadFile(signedMP3(f, s, narration(), audio(f)))
	if err != nil {
		f.Fatal(err)
	}
	rep, err := c2pa.VerifyMP3(bytes.NewReader(b), int64(len(b)))
	if err != nil || !rep.Valid() {
		f.Fatalf("seed does not verify: %v %v", err, rep)
	}
	store := b[rep.Offset : rep.Offset+int64(rep.Size)]
	f.Add(store)
	f.Add(store[:len(store)/2])
	f.Add([]byte{0, 0, 0, 8, 'j', 'u', 'm', 'b'})
	f.Add([]byte{0, 0, 0, 1, 'j', 'u', 'm', 'b', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, st []byte) {
		_, _ = c2pa.ParseStore(st)
		file := append(append([]byte(nil), b[:rep.Offset]...), st...)
		file = append(file, b[rep.Offset+int64(rep.Size):]...)
		r := c2pa.Verify(bytes.NewReader(file), int64(len(file)), st, rep.Offset)
		if r.Valid() && !bytes.Equal(st, store) {
			t.Fatalf("a different store of %d bytes verifies", len(st))
		}
	})
}
