package deploy

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// cli is what the built narrator binary accepts, read from its own help:
// the subcommands, each one's flags and environment variables, and the
// stage names "worker --stages" takes.
type cli struct {
	bin      string
	commands map[string]*subcommand
	// stages are the names the pipeline runs; allStages those one process
	// runs when told nothing (the default of worker --stages), which every
	// deployment must give a worker.
	stages, allStages []string
	// switches maps each setting of stageSwitches to the stages it adds to
	// the default of --stages when set.
	switches map[string][]string
	binary   []byte // the executable, to confirm documented names
}

// stageSwitch is a setting that turns an optional stage on. Set, the binary
// adds the stage to the default of --stages and queues its tasks, so the
// deployment needs a worker of it; unset, nothing is queued for it and a
// worker of it refuses to start. secret is the setting that must come with
// it; example is a value to ask the binary with; profile is the compose
// profile that starts the stage's worker.
type stageSwitch struct {
	env, secret, example, profile string
}

var stageSwitches = []stageSwitch{
	{env: "NARRATOR_WEBHOOK_URLS", secret: "NARRATOR_WEBHOOK_SECRET", example: "https://hooks.example.com/narrator", profile: "webhooks"},
}

type subcommand struct {
	name     string
	synopsis string
	flags    map[string]*flagInfo
	env      map[string]bool
}

type flagInfo struct {
	name     string
	hasValue bool   // false for booleans
	usage    string // help text
	def      string // default shown in help, unquoted
}

// Names the documentation promises besides the "(env NAME)" of the flags:
// secrets are read from NAME or from the file NAME_FILE names, and the
// SDKs narrator uses read their own variables.
var (
	documentedSecrets = map[string]string{
		// secret: the variable that shows a command reads it
		"OPENAI_API_KEY":       "OPENAI_BASE_URL",
		"S3_ACCESS_KEY_ID":     "S3_BUCKET",
		"S3_SECRET_ACCESS_KEY": "S3_BUCKET",
	}
	// Prefixes of variables read by the AWS SDK (Polly, S3) and the
	// OpenTelemetry SDK.
	sdkPrefixes = []string{"AWS_", "OTEL_"}
	// The Go runtime reads these in every binary.
	goRuntimeEnv = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG", "GOTRACEBACK"}
)

