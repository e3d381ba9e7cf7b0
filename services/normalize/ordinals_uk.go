package normalize

import (
	"cmp"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Ukrainian ordinals change only their last word: 2025-го is "дві тисячі
// двадцять п'ятого". The stems below take the ending of the case and
// gender the text asks for.

var ukOrdUnits = [...]string{"", "перш", "друг", "трет", "четверт", "п'ят", "шост", "сьом", "восьм", "дев'ят"}

var ukOrdTeens = [...]string{"десят", "одинадцят", "дванадцят", "тринадцят", "чотирнадцят", "п'ятнадцят",
	"шістнадцят", "сімнадцят", "вісімнадцят", "дев'ятнадцят"}

var ukOrdTens = [...]string{"", "", "двадцят", "тридцят", "сороков", "п'ятдесят", "шістдесят", "сімдесят",
	"вісімдесят", "дев'яност"}

var ukOrdHundreds = [...]string{"", "сот", "двохсот", "трьохсот", "чотирьохсот", "п'ятисот", "шестисот",
	"семисот", "восьмисот", "дев'ятисот"}

// ukOrdThousands prefix "тисячн" for round thousands: 2000 is двотисячний.
var ukOrdThousands = [...]string{"", "", "дво", "три", "чотири", "п'яти", "шести", "семи", "восьми", "дев'яти"}

// ukCase is the case, gender and number of an ordinal, as its ending.
type ukCase int

const (
	ukMascNom   ukCase = iota // другий рік
	ukMascGen                 // другого року
	ukMascLoc                 // у другому році
	ukFemNom                  // друга година
	ukFemGen                  // другої години
	ukFemLoc                  // о другій годині
	ukNeutNom                 // друге
	ukPluralGen               // дев'яностих
	ukPluralNom               // дев'яності
)

// ukEndings are the endings of hard stems and of the one soft stem, трет-.
var ukEndings = [...][2]string{
	ukMascNom:   {"ий", "ій"},
	ukMascGen:   {"ого", "ього"},
	ukMascLoc:   {"ому", "ьому"},
	ukFemNom:    {"а", "я"},
	ukFemGen:    {"ої", "ьої"},
	ukFemLoc:    {"ій", "ій"},
	ukNeutNom:   {"е", "є"},
	ukPluralGen: {"их", "іх"},
	ukPluralNom: {"і", "і"},
}

// ukOrdinal says a string of digits as an ordinal in case c, or returns
// false for numbers it has no words for (above 9,999 when round to the
// thousand, or too long).
func ukOrdinal(digits string, c ukCase) (string, bool) {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" || len(digits) > 3*len(ukScales) {
		return "", false
	}
	n, err := strconv.ParseInt(digits[max(0, len(digits)-3):], 10, 64)
	if err != nil {
		return "", false
	}
	r := int(n) // the last three digits
	var words []string
	if len(digits) > 3 && r > 0 {
		// A year says "тисяча", not "одна тисяча".
		words = append(words, strings.TrimPrefix(ukCardinal(digits[:len(digits)-3]+"000", false), "одна "))
	}
	stem := ""
	switch {
	case r == 0:
		k, err := strconv.Atoi(digits[:len(digits)-3])
		if err != nil || k >= len(ukOrdThousands) {
			return "", false
		}
		stem = ukOrdThousands[k] + "тисячн"
	case r%100 == 0:
		stem = ukOrdHundreds[r/100]
	default:
		if r >= 100 {
			words = append(words, ukHundreds[r/100])
		}
		switch t := r % 100; {
		case t >= 10 && t < 20:
			stem = ukOrdTeens[t-10]
		case t%10 == 0:
			stem = ukOrdTens[t/10]
		default:
			if t >= 20 {
				words = append(words, ukTens[t/10])
			}
			stem = ukOrdUnits[t%10]
		}
	}
	soft := 0
	if stem == "трет" {
		soft = 1
	}
	return strings.Join(append(words, stem+ukEndings[c][soft]), " "), true
}

// ukMonths are the months in the genitive, as dates write them.
var ukMonths = "січня|лютого|березня|квітня|травня|червня|липня|серпня|вересня|жовтня|листопада|грудня"

// ukSuffixCase reads the case of a written ordinal from its suffix: 3-й,
// 3-го, 3-му, 3-я, 3-ої, 3-ій, 3-є, 1990-х.
var ukSuffixCase = map[string]ukCase{
	"й": ukMascNom, "ий": ukMascNom, "ій": ukFemLoc, "го": ukMascGen, "ого": ukMascGen, "му": ukMascLoc,
	"ому": ukMascLoc, "а": ukFemNom, "я": ukFemNom, "ої": ukFemGen, "е": ukNeutNom, "є": ukNeutNom,
	"ша": ukFemNom, "га": ukFemNom, "тя": ukFemNom, "та": ukFemNom, "ма": ukFemNom,
}

// letterAt reports whether a letter starts at byte i of s.
func letterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return i < len(s) && unicode.IsLetter(r)
}

