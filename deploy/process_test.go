package deploy

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/narrator-project/narrator/services/pipeline"
)

// process is one narrator process a deployment starts: a compose service
// or a Kubernetes container running the narrator image.
type process struct {
	system string // "compose" or "k8s"
	unit   string // compose service or Deployment name
	where  string // for messages
	argv   []string
	args   *parsedArgs
	env    map[string]string // what the deployment sets, not the image's ENV
	probes []httpProbe       // requests the platform makes to the process
	// files maps paths the deployment mounts into the process to what is
	// there: "secret:NAME/KEY" or "file:PATH" (relative to deploy/).
	files map[string]string
	// grace is how long the platform waits after SIGTERM.
	grace int
}

// httpProbe is a health request: a path on a port of the process.
type httpProbe struct {
	kind string // liveness, readiness, startup, healthcheck
	path string
	port int
}

// imageUse is a place that names an image.
type imageUse struct {
	where, image string
}

// setting returns what the process is told for a flag: the flag in its
// arguments, else the flag's environment variable, else "".
func (pr *process) setting(flag string) string {
	if pr.args == nil {
		return ""
	}
	if v, ok := pr.args.flags[flag]; ok {
		return v
	}
	f := pr.args.cmd.flags[flag]
	if f == nil {
		return ""
	}
	if m := envMention.FindStringSubmatch(f.usage); m != nil {
		for _, n := range envName.FindAllString(m[1], -1) {
			if v := pr.env[n]; v != "" {
				return v
			}
		}
	}
	return ""
}

// command names the subcommand, "" when the arguments named none.
func (pr *process) command() string {
	if pr.args == nil {
		return ""
	}
	return pr.args.cmd.name
}

