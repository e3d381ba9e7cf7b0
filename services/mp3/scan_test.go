package mp3_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/mp3"
	"github.com/narrator-project/narrator/services/mp3/mp3test"
)

// item is what a test expects the Scanner to find.
type item struct {
	kind mp3.Kind
	tag  mp3.TagKind
	size int
}

func (i item) String() string { return fmt.Sprintf("%s/%s/%d", i.kind, i.tag, i.size) }

// scanAll returns the stream's items, frames merged into one item per run,
// and checks that the items cover the stream without gap or overlap.
func scanAll(t testing.TB, b []byte) []item {
	t.Helper()
	s := mp3.NewScanner(bytes.NewReader(b))
	var out []item
	var next int64
	for s.Scan() {
		it := s.Item()
		if it.Offset != next {
			t.Fatalf("item %s at %d, the previous one ended at %d", it.Kind, it.Offset, next)
		}
		next = it.Offset + it.Size
		k := it.Kind
		if k == mp3.KindInfo {
			k = mp3.KindFrame
		}
		if n := len(out); n > 0 && k == mp3.KindFrame && out[n-1].kind == mp3.KindFrame {
			out[n-1].size += int(it.Size)
			continue
		}
		out = append(out, item{k, it.Tag, int(it.Size)})
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if next != int64(len(b)) {
		t.Fatalf("items end at %d of %d bytes", next, len(b))
	}
	return out
}

func id3v24WithFooter(body string) []byte {
	b := []byte("ID3\x04\x00\x10\x00\x00\x00\x00")
	frame := append([]byte("TIT2\x00\x00\x00\x00\x00\x00\x03"), body...)
	frame[7] = byte(len(body) + 1)
	b = append(b, frame...)
	b[9] = byte(len(frame))
	footer := bytes.Clone(b[:10])
	copy(footer, "3DI")
	return append(b, footer...)
}

func apeTag(withHeader bool) []byte {
	item := []byte{5, 0, 0, 0, 0, 0, 0, 0}
	item = append(item, "Title\x00hello"...)
	hf := func(isHeader bool) []byte {
		h := make([]byte, 32)
		copy(h, "APETAGEX")
		binary.LittleEndian.PutUint32(h[8:], 2000)
		binary.LittleEndian.PutUint32(h[12:], uint32(len(item)+32))
		binary.LittleEndian.PutUint32(h[16:], 1)
		var flags uint32
		if withHeader {
			flags |= 1 << 31
		}
		if isHeader {
			flags |= 1 << 29
		}
		binary.LittleEndian.PutUint32(h[20:], flags)
		return h
	}
	var out []byte
	if withHeader {
		out = hf(true)
	}
	out = append(out, item...)
	return append(out, hf(false)...)
}

func id3v1() []byte {
	b := make([]byte, 128)
	copy(b, "TAGA title")
	return b
}

func TestScannerFindsTagsAndJunk(t *testing.T) {
	audio := mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 2), "-b", "160", "-t")
	half := len(audio) / 2 / 480 * 480 // a frame boundary: the stream is CBR 480-byte frames
	head, tail := audio[:half], audio[half:]
	v24 := id3v24WithFooter("A title")
	v23, err := mp3.Tag{Title: "x"}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	v23[3] = 3 // the frames written are valid ID3v2.3 too
	junk := []byte(strings.Repeat("<html>503 Service Unavailable</html>", 10))
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 3000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	fr := func(n int) item { return item{mp3.KindFrame, "", n} }
	tg := func(k mp3.TagKind, n int) item { return item{mp3.KindTag, k, n} }
	jk := func(n int) item { return item{mp3.KindJunk, "", n} }

	cases := []struct {
		name string
		b    []byte
		want []item
	}{
		{"id3v2.4 with footer first", cat(v24, audio), []item{tg(mp3.TagID3v2, len(v24)), fr(len(audio))}},
		{"id3v2.3 and id3v1", cat(v23, audio, id3v1()), []item{tg(mp3.TagID3v2, len(v23)), fr(len(audio)), tg(mp3.TagID3v1, 128)}},
		{"id3v2 in the middle", cat(head, v24, tail), []item{fr(len(head)), tg(mp3.TagID3v2, len(v24)), fr(len(tail))}},
		{"apev2 with header at the end", cat(audio, apeTag(true)), []item{fr(len(audio)), tg(mp3.TagAPE, len(apeTag(true)))}},
		{"apev2 footer only, then id3v1", cat(audio, apeTag(false), id3v1()), []item{fr(len(audio)), tg(mp3.TagAPE, len(apeTag(false))), tg(mp3.TagID3v1, 128)}},
		{"apev2 in the middle", cat(head, apeTag(false), tail), []item{fr(len(head)), tg(mp3.TagAPE, len(apeTag(false))), fr(len(tail))}},
		{"junk then apev2 footer", cat(audio, junk, apeTag(false)), []item{fr(len(audio)), jk(len(junk)), tg(mp3.TagAPE, len(apeTag(false)))}},
		{"junk first", cat(junk, audio), []item{jk(len(junk)), fr(len(audio))}},
		{"junk in the middle", cat(head, junk, tail), []item{fr(len(head)), jk(len(junk)), fr(len(tail))}},
		{"noise in the middle", cat(head, noise, tail), []item{fr(len(head)), jk(len(noise)), fr(len(tail))}},
		{"truncated last frame", audio[:len(audio)-100], []item{fr(len(audio) - 480), {mp3.KindTruncated, "", 380}}},
		{"noise only", noise, []item{jk(len(noise))}},
		{"empty", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := scanAll(t, tc.b)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("items %v\nwant  %v", got, tc.want)
			}
		})
	}
}

func TestScannerKeepsSmallTags(t *testing.T) {
	tag, err := mp3.Tag{Title: "Kept", Chapters: []mp3.Chapter{{ID: "c0", Title: "One", End: time.Second, StartOffset: -1, EndOffset: -1}}}.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	audio := mp3test.Encode(t, mp3test.Speech(24000, 1, time.Second, -20, 2), "-b", "160")
	a, err := mp3.Analyze(context.Background(), bytes.NewReader(append(tag, audio...)), mp3.Options{Tags: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tags) != 1 || a.Tags[0].Info == nil || a.Tags[0].Info.Text["TIT2"] != "Kept" || len(a.Tags[0].Info.Chapters) != 1 {
		t.Fatalf("tags %+v", a.Tags)
	}
}
