package normalize

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Number patterns: grouped thousands, plain digits, or a bare fraction.
const (
	numRE   = `(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+`
	scaleRE = `thousand|million|billion|trillion`
	ampmRE  = `(?i:([ap])\.\s?m\.?|([ap])m\b)`
	tzRE    = `(?i:\s?\b(e\.s\.t|e\.d\.t|c\.s\.t|c\.d\.t|m\.s\.t|m\.d\.t|p\.s\.t|p\.d\.t|est|edt|cst|cdt|mst|mdt|pst|pdt|gmt|utc|bst|cet|cest|eet|eest|msk)\b\.?)?`
	monthRE = `(?i:january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)`
)

var enMonths = map[string]string{
	"jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June",
	"jul": "July", "aug": "August", "sep": "September", "sept": "September", "oct": "October",
	"nov": "November", "dec": "December",
}

var enMonthByNumber = [...]string{"", "January", "February", "March", "April", "May", "June", "July", "August",
	"September", "October", "November", "December"}

func monthName(s string) string {
	s = strings.ToLower(strings.TrimSuffix(s, "."))
	if m, ok := enMonths[s]; ok {
		return m
	}
	if len(s) >= 3 {
		if m, ok := enMonths[s[:3]]; ok {
			return m
		}
	}
	return s
}

// currency is how an amount in one currency is said.
type currency struct {
	one, many       string // "dollar", "dollars"
	subOne, subMany string // "cent", "cents"; empty: no minor unit
}

var currencies = map[string]currency{
	"$": {"dollar", "dollars", "cent", "cents"},
	"€": {"euro", "euros", "cent", "cents"},
	"£": {"pound", "pounds", "penny", "pence"},
	"¥": {"yen", "yen", "", ""},
	"₩": {"won", "won", "", ""},
	"₴": {"hryvnia", "hryvnias", "kopiyka", "kopiykas"},
	"₹": {"rupee", "rupees", "paisa", "paise"},
	"₽": {"ruble", "rubles", "kopek", "kopeks"},
}

var dollarPrefixes = map[string]string{"US": "US", "A": "Australian", "AU": "Australian", "C": "Canadian",
	"CA": "Canadian", "NZ": "New Zealand", "HK": "Hong Kong", "S": "Singapore"}

var scaleAbbr = map[string]string{"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion",
	"t": "trillion", "tn": "trillion", "thousand": "thousand", "million": "million", "billion": "billion", "trillion": "trillion"}

var perWords = map[string]string{"mo": "month", "month": "month", "yr": "year", "year": "year", "wk": "week",
	"week": "week", "d": "day", "day": "day", "hr": "hour", "hour": "hour", "h": "hour"}

// unit is how a unit symbol is said, once and many times.
type unit struct{ one, many string }

var units = map[string]unit{
	"mm": {"millimeter", "millimeters"}, "cm": {"centimeter", "centimeters"}, "m": {"meter", "meters"},
	"km": {"kilometer", "kilometers"}, "ft": {"foot", "feet"}, "in": {"inch", "inches"}, "yd": {"yard", "yards"},
	"mi": {"mile", "miles"}, "mg": {"milligram", "milligrams"}, "g": {"gram", "grams"},
	"kg": {"kilogram", "kilograms"}, "lb": {"pound", "pounds"}, "lbs": {"pound", "pounds"},
	"oz": {"ounce", "ounces"}, "ml": {"milliliter", "milliliters"}, "l": {"liter", "liters"},
	"gal": {"gallon", "gallons"}, "mph": {"mile per hour", "miles per hour"},
	"km/h": {"kilometer per hour", "kilometers per hour"}, "kmh": {"kilometer per hour", "kilometers per hour"},
	"kph": {"kilometer per hour", "kilometers per hour"}, "m/s": {"meter per second", "meters per second"},
	"kbps": {"kilobit per second", "kilobits per second"}, "mbps": {"megabit per second", "megabits per second"},
	"gbps": {"gigabit per second", "gigabits per second"}, "kb": {"kilobyte", "kilobytes"},
	"mb": {"megabyte", "megabytes"}, "gb": {"gigabyte", "gigabytes"}, "tb": {"terabyte", "terabytes"},
	"hz": {"hertz", "hertz"}, "khz": {"kilohertz", "kilohertz"}, "mhz": {"megahertz", "megahertz"},
	"ghz": {"gigahertz", "gigahertz"}, "kw": {"kilowatt", "kilowatts"}, "mw": {"megawatt", "megawatts"},
	"gw": {"gigawatt", "gigawatts"}, "kwh": {"kilowatt hour", "kilowatt hours"},
	"mwh": {"megawatt hour", "megawatt hours"}, "gwh": {"gigawatt hour", "gigawatt hours"},
	"°c": {"degree Celsius", "degrees Celsius"}, "°f": {"degree Fahrenheit", "degrees Fahrenheit"},
	"ºc": {"degree Celsius", "degrees Celsius"}, "ºf": {"degree Fahrenheit", "degrees Fahrenheit"},
	"°": {"degree", "degrees"}, "ha": {"hectare", "hectares"}, "cc": {"cc", "cc"}, "km²": {"square kilometer", "square kilometers"},
	"km2": {"square kilometer", "square kilometers"}, "m²": {"square meter", "square meters"},
	"m2": {"square meter", "square meters"}, "km³": {"cubic kilometer", "cubic kilometers"},
	"m³": {"cubic meter", "cubic meters"}, "sq ft": {"square foot", "square feet"},
	"sq mi": {"square mile", "square miles"}, "sq km": {"square kilometer", "square kilometers"},
}

