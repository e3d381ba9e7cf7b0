package api

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParsePrices reads "provider:usd,provider:usd", US dollars per million
// billed characters (NARRATOR_PRICES="openai:15,polly:16"); the entry
// "listen" is the listening check's, in US dollars a minute of audio.
func ParsePrices(spec string) (map[string]float64, error) {
	out := map[string]float64{}
	var errs []error
	for _, e := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' }) {
		name, v, ok := strings.Cut(e, ":")
		usd, err := strconv.ParseFloat(v, 64)
		if !ok || name == "" || err != nil || usd < 0 {
			errs = append(errs, fmt.Errorf("api: price %q: want provider:dollars per million characters, e.g. openai:15", e))
			continue
		}
		out[name] = usd
	}
	return out, errors.Join(errs...)
}
