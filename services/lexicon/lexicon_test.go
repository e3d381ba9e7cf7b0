package lexicon

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustNew(t testing.TB, entries []Entry) *Lexicon {
	t.Helper()
	l, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var newsroom = []Entry{
	{Word: "Kyiv", Say: "Keev", Note: "the city's own pronunciation"},
	{Word: "Syrskyi", Say: "Seer-skee"},
	{Word: "Oleksandr Syrskyi", Say: "Oleksandr Seer-skee"},
	{Word: "NATO", Say: "Nato"},
	{Word: "OSCE", Spell: true},
	{Word: "zelensky", Say: "Zeh-LEN-skee", IgnoreCase: true},
	{Pattern: `\bKh(ar|er)kiv\b`, Say: "Kh${1}keev"},
}

// TestApply checks whole-word replacement, longest entry first, possessives,
// case handling, spelling and patterns.
func TestApply(t *testing.T) {
	l := mustNew(t, newsroom)
	for _, tc := range []struct{ in, want string }{
		{"Kyiv said", "Keev said"},
		{"Kyiv's mayor and (Kyiv)", "Keev's mayor and (Keev)"},
		{"Kyivan bakers", "Kyivan bakers"},
		{"Gen. Oleksandr Syrskyi met Syrskyi's aides", "Gen. Oleksandr Seer-skee met Seer-skee's aides"},
		{"NATO and the OSCE", "Nato and the O S C E"},
		{"ZELENSKY and Zelensky", "Zeh-LEN-skee and Zeh-LEN-skee"},
		{"Kharkiv, Kherkiv", "Kharkeev, Kherkeev"},
		{"nothing here", "nothing here"},
	} {
		if got := l.Apply(tc.in); got != tc.want {
			t.Errorf("Apply(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var none *Lexicon
	if got := none.Apply("Kyiv"); got != "Kyiv" {
		t.Errorf("nil lexicon changed text: %q", got)
	}
}

// TestVersion checks that the version is a content hash: the same
// entries in any order and with other notes share it; any change to what
// is said changes it.
func TestVersion(t *testing.T) {
	a := mustNew(t, newsroom)
	reordered := append([]Entry(nil), newsroom...)
	reordered[0], reordered[3] = reordered[3], reordered[0]
	reordered[1].Note = "a different note"
	if b := mustNew(t, reordered); a.Version() != b.Version() {
		t.Error("reordering entries or editing notes changed the version")
	}
	changed := append([]Entry(nil), newsroom...)
	changed[0].Say = "Kiv"
	if c := mustNew(t, changed); c.Version() == a.Version() {
		t.Error("changing a reading kept the version")
	}
	var none *Lexicon
	if none.Version() != mustNew(t, nil).Version() || len(a.Version()) != 64 {
		t.Error("empty lexicons disagree or the version is not a hex SHA-256")
	}
}

// TestJSON round-trips a lexicon and reads the bare-list form.
func TestJSON(t *testing.T) {
	l := mustNew(t, newsroom)
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"version":"`+l.Version()+`"`) {
		t.Errorf("JSON lacks the version: %s", b)
	}
	var back Lexicon
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Version() != l.Version() || back.Apply("Kyiv") != "Keev" || back.Len() != len(newsroom) {
		t.Error("round trip changed the lexicon")
	}
	list, err := Decode(strings.NewReader(`[{"word": "Lviv", "say": "Lveev"}]`))
	if err != nil || list.Apply("in Lviv") != "in Lveev" {
		t.Errorf("bare list: %v", err)
	}
	obj, err := Decode(strings.NewReader(`{"entries": [{"word": "Odesa", "say": "Oh-deh-sa"}]}`))
	if err != nil || obj.Apply("Odesa") != "Oh-deh-sa" {
		t.Errorf("object: %v", err)
	}
}

// TestInvalid checks that malformed entries are rejected with the reason.
func TestInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		entry Entry
		want  string
	}{
		{"nothing to match", Entry{Say: "x"}, "needs a word or a pattern"},
		{"both", Entry{Word: "a", Pattern: "b", Say: "x"}, "both"},
		{"says nothing", Entry{Word: "Kyiv"}, "says nothing"},
		{"bad pattern", Entry{Pattern: "(", Say: "x"}, "missing closing"},
		{"empty match", Entry{Pattern: "a*", Say: "x"}, "empty"},
		{"spelled pattern", Entry{Pattern: "ab", Spell: true}, "spell needs a word"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New([]Entry{tc.entry})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := Decode(strings.NewReader(`{"entries": [{"word": "x"}]}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Decode of a bad entry: %v", err)
	}
}

// TestReport checks the list of names and acronyms an editor should
// review: known words, sentence-initial common words and acronyms the
// lexicon covers are left out.
func TestReport(t *testing.T) {
	l := mustNew(t, newsroom)
	texts := []string{
		"Gen. Oleksandr Syrskyi visited Kyiv and Pokrovsk on Monday. The OSCE and NATO sent observers.",
		"Pokrovsk is under fire, said Serhii Dobriak of the OSCE. Residents told the UNHCR they want to stay.",
		"Then the convoy left. Then it returned.",
	}
	got := l.Report(texts...)
	var words []string
	for _, u := range got {
		words = append(words, u.Word+":"+u.Kind)
	}
	want := []string{"Pokrovsk:name", "Oleksandr:name", "Serhii:name", "Dobriak:name", "UNHCR:acronym"}
	if strings.Join(words, " ") != strings.Join(want, " ") {
		t.Errorf("report %v, want %v", words, want)
	}
	if got[0].Count != 2 || !strings.Contains(got[0].Context, "Pokrovsk") {
		t.Errorf("first entry %+v", got[0])
	}
}

func BenchmarkApply(b *testing.B) {
	l := mustNew(b, newsroom)
	text := strings.Repeat("Gen. Oleksandr Syrskyi told NATO and the OSCE in Kyiv that Kharkiv held. ", 20)
	for b.Loop() {
		l.Apply(text)
	}
}

// TestReportSkipsWordsEnginesKnow checks that the unknown-words report
// leaves out dictionary words, common given names and capitalized
// sentence starts, and flags rare names, initialisms and mixed-case brands.
func TestReportSkipsWordsEnginesKnow(t *testing.T) {
	var l *Lexicon
	got := l.Report("Four of the council members, Tom Becker and Angela Moore, met on Main Street by the Mill. " +
		"Councillor Oleksandr Syrskyi thanked the OSCE and showed a SoundCloud page. GET OUT and VOTE, the poster said.")
	var words []string
	for _, u := range got {
		words = append(words, u.Word+":"+u.Kind)
	}
	want := "Oleksandr:name Syrskyi:name OSCE:acronym SoundCloud:brand"
	if strings.Join(words, " ") != want {
		t.Errorf("report %v, want %s", words, want)
	}
}
