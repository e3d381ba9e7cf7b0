//go:build ignore

// gen_words writes words.txt.gz, the English words and names the unknown
// words report leaves out, from the Debian package wamerican (SCOWL, see
// words.LICENSE). Run it with `go generate ./services/lexicon` after
// `apt-get install wamerican`; the output depends only on the word list.
package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"slices"
	"strings"
)

func main() {
	in, err := os.Open("/usr/share/dict/american-english")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen_words: install the Debian package wamerican:", err)
		os.Exit(1)
	}
	defer in.Close()
	var words []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		w := strings.TrimSpace(sc.Text())
		// Possessives add nothing: the report strips "'s" itself.
		if w == "" || strings.HasSuffix(w, "'s") {
			continue
		}
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		panic(err)
	}
	slices.Sort(words)
	words = slices.Compact(words)
	out, err := os.Create("words.txt.gz")
	if err != nil {
		panic(err)
	}
	zw, _ := gzip.NewWriterLevel(out, gzip.BestCompression) // no name or time: reproducible
	if _, err := zw.Write([]byte(strings.Join(words, "\n") + "\n")); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	if err := out.Close(); err != nil {
		panic(err)
	}
}
