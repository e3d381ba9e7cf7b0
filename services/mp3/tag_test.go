package mp3_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

func TestTagRoundTrip(t *testing.T) {
	tag := mp3.Tag{
		Title: "Rivers rise — again", Artist: "Jane Doe / The Daily", Album: "Science",
		Date: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Language: "uk-UA", URL: "https://example.org/a?b=ü",
		Cover: mp3test.PNG(4, 4), Disclosure: "This audio is created with AI assistance",
		Extra: map[string]string{"voice": "alloy"},
		Chapters: []mp3.Chapter{
			{ID: "c0", Title: "Opening", Start: 0, End: 1500 * time.Millisecond, StartOffset: 100, EndOffset: 2000},
			{ID: "c1", Title: "Второй", Start: 1500 * time.Millisecond, End: 3 * time.Second, StartOffset: 2000, EndOffset: -1},
		},
	}
	b, err := tag.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	info, err := mp3.ParseID3v2(b)
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "2.4.0" || info.Size != len(b) {
		t.Errorf("version %s size %d, want 2.4.0 and %d", info.Version, info.Size, len(b))
	}
	for k, v := range map[string]string{
		"TIT2": tag.Title, "TPE1": tag.Artist, "TALB": tag.Album, "TDRC": "2025-01-02T03:04:05", "TLAN": "ukr",
		"TXXX:" + mp3.DisclosureDescription: tag.Disclosure, "TXXX:voice": "alloy",
	} {
		if info.Text[k] != v {
			t.Errorf("%s = %q, want %q", k, info.Text[k], v)
		}
	}
	if info.URLs["WOAS"] != "https://example.org/a?b=ü" {
		t.Errorf("WOAS = %q", info.URLs["WOAS"])
	}
	if len(info.Pictures) != 1 || info.Pictures[0].MIME != "image/png" || info.Pictures[0].Type != 3 || info.Pictures[0].Size != len(tag.Cover) {
		t.Errorf("pictures %+v", info.Pictures)
	}
	if len(info.Chapters) != 2 || info.Chapters[1] != tag.Chapters[1] || info.Chapters[0] != tag.Chapters[0] {
		t.Errorf("chapters %+v\nwant %+v", info.Chapters, tag.Chapters)
	}
	if len(info.TOC) != 2 || info.TOC[0] != "c0" {
		t.Errorf("table of contents %v", info.TOC)
	}
	// Offsets do not change the tag's size, so a writer can size it first.
	tag.Chapters[0].StartOffset = 1 << 30
	b2, _ := tag.Bytes()
	if len(b2) != len(b) {
		t.Errorf("tag size %d with other offsets, was %d", len(b2), len(b))
	}
}

func TestTagRejectsBadCover(t *testing.T) {
	if _, err := (mp3.Tag{Cover: []byte("GIF89a not allowed")}).Bytes(); err == nil {
		t.Error("a GIF cover was accepted")
	}
}

func TestParseID3v2OlderVersions(t *testing.T) {
	// ID3v2.3 with whole-tag unsynchronisation, and ID3v2.2.
	// The frame size counts the bytes after resynchronisation.
	frame23 := []byte("TIT2\x00\x00\x00\x05\x00\x00\x00ab\xff\x00c")
	v23 := append([]byte("ID3\x03\x00\x80\x00\x00\x00"), byte(len(frame23)))
	v23 = append(v23, frame23...)
	frame22 := []byte("TT2\x00\x00\x09\x01\xff\xfeh\x00i\x00\x00\x00")
	v22 := append([]byte("ID3\x02\x00\x00\x00\x00\x00"), byte(len(frame22)))
	v22 = append(v22, frame22...)
	cases := []struct {
		name string
		b    []byte
		id   string
		want string
	}{
		{"v2.3 unsynchronised", v23, "TIT2", "ab\xc3\xbfc"},
		{"v2.2 utf-16", v22, "TT2", "hi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, err := mp3.ParseID3v2(tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if info.Text[tc.id] != tc.want {
				t.Errorf("%s = %q, want %q", tc.id, info.Text[tc.id], tc.want)
			}
		})
	}
}

func TestParseID3v2Malformed(t *testing.T) {
	cases := map[string][]byte{
		"not syncsafe":   []byte("ID3\x04\x00\x00\x00\x00\x80\x00"),
		"version 5":      []byte("ID3\x05\x00\x00\x00\x00\x00\x00"),
		"cut short":      []byte("ID3\x04\x00\x00\x00\x00\x01\x00TIT2"),
		"frame too long": append([]byte("ID3\x04\x00\x00\x00\x00\x00\x0b"), []byte("TIT2\x00\x00\x01\x00\x00\x00\x03")...),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := mp3.ParseID3v2(b); !errors.Is(err, mp3.ErrBadTag) {
				t.Errorf("error %v, want ErrBadTag", err)
			}
		})
	}
}