// unitRE lists unit symbols longest first, so that "km/h" wins over "km".
var unitRE = func() string {
	keys := make([]string, 0, len(units))
	for k := range units {
		keys = append(keys, k)
	}
	sortByLenDesc(keys)
	for i, k := range keys {
		keys[i] = regexp.QuoteMeta(k)
	}
	return `(?i:` + strings.Join(keys, "|") + `)`
}()

func sortByLenDesc(xs []string) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && (len(xs[j]) > len(xs[j-1]) || len(xs[j]) == len(xs[j-1]) && xs[j] < xs[j-1]); j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// abbreviations are expanded when followed by a space and a word.
var enTitles = map[string]string{
	"mr": "mister", "mrs": "misses", "ms": "miz", "dr": "doctor", "gen": "General", "sen": "Senator",
	"rep": "Representative", "gov": "Governor", "lt": "Lieutenant", "col": "Colonel", "capt": "Captain",
	"sgt": "Sergeant", "maj": "Major", "adm": "Admiral", "prof": "Professor", "rev": "Reverend",
	"hon": "Honorable", "pres": "President", "supt": "Superintendent", "insp": "Inspector", "cmdr": "Commander",
	"brig": "Brigadier", "fr": "Father", "mt": "Mount", "ft": "Fort", "messrs": "messieurs",
}

var enAbbrev = map[string]string{
	"jr": "Junior", "sr": "Senior", "co": "Company", "corp": "Corporation", "inc": "Incorporated",
	"ltd": "Limited", "bros": "Brothers", "ave": "Avenue", "blvd": "Boulevard", "rd": "Road", "dept": "Department",
	"univ": "University", "assn": "Association", "vs": "versus", "etc": "et cetera", "approx": "approximately",
	"e.g": "for example", "i.e": "that is", "hwy": "Highway", "ln": "Lane",
}

// lowerAbbrev are the abbreviations expanded when written in lower case;
// others ("co.", "rd.") are too often something else.
var lowerAbbrev = map[string]bool{"vs": true, "etc": true, "approx": true, "e.g": true, "i.e": true}

// enStarters are words that begin a new sentence after an abbreviation
// whose period also ends the sentence ("on Elm St. It was").
var enStarters = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`the a an it its he she they we i you his her their our my this that these
		those there here how what why when where who but and so yet if in on at as after before then now today
		did do does is are was were can could will would should has have had however meanwhile`) {
		enStarters[w] = true
	}
}

// endsSentence reports whether the text after an abbreviation's period
// starts a new sentence.
func endsSentence(after string) bool {
	after = strings.TrimLeft(after, " ")
	w := after
	if i := strings.IndexFunc(after, func(r rune) bool { return !unicode.IsLetter(r) }); i >= 0 {
		w = after[:i]
	}
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r) && enStarters[strings.ToLower(w)]
}