// stages returns the stages the process runs: those --stages names ("none"
// is none), else the default, to which a switched-on setting adds its stage.
func (pr *process) stages(c *cli) []string {
	switch pr.command() {
	case "serve", "worker":
		v := pr.setting("stages")
		if v == "" {
			out := slices.Clone(c.allStages)
			for _, sw := range stageSwitches {
				if pr.env[sw.env] != "" {
					out = append(out, c.switches[sw.env]...)
				}
			}
			return out
		}
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "none" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// given reports whether the deployment sets a secret for the process: NAME
// or NAME_FILE, even if empty (a value left to the operator).
func (pr *process) given(name string) bool {
	_, a := pr.env[name]
	_, b := pr.env[name+"_FILE"]
	return a || b
}

// hasSecret reports whether the process is given a value of a secret: NAME,
// or a file NAME_FILE names.
func (pr *process) hasSecret(name string) bool {
	return pr.env[name] != "" || pr.env[name+"_FILE"] != ""
}

// engine returns the speech provider the process uses, as narrator picks
// it: --engine, else openai when an OpenAI key is set, else local.
func (pr *process) engine() string {
	if e := pr.setting("engine"); e != "" {
		return e
	}
	if pr.env["OPENAI_API_KEY"] != "" || pr.env["OPENAI_API_KEY_FILE"] != "" {
		return "openai"
	}
	return "local"
}

// consumers returns the durable consumers the process's stages use: the
// stage name with dots replaced by dashes, synthesis once per provider.
func (pr *process) consumers(c *cli) []string {
	var out []string
	for _, s := range pr.stageNames(c) {
		out = append(out, pipeline.Consumers(s)...)
	}
	return out
}

// stageNames returns the names of the stages the process runs, synthesis
// named for its engine ("synth.openai").
func (pr *process) stageNames(c *cli) []string {
	var out []string
	for _, s := range pr.stages(c) {
		if s == "synth" {
			s += "." + pr.engine()
		}
		out = append(out, s)
	}
	return out
}

// listenPorts returns the ports the process listens on: those of the
// addresses it is given in flags or variables ending in _ADDR.
func (pr *process) listenPorts() map[int]string {
	out := map[int]string{}
	if pr.args == nil {
		return out
	}
	for name, f := range pr.args.cmd.flags {
		m := envMention.FindStringSubmatch(f.usage)
		if m == nil || !strings.HasSuffix(strings.TrimSpace(m[1]), "_ADDR") {
			continue
		}
		v := pr.setting(name)
		if v == "" {
			v = f.def
		}
		if p := portOf(v); p > 0 {
			out[p] = strings.TrimSpace(m[1])
		}
	}
	return out
}

// portOf returns the port of a host:port address, 0 when there is none.
func portOf(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(port)
	return n
}

// natsHosts parses a NATS_URL list into host:port pairs.
func natsHosts(list string) ([]string, error) {
	var out []string
	for _, u := range strings.Split(list, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Scheme != "nats" || pu.Port() == "" {
			return nil, fmt.Errorf("%q is not nats://host:port", u)
		}
		out = append(out, pu.Host)
	}
	return out, nil
}

// checkProcesses checks what every deployment's narrator processes share:
// arguments and variables the binary accepts, the cluster settings, the
// secrets each stage needs, probes on ports the process listens on, and a
// worker for every stage.
func checkProcesses(b *bundle, c *cli, system string, procs []*process, p *problems) {
	if len(procs) == 0 {
		p.addf("%s: no narrator processes", system)
		return
	}
	engines := map[string][]string{}
	for _, pr := range procs {
		if pr.args == nil {
			continue
		}
		cmd := pr.args.cmd
		names := make([]string, 0, len(pr.env))
		for k := range pr.env {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !cmd.accepts(k) {
				p.addf("%s: %s is not read by narrator %s (see narrator %s --help)", pr.where, k, cmd.name, cmd.name)
			}
		}
		if v, ok := pr.env["NARRATOR_STAGES"]; ok && cmd.flags["stages"] != nil {
			checkStages(c, cmd, pr.where+": NARRATOR_STAGES", v, p)
		}
		if cmd.name != "serve" && cmd.name != "worker" {
			p.addf("%s: runs narrator %s; deployments run serve and worker", pr.where, cmd.name)
			continue
		}

		// One cluster, three replicas of every stream.
		if pr.setting("nats-url") == "" {
			p.addf("%s: no NATS_URL: the process would start its own embedded NATS", pr.where)
		}
		if r := pr.setting("replicas"); r != "3" {
			p.addf("%s: NARRATOR_REPLICAS is %q, want 3 for the three-node cluster", pr.where, r)
		}

		// What each stage needs.
		stages := pr.stages(c)
		if slices.Contains(stages, "publish") && pr.setting("s3-bucket") == "" {
			p.addf("%s: publishes without S3_BUCKET: audio would land in the container's data directory", pr.where)
		}
		// The HTTP server submits jobs for its engine, whose synth stage
		// takes their chunks.
		if cmd.name == "serve" || slices.Contains(stages, "synth") {
			engines[pr.engine()] = append(engines[pr.engine()], pr.unit)
		}
		if slices.Contains(stages, "synth") {
			if pr.engine() == "openai" && pr.env["OPENAI_API_KEY"] == "" && pr.env["OPENAI_API_KEY_FILE"] == "" && pr.setting("openai-base-url") == "" {
				p.addf("%s: synthesizes with openai but has no OPENAI_API_KEY or OPENAI_API_KEY_FILE", pr.where)
			}
		} else if pr.given("OPENAI_API_KEY") {
			p.addf("%s: is given OPENAI_API_KEY but runs no synth stage; only synth workers need the speech provider's key", pr.where)
		}

		// The HTTP server: editors sign in with tokens, and where workers
		// run the stages it runs none of them.
		if cmd.name == "serve" {
			if !pr.given("NARRATOR_API_TOKENS") {
				p.addf("%s: serves the editors' API without NARRATOR_API_TOKENS or NARRATOR_API_TOKENS_FILE: every editor route would be refused", pr.where)
			}
			if len(stages) > 0 && slices.ContainsFunc(procs, func(o *process) bool { return o.command() == "worker" }) {
				p.addf("%s: runs stages %v beside the HTTP server although workers run the stages here; give it --stages none", pr.where, stages)
			}
		}

		// A switched-off stage's worker refuses to start; a switched-on one
		// needs its secret.
		for _, sw := range stageSwitches {
			for _, st := range c.switches[sw.env] {
				if slices.Contains(stages, st) && pr.env[sw.env] == "" {
					p.addf("%s: runs stage %s without %s: the worker refuses to start", pr.where, st, sw.env)
				}
			}
			if pr.env[sw.env] != "" && !pr.hasSecret(sw.secret) {
				p.addf("%s: %s is set but neither %s nor %s_FILE is: the process refuses to start", pr.where, sw.env, sw.secret, sw.secret)
			}
		}

		// Secrets from files: the file must be mounted.
		for k, v := range pr.env {
			if !strings.HasSuffix(k, "_FILE") {
				continue
			}
			if _, ok := pr.files[v]; !ok {
				p.addf("%s: %s=%s but nothing is mounted there", pr.where, k, v)
			}
		}

		// Health requests go to a port the process listens on.
		ports := pr.listenPorts()
		for _, pb := range pr.probes {
			if _, ok := ports[pb.port]; !ok {
				p.addf("%s: %s probe on port %d, but the process listens on %v", pr.where, pb.kind, pb.port, keys(ports))
			}
		}
		hasProbe := func(kind string) bool {
			return slices.ContainsFunc(pr.probes, func(pb httpProbe) bool { return pb.kind == kind })
		}
		switch system {
		case "k8s":
			if !hasProbe("liveness") || !hasProbe("readiness") {
				p.addf("%s: want HTTP liveness and readiness probes", pr.where)
			}
		case "compose":
			if !hasProbe("healthcheck") {
				p.addf("%s: want a healthcheck that requests the process's health route", pr.where)
			}
		}
	}

	// The API submits jobs for its engine; synth workers must take them.
	if len(engines) > 1 {
		p.addf("%s: processes submit or synthesize with different engines %v; a job's chunks go to its engine's consumer", system, engines)
	}

	// Settings that only work when the processes that read them agree.
	runs := func(stage string) func(*process) bool {
		return func(pr *process) bool { return slices.Contains(pr.stages(c), stage) }
	}
	serves := func(pr *process) bool { return pr.command() == "serve" }
	either := func(a, b func(*process) bool) func(*process) bool {
		return func(pr *process) bool { return a(pr) || b(pr) }
	}
	all := func(pr *process) bool { return pr.command() == "serve" || pr.command() == "worker" }
	checkAgree(system, procs, "the HTTP server and clean workers check article URLs against one allow-list", either(serves, runs("clean")),
		func(pr *process) string { return pr.setting("fetch-allow") }, p)
	checkAgree(system, procs, "synth workers share one budget per provider and model", runs("synth"),
		func(pr *process) string {
			return fmt.Sprintf("rpm=%q cpm=%q rate-burst=%q", pr.setting("rpm"), pr.setting("cpm"), pr.setting("rate-burst"))
		}, p)
	checkAgree(system, procs, "the HTTP server unpublishes from the bucket publish and feed workers write", either(serves, either(runs("publish"), runs("feed"))),
		func(pr *process) string { return pr.setting("s3-bucket") }, p)
	required := slices.Clone(c.allStages)
	for _, sw := range stageSwitches {
		on := slices.ContainsFunc(procs, func(pr *process) bool { return pr.env[sw.env] != "" })
		if !on {
			continue
		}
		// The process that ends a job, whatever the stage, queues the
		// switched-on stage's task: the API too, when it unpublishes.
		checkAgree(system, procs, "every process queues the tasks of "+strings.Join(c.switches[sw.env], ", ")+" for the jobs it ends", all,
			func(pr *process) string { return sw.env + "=" + pr.env[sw.env] }, p)
		required = append(required, c.switches[sw.env]...)
	}

	// Every stage has a worker of its own.
	for _, st := range required {
		found := false
		for _, pr := range procs {
			if pr.command() == "worker" && slices.Contains(pr.stages(c), st) {
				found = true
			}
		}
		if !found {
			p.addf("%s: no worker runs stage %q; add one running 'narrator worker --stages %s'", system, st, st)
		}
	}
}

// checkAgree reports processes (those of which is true) that disagree on a
// value, naming which process has which.
func checkAgree(system string, procs []*process, why string, which func(*process) bool, value func(*process) string, p *problems) {
	units := map[string][]string{}
	for _, pr := range procs {
		if pr.args != nil && which(pr) {
			v := value(pr)
			units[v] = append(units[v], pr.unit)
		}
	}
	if len(units) < 2 {
		return
	}
	var parts []string
	for _, v := range keys(units) {
		parts = append(parts, fmt.Sprintf("%q (%s)", v, strings.Join(units[v], ", ")))
	}
	p.addf("%s: processes disagree, but %s: %s", system, why, strings.Join(parts, "; "))
}

// checkNATSURL checks that a NATS_URL names every node of the cluster at
// its client port; hosts maps each node's names to the node.
func checkNATSURL(where, list string, hosts map[string]string, clientPort int, p *problems) {
	hp, err := natsHosts(list)
	if err != nil {
		p.addf("%s: NATS_URL: %v", where, err)
		return
	}
	seen := map[string]bool{}
	for _, h := range hp {
		host, port, _ := net.SplitHostPort(h)
		node, ok := hosts[host]
		if !ok {
			p.addf("%s: NATS_URL names %s, which is no NATS node (nodes: %v)", where, host, keys(hosts))
			continue
		}
		if port != strconv.Itoa(clientPort) {
			p.addf("%s: NATS_URL names %s, but the client port is %d", where, h, clientPort)
		}
		seen[node] = true
	}
	nodes := map[string]bool{}
	for _, n := range hosts {
		nodes[n] = true
	}
	if len(seen) != len(nodes) {
		p.addf("%s: NATS_URL names %d of the %d NATS nodes; name them all so a process starts while one is down", where, len(seen), len(nodes))
	}
}

// checkImages checks that every place names the same narrator image.
func checkImages(b *bundle, p *problems) {
	repos := map[string][]string{}
	for _, u := range b.images {
		if r, _ := splitImage(u.image); !slices.Contains(repos[r], u.where) {
			repos[r] = append(repos[r], u.where)
		}
	}
	if len(repos) != 1 {
		var parts []string
		for r, w := range repos {
			parts = append(parts, fmt.Sprintf("%s (%s)", r, strings.Join(w, ", ")))
		}
		sort.Strings(parts)
		p.addf("the narrator image is named differently in different places: %s", strings.Join(parts, "; "))
	}
}

// isNarratorImage reports whether an image reference is narrator's.
func isNarratorImage(ref string) bool {
	r, _ := splitImage(ref)
	return path.Base(r) == "narrator"
}

// healthcheckRequest finds the port and path of an HTTP request a
// healthcheck command makes: a URL, or bash's /dev/tcp with a GET line.
func healthcheckRequest(test []string) (port int, path string, ok bool) {
	s := strings.Join(test, " ")
	if m := regexp.MustCompile(`https?://[^/\s:]+:(\d+)(/[^\s'"]*)`).FindStringSubmatch(s); m != nil {
		port, _ = strconv.Atoi(m[1])
		return port, m[2], true
	}
	m1 := regexp.MustCompile(`/dev/tcp/[^/\s]+/(\d+)`).FindStringSubmatch(s)
	m2 := regexp.MustCompile(`GET (/\S*) HTTP`).FindStringSubmatch(s)
	if m1 != nil && m2 != nil {
		port, _ = strconv.Atoi(m1[1])
		return port, m2[1], true
	}
	return 0, "", false
}

func keys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