func TestInfoFrameRoundTrip(t *testing.T) {
	h := mp3.InfoHeader(mp3.Header{Version: mp3.MPEG2, SampleRate: 24000, Bitrate: 32000, Mode: mp3.Mono})
	if h.Bitrate == 32000 {
		t.Fatal("a 96-byte frame cannot hold the Xing and LAME data")
	}
	var toc [100]byte
	for i := range toc {
		toc[i] = byte(i * 2)
	}
	f := mp3.InfoFrame{Header: h, Frames: 1234, Bytes: 99999, TOC: toc, Encoder: "LAME3.100", Delay: 576, Padding: 1000, Bitrate: 48, MusicCRC: 0xBEEF}
	b := f.Encode()
	in, err := mp3.ParseInfo(h, b)
	if err != nil {
		t.Fatal(err)
	}
	// No quality is stated: it is out of the range of qualities.
	if in.Tag != "Xing" || in.Frames != 1234 || in.Bytes != 99999 || !bytes.Equal(in.TOC, toc[:]) || in.Quality <= 100 {
		t.Errorf("parsed %+v", in)
	}
	l := in.LAME
	if l == nil || l.Encoder != "LAME3.100" || l.Delay != 576 || l.Padding != 1000 || l.Bitrate != 48 || l.MusicCRC != 0xBEEF || !l.TagCRCValid {
		t.Errorf("LAME tag %+v", l)
	}
	if err := mp3.SetMusicCRC(b, 0x1234); err != nil {
		t.Fatal(err)
	}
	if in, _ := mp3.ParseInfo(h, b); in.LAME.MusicCRC != 0x1234 || !in.LAME.TagCRCValid {
		t.Errorf("after SetMusicCRC: %+v", in.LAME)
	}
	f.CBR = true
	if in, _ := mp3.ParseInfo(h, f.Encode()); in.Tag != "Info" {
		t.Errorf("a CBR stream's header is %q, want Info", in.Tag)
	}
}

func TestParseVBRI(t *testing.T) {
	h := mp3.Header{Version: mp3.MPEG1, SampleRate: 44100, Bitrate: 128000, Mode: mp3.JointStereo}
	b := make([]byte, h.Size())
	hb := h.Bytes()
	copy(b, hb[:])
	v := b[36:]
	copy(v, "VBRI")
	binary.BigEndian.PutUint16(v[4:], 1)
	binary.BigEndian.PutUint16(v[6:], 1105)
	binary.BigEndian.PutUint32(v[10:], 555555)
	binary.BigEndian.PutUint32(v[14:], 4321)
	binary.BigEndian.PutUint16(v[18:], 10)
	binary.BigEndian.PutUint16(v[20:], 1)
	binary.BigEndian.PutUint16(v[22:], 2)
	binary.BigEndian.PutUint16(v[24:], 432)
	in, err := mp3.ParseInfo(h, b)
	if err != nil {
		t.Fatal(err)
	}
	if in.Tag != "VBRI" || in.Frames != 4321 || in.Bytes != 555555 || in.VBRIDelay != 1105 || !in.HasTOC {
		t.Errorf("parsed %+v", in)
	}
}

// TestTagObjects checks GEOB frames: written last, read back with the
// offset of their data in the tag, so that a C2PA manifest store can be
// located and replaced in place.
func TestTagObjects(t *testing.T) {
	store := bytes.Repeat([]byte{0xFF, 0x00, 'j'}, 700) // sync-like bytes stay as they are
	tag := mp3.Tag{
		Title:    "Rivers rise",
		Chapters: []mp3.Chapter{{ID: "c0", Title: "Opening", EndOffset: -1}},
		Objects: []mp3.Object{
			{MIME: "text/plain", Filename: "a.txt", Description: "première", Data: []byte("hello")},
			{MIME: "application/c2pa", Filename: "c2pa", Description: "c2pa manifest store", Data: store},
		},
	}
	b, err := tag.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	info, err := mp3.ParseID3v2(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Objects) != 2 {
		t.Fatalf("objects %+v", info.Objects)
	}
	for i, o := range info.Objects {
		want := tag.Objects[i]
		if o.MIME != want.MIME || o.Filename != want.Filename || o.Description != want.Description || !bytes.Equal(o.Data, want.Data) || o.Size != len(want.Data) {
			t.Errorf("object %d = %q %q %q (%d bytes), want %q %q %q (%d bytes)", i, o.MIME, o.Filename, o.Description, o.Size, want.MIME, want.Filename, want.Description, len(want.Data))
		}
		if o.Offset < 0 || !bytes.Equal(b[o.Offset:o.Offset+int64(o.Size)], want.Data) {
			t.Errorf("object %d offset %d does not locate its data", i, o.Offset)
		}
	}
	if last := info.Objects[1]; last.Offset+int64(last.Size) != int64(len(b)) {
		t.Errorf("the last object ends at %d, the tag at %d", last.Offset+int64(last.Size), len(b))
	}
	if info.Text["TIT2"] != "Rivers rise" || len(info.Chapters) != 1 {
		t.Errorf("other frames lost: %+v", info)
	}
	if _, err := (mp3.Tag{Objects: []mp3.Object{{Description: "no type"}}}).Bytes(); err == nil {
		t.Error("an object without a MIME type was written")
	}
}
