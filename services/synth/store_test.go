package synth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/fault"
	"github.com/narrator-project/narrator/services/synth"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// unreachableCache is a cache whose store has gone away (NATS restarting,
// say) until it is brought back.
type unreachableCache struct {
	*synth.MemoryCache
	getDown, putDown bool
}

var errUnreachable = errors.New("queue: put blob: nats: no responders available for request")

func (c *unreachableCache) Get(ctx context.Context, key string) ([]byte, error) {
	if c.getDown {
		return nil, errUnreachable
	}
	return c.MemoryCache.Get(ctx, key)
}

func (c *unreachableCache) Put(ctx context.Context, key string, audio []byte) error {
	if c.putDown {
		return errUnreachable
	}
	return c.MemoryCache.Put(ctx, key, audio)
}

// TestAudioNotStoredIsNotDone checks that a chunk whose audio cannot be
// kept fails, to be retried, rather than being reported done with its audio
// nowhere for stitching to find.
func TestAudioNotStoredIsNotDone(t *testing.T) {
	fake := startFake(t, faketts.Config{})
	cache := &unreachableCache{MemoryCache: synth.NewMemoryCache(), putDown: true}
	s := newSynth(t, newOpenAI(t, fake, synth.OpenAIConfig{}), cache, synth.Config{})
	req := synth.Request{Text: strings.Repeat("Words to read aloud. ", 10)}

	res, err := s.Synthesize(t.Context(), req)
	wantClass(t, err, synth.ErrStore, false, 0)
	if !errors.Is(err, errUnreachable) {
		t.Errorf("err = %v, want the store's error kept", err)
	}
	if res.Billed != 210 {
		t.Errorf("billed %d; the provider answered, so 210 characters were paid for", res.Billed)
	}
	if cache.Len() != 0 {
		t.Fatal("audio in the cache after a failed put")
	}

	// With the store back, the retry stores the audio.
	cache.putDown = false
	if _, err := s.Synthesize(t.Context(), req); err != nil || cache.Len() != 1 {
		t.Fatalf("retry: %v, %d entries cached", err, cache.Len())
	}

	// A store that cannot be read fails before paying for audio it could
	// not keep either.
	cache.getDown = true
	_, err = s.Synthesize(t.Context(), synth.Request{Text: "A new sentence."})
	wantClass(t, err, synth.ErrStore, false, 0)
	if n := len(fake.Log()); n != 2 {
		t.Errorf("%d requests, want 2: the unreadable store cost one", n)
	}
}

func TestReadable(t *testing.T) {
	for _, tc := range []struct {
		name, text, lang string
		ok               bool
	}{
		{"news", "The council met on Tuesday. It voted 7–2 to fund the flood wall.", "", true},
		{"emoji only", "🎉🎉🎉 😀😃😄!", "", false},
		{"punctuation only", "* * *\n\n— … —", "", false},
		{"digits are read", "2025", "", true},
		{"a SHA-256", "The file's hash is " + strings.Repeat("9f86d081", 8) + ".", "", true},
		{"a longest German word", "Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz", "de", true},
		{"a pasted blob", "Data: " + strings.Repeat("aGVsbG8gd29ybGQ", 10) + " end.", "", false},
		{"Chinese has no spaces", strings.Repeat("市议会周二投票决定为防洪墙提供资金。", 10), "", true},
		{"Arabic for any voice", "صوّت مجلس المدينة يوم الثلاثاء على تمويل جدار الحماية.", "", true},
		{"Arabic for an English voice", "صوّت مجلس المدينة يوم الثلاثاء على تمويل جدار الحماية.", "en", false},
		{"Arabic for an Arabic voice", "صوّت مجلس المدينة يوم الثلاثاء على تمويل جدار الحماية.", "ar", true},
		{"Ukrainian with Latin names", "Депутати зустрілися з делегацією NATO та OSCE у Києві.", "uk", true},
		{"Ukrainian for an English voice", "Депутати міської ради в понеділок ухвалили бюджет.", "en", false},
		{"English for a Ukrainian voice", "The council met on Tuesday.", "uk", true},
		{"a voice this check does not know", "صوّت مجلس المدينة.", "xx", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := synth.Readable(tc.text, tc.lang)
			if (err == nil) != tc.ok {
				t.Fatalf("Readable = %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!errors.Is(err, synth.ErrUnreadable) || !fault.IsPermanent(err)) {
				t.Errorf("err = %v, want a permanent ErrUnreadable", err)
			}
		})
	}
}
