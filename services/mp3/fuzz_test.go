package mp3_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

// seeds are real streams from lame and the tags this package knows, so
// that fuzzing starts from the shapes it must handle.
func seeds(f *testing.F) [][]byte {
	f.Helper()
	pcm := mp3test.Speech(24000, 1, 300*time.Millisecond, -20, 1)
	stereo := mp3test.Speech(44100, 2, 300*time.Millisecond, -20, 1)
	tag, err := mp3.Tag{Title: "t", Cover: mp3test.PNG(2, 2), Chapters: []mp3.Chapter{{ID: "c", Title: "c", EndOffset: -1}},
		Objects: []mp3.Object{{MIME: "application/c2pa", Filename: "c2pa", Data: []byte{0, 0, 0, 8, 'j', 'u', 'm', 'b'}}}}.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{
		mp3test.Encode(f, pcm, "-b", "160"),
		mp3test.Encode(f, pcm, "-V", "4", "-t", "--add-id3v2", "--tt", "x"),
		mp3test.Encode(f, stereo, "-b", "128", "-p"),
		append(tag, mp3test.Encode(f, stereo, "-V", "2", "--id3v1-only", "--tt", "y")...),
		id3v24WithFooter("hello"),
		apeTag(true),
		apeTag(false),
		id3v1(),
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s[:min(4, len(s))])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := mp3.ParseHeader(b)
		if err != nil {
			return
		}
		if h.Size() < 4 || h.Size() > 1441 || !h.Format().Valid() {
			t.Fatalf("header % x: size %d, format %v", b[:4], h.Size(), h.Format())
		}
		if enc := h.Bytes(); !bytes.Equal(enc[:], b[:4]) {
			t.Fatalf("header % x encodes back to % x", b[:4], enc)
		}
		frame := make([]byte, h.Size())
		copy(frame, b)
		if _, err := mp3.ParseSideInfo(h, frame); err != nil && h.Size() >= h.SideInfoOffset()+h.SideInfoSize() {
			t.Fatal(err)
		}
		_, _ = mp3.AdjustGain(h, frame, 3)
		_, _ = mp3.ParseInfo(h, frame)
	})
}

// FuzzScan checks that the Scanner never panics and accounts for every
// byte: items follow each other from the first byte to the last.
func FuzzScan(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		scanAll(t, b)
	})
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := mp3.Analyze(context.Background(), bytes.NewReader(b), mp3.Options{Decode: true, Tags: true})
		if err != nil {
			return
		}
		if a.Decoded && a.DecodedSamples != a.Samples {
			found := false
			for _, p := range a.Problems {
				found = found || p.Code == mp3.ProblemDecode
			}
			if !found {
				t.Fatalf("decoded %d of %d samples and no problem reported", a.DecodedSamples, a.Samples)
			}
		}
	})
}

func FuzzParseID3v2(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := mp3.ParseID3v2(b)
		if err == nil && info.Size > len(b) {
			t.Fatalf("tag of %d bytes parsed from %d", info.Size, len(b))
		}
		for _, o := range objectsOf(info) {
			if o.Offset >= 0 && (o.Offset+int64(o.Size) > int64(len(b)) || !bytes.Equal(b[o.Offset:o.Offset+int64(o.Size)], o.Data)) {
				t.Fatalf("object at %d (%d bytes) is not where its data is", o.Offset, o.Size)
			}
		}
		_, _ = mp3.ParseID3v1(b)
		_, _, _ = mp3.APESize(b)
	})
}

// FuzzVerifier checks that the Verifier never panics and finds the same
// whether a stream comes in one piece or many.
func FuzzVerifier(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s, uint16(7))
	}
	f.Fuzz(func(t *testing.T, b []byte, piece uint16) {
		whole, parts := &mp3.Verifier{}, &mp3.Verifier{}
		whole.Write(b)
		n := int(piece%2000) + 1
		for r := b; len(r) > 0; r = r[min(n, len(r)):] {
			parts.Write(r[:min(n, len(r))])
		}
		e1, e2 := whole.Finish(), parts.Finish()
		if (e1 == nil) != (e2 == nil) || whole.Frames != parts.Frames || whole.Bytes != parts.Bytes || whole.TagSize != parts.TagSize {
			t.Fatalf("whole: %v %d frames; in pieces of %d: %v %d frames", e1, whole.Frames, n, e2, parts.Frames)
		}
	})
}

func objectsOf(info *mp3.TagInfo) []mp3.Object {
	if info == nil {
		return nil
	}
	return info.Objects
}
