package storage_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/narrator-project/narrator/storage"
	"github.com/narrator-project/narrator/storage/storagetest"
)

// benchStore measures Put and Get of objects the size of a narration
// chunk's audio (5 MB) and of a long article's (24 MiB, multipart on S3).
func benchStore(b *testing.B, s storage.Store) {
	for _, size := range []int{5_000_000, 24 << 20} {
		data := storagetest.Payload(size, 1)
		b.Run(fmt.Sprintf("Put/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := s.Put(b.Context(), "bench.mp3", bytes.NewReader(data), int64(size), storage.Meta{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("Get/%dB", size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				rc, _, err := s.Get(b.Context(), "bench.mp3")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

func BenchmarkFS(b *testing.B) {
	s, err := storage.NewFS(b.TempDir(), "")
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}

func BenchmarkS3VersityGW(b *testing.B) {
	g := storagetest.StartVersityGW(b)
	cfg := g.S3Config()
	s, err := storage.NewS3(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	benchStore(b, s)
}
