package deploy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// dockerfile is a parsed Dockerfile: its stages and their instructions.
type dockerfile struct {
	stages   []dfStage
	comments []string
}

type dfStage struct {
	image, name string
	instrs      []dfInstr
}

type dfInstr struct {
	cmd  string // upper case: RUN, COPY, ...
	args string
	line int
}

// parseDockerfile splits a Dockerfile into instructions, joining continued
// lines and dropping comments, as BuildKit's parser does.
func parseDockerfile(data []byte) (*dockerfile, error) {
	df := &dockerfile{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	var (
		cur   strings.Builder
		start int
	)
	flush := func() error {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := dfInstr{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var st dfStage
			for _, w := range f {
				if !strings.HasPrefix(w, "--") {
					st.image = w
					break
				}
			}
			if i := slices.IndexFunc(f, func(s string) bool { return strings.EqualFold(s, "AS") }); i >= 0 && i+1 < len(f) {
				st.name = f[i+1]
			}
			df.stages = append(df.stages, st)
			return nil
		}
		if len(df.stages) == 0 {
			if in.cmd == "ARG" {
				return nil
			}
			return fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		last := &df.stages[len(df.stages)-1]
		last.instrs = append(last.instrs, in)
		return nil
	}
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(trim, "#") {
			df.comments = append(df.comments, strings.TrimSpace(strings.TrimPrefix(trim, "#")))
			continue
		}
		if cur.Len() == 0 {
			if trim == "" {
				continue
			}
			start = n
		}
		if strings.HasSuffix(trim, "\\") {
			cur.WriteString(strings.TrimSuffix(trim, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(trim)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur.Len() > 0 {
		return nil, fmt.Errorf("line %d: the file ends in a continued line", start)
	}
	if len(df.stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return df, nil
}

// final is the stage the image is made of.
func (df *dockerfile) final() *dfStage { return &df.stages[len(df.stages)-1] }

// all returns the stage's instructions of one kind.
func (st *dfStage) all(cmd string) []dfInstr {
	var out []dfInstr
	for _, in := range st.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm parses an exec-form (JSON array) argument list.
func execForm(in dfInstr) ([]string, error) {
	var v []string
	if !strings.HasPrefix(in.args, "[") {
		return nil, fmt.Errorf("line %d: %s %s: use the exec form, [\"...\"], so that signals reach narrator", in.line, in.cmd, in.args)
	}
	if err := json.Unmarshal([]byte(in.args), &v); err != nil {
		return nil, fmt.Errorf("line %d: %s: %v", in.line, in.cmd, err)
	}
	return v, nil
}

// entrypoint returns the final stage's ENTRYPOINT and CMD.
func (df *dockerfile) entrypoint() (entry, cmd []string, err error) {
	st := df.final()
	if es := st.all("ENTRYPOINT"); len(es) > 0 {
		if entry, err = execForm(es[len(es)-1]); err != nil {
			return nil, nil, err
		}
	}
	if cs := st.all("CMD"); len(cs) > 0 {
		if cmd, err = execForm(cs[len(cs)-1]); err != nil {
			return nil, nil, err
		}
	}
	return entry, cmd, nil
}

// env returns the final stage's ENV settings.
func (df *dockerfile) env() map[string]string {
	out := map[string]string{}
	for _, in := range df.final().all("ENV") {
		f := strings.Fields(in.args)
		if len(f) >= 2 && !strings.Contains(f[0], "=") {
			out[f[0]] = strings.Join(f[1:], " ")
			continue
		}
		for _, kv := range f {
			k, v, _ := strings.Cut(kv, "=")
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}

// aptPackages lists what the final stage installs with apt-get.
func (df *dockerfile) aptPackages() []string {
	var pkgs []string
	for _, in := range df.final().all("RUN") {
		for _, part := range regexp.MustCompile(`&&|;|\|\|`).Split(in.args, -1) {
			f := strings.Fields(part)
			i := slices.Index(f, "install")
			if len(f) == 0 || !strings.HasSuffix(f[0], "apt-get") || i < 0 {
				continue
			}
			for _, w := range f[i+1:] {
				if !strings.HasPrefix(w, "-") {
					pkgs = append(pkgs, w)
				}
			}
		}
	}
	return pkgs
}

// user returns the final stage's USER, or "" when it runs as root.
func (df *dockerfile) user() string {
	us := df.final().all("USER")
	if len(us) == 0 {
		return ""
	}
	u, _, _ := strings.Cut(us[len(us)-1].args, ":")
	return u
}

var (
	useraddUID = regexp.MustCompile(`useradd\b[^&;]*--uid[ =](\d+)`)
	goBuildOut = regexp.MustCompile(`go build\b[^&;]*-o[ =](\S+)\s+(\S+)`)
	buildTag   = regexp.MustCompile(`docker build\b.*\s-t\s+(\S+)`)
)

// checkDockerfile checks the image definition against go.mod, the
// binary and the runtime the local engine needs.
func checkDockerfile(b *bundle, c *cli, goVersion string, p *problems) {
	df := b.dockerfile
	if df == nil {
		return
	}
	if len(df.stages) < 2 {
		p.addf("Dockerfile: want a build stage and a runtime stage, got %d stage(s)", len(df.stages))
		return
	}
	build, final := df.stages[0], df.final()

	// The builder's Go is the one go.mod names.
	repo, tag := splitImage(build.image)
	if repo != "golang" {
		p.addf("Dockerfile: the build stage is FROM %s, want golang", build.image)
	} else if mm := majorMinor(goVersion); !strings.HasPrefix(tag, mm) || (len(tag) > len(mm) && tag[len(mm)] != '-' && tag[len(mm)] != '.') {
		p.addf("Dockerfile: the build stage is FROM %s; go.mod says go %s, want golang:%s", build.image, goVersion, mm)
	}
	if final.image != "debian:bookworm-slim" {
		p.addf("Dockerfile: the runtime stage is FROM %s, want debian:bookworm-slim (the espeak-ng the local engine is tested with)", final.image)
	}

	// The binary: built from ./cmd/narrator, static, copied onto PATH.
	var built string
	for _, in := range build.all("RUN") {
		if m := goBuildOut.FindStringSubmatch(in.args); m != nil {
			if m[2] != "./cmd/narrator" {
				p.addf("Dockerfile: line %d builds %s, want ./cmd/narrator", in.line, m[2])
			}
			if !strings.Contains(in.args, "CGO_ENABLED=0") {
				p.addf("Dockerfile: line %d: build with CGO_ENABLED=0; the runtime image has no matching libc guarantee", in.line)
			}
			built = m[1]
		}
	}
	if built == "" {
		p.addf("Dockerfile: the build stage has no 'go build -o PATH ./cmd/narrator'")
	}
	entry, cmd, err := df.entrypoint()
	if err != nil {
		p.addf("Dockerfile: %v", err)
	}
	if len(entry) != 1 || entry[0] != "narrator" {
		p.addf("Dockerfile: ENTRYPOINT %q, want [\"narrator\"]", entry)
	}
	copied := false
	for _, in := range final.all("COPY") {
		f := strings.Fields(in.args)
		if len(f) == 3 && f[0] == "--from="+build.name && f[1] == built {
			if dir, name := path.Split(f[2]); name != "narrator" || !slices.Contains([]string{"/usr/local/bin/", "/usr/bin/", "/bin/"}, dir) {
				p.addf("Dockerfile: line %d copies the binary to %s, want a directory on PATH and the name narrator", in.line, f[2])
			}
			copied = true
		}
	}
	if !copied && built != "" {
		p.addf("Dockerfile: the runtime stage does not COPY --from=%s %s", build.name, built)
	}
	if len(cmd) > 0 {
		checkArgv(c, "Dockerfile CMD", cmd, p)
	}

	// The local engine's tools and TLS roots.
	pkgs := df.aptPackages()
	for _, want := range []string{"ca-certificates", "espeak-ng", "lame"} {
		if !slices.Contains(pkgs, want) {
			p.addf("Dockerfile: the runtime stage does not apt-get install %s (installs %v)", want, pkgs)
		}
	}

	// Not root, and the same uid the Kubernetes pods run as.
	u := df.user()
	switch {
	case u == "" || u == "root" || u == "0":
		p.addf("Dockerfile: the runtime stage runs as root; add USER with the narrator user's uid")
	default:
		uid, err := strconv.Atoi(u)
		if err != nil {
			p.addf("Dockerfile: USER %s: use the numeric uid, so that Kubernetes can verify runAsNonRoot", u)
		}
		for _, in := range final.all("RUN") {
			if m := useraddUID.FindStringSubmatch(in.args); m != nil && m[1] != u {
				p.addf("Dockerfile: USER %s but useradd creates uid %s", u, m[1])
			}
		}
		b.imageUID = int64(uid)
	}

	// Environment: names the binary reads; the data directory is a volume.
	env := df.env()
	for k := range env {
		if !c.acceptedByAny(k) {
			p.addf("Dockerfile: ENV %s is read by no narrator command", k)
		}
	}
	if dir := env["NARRATOR_DATA_DIR"]; dir == "" {
		p.addf("Dockerfile: set ENV NARRATOR_DATA_DIR to the data volume")
	} else {
		var vols []string
		for _, in := range final.all("VOLUME") {
			if v, err := execForm(in); err == nil {
				vols = append(vols, v...)
			} else {
				vols = append(vols, strings.Fields(in.args)...)
			}
		}
		if !slices.Contains(vols, dir) {
			p.addf("Dockerfile: NARRATOR_DATA_DIR=%s is not a VOLUME (volumes: %v)", dir, vols)
		}
	}
	if addr := env["NARRATOR_HTTP_ADDR"]; addr != "" {
		port := portOf(addr)
		exposed := false
		for _, in := range final.all("EXPOSE") {
			for _, f := range strings.Fields(in.args) {
				if strings.TrimSuffix(f, "/tcp") == strconv.Itoa(port) {
					exposed = true
				}
			}
		}
		if !exposed {
			p.addf("Dockerfile: NARRATOR_HTTP_ADDR=%s but port %d is not EXPOSEd", addr, port)
		}
	}

	// The tag the build comment gives is the image the manifests use.
	for _, cm := range df.comments {
		if m := buildTag.FindStringSubmatch(cm); m != nil {
			b.images = append(b.images, imageUse{where: "Dockerfile build comment", image: m[1]})
		}
	}
}

// splitImage splits an image reference into repository and tag.
func splitImage(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// majorMinor turns 1.26.8 into 1.26.
func majorMinor(v string) string {
	f := strings.SplitN(v, ".", 3)
	if len(f) < 2 {
		return v
	}
	return f[0] + "." + f[1]
}

// goModVersion reads the go directive of the module's go.mod.
func goModVersion(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^go\s+(\S+)`).FindSubmatch(data)
	if m == nil {
		return "", fmt.Errorf("%s: no go directive", path)
	}
	return string(m[1]), nil
}
