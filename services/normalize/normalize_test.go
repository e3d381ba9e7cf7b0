package normalize

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func newNormalizer(t testing.TB, opts Options) *Normalizer {
	t.Helper()
	n, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEnglish covers each kind of rewrite in news sentences.
func TestEnglish(t *testing.T) {
	n := newNormalizer(t, Options{})
	for _, tc := range []struct{ name, in, want string }{
		{"money with scale", "It costs $4.2 billion.", "It costs four point two billion dollars."},
		{"euros", "a €15 million deal", "a fifteen million euro deal"},
		{"pounds and pence", "Tickets cost £1.20 each.", "Tickets cost one pound twenty pence each."},
		{"hryvnias", "Bread costs ₴35.", "Bread costs thirty five hryvnias."},
		{"attributive money", "a $31 million grant from the state", "a thirty one million dollar grant from the state"},
		{"money as an amount", "it paid $31 million for the land", "it paid thirty one million dollars for the land"},
		{"percent", "a 0.25% rise and 38% more", "a zero point two five percent rise and thirty eight percent more"},
		{"date", "on Sept. 3, 2025, at noon", "on September third, twenty twenty five, at noon"},
		{"day month", "on 3 July 2024", "on the third of July twenty twenty four"},
		{"year range", "from 2014 to 2022 and 2014-2022", "from twenty fourteen to twenty twenty two and twenty fourteen to twenty twenty two"},
		{"decade", "the 1990s and the '80s", "the nineteen nineties and the eighties"},
		{"time", "at 11:30 p.m. and 6 a.m.", "at eleven thirty PM and six AM"},
		{"twenty-four hour time", "at 14:05", "at fourteen oh five"},
		{"ordinal", "the 21st century and 3rd place", "the twenty first century and third place"},
		{"cardinal", "1,140 homes and 12 days", "one thousand one hundred and forty homes and twelve days"},
		{"negative", "it fell to -5 overnight", "it fell to minus five overnight"},
		{"score", "they won 45-17", "they won forty five to seventeen"},
		{"measure", "a 2.4-mile wall, 41°C and 12kg", "a two point four mile wall, forty one degrees Celsius and twelve kilograms"},
		{"speed", "winds of 120 km/h", "winds of one hundred and twenty kilometers per hour"},
		{"fraction", "4 1/2 hours, 3/4 of voters", "four and a half hours, three quarters of voters"},
		{"titles", "Gen. Syrskyi and Dr. Lee met Mr. Smith", "General Syrskyi and doctor Lee met mister Smith"},
		{"saint and street", "St. Paul's Church on Elm St. near Main St", "Saint Paul's Church on Elm Street near Main St"},
		{"street ends sentence", "He lives on Elm St. It is quiet.", "He lives on Elm Street. It is quiet."},
		{"number sign", "No. 10 Downing Street", "number ten Downing Street"},
		{"abbreviations", "apples, pears etc. and Acme Inc. staff", "apples, pears et cetera and Acme Incorporated staff"},
		{"url", "see https://www.example.com/news/today.", "see W W W dot example dot com slash news slash today."},
		{"email", "write to desk@courier.example", "write to desk at courier dot example"},
		{"symbols", "Smith & Sons, #1 and @nasa", "Smith and Sons, number one and at nasa"},
		{"letters and digits", "the F-35 and COVID-19 in 4K", "the F thirty five and COVID nineteen in four K"},
		{"phone", "call 555-0123", "call five five five, zero one two three"},
		{"codes", "ZIP 90210 and 007", "ZIP nine zero two one zero and zero zero seven"},
		{"no change", "Nothing to change here.", "Nothing to change here."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := n.Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q)\n got  %q\n want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestNoAnd checks the American style without "and" in numbers.
func TestNoAnd(t *testing.T) {
	n := newNormalizer(t, Options{NoAnd: true})
	if got, want := n.Normalize("123 people paid $1,925.21"), "one hundred twenty three people paid one thousand nine hundred twenty five dollars twenty one cents"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLight checks that light mode leaves numbers to the provider and
// still rewrites addresses, abbreviations and symbols.
func TestLight(t *testing.T) {
	n := newNormalizer(t, Options{Light: true})
	in := "Gen. Smith paid $5 million on Sept. 3 & wrote to a@b.com."
	want := "General Smith paid $5 million on Sept. 3 and wrote to a at b dot com."
	if got := n.Normalize(in); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestUkrainian checks numbers, money and percentages with Ukrainian
// agreement (одна гривня, дві гривні, п'ять гривень), and dates, years,
// times and ordinals in the case their noun or preposition asks for.
func TestUkrainian(t *testing.T) {
	n := newNormalizer(t, Options{Language: "uk"})
	for _, tc := range []struct{ in, want string }{
		{"Ціна 1 грн.", "Ціна одна гривня"},
		{"Ціна 2 грн", "Ціна дві гривні"},
		{"Ціна 5 грн", "Ціна п'ять гривень"},
		{"Зросло на 21%", "Зросло на двадцять один відсоток"},
		{"Коштувало 48 000 000 грн", "Коштувало сорок вісім мільйонів гривень"},
		{"$2", "два долари"},
		{"3 вересня 2025 року", "третього вересня дві тисячі двадцять п'ятого року"},
		{"Це сталося 3 вересня 2025 р. вранці", "Це сталося третього вересня дві тисячі двадцять п'ятого року вранці"},
		{"23 лютого 2022", "двадцять третього лютого дві тисячі двадцять другого року"},
		{"з 1 січня", "з першого січня"},
		{"У ніч на 3 вересня", "У ніч на третє вересня"},
		{"з 1 по 5 травня", "з першого по п'яте травня"},
		{"Фестиваль триватиме 1–5 травня", "Фестиваль триватиме з першого по п'яте травня"},
		{"від 10 до 12 червня", "від десятого до дванадцятого червня"},
		{"У 2025 році", "У дві тисячі двадцять п'ятому році"},
		{"у 2022 р. війна", "у дві тисячі двадцять другому році війна"},
		{"до 2014 року", "до дві тисячі чотирнадцятого року"},
		{"2000 року", "двотисячного року"},
		{"1991 рік", "тисяча дев'ятсот дев'яносто перший рік"},
		{"з 2014 по 2022 рік", "з дві тисячі чотирнадцятого по дві тисячі двадцять другий рік"},
		{"у 1990-х", "у тисяча дев'ятсот дев'яностих"},
		{"о 14:30", "о чотирнадцятій тридцять"},
		{"об 11:05", "об одинадцятій нуль п'ять"},
		{"до 18:00 і після 0:15", "до вісімнадцятої і після нульової п'ятнадцять"},
		{"Близько 14:30 почалося", "Близько чотирнадцятої тридцять почалося"},
		{"3-й батальйон", "третій батальйон"},
		{"47-ма бригада", "сорок сьома бригада"},
		{"3-тя хвиля", "третя хвиля"},
		{"100-та річниця", "сота річниця"},
		{"на 5-му поверсі", "на п'ятому поверсі"},
		{"Курс 41,5", "Курс сорок один кома п'ять"},
	} {
		if got := n.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := New(Options{Language: "de"}); err == nil {
		t.Error("New accepted a language without rules")
	}
}

func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if filepath.Dir(dir) == dir {
			t.Skip("repository root (go.mod) not found")
		}
	}
	p := filepath.Join(dir, "..", "shared", "corpora", "nemo-text-normalization-en")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("evaluation corpus not found at %s: skipping", p)
	}
	return p
}

// TestNeMo scores the English rules on the NeMo test cases per class and
// holds the target classes to 90% exact.
func TestNeMo(t *testing.T) {
	dir := corpusDir(t)
	n := newNormalizer(t, Options{})
	for _, class := range TargetClasses {
		cases, err := LoadNeMo(dir, class)
		if errors.Is(err, ErrNoCorpus) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		s := n.Score(class, cases)
		t.Logf("%-8s %3d/%3d %5.1f%%", class, s.Passed, s.Total, 100*s.Rate())
		for _, m := range s.Misses {
			t.Logf("    %q -> %q, corpus: %q", m.Written, m.Got, m.Spoken)
		}
		if s.Rate() < 0.9 {
			t.Errorf("%s: %.1f%% exact, under the 90%% target", class, 100*s.Rate())
		}
	}
}

// FuzzNormalize checks that normalizing never panics, returns valid
// UTF-8, and keeps every plain lower-case word of five letters or more:
// such words are never rewritten, so losing one means lost text.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"$4.2 billion on Sept. 3, 2025", "1:59 p.m. est", "12kg/kg", "4 1/2 lbs", "'80s",
		"a.bc@gmail.com", "https://x.io/a?b=c.", "St. St. st.", "-0.1 - -2", "1,2,3,,4", "№ 5 № ₴5,5 грн",
		"о 24:59 3 вересня 2025 р. у 1990-х 3-тя 10000-й з 2014 по 2022 рік"} {
		f.Add(s)
	}
	for _, lang := range []string{"en", "uk"} {
		n := newNormalizer(f, Options{Language: lang})
		_ = n
	}
	en := newNormalizer(f, Options{})
	uk := newNormalizer(f, Options{Language: "uk"})
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		for _, n := range []*Normalizer{en, uk} {
			out := n.Normalize(text)
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 from %q", text)
			}
			for _, w := range plainWords(text) {
				if !strings.Contains(out, w) {
					t.Fatalf("word %q lost: %q -> %q", w, text, out)
				}
			}
		}
	})
}

