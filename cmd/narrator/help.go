package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagGroups are the headings --help lists the shared settings under, in
// order; a command's own flags come first, under none.
var flagGroups = []struct {
	heading string
	names   []string // exact names, or prefixes ending in '*'
}{
	{"Speech", []string{"engine", "model", "voice", "speed", "instructions", "openai-base-url", "publications", "polly-*", "synth-concurrency", "chunk-target", "chunk-first", "loudness", "listen", "listen-*"}},
	{"Cluster (NATS) and logs", []string{"data-dir", "nats-url", "nats-listen", "replicas", "ack-wait", "max-deliver", "stages", "ops-addr", "log-*", "nats-*", "work-ttl"}},
	{"Storage and public addresses", []string{"public-url", "http", "s3-*", "media-prefix", "keep-old", "audio-cache*"}},
	{"Podcast feed and player (seed the settings kept in NATS)", []string{"feed-*", "player-*", "disclosure", "static-player"}},
	{"Limits and budgets", []string{"rpm", "cpm", "rate-burst", "job-max-chars", "daily-chars", "fetch-allow"}},
	{"Content Credentials (C2PA)", []string{"c2pa*"}},
}

// groupOf returns the heading a flag is listed under, "" for a command's
// own flags.
func groupOf(name string) string {
	for _, g := range flagGroups {
		for _, n := range g.names {
			if n == name || strings.HasSuffix(n, "*") && strings.HasPrefix(name, strings.TrimSuffix(n, "*")) {
				return g.heading
			}
		}
	}
	return ""
}

// printFlags lists a flag set's flags: the command's own first, then the
// shared settings under their headings.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	groups := map[string][]*flag.Flag{}
	fs.VisitAll(func(f *flag.Flag) { groups[groupOf(f.Name)] = append(groups[groupOf(f.Name)], f) })
	if own := groups[""]; len(own) > 0 {
		fmt.Fprintln(w, "Flags:")
		printGroup(w, own)
	}
	for _, g := range flagGroups {
		if fl := groups[g.heading]; len(fl) > 0 {
			fmt.Fprintf(w, "\n%s:\n", g.heading)
			printGroup(w, fl)
		}
	}
}

func printGroup(w io.Writer, fl []*flag.Flag) {
	for _, f := range fl {
		name, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if name != "" {
			line += " " + name
		}
		switch def := f.DefValue; {
		case def == "" || def == "0" || def == "false" || def == "0s":
		case name == "string":
			usage += fmt.Sprintf(" (default %q)", def)
		default:
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	}
}