func englishRules(and bool) []rule {
	num := func(n string) (intPart, frac string) {
		n = strings.ReplaceAll(n, ",", "")
		intPart, frac, _ = strings.Cut(n, ".")
		return
	}
	decimal := func(n string) string {
		i, f := num(n)
		return enDecimal(i, f, and)
	}
	// amount says a plain number of things: decimals and scaled numbers
	// in full, and whether the things are one or many.
	amount := func(n, scale string) (words string, one bool) {
		i, f := num(n)
		if scale != "" {
			return enDecimal(i, f, false) + " " + scaleAbbr[strings.ToLower(scale)], false
		}
		if f != "" {
			return enDecimal(i, f, and), false
		}
		return enCardinal(i, and), strings.TrimLeft(i, "0") == "1"
	}
	money := func(prefix, sym, n, scale, per string) string {
		c := currencies[sym]
		many := c.many
		if sym == "$" && prefix != "" {
			many = dollarPrefixes[strings.ToUpper(prefix)] + " dollars"
			c.one = dollarPrefixes[strings.ToUpper(prefix)] + " dollar"
		}
		var out string
		i, f := num(n)
		f = strings.TrimRight(f, "0")
		switch {
		case scale != "":
			out = enDecimal(i, f, false) + " " + scaleAbbr[strings.ToLower(scale)] + " " + many
		case len(f) > 2 || f != "" && c.subOne == "":
			out = enDecimal(i, f, and) + " " + many
		default:
			var parts []string
			major := strings.TrimLeft(i, "0")
			if major != "" {
				w := c.many
				if sym == "$" && prefix != "" {
					w = many
				}
				if major == "1" {
					w = c.one
				}
				parts = append(parts, enCardinal(major, and)+" "+w)
			}
			if f != "" {
				cents := (f + "0")[:2]
				w := c.subMany
				if strings.TrimLeft(cents, "0") == "1" {
					w = c.subOne
				}
				parts = append(parts, enCardinal(cents, and)+" "+w)
			}
			if len(parts) == 0 {
				parts = append(parts, "zero "+many)
			}
			out = strings.Join(parts, " ")
		}
		if per != "" {
			out += " per " + perWords[strings.ToLower(per)]
		}
		return out
	}
	moneyPat := `(US|AU|A|CA|C|NZ|HK|S)?([$€£¥₩₴₹₽])\s?(` + numRE + `)(?:\s?(?i:(` + scaleRE + `|bn|mn|tn|[kmbt])\b))?(?:\s?/\s?(mo|month|yr|year|wk|week|d|day|hr|hour|h)\b)?`
	moneyRE := regexp.MustCompile(moneyPat)
	moneyOf := func(s string, m []int) string {
		return money(group(s, m, 1), group(s, m, 2), group(s, m, 3), group(s, m, 4), group(s, m, 5))
	}

	hourWords := func(h string) string { return enCardinal(strings.TrimLeft(h, "0"), and) }
	minuteWords := func(mm string) string {
		switch {
		case mm == "00":
			return ""
		case mm[0] == '0':
			return "oh " + enOnes[mm[1]-'0']
		}
		return enCardinal(mm, and)
	}
	ampm := func(s string, m []int, a, p int) string {
		if strings.EqualFold(group(s, m, a)+group(s, m, p), "a") {
			return "AM"
		}
		return "PM"
	}
	tz := func(z string) string {
		z = strings.ToUpper(strings.ReplaceAll(z, ".", ""))
		if z == "" {
			return ""
		}
		return " " + z
	}
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	hms := func(h, mi, se string) string {
		hn, _ := strconv.Atoi(h)
		mn, _ := strconv.Atoi(mi)
		sn, _ := strconv.Atoi(se)
		return enCardinal(strconv.Itoa(hn), and) + " " + plural(hn, "hour", "hours") + " " +
			enCardinal(strconv.Itoa(mn), and) + " " + plural(mn, "minute", "minutes") + " and " +
			enCardinal(strconv.Itoa(sn), and) + " " + plural(sn, "second", "seconds")
	}
	day := func(d string) (string, bool) {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 31 {
			return "", false
		}
		return enOrdinal(strconv.Itoa(n)), true
	}
	year := func(y string) string { return enYear(y) }
	unitWords := func(u string, one bool) string {
		w, ok := units[strings.ToLower(u)]
		if !ok {
			return u
		}
		if one {
			return w.one
		}
		return w.many
	}
	isNumberWordBoundary := func(s string, end int) bool {
		if end >= len(s) {
			return true
		}
		r, _ := utf8.DecodeRuneInString(s[end:])
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}
	minus := func(s string, at int) bool {
		if s[at] != '-' {
			return false
		}
		if at == 0 {
			return true
		}
		r, _ := utf8.DecodeLastRuneInString(s[:at])
		return unicode.IsSpace(r) || r == '(' || r == '['
	}

	R := func(name, pat string, light bool, fn func(s string, m []int) (string, bool)) rule {
		r := rule{name: name, re: regexp.MustCompile(pat), fn: fn, light: light, needs: ruleNeeds[name]}
		if strings.HasPrefix(name, "month") || strings.HasPrefix(name, "day month") {
			r.need = hasMonth
		}
		return r
	}
	return []rule{
		R("email", `[A-Za-z0-9._%+&-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`, true, func(s string, m []int) (string, bool) {
			return spellAddress(s[m[0]:m[1]], and), true
		}),
		R("url", `(?i:https?://|www\.)[^\s<>"]+|\b(?i:[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|edu|gov|io|co|uk|us|ua|de|fr|it|eu|info|news|tv|ly|me))\b(?:/[^\s<>"]*)?`, true, func(s string, m []int) (string, bool) {
			u := s[m[0]:m[1]]
			trail := ""
			for len(u) > 0 && strings.ContainsRune(".,;:!?)]}'\"", rune(u[len(u)-1])) {
				trail = u[len(u)-1:] + trail
				u = u[:len(u)-1]
			}
			return spellURL(u, and) + trail, true
		}),
		R("title", `\b(Mr|Mrs|Ms|Dr|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|Maj|Adm|Prof|Rev|Hon|Pres|Supt|Insp|Cmdr|Brig|Fr|Mt|Ft|Messrs|MR|MRS|MS|DR|GEN|SEN|REP|GOV|PROF)\.`, true, func(s string, m []int) (string, bool) {
			if !isUpperStart(strings.TrimLeft(s[m[1]:], " ")) || !strings.HasPrefix(s[m[1]:], " ") {
				return "", false
			}
			ab := group(s, m, 1)
			// "Dr." after a street name is Drive.
			if strings.EqualFold(ab, "dr") && prevIsName(s[:m[0]]) {
				return "Drive", true
			}
			return enTitles[strings.ToLower(ab)], true
		}),
		R("saint or street", `\b(St|ST|st)\.`, true, func(s string, m []int) (string, bool) {
			after := s[m[1]:]
			next := strings.TrimLeft(after, " ")
			switch {
			case prevIsNameOrNumber(s[:m[0]]) || strings.TrimSpace(after) == "":
				if next != "" && endsSentence(after) {
					return "Street.", true
				}
				return "Street", true
			case isUpperStart(next) && strings.HasPrefix(after, " "):
				return "Saint", true
			}
			return "", false
		}),
		R("number sign", `\b(?i:(no|nos))\.\s?(\d)`, true, func(s string, m []int) (string, bool) {
			w := "number "
			if strings.EqualFold(group(s, m, 1), "nos") {
				w = "numbers "
			}
			return w + group(s, m, 2), true
		}),
		R("abbreviation", `\b(Jr|Sr|Co|Corp|Inc|Ltd|Bros|Ave|Blvd|Rd|Dept|Univ|Assn|Hwy|Ln|JR|SR|CO|CORP|INC|LTD|vs|etc|approx|e\.g|i\.e|Vs|Etc|Approx|E\.g|I\.e)\.`, true, func(s string, m []int) (string, bool) {
			ab := group(s, m, 1)
			w := enAbbrev[strings.ToLower(ab)]
			if unicode.IsLower(rune(ab[0])) && !lowerAbbrev[strings.ToLower(ab)] {
				return "", false
			}
			if endsSentence(s[m[1]:]) {
				w += "."
			}
			return w, true
		}),
		R("number sign symbol", `#(\d)`, true, func(s string, m []int) (string, bool) {
			return "number " + group(s, m, 1), true
		}),
		R("money range", `(?:`+moneyPat+`)\s?[-–]\s?(?:`+moneyPat+`)`, false, func(s string, m []int) (string, bool) {
			sub := s[m[0]:m[1]]
			ms := moneyRE.FindAllStringSubmatchIndex(sub, -1)
			if len(ms) != 2 {
				return "", false
			}
			return moneyOf(sub, ms[0]) + " to " + moneyOf(sub, ms[1]), true
		}),
		R("money", moneyPat, false, func(s string, m []int) (string, bool) {
			w := moneyOf(s, m)
			// "a $31 million grant" is a thirty-one-million-dollar grant.
			if attributive(s[:m[0]], s[m[1]:]) && group(s, m, 5) == "" {
				c := currencies[group(s, m, 2)]
				if strings.HasSuffix(w, " "+c.many) && c.many != c.one {
					w = strings.TrimSuffix(w, c.many) + c.one
				}
			}
			return w, true
		}),
		R("percent range", `(`+numRE+`)\s?[-–]\s?(`+numRE+`)\s?(?:%|\bper ?cent\b)`, false, func(s string, m []int) (string, bool) {
			return decimal(group(s, m, 1)) + " to " + decimal(group(s, m, 2)) + " percent", true
		}),
		R("percent", `(-?)(`+numRE+`)\s?(?:%|\bper ?cent\b)`, false, func(s string, m []int) (string, bool) {
			w := decimal(group(s, m, 2)) + " percent"
			if group(s, m, 1) != "" {
				if !minus(s, m[0]) {
					return "", false
				}
				w = "minus " + w
			}
			return w, true
		}),
		R("clock time with seconds", `\b(\d{1,2}):(\d{2}):(\d{2})(?:\s?`+ampmRE+`)?`+tzRE, false, func(s string, m []int) (string, bool) {
			w := hms(group(s, m, 1), group(s, m, 2), group(s, m, 3))
			if group(s, m, 4)+group(s, m, 5) != "" {
				w += " " + ampm(s, m, 4, 5)
			}
			return w + tz(group(s, m, 6)), true
		}),
		R("clock time", `\b(\d{1,2})[:.](\d{2})\s?`+ampmRE+tzRE, false, func(s string, m []int) (string, bool) {
			h, _ := strconv.Atoi(group(s, m, 1))
			if h > 12 {
				return "", false
			}
			w := hourWords(group(s, m, 1))
			if mm := minuteWords(group(s, m, 2)); mm != "" {
				w += " " + mm
			}
			return w + " " + ampm(s, m, 3, 4) + tz(group(s, m, 5)), true
		}),
		R("24-hour time", `\b([01]?\d|2[0-3]):([0-5]\d)\b`+tzRE, false, func(s string, m []int) (string, bool) {
			w := hourWords(group(s, m, 1))
			if w == "zero" {
				w = "zero"
			}
			if mm := minuteWords(group(s, m, 2)); mm != "" {
				w += " " + mm
			} else {
				w += " o'clock"
			}
			return w + tz(group(s, m, 3)), true
		}),
		R("hour", `\b(\d{1,2})\s?`+ampmRE+tzRE, false, func(s string, m []int) (string, bool) {
			h, _ := strconv.Atoi(group(s, m, 1))
			if h < 1 || h > 12 {
				return "", false
			}
			return hourWords(group(s, m, 1)) + " " + ampm(s, m, 2, 3) + tz(group(s, m, 4)), true
		}),
		R("time range", `\b(AM|PM)\s?[-–]\s?`, false, func(s string, m []int) (string, bool) {
			return group(s, m, 1) + " to ", true
		}),
		R("quarter", `\b(?:([1-4])Q|Q([1-4])\s?)(\d{4}|\d{2})\b`, false, func(s string, m []int) (string, bool) {
			q := group(s, m, 1) + group(s, m, 2)
			return "the " + enOrdinal(q) + " quarter of " + year(group(s, m, 3)), true
		}),
		R("era", `\b(\d{1,4})\s?(A\.?D|B\.?C\.?E|B\.?C|C\.?E)\b\.?`, false, func(s string, m []int) (string, bool) {
			return year(group(s, m, 1)) + " " + strings.ReplaceAll(group(s, m, 2), ".", ""), true
		}),
		R("decade", `(')?\b(\d{2}|\d{3}0)(\s?)'?s\b`, false, func(s string, m []int) (string, bool) {
			d := group(s, m, 2)
			switch {
			case len(d) == 2 && d[1] == '0' && (group(s, m, 1) != "" || group(s, m, 3) == ""):
				return enPlural(enUnder100(atoi(d))), true
			case len(d) == 4:
				return enPlural(enYear(d)), true
			}
			return "", false
		}),
		R("ISO date", `\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b`, false, func(s string, m []int) (string, bool) {
			mo, d := atoi(group(s, m, 2)), group(s, m, 3)
			dw, ok := day(d)
			if !ok || mo < 1 || mo > 12 {
				return "", false
			}
			return enMonthByNumber[mo] + " " + dw + " " + year(group(s, m, 1)), true
		}),
		R("numeric date", `\b(\d{1,2})([-/.])(\d{1,2})([-/.])(\d{4}|\d{2})\b`, false, func(s string, m []int) (string, bool) {
			if group(s, m, 2) != group(s, m, 4) {
				return "", false
			}
			a, b := atoi(group(s, m, 1)), atoi(group(s, m, 3))
			y := group(s, m, 5)
			switch {
			case a >= 1 && a <= 12 && b >= 1 && b <= 31:
				dw, _ := day(strconv.Itoa(b))
				return enMonthByNumber[a] + " " + dw + " " + year(y), true
			case b >= 1 && b <= 12 && a >= 1 && a <= 31:
				dw, _ := day(strconv.Itoa(a))
				return "the " + dw + " of " + enMonthByNumber[b] + " " + year(y), true
			}
			return "", false
		}),
		R("month day year", `\b(`+monthRE+`)(?:\.|\b)[\s-]?(\d{1,2})(?:st|nd|rd|th)?\b(?:(,)?[\s-](\d{4})\b)?`, false, func(s string, m []int) (string, bool) {
			dw, ok := day(group(s, m, 2))
			if !ok {
				return "", false
			}
			mon := group(s, m, 1)
			if strings.ToLower(mon) == "may" && !unicode.IsUpper(rune(mon[0])) && group(s, m, 4) == "" && m[0] > 0 {
				return "", false // "you may 2" is a verb
			}
			w := monthName(mon) + " " + dw
			if y := group(s, m, 4); y != "" {
				w += group(s, m, 3) + " " + year(y)
			}
			return w, true
		}),
		R("day month year", `\b(the\s)?(\d{1,2})(?:st|nd|rd|th)?\s(of\s)?(`+monthRE+`)(?:\.|\b)(?:,?\s(\d{4})\b)?`, false, func(s string, m []int) (string, bool) {
			dw, ok := day(group(s, m, 2))
			if !ok {
				return "", false
			}
			mon := group(s, m, 4)
			if strings.ToLower(mon) == "may" && !unicode.IsUpper(rune(mon[0])) && group(s, m, 5) == "" && group(s, m, 3) == "" {
				return "", false
			}
			w := "the " + dw + " of " + monthName(mon)
			if group(s, m, 1) != "" {
				w = group(s, m, 1) + dw + " of " + monthName(mon)
			}
			if y := group(s, m, 5); y != "" {
				w += " " + year(y)
			}
			return w, true
		}),
		R("month year", `\b(`+monthRE+`)(?:\.|\b),?\s(\d{4})\b`, false, func(s string, m []int) (string, bool) {
			return monthName(group(s, m, 1)) + " " + year(group(s, m, 2)), true
		}),
		R("phone number", `(?:\+\d{1,3}[ -])?(?:\(\d{3}\) ?|\b\d{3}[-.])?\b\d{3}[-.]\d{4}\b`, false, func(s string, m []int) (string, bool) {
			var groups []string
			for _, g := range digitRun.FindAllString(s[m[0]:m[1]], -1) {
				groups = append(groups, enDigits(g))
			}
			return strings.Join(groups, ", "), true
		}),
		R("measure range", `(`+numRE+`)\s?[-–]\s?(`+numRE+`)\s?(`+unitRE+`)`, false, func(s string, m []int) (string, bool) {
			u := group(s, m, 3)
			if !isNumberWordBoundary(s, m[1]) || m[6] > m[5] && s[m[6]-1] == ' ' && (strings.EqualFold(u, "in") || len(u) == 1 && u != "°") {
				return "", false
			}
			return decimal(group(s, m, 1)) + " to " + decimal(group(s, m, 2)) + " " + unitWords(group(s, m, 3), false), true
		}),
		R("measure", `(\d+\s\d/\d{1,2}|`+numRE+`)(?:\s?(`+scaleRE+`))?\s?(`+unitRE+`)(?:\s?/\s?(`+unitRE+`|[a-z]{1,3}\b))?`, false, func(s string, m []int) (string, bool) {
			if !isNumberWordBoundary(s, m[1]) {
				return "", false
			}
			n, scale, u := group(s, m, 1), group(s, m, 2), group(s, m, 3)
			// "5 in" is a number and a preposition, "3 g" more likely a
			// grade or the letter: short units need to be attached.
			if strings.ContainsRune(s[m[2]:m[6]], ' ') && (strings.EqualFold(u, "in") || len(u) == 1 && u != "°") {
				return "", false
			}
			var w string
			one := false
			if i := strings.IndexByte(n, ' '); i > 0 {
				w = enCardinal(n[:i], and) + " and " + fraction(n[i+1:], true)
			} else {
				w, one = amount(n, scale)
			}
			w += " " + unitWords(u, one)
			if per := group(s, m, 4); per != "" {
				w += " per " + unitWords(per, true)
			}
			return w, true
		}),
		R("per unit", `(`+numRE+`)\s?/\s?(`+unitRE+`)\b`, false, func(s string, m []int) (string, bool) {
			return decimal(group(s, m, 1)) + " per " + unitWords(group(s, m, 2), true), true
		}),
		R("year range", `\b(1\d{3}|20\d{2})\s?[-–]\s?(1\d{3}|20\d{2}|\d{2})\b`, false, func(s string, m []int) (string, bool) {
			return year(group(s, m, 1)) + " to " + year(group(s, m, 2)), true
		}),
		R("mixed fraction", `\b(\d+)\s(\d{1,2})/(\d{1,2})\b`, false, func(s string, m []int) (string, bool) {
			return enCardinal(group(s, m, 1), and) + " and " + fraction(group(s, m, 2)+"/"+group(s, m, 3), true), true
		}),
		R("fraction", `(^|[^\d/])(\d{1,2})/(\d{1,2})(?:st|nd|rd|th|ST|ND|RD|TH)?\b`, false, func(s string, m []int) (string, bool) {
			f := fraction(group(s, m, 2)+"/"+group(s, m, 3), false)
			if f == "" {
				return group(s, m, 1) + enCardinal(group(s, m, 2), and) + " " + enCardinal(group(s, m, 3), and), true
			}
			return group(s, m, 1) + f, true
		}),
		R("number before word", `(`+numRE+`)-(\p{L})`, false, func(s string, m []int) (string, bool) {
			return s[m[2]:m[3]] + " " + group(s, m, 2), true
		}),
		R("word before number", `(\p{L})-(\d)`, false, func(s string, m []int) (string, bool) {
			return group(s, m, 1) + " " + group(s, m, 2), true
		}),
		R("range", `(`+numRE+`)\s?[-–]\s?(`+numRE+`)\b`, false, func(s string, m []int) (string, bool) {
			if m[0] > 0 && (s[m[0]-1] == '-' || s[m[0]-1] == '.') || m[1] < len(s) && s[m[1]] == '-' {
				return "", false // a serial or phone number
			}
			return numberWords(group(s, m, 1), and) + " to " + numberWords(group(s, m, 2), and), true
		}),
		R("ordinal", `\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th|ST|ND|RD|TH|St|Nd|Rd|Th)\b`, false, func(s string, m []int) (string, bool) {
			n := strings.ReplaceAll(group(s, m, 1), ",", "")
			suf := strings.ToLower(group(s, m, 2))
			if suf == ordinalSuffix(n) {
				return enOrdinal(n), true
			}
			if len(strings.TrimLeft(n, "0")) <= 2 {
				return enCardinal(n, and) + " " + suf, true
			}
			return enDigits(n) + " " + suf, true
		}),
		R("decimal", `(-?)(`+numRE+`)(\s(?:`+scaleRE+`))?`, false, func(s string, m []int) (string, bool) {
			n := group(s, m, 2)
			if !strings.Contains(n, ".") && !strings.Contains(n, ",") && group(s, m, 3) == "" {
				return "", false // left to the cardinal rule
			}
			var w string
			if group(s, m, 3) != "" {
				i, f := num(n)
				w = enDecimal(i, f, f != "") + group(s, m, 3)
				if f == "" {
					w = enCardinal(i, false) + group(s, m, 3)
				}
			} else {
				w = decimal(n)
			}
			if group(s, m, 1) != "" {
				if !minus(s, m[0]) {
					return s[m[0]:m[1]-len(group(s, m, 2))-len(group(s, m, 3))] + w, true
				}
				w = "minus " + w
			}
			return w, true
		}),
		R("cardinal", `(-?)(\d+)`, false, func(s string, m []int) (string, bool) {
			n := group(s, m, 2)
			w := numberWords(n, and)
			if group(s, m, 1) != "" {
				if !minus(s, m[0]) {
					return "-" + w, true
				}
				w = "minus " + w
			}
			return w, true
		}),
		R("symbols", `(\s?&\s?)|(\+)|(\s=\s)|#(\w)|(^|\s)@(\w)|(±)|(~)(\s?\w)|(§)|(°)`, true, func(s string, m []int) (string, bool) {
			switch {
			case group(s, m, 1) != "":
				return " and ", true
			case group(s, m, 2) != "":
				return " plus ", true
			case group(s, m, 3) != "":
				return " equals ", true
			case group(s, m, 4) != "":
				if unicode.IsDigit(rune(group(s, m, 4)[0])) {
					return "number " + group(s, m, 4), true
				}
				return "hashtag " + group(s, m, 4), true
			case group(s, m, 6) != "":
				return group(s, m, 5) + "at " + group(s, m, 6), true
			case group(s, m, 7) != "":
				return " plus or minus ", true
			case group(s, m, 8) != "":
				return "about " + strings.TrimLeft(group(s, m, 9), " "), true
			case group(s, m, 10) != "":
				return "section ", true
			case group(s, m, 11) != "":
				return " degrees", true
			}
			return "", false
		}),
	}
}