// plainWords returns the words of text made only of five or more
// lower-case ASCII letters, standing alone between spaces.
func plainWords(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		if len(w) < 5 || units[w].one != "" || enMonths[w[:3]] != "" {
			continue
		}
		plain := true
		for _, r := range w {
			if r > unicode.MaxASCII || !unicode.IsLower(r) {
				plain = false
				break
			}
		}
		if plain {
			out = append(out, w)
		}
	}
	return out
}

// TestMegabyte normalizes a megabyte of number-heavy text: it must end,
// and its speed is measured by BenchmarkNormalize.
func TestMegabyte(t *testing.T) {
	size := 1 << 20
	if testing.Short() {
		size = 1 << 17
	}
	var b strings.Builder
	for b.Len() < size {
		b.WriteString("On Sept. 3, 2025 at 6 p.m. the $4.2 billion plan raised 38% of 1,140 homes by 2.4 km; ")
	}
	out := newNormalizer(t, Options{}).Normalize(b.String())
	if strings.ContainsAny(out, "0123456789$%") {
		t.Error("digits left after normalization")
	}
}

func BenchmarkNormalize(b *testing.B) {
	text := "The $48.5 million plan, first proposed in 2019, will be paid for with a $31 million grant from FEMA, a 0.25% increase in the local sales tax and $6.2 million from the city’s reserve fund. Construction is due to begin on March 1, 2026."
	n := newNormalizer(b, Options{})
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		n.Normalize(text)
	}
}