var (
	envMention  = regexp.MustCompile(`\(env ([^)]*)\)`)
	envName     = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*[A-Z0-9]\b`)
	fileMention = regexp.MustCompile(`\b[A-Z][A-Z0-9_]*_FILE\b`)
	defaultText = regexp.MustCompile(`\(default "?(.*?)"?\)\s*$`)
	commandLine = regexp.MustCompile(`^  ([a-z0-9][a-z0-9-]*(?: [a-z0-9][a-z0-9-]*)*)\s{2,}\S`)
	stageList   = regexp.MustCompile(`\(stages: ([^)]*)\)`)
)

// buildNarrator builds ./cmd/narrator into dir.
func buildNarrator(dir string) (string, error) {
	bin := filepath.Join(dir, "narrator")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/narrator")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/narrator: %v\n%s", err, out)
	}
	return bin, nil
}

// baseEnv is the environment narrator runs with in these tests: nothing of
// the developer's shell (a NATS_URL or OPENAI_API_KEY there would change
// what the binary does), only what finds programs.
func baseEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + os.TempDir()}
}

// runHelp runs narrator with args, and extra in its environment, and
// returns its combined output.
func runHelp(bin string, extra []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(baseEnv(os.TempDir()), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// readCLI asks the binary what it accepts.
func readCLI(bin string) (*cli, error) {
	c := &cli{bin: bin, commands: map[string]*subcommand{}}
	var err error
	if c.binary, err = os.ReadFile(bin); err != nil {
		return nil, err
	}
	top, err := runHelp(bin, nil, "help")
	if err != nil {
		return nil, fmt.Errorf("narrator help: %v\n%s", err, top)
	}
	inCommands := false
	for _, line := range strings.Split(top, "\n") {
		if strings.HasPrefix(line, "Commands:") {
			inCommands = true
			continue
		}
		if !inCommands {
			continue
		}
		m := commandLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		sc, err := readSubcommand(bin, m[1], nil)
		if err != nil {
			return nil, err
		}
		c.commands[sc.name] = sc
	}
	for _, need := range []string{"serve", "worker"} {
		if c.commands[need] == nil {
			return nil, fmt.Errorf("narrator help lists no %q command:\n%s", need, top)
		}
	}
	st := c.commands["worker"].flags["stages"]
	if st == nil || st.def == "" {
		return nil, fmt.Errorf("narrator worker --help: no --stages flag with a default")
	}
	for _, s := range strings.Split(st.def, ",") {
		c.allStages = append(c.allStages, strings.TrimSpace(s))
	}
	c.stages = slices.Clone(c.allStages)
	c.switches = map[string][]string{}
	for _, sw := range stageSwitches {
		sc, err := readSubcommand(bin, "worker", []string{sw.env + "=" + sw.example})
		if err != nil {
			return nil, err
		}
		var added []string
		for _, s := range strings.Split(sc.flags["stages"].def, ",") {
			if s = strings.TrimSpace(s); !slices.Contains(c.allStages, s) {
				added = append(added, s)
			}
		}
		if len(added) == 0 {
			return nil, fmt.Errorf("with %s set, narrator worker --stages still defaults to %s: the setting turns no stage on; update stageSwitches", sw.env, st.def)
		}
		if !sc.env[sw.env] || !sc.env[sw.secret] {
			return nil, fmt.Errorf("narrator worker --help does not mention %s and %s; update stageSwitches", sw.env, sw.secret)
		}
		c.switches[sw.env] = added
	}
	for name := range documentedSecrets {
		if !bytes.Contains(c.binary, []byte(name)) {
			return nil, fmt.Errorf("the binary no longer mentions %s, which deploy_test.go treats as an accepted secret; update documentedSecrets", name)
		}
	}
	return c, nil
}

// readSubcommand parses "narrator NAME --help", run with extra in the
// environment.
func readSubcommand(bin, name string, extra []string) (*subcommand, error) {
	args := append(strings.Fields(name), "--help")
	out, err := runHelp(bin, extra, args...)
	if err != nil {
		return nil, fmt.Errorf("narrator %s --help: %v\n%s", name, err, out)
	}
	sc := &subcommand{name: name, flags: map[string]*flagInfo{}, env: map[string]bool{}}
	var cur *flagInfo
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "Usage: narrator "+name):
			sc.synopsis = strings.TrimSpace(strings.TrimPrefix(line, "Usage: narrator "+name))
		case strings.HasPrefix(line, "  -"):
			head, usage, _ := strings.Cut(line[3:], "\t")
			f := strings.Fields(head)
			if len(f) == 0 {
				continue
			}
			cur = &flagInfo{name: f[0], hasValue: len(f) > 1, usage: strings.TrimSpace(usage)}
			sc.flags[cur.name] = cur
		case strings.HasPrefix(line, "    \t") && cur != nil:
			cur.usage = strings.TrimSpace(cur.usage + " " + strings.TrimSpace(line))
		}
	}
	for _, f := range sc.flags {
		if m := defaultText.FindStringSubmatch(f.usage); m != nil {
			f.def = m[1]
		}
	}
	for _, m := range envMention.FindAllStringSubmatch(out, -1) {
		for _, n := range envName.FindAllString(m[1], -1) {
			sc.env[n] = true
		}
	}
	for _, n := range fileMention.FindAllString(out, -1) {
		sc.env[n] = true
	}
	for secret, shows := range documentedSecrets {
		if sc.env[shows] {
			sc.env[secret] = true
			sc.env[secret+"_FILE"] = true
		}
	}
	return sc, nil
}

// probeStages asks a worker for the stages it knows, by naming one it does
// not: the pipeline refuses it and lists the real ones. The worker needs a
// NATS server for that; an in-process one is started and stopped here.
func (c *cli) probeStages(dir string) error {
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: filepath.Join(dir, "probe-js"),
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		return err
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		return fmt.Errorf("probe NATS server did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, "worker", "--stages", "no-such-stage", "--engine", "local")
	cmd.Env = append(baseEnv(dir), "NATS_URL="+srv.ClientURL(), "NARRATOR_DATA_DIR="+filepath.Join(dir, "probe-data"))
	out, err := cmd.CombinedOutput()
	if err == nil {
		return fmt.Errorf("narrator worker --stages no-such-stage succeeded; it should refuse an unknown stage")
	}
	if !strings.Contains(string(out), "no-such-stage") {
		return fmt.Errorf("narrator worker --stages no-such-stage failed without naming the stage: %v\n%s", err, out)
	}
	if m := stageList.FindStringSubmatch(string(out)); m != nil {
		for _, s := range strings.Split(m[1], ",") {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(c.stages, s) {
				c.stages = append(c.stages, s)
			}
		}
	}
	sort.Strings(c.stages)
	return nil
}

// accepts reports whether a command reads the environment variable.
func (sc *subcommand) accepts(name string) bool {
	if sc.env[name] || slices.Contains(goRuntimeEnv, name) {
		return true
	}
	for _, p := range sdkPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// acceptedByAny reports whether some command reads the variable.
func (c *cli) acceptedByAny(name string) bool {
	for _, sc := range c.commands {
		if sc.accepts(name) {
			return true
		}
	}
	return false
}

// lookup finds the subcommand an argument list names (the longest match,
// as narrator does) and the arguments after it.
func (c *cli) lookup(argv []string) (*subcommand, []string) {
	var best *subcommand
	n := 0
	for name, sc := range c.commands {
		w := strings.Fields(name)
		if len(w) > n && len(argv) >= len(w) && slices.Equal(argv[:len(w)], w) {
			best, n = sc, len(w)
		}
	}
	return best, argv[min(n, len(argv)):]
}

// parsedArgs is an argument list parsed as Go's flag package would.
type parsedArgs struct {
	cmd   *subcommand
	flags map[string]string
	args  []string
}

// checkArgv checks narrator's arguments (after the program name): a real
// subcommand, real flags, values where flags take them, real stages.
func checkArgv(c *cli, where string, argv []string, p *problems) *parsedArgs {
	sc, rest := c.lookup(argv)
	if sc == nil {
		names := make([]string, 0, len(c.commands))
		for n := range c.commands {
			names = append(names, n)
		}
		sort.Strings(names)
		p.addf("%s: narrator %s: no such command (commands: %s)", where, strings.Join(argv, " "), strings.Join(names, ", "))
		return nil
	}
	pa := &parsedArgs{cmd: sc, flags: map[string]string{}}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pa.args = rest[i+1:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pa.args = rest[i:]
			break
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := sc.flags[name]
		if f == nil {
			p.addf("%s: narrator %s has no flag -%s", where, sc.name, name)
			continue
		}
		if f.hasValue && !hasVal {
			if i+1 >= len(rest) {
				p.addf("%s: narrator %s -%s needs a value", where, sc.name, name)
				break
			}
			i++
			val = rest[i]
		}
		pa.flags[name] = val
	}
	if len(pa.args) > 0 && !regexp.MustCompile(`\b[A-Z]{2,}\b`).MatchString(strings.ReplaceAll(sc.synopsis, "[flags]", "")) {
		p.addf("%s: narrator %s takes no arguments, got %q", where, sc.name, pa.args)
	}
	if v, ok := pa.flags["stages"]; ok {
		checkStages(c, sc, where, v, p)
	}
	return pa
}

// checkStages checks a --stages or NARRATOR_STAGES value of a command:
// real stages, or "none" where the command's help offers it.
func checkStages(c *cli, sc *subcommand, where, list string, p *problems) {
	none := sc.flags["stages"] != nil && strings.Contains(sc.flags["stages"].usage, "or none")
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "none" && none {
			continue
		}
		if !slices.Contains(c.stages, s) {
			p.addf("%s: no stage %q (the binary's stages: %s)", where, s, strings.Join(c.stages, ", "))
		}
	}
}