var digitRun = regexp.MustCompile(`\d+`)

const digits = "0123456789"

// hasMonth reports whether text may name a month, before the costlier
// month patterns are tried.
func hasMonth(text string) bool {
	low := strings.ToLower(text)
	for _, m := range [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
		if strings.Contains(low, m) {
			return true
		}
	}
	return false
}

// ruleNeeds says which characters a rule's matches always contain.
var ruleNeeds = map[string]string{
	"email": "@", "url": ".", "title": ".", "saint or street": ".", "number sign": ".", "abbreviation": ".",
	"number sign symbol": "#", "money range": "$€£¥₩₴₹₽", "money": "$€£¥₩₴₹₽", "percent range": "%p",
	"percent": "%p", "clock time with seconds": ":", "clock time": "mM", "24-hour time": ":", "hour": "mM",
	"time range": "-–", "quarter": "Q", "era": "ABCDE", "decade": "s", "ISO date": "-/.", "numeric date": "-/.",
	"month day year": digits, "day month year": digits, "month year": digits, "phone number": "-.",
	"measure range": "-–", "measure": digits, "per unit": "/", "year range": "-–", "mixed fraction": "/",
	"fraction": "/", "number before word": "-", "word before number": "-", "range": "-–", "ordinal": digits,
	"decimal": digits, "cardinal": digits, "symbols": "&+=#@±~§°",
}

