package align_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/align"
)

func texts(ws []align.Word) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.Text
	}
	return strings.Join(s, " ")
}

func TestWordsNormalizeWhatTranscriptsWriteDifferently(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"The Council's budget—approved!", "the councils budget approved"},
		{"forty-two members", "forty two members"},
		{"42 members", "forty two members"},
		{"in 1999 and 2005, and 2024", "in nineteen ninety nine and two thousand five and twenty twenty four"},
		{"1,999 people", "one thousand nine hundred ninety nine people"},
		{"one hundred and five votes", "one hundred five votes"},
		{"rose 3.5% on the 21st", "rose three point five percent on the twenty first"},
		{"Rock & roll", "rock and roll"},
		{"1906", "nineteen oh six"},
		{"Тисяча гривень", "тисяча гривень"},
		{"", ""},
	} {
		if got := texts(align.Words(tc.in)); got != tc.want {
			t.Errorf("Words(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWordsKeepTheirSpans(t *testing.T) {
	text := "Pay 42 euros, she said."
	for _, w := range align.Words(text) {
		src := text[w.Start:w.End]
		if src != "42" && !strings.EqualFold(src, w.Text) {
			t.Errorf("word %q spans %q", w.Text, src)
		}
	}
}

func TestAlignFindsWhatWasNotSaid(t *testing.T) {
	ref := "The council approved the budget on Tuesday. Residents will pay lower fees next year. The mayor said forty-two schools get new roofs."
	for _, tc := range []struct {
		name, heard string
		errors      int
		spans       []string // kind: text / heard
		omitted     int
		inserted    int
	}{
		{"clean, written differently", "the council approved the budget on tuesday residents will pay lower fees next year the mayor said 42 schools get new roofs", 0, nil, 0, 0},
		{"a sentence dropped", "The council approved the budget on Tuesday. The mayor said 42 schools get new roofs.", 7,
			[]string{"omitted: residents will pay lower fees next year / "}, 7, 0},
		{"a phrase repeated", "The council approved the budget on Tuesday. Residents will pay lower fees, residents will pay lower fees next year. The mayor said 42 schools get new roofs.", 5,
			[]string{"inserted:  / residents will pay lower fees"}, 0, 5},
		{"a number misread", "The council approved the budget on Tuesday. Residents will pay lower fees next year. The mayor said 24 schools get new roofs.", 2,
			[]string{"substituted: forty two / twenty four"}, 0, 0},
		{"stopped early", "The council approved the budget on Tuesday. Residents will pay", 13,
			[]string{"omitted: lower fees next year the mayor said forty two schools get new roofs / "}, 13, 0},
		{"a homophone", "The council approved the budget on Tuesday. Residents will pay lower fees next year. The mayor said forty-two schools get knew roofs.", 1,
			[]string{"substituted: new / knew"}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := align.Align(align.Words(ref), align.Words(tc.heard))
			var spans []string
			for _, s := range r.Spans {
				spans = append(spans, fmt.Sprintf("%s: %s / %s", s.Kind, s.Text, s.Said))
			}
			if r.Errors != tc.errors || !slices.Equal(spans, tc.spans) {
				t.Errorf("%d errors, spans %q; want %d, %q", r.Errors, spans, tc.errors, tc.spans)
			}
			if want := float64(tc.errors) / 23; r.RefWords != 23 || r.WER != want {
				t.Errorf("WER %v of %d words, want %v of 23", r.WER, r.RefWords, want)
			}
			if o, i := r.Longest(align.Omitted), r.Longest(align.Inserted); o != tc.omitted || i != tc.inserted {
				t.Errorf("longest omitted %d, inserted %d; want %d, %d", o, i, tc.omitted, tc.inserted)
			}
		})
	}
}

func TestAlignMapsEveryTextWordToWhatWasHeard(t *testing.T) {
	ref, heard := align.Words("one two three four"), align.Words("one three four five")
	r := align.Align(ref, heard)
	if want := []int{0, -1, 1, 2}; !slices.Equal(r.Heard, want) {
		t.Errorf("heard %v, want %v", r.Heard, want)
	}
}

// FuzzAlign checks the alignment's invariants on any two texts: the
// distance is bounded by the lengths, the spans account for every error,
// and the map of heard words runs forwards.
func FuzzAlign(f *testing.F) {
	f.Add("The council approved 42 budgets.", "the council approved forty-two budgets")
	f.Add("a b c d e", "a e")
	f.Add("", "words heard in silence")
	f.Add("1,000,000.5th 2024's", "'''")
	f.Fuzz(func(t *testing.T, a, b string) {
		ref, heard := align.Words(a), align.Words(b)
		if len(ref) > 300 || len(heard) > 300 {
			t.Skip()
		}
		for _, w := range append(slices.Clone(ref), heard...) {
			if w.Text == "" || w.Start < 0 || w.End > max(len(a), len(b)) || w.Start >= w.End {
				t.Fatalf("word %+v", w)
			}
		}
		r := align.Align(ref, heard)
		n, m := len(ref), len(heard)
		if r.Errors < abs(n-m) || r.Errors > max(n, m) {
			t.Fatalf("%d errors for %d and %d words", r.Errors, n, m)
		}
		sum, last := 0, -1
		for _, s := range r.Spans {
			rl, hl := s.Ref[1]-s.Ref[0], s.Heard[1]-s.Heard[0]
			sum += max(rl, hl)
			if rl < 0 || hl < 0 || rl+hl == 0 {
				t.Fatalf("span %+v", s)
			}
		}
		if sum != r.Errors {
			t.Fatalf("spans account for %d errors, distance is %d", sum, r.Errors)
		}
		for i, j := range r.Heard {
			if j >= 0 {
				if j <= last || j >= m {
					t.Fatalf("text word %d heard as %d after %d", i, j, last)
				}
				last = j
			}
		}
		if self := align.Align(ref, ref); self.Errors != 0 {
			t.Fatalf("a text differs from itself by %d", self.Errors)
		}
	})
}

func abs(x int) int { return max(x, -x) }
