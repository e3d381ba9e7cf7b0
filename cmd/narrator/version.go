package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// version says which build this is, from the build information Go
// records: the module version, and the VCS revision and time the binary
// was built from (with "+modified" for a tree with uncommitted changes).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "narrator (no build information)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	out := "narrator " + v
	if rev != "" {
		out += fmt.Sprintf(" (revision %.12s", rev)
		if modified {
			out += "+modified"
		}
		if at != "" {
			out += ", " + at
		}
		out += ")"
	}
	return strings.TrimSpace(out + " " + bi.GoVersion)
}