// notNouns are words after an amount that show it is not used as an
// adjective: "$5 million for", "$5 million a year".
var notNouns = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the to for from in on of and or but per each is was were are will would
		has have had more less that which who than worth over under into by at with as in, if when while so
		this it its last next since until this`) {
		notNouns[w] = true
	}
}

// attributive reports whether an amount stands between an article and a
// noun, where English says "dollar", not "dollars".
func attributive(before, after string) bool {
	// Only the neighbouring words matter; looking no further keeps long
	// texts linear.
	before, after = before[max(0, len(before)-40):], after[:min(len(after), 60)]
	fields := strings.Fields(before)
	if len(fields) == 0 {
		return false
	}
	switch strings.ToLower(fields[len(fields)-1]) {
	case "a", "an", "the", "this", "that", "its", "his", "her", "their", "our", "your", "my":
	default:
		return false
	}
	if !strings.HasPrefix(after, " ") {
		return false
	}
	next := strings.Fields(after)
	if len(next) == 0 {
		return false
	}
	w := next[0]
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsLower(r) && !notNouns[strings.TrimRight(w, ",.;:")] && strings.IndexFunc(w, unicode.IsLetter) == 0
}

// numberWords says a bare number: a year when it looks like one, digit by
// digit when it is a code (a leading zero, five or more digits without
// grouping), otherwise as a cardinal.
func numberWords(n string, and bool) string {
	if strings.ContainsAny(n, ".") {
		i, f, _ := strings.Cut(strings.ReplaceAll(n, ",", ""), ".")
		return enDecimal(i, f, and)
	}
	if strings.Contains(n, ",") {
		return enCardinal(strings.ReplaceAll(n, ",", ""), and)
	}
	switch {
	case len(n) > 1 && n[0] == '0':
		return enDigits(n)
	case len(n) >= 5:
		return enDigits(n)
	case len(n) == 4:
		if y := atoi(n); y >= 1000 && y <= 2099 {
			return enYear(n)
		}
	}
	return enCardinal(n, and)
}

// fraction says a simple fraction ("one half", "three quarters"); with
// mixed, after a whole number ("a half"). It returns "" for fractions not
// read as such ("9/11", "24/7").
func fraction(f string, mixed bool) string {
	a, b, _ := strings.Cut(f, "/")
	na, nb := atoi(a), atoi(b)
	if na < 1 || nb < 2 || nb > 10 || na >= nb && !mixed {
		if mixed {
			return enCardinal(a, false) + " over " + enCardinal(b, false)
		}
		return ""
	}
	var den string
	switch nb {
	case 2:
		den = "half"
	case 4:
		den = "quarter"
	default:
		den = enOrdinal(b)
	}
	if na == 1 {
		if mixed {
			return "a " + den
		}
		return "one " + den
	}
	if den == "half" {
		den = "halve"
	}
	return enCardinal(a, false) + " " + den + "s"
}

func ordinalSuffix(n string) string {
	v := atoi(n[max(0, len(n)-2):])
	switch {
	case v%100 >= 11 && v%100 <= 13:
		return "th"
	case v%10 == 1:
		return "st"
	case v%10 == 2:
		return "nd"
	case v%10 == 3:
		return "rd"
	}
	return "th"
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isUpperStart(s string) bool {
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		return unicode.IsUpper(r)
	}
	return false
}

// prevIsName reports whether the word before the end of s is capitalized:
// "Elm St.", "Mulholland Dr.".
func prevIsName(s string) bool {
	s = strings.TrimRight(s, " ")
	i := strings.LastIndexByte(s, ' ')
	w := s[i+1:]
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}

func prevIsNameOrNumber(s string) bool {
	s = strings.TrimRight(s, " ")
	i := strings.LastIndexByte(s, ' ')
	w := s[i+1:]
	r, _ := utf8.DecodeRuneInString(w)
	if unicode.IsDigit(r) {
		return true
	}
	// the first word of a sentence is capitalized for another reason
	return unicode.IsUpper(r) && i >= 0 && !strings.HasSuffix(strings.TrimRight(s[:i], " "), ".")
}

// spellAddress says an e-mail address: "jane dot doe at example dot com".
func spellAddress(a string, and bool) string {
	var parts []string
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			parts = append(parts, word.String())
			word.Reset()
		}
	}
	for _, r := range a {
		switch {
		case unicode.IsLetter(r):
			word.WriteRune(r)
		case unicode.IsDigit(r):
			flush()
			parts = append(parts, enOnes[r-'0'])
		default:
			flush()
			if w, ok := symbolWords[r]; ok {
				parts = append(parts, w)
			}
		}
	}
	flush()
	return strings.Join(parts, " ")
}

var symbolWords = map[rune]string{'.': "dot", '@': "at", '-': "dash", '_': "underscore", '&': "ampersand",
	'/': "slash", ':': "colon", '+': "plus", '%': "percent", '=': "equals", '?': "question mark", '#': "hash",
	'~': "tilde"}

// spellURL says a web address the way a news reader does: without the
// scheme, "example dot com slash news".
func spellURL(u string, and bool) string {
	low := strings.ToLower(u)
	for _, p := range []string{"https://", "http://"} {
		if strings.HasPrefix(low, p) {
			u = u[len(p):]
			break
		}
	}
	u = strings.TrimSuffix(u, "/")
	out := spellAddress(u, and)
	if strings.HasPrefix(strings.ToLower(u), "www.") {
		out = "W W W" + out[3:]
	}
	return out
}
