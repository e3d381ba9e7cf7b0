package normalize

import (
	"strconv"
	"strings"
)

var enOnes = [...]string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
	"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}

var enTens = [...]string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}

var enScales = [...]string{"", "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
	"sextillion", "septillion", "octillion", "nonillion", "decillion"}

// enUnder100 says a number from 0 to 99.
func enUnder100(n int) string {
	if n < 20 {
		return enOnes[n]
	}
	if n%10 == 0 {
		return enTens[n/10]
	}
	return enTens[n/10] + " " + enOnes[n%10]
}

// enUnder1000 says a number from 1 to 999; with and, "one hundred and
// twenty three".
func enUnder1000(n int, and bool) string {
	if n < 100 {
		return enUnder100(n)
	}
	s := enOnes[n/100] + " hundred"
	if r := n % 100; r > 0 {
		if and {
			s += " and"
		}
		s += " " + enUnder100(r)
	}
	return s
}

// enCardinal says a string of decimal digits. With and, the British "and"
// goes before the last group's tens ("one hundred and five", "two
// thousand and five"), the house style of the evaluation corpus.
func enCardinal(digits string, and bool) string {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return "zero"
	}
	if len(digits) > 3*len(enScales) {
		return enDigits(digits)
	}
	groups := thousands(digits)
	var parts []string
	for i := len(groups) - 1; i >= 0; i-- {
		g := groups[i]
		if g == 0 {
			continue
		}
		if i == 0 {
			if and && g < 100 && len(groups) > 1 && groups[1] != 0 {
				parts = append(parts, "and")
			}
			parts = append(parts, enUnder1000(g, and))
			continue
		}
		parts = append(parts, enUnder1000(g, false)+" "+enScales[i])
	}
	return strings.Join(parts, " ")
}

// enDigits says each digit: "004" is "zero zero four".
func enDigits(digits string) string {
	var parts []string
	for _, r := range digits {
		if r >= '0' && r <= '9' {
			parts = append(parts, enOnes[r-'0'])
		}
	}
	return strings.Join(parts, " ")
}

var enOrdinalWord = map[string]string{
	"zero": "zeroth", "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
	"nine": "ninth", "twelve": "twelfth",
}

// enOrdinalize turns the last word of a cardinal into its ordinal.
func enOrdinalize(cardinal string) string {
	i := strings.LastIndexByte(cardinal, ' ')
	head, last := cardinal[:i+1], cardinal[i+1:]
	switch {
	case enOrdinalWord[last] != "":
		last = enOrdinalWord[last]
	case strings.HasSuffix(last, "y"):
		last = last[:len(last)-1] + "ieth"
	default:
		last += "th"
	}
	return head + last
}

// enOrdinal says a number as an ordinal, without "and": "one hundred
// twenty first".
func enOrdinal(digits string) string {
	return enOrdinalize(enCardinal(digits, false))
}

// enYear says a year the way years are read: "nineteen ninety four",
// "two thousand six", "twenty twelve", "fifteen oh six", "three forty".
func enYear(digits string) string {
	y, err := strconv.Atoi(digits)
	if err != nil || y < 0 || y > 9999 {
		return enCardinal(digits, true)
	}
	switch {
	case y < 100:
		if len(digits) == 2 && digits[0] == '0' {
			return enDigits(digits)
		}
		return enUnder100(y)
	case y%1000 == 0, y >= 2000 && y < 2010:
		return enCardinal(digits, false)
	}
	hi, lo := y/100, y%100
	switch {
	case lo == 0:
		return enUnder100(hi) + " hundred"
	case lo < 10:
		return enUnder100(hi) + " oh " + enOnes[lo]
	}
	return enUnder100(hi) + " " + enUnder100(lo)
}

// enPlural makes the last word of a spoken number plural, for decades:
// "nineteen eighty" becomes "nineteen eighties".
func enPlural(words string) string {
	i := strings.LastIndexByte(words, ' ')
	head, last := words[:i+1], words[i+1:]
	switch {
	case strings.HasSuffix(last, "y"):
		last = last[:len(last)-1] + "ies"
	case strings.HasSuffix(last, "x"), strings.HasSuffix(last, "s"):
		last += "es"
	default:
		last += "s"
	}
	return head + last
}

// enDecimal says a decimal number: "two point zero five", "point one",
// "minus zero point one".
func enDecimal(intPart, frac string, and bool) string {
	var s string
	if intPart != "" {
		s = enCardinal(intPart, and)
	}
	if frac != "" {
		if s != "" {
			s += " "
		}
		s += "point " + enDigits(frac)
	}
	return s
}

// thousands splits a string of decimal digits into groups of three from
// the right: "1234567" → [567 234 1].
func thousands(digits string) []int {
	var groups []int
	for len(digits) > 0 {
		cut := max(0, len(digits)-3)
		g, _ := strconv.Atoi(digits[cut:])
		groups = append(groups, g)
		digits = digits[:cut]
	}
	return groups
}