// ukDateRules say dates, years, decades, times and ordinals written with
// a suffix. A year is an ordinal whose case follows its noun: "2025 року"
// is дві тисячі двадцять п'ятого року, "у 2022 році" у дві тисячі двадцять
// другому році.
func ukDateRules() []rule {
	R := func(name, pat string, fn func(s string, m []int) (string, bool)) rule {
		return rule{name: name, re: regexp.MustCompile(pat), fn: fn, needs: "0123456789"}
	}
	ord := func(digits string, c ukCase) (string, bool) { return ukOrdinal(digits, c) }
	// lead is what precedes the match: a preposition counts only as a
	// word of its own.
	const lead = `(^|[^\p{L}\d])`
	yearNoun := map[string]ukCase{"року": ukMascGen, "році": ukMascLoc, "рік": ukMascNom}
	return []rule{
		// "1–5 травня" and "з 1 по 5 травня" are both said "з першого по
		// п'яте травня"; "до" keeps the genitive.
		R("day range", lead+`(?:((?i:з|від))\s+)?(\d{1,2})(?:\s*[–—-]\s*|\s+(по|до)\s+)(\d{1,2})\s+(`+ukMonths+`)`, func(s string, m []int) (string, bool) {
			from, _ := strconv.Atoi(group(s, m, 3))
			to, _ := strconv.Atoi(group(s, m, 5))
			if from < 1 || from > 31 || to < 1 || to > 31 {
				return "", false
			}
			prep, conn, c := cmp.Or(group(s, m, 2), "з"), cmp.Or(group(s, m, 4), "по"), ukNeutNom
			if conn == "до" {
				c = ukMascGen
			}
			a, _ := ord(group(s, m, 3), ukMascGen)
			b, _ := ord(group(s, m, 5), c)
			return group(s, m, 1) + prep + " " + a + " " + conn + " " + b + " " + group(s, m, 6), true
		}),
		// The day is "третього вересня", but "на третє вересня" and "по
		// третє вересня" (число, in the accusative).
		R("date", lead+`(?:((?i:на|по))\s+)?(\d{1,2})\s+(`+ukMonths+`)(?:\s+(\d{4})(?:\s*(?:року|р\.))?)?`, func(s string, m []int) (string, bool) {
			day, _ := strconv.Atoi(group(s, m, 3))
			if day < 1 || day > 31 {
				return "", false
			}
			c, prep := ukMascGen, group(s, m, 2)
			if prep != "" {
				c, prep = ukNeutNom, prep+" "
			}
			d, _ := ord(group(s, m, 3), c)
			out := group(s, m, 1) + prep + d + " " + group(s, m, 4)
			if y := group(s, m, 5); y != "" {
				w, ok := ord(y, ukMascGen)
				if !ok {
					return "", false
				}
				out += " " + w + " року"
			}
			return out, true
		}),
		R("year range", lead+`з\s+(\d{4})\s+(по|до)\s+(\d{4})\s+(рік|роки|року)`, func(s string, m []int) (string, bool) {
			from, ok1 := ord(group(s, m, 2), ukMascGen)
			c := ukMascNom // по + accusative
			if group(s, m, 3) == "до" {
				c = ukMascGen
			}
			to, ok2 := ord(group(s, m, 4), c)
			if !ok1 || !ok2 {
				return "", false
			}
			return group(s, m, 1) + "з " + from + " " + group(s, m, 3) + " " + to + " " + group(s, m, 5), true
		}),
		R("year", lead+`(?:(у|в|У|В)\s+)?(\d{3,4})(?:-(?:го|й|му))?\s*(року|році|рік|р\.)`, func(s string, m []int) (string, bool) {
			prep, noun := group(s, m, 2), group(s, m, 4)
			c, ok := yearNoun[noun]
			if !ok { // р.
				c, noun = ukMascGen, "року"
				if prep != "" {
					c, noun = ukMascLoc, "році"
				}
			}
			w, ok := ord(group(s, m, 3), c)
			if !ok {
				return "", false
			}
			if prep != "" {
				prep += " "
			}
			return group(s, m, 1) + prep + w + " " + noun, true
		}),
		R("decade", `(\d{2,4})-(х|их|ті|тих)`, func(s string, m []int) (string, bool) {
			if letterAt(s, m[1]) {
				return "", false
			}
			c := ukPluralGen
			if group(s, m, 2) == "ті" {
				c = ukPluralNom
			}
			return ord(group(s, m, 1), c)
		}),
		R("time", lead+`(?:((?i:о|об|до|після|з|від|по|близько))\s+)?(\d{1,2}):(\d{2})`, func(s string, m []int) (string, bool) {
			if m[1] < len(s) && isDigit(s[m[1]]) {
				return "", false
			}
			h, _ := strconv.Atoi(group(s, m, 3))
			mins, _ := strconv.Atoi(group(s, m, 4))
			if h > 24 || mins > 59 {
				return "", false
			}
			prep := group(s, m, 2)
			c := ukFemNom
			switch strings.ToLower(prep) {
			case "о", "об", "по":
				c = ukFemLoc
			case "до", "після", "з", "від", "близько":
				c = ukFemGen
			}
			hour := "нульов" + ukEndings[c][0]
			if h > 0 {
				hour, _ = ord(group(s, m, 3), c)
			}
			out := hour
			switch {
			case mins == 0:
			case mins < 10:
				out += " нуль " + ukOnes[mins]
			default:
				out += " " + ukCardinal(group(s, m, 4), false)
			}
			if prep != "" {
				out = prep + " " + out
			}
			return group(s, m, 1) + out, true
		}),
		R("ordinal", `(\d+)-(ого|ому|ий|ій|ої|го|му|ша|га|тя|та|ма|й|а|я|е|є)`, func(s string, m []int) (string, bool) {
			if letterAt(s, m[1]) {
				return "", false
			}
			return ord(group(s, m, 1), ukSuffixCase[group(s, m, 2)])
		}),
	}
}
