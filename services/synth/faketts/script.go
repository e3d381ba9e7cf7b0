package faketts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Known lists every fault a script may name.
var Known = []Fault{Fail500, Fail502, Fail503, RateLimit, Truncate, Reset, Hang, Garbage, Short, Quota, Abrupt, DropSentence, RepeatPhrase, WrongNumber, StopEarly}

// ParseScript reads scripted faults written "N=FAULT,N=FAULT", such as
// "1=429,3=hang": request 1 is rate limited and request 3 hangs.
func ParseScript(s string) (map[int]Fault, error) {
	script := map[int]Fault{}
	if strings.TrimSpace(s) == "" {
		return script, nil
	}
	for item := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		n, err := strconv.Atoi(k)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Errorf("faketts: script item %q: want REQUEST=FAULT with REQUEST from 1", item)
		}
		f := Fault(v)
		if !slices.Contains(Known, f) {
			return nil, fmt.Errorf("faketts: script item %q: unknown fault %q (known: %v)", item, v, Known)
		}
		if _, dup := script[n]; dup {
			return nil, fmt.Errorf("faketts: script names request %d twice", n)
		}
		script[n] = f
	}
	return script, nil
}
