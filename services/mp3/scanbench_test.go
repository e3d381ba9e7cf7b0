package mp3_test

import (
	"bytes"
	"testing"

	"github.com/narrator-project/narrator/services/mp3"
)

// BenchmarkScanSyncGarbage scans 1 MiB of junk dense with sync words, as a
// broken or hostile speech service might send: runs of 0xFF, and "FF F3"
// pairs, each of which starts a plausible MPEG-2 Layer III header. Every
// byte is a place a frame could start, so a scanner doing more than
// constant work per place falls far behind.
func BenchmarkScanSyncGarbage(b *testing.B) {
	for _, tc := range []struct {
		name    string
		pattern []byte
	}{
		{"ff", []byte{0xFF}},
		{"fff3", []byte{0xFF, 0xF3}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			data := bytes.Repeat(tc.pattern, (1<<20)/len(tc.pattern))
			b.SetBytes(int64(len(data)))
			s := mp3.NewScanner(nil)
			for b.Loop() {
				s.Reset(bytes.NewReader(data))
				for s.Scan() {
					if it := s.Item(); it.Kind != mp3.KindJunk || it.Size != int64(len(data)) {
						b.Fatalf("%s of %d bytes at %d, want the whole stream as junk", it.Kind, it.Size, it.Offset)
					}
				}
			}
		})
	}
}
