package c2pa

import (
	"crypto/sha256"
	"fmt"
	"io"
)

// Hash returns the SHA-256 of the size bytes of r outside the exclusions,
// which must be in order and must not overlap: the data hash of a file.
func Hash(r io.ReaderAt, size int64, excl []Exclusion) ([]byte, error) {
	h := sha256.New()
	buf := make([]byte, 256<<10)
	pos := int64(0)
	copyTo := func(end int64) error {
		_, err := io.CopyBuffer(h, io.NewSectionReader(r, pos, end-pos), buf)
		return err
	}
	for _, e := range excl {
		if e.Start < pos || e.Length < 0 || e.Start+e.Length > size {
			return nil, fmt.Errorf("c2pa: exclusion %d+%d is out of order or outside the %d-byte file", e.Start, e.Length, size)
		}
		if err := copyTo(e.Start); err != nil {
			return nil, fmt.Errorf("c2pa: hash: %w", err)
		}
		pos = e.Start + e.Length
	}
	if err := copyTo(size); err != nil {
		return nil, fmt.Errorf("c2pa: hash: %w", err)
	}
	return h.Sum(nil), nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
