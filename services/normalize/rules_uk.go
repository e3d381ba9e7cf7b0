package normalize

import (
	"regexp"
	"strconv"
	"strings"
)

var ukOnes = [...]string{"нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять",
	"десять", "одинадцять", "дванадцять", "тринадцять", "чотирнадцять", "п'ятнадцять", "шістнадцять",
	"сімнадцять", "вісімнадцять", "дев'ятнадцять"}

var ukTens = [...]string{"", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят",
	"вісімдесят", "дев'яносто"}

var ukHundreds = [...]string{"", "сто", "двісті", "триста", "чотириста", "п'ятсот", "шістсот", "сімсот",
	"вісімсот", "дев'ятсот"}

// ukScales are the group names in their three plural forms (one, few, many).
var ukScales = [...][3]string{
	{}, {"тисяча", "тисячі", "тисяч"}, {"мільйон", "мільйони", "мільйонів"}, {"мільярд", "мільярди", "мільярдів"},
	{"трильйон", "трильйони", "трильйонів"},
}

// ukForm picks the plural form Ukrainian uses after n: 1 for "одна
// гривня", 2 for "дві гривні", 5 for "п'ять гривень".
func ukForm(n int) int {
	switch {
	case n%10 == 1 && n%100 != 11:
		return 0
	case n%10 >= 2 && n%10 <= 4 && (n%100 < 12 || n%100 > 14):
		return 1
	}
	return 2
}

// ukUnder1000 says 1 to 999; feminine gives "одна", "дві" for nouns such
// as тисяча and гривня.
func ukUnder1000(n int, feminine bool) string {
	var parts []string
	if n >= 100 {
		parts = append(parts, ukHundreds[n/100])
		n %= 100
	}
	if n >= 20 {
		parts = append(parts, ukTens[n/10])
		n %= 10
	}
	if n > 0 || len(parts) == 0 {
		w := ukOnes[n]
		if feminine && n == 1 {
			w = "одна"
		} else if feminine && n == 2 {
			w = "дві"
		}
		parts = append(parts, w)
	}
	return strings.Join(parts, " ")
}

// ukCardinal says a string of digits in the nominative case.
func ukCardinal(digits string, feminine bool) string {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "нуль"
	}
	if len(digits) > 3*len(ukScales) {
		return ukDigits(digits)
	}
	groups := thousands(digits)
	var parts []string
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			continue
		}
		if i == 0 {
			parts = append(parts, ukUnder1000(g, feminine))
			continue
		}
		parts = append(parts, ukUnder1000(g, i == 1)+" "+ukScales[i][ukForm(g)])
	}
	return strings.Join(parts, " ")
}

func ukDigits(digits string) string {
	var parts []string
	for _, r := range digits {
		if r >= '0' && r <= '9' {
			parts = append(parts, ukOnes[r-'0'])
		}
	}
	return strings.Join(parts, " ")
}

// ukNoun is a noun in its three plural forms and its gender.
type ukNoun struct {
	forms    [3]string
	feminine bool
}

var ukCurrencies = map[string]ukNoun{
	"₴":   {[3]string{"гривня", "гривні", "гривень"}, true},
	"грн": {[3]string{"гривня", "гривні", "гривень"}, true},
	"$":   {[3]string{"долар", "долари", "доларів"}, false},
	"€":   {[3]string{"євро", "євро", "євро"}, false},
}

var ukPercent = ukNoun{[3]string{"відсоток", "відсотки", "відсотків"}, false}

// ukCount says n things: "дві гривні", "п'ять відсотків". A fraction takes
// the genitive singular: "два кома п'ять відсотка".
func ukCount(intPart, frac string, noun ukNoun) string {
	intPart = strings.ReplaceAll(strings.ReplaceAll(intPart, " ", ""), "\u00a0", "")
	if frac != "" {
		return ukCardinal(intPart, false) + " кома " + ukDigits(frac) + " " + noun.forms[1]
	}
	n, _ := strconv.Atoi(intPart[max(0, len(intPart)-3):])
	return ukCardinal(intPart, noun.feminine) + " " + noun.forms[ukForm(n)]
}

// ukrainianRules cover numbers, money, percentages, dates, years,
// decades, times and written ordinals, each in the case its noun or
// preposition asks for.
func ukrainianRules() []rule {
	const num = `(\d{1,3}(?:[  ]\d{3})+|\d+)(?:[.,](\d+))?`
	R := func(name, pat string, light bool, fn func(s string, m []int) (string, bool)) rule {
		return rule{name: name, re: regexp.MustCompile(pat), fn: fn, light: light}
	}
	rules := []rule{
		R("email", `[A-Za-z0-9._%+&-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`, true, func(s string, m []int) (string, bool) {
			return spellAddress(s[m[0]:m[1]], false), true
		}),
		R("money before", `([$€₴])\s?`+num, false, func(s string, m []int) (string, bool) {
			return ukCount(group(s, m, 2), group(s, m, 3), ukCurrencies[group(s, m, 1)]), true
		}),
		R("money after", num+`\s?(грн|₴|\$|€)(\.?)`, false, func(s string, m []int) (string, bool) {
			return ukCount(group(s, m, 1), group(s, m, 2), ukCurrencies[group(s, m, 3)]), true
		}),
		R("percent", num+`\s?%`, false, func(s string, m []int) (string, bool) {
			return ukCount(group(s, m, 1), group(s, m, 2), ukPercent), true
		}),
	}
	rules = append(rules, ukDateRules()...)
	return append(rules, []rule{
		R("decimal", `\b(\d+)[.,](\d+)\b`, false, func(s string, m []int) (string, bool) {
			return ukCardinal(group(s, m, 1), false) + " кома " + ukDigits(group(s, m, 2)), true
		}),
		R("cardinal", `\d+`, false, func(s string, m []int) (string, bool) {
			return ukCardinal(s[m[0]:m[1]], false), true
		}),
		R("symbols", `\s?&\s?|(\+)`, true, func(s string, m []int) (string, bool) {
			if group(s, m, 1) != "" {
				return " плюс ", true
			}
			return " і ", true
		}),
	}...)
}
