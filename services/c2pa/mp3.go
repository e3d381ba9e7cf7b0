package c2pa

import (
	"context"
	"fmt"
	"io"

	"github.com/narrator-project/narrator/services/mp3"
)

// Store is how a manifest store is kept in an MP3's ID3v2 tag: a GEOB
// object of type application/c2pa.
func Store(data []byte) mp3.Object {
	return mp3.Object{MIME: MIME, Filename: "c2pa", Description: "c2pa manifest store", Data: data}
}

// ReserveMP3 plans the manifest of narration n in an MP3 that will start
// with tag: it returns the tag with a zero-filled manifest store of the
// right size as its last object, and the pending manifest to seal once the
// file is written.
func (s *Signer) ReserveMP3(n Narration, tag mp3.Tag) (mp3.Tag, *Pending, error) {
	tag.Objects = append(append([]mp3.Object(nil), tag.Objects...), Store(nil))
	b, err := tag.Bytes()
	if err != nil {
		return tag, nil, err
	}
	// The store's data follows its frame header directly, so its offset
	// does not depend on its size.
	offset := int64(len(b))
	p, err := s.Prepare(n, offset)
	if err != nil {
		return tag, nil, err
	}
	tag.Objects[len(tag.Objects)-1].Data = make([]byte, p.Size())
	return tag, p, nil
}

// SealFile hashes the size-byte file f but for the reserved range, seals
// the manifest and writes it into that range. It returns the store.
func (p *Pending) SealFile(ctx context.Context, f interface {
	io.ReaderAt
	io.WriterAt
}, size int64) ([]byte, error) {
	hash, err := Hash(f, size, []Exclusion{p.excl})
	if err != nil {
		return nil, err
	}
	store, err := p.Seal(ctx, hash)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(store, p.excl.Start); err != nil {
		return nil, fmt.Errorf("c2pa: write manifest store: %w", err)
	}
	return store, nil
}
