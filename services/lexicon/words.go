package lexicon

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"strings"
	"sync"
)

//go:generate go run gen_words.go

// wordsGz is the English word list of the Debian package wamerican
// (SCOWL, size 50: about 75,000 words and 7,000 common given names, place
// names and brands), possessives left out; words.LICENSE holds its licence.
//
//go:embed words.txt.gz
var wordsGz []byte

var (
	dictOnce sync.Once
	dict     map[string]bool // words as listed, and their lower-case forms
)

// known reports whether w is an English word or a common name that a
// speech engine reads correctly: listed as is ("Angela", "iPhone",
// "NASA"), or, for a capitalized word, listed in lower case ("Main",
// "Four").
func known(w string) bool {
	dictOnce.Do(loadDict)
	return dict[w] || dict[strings.ToLower(w)] && !isAllCaps(w)
}

func loadDict() {
	dict = map[string]bool{}
	zr, err := gzip.NewReader(bytes.NewReader(wordsGz))
	if err != nil {
		panic("lexicon: embedded word list: " + err.Error())
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		panic("lexicon: embedded word list: " + err.Error())
	}
	for _, w := range strings.Split(string(raw), "\n") {
		if w != "" {
			dict[w] = true
		}
	}
}

func isAllCaps(w string) bool {
	return w == strings.ToUpper(w) && w != strings.ToLower(w)
}
