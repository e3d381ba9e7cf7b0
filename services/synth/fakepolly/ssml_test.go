package fakepolly

import "testing"

func TestSSMLChars(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want int
		ok   bool
	}{
		{`<speak>Hello</speak>`, 5, true},
		{`<speak>a &amp; b<break time="600ms"/>c</speak>`, 6, true},
		{`<speak><prosody rate="125%">fast</prosody></speak>`, 4, true},
		{`<speak><amazon:domain name="news">x</amazon:domain></speak>`, 1, true},
		{`Hello`, 0, false},
		{`<speak>a</speak><speak>b</speak>`, 0, false},
		{`<speak><prosody rate="5%">x</prosody></speak>`, 0, false},
		{`<speak><break time="soon"/></speak>`, 0, false},
		{`<speak><script/></speak>`, 0, false},
		{`<speak>a & b</speak>`, 0, false},
	} {
		n, err := ssmlChars(tc.doc)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("%s: %d, %v; want %d, ok %v", tc.doc, n, err, tc.want, tc.ok)
		}
	}
}

func FuzzSSMLChars(f *testing.F) {
	f.Add(`<speak>a &amp; b<break time="600ms"/>c</speak>`)
	f.Add(`<speak><prosody rate="x-fast">x</prosody></speak>`)
	f.Fuzz(func(t *testing.T, doc string) {
		n, err := ssmlChars(doc)
		if err == nil && (n < 0 || n > len(doc)) {
			t.Errorf("%d characters billed for %d bytes", n, len(doc))
		}
	})
}
