package deploy

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/narrator-project/narrator/storage/storagetest"
)

var composeVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate expands $NAME, ${NAME:-default} and friends as compose does
// with the variables of env set (a .env file); with none, the checks see
// what a fresh checkout runs with.
func interpolate(s string, env map[string]string) (string, error) {
	var err error
	out := composeVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sm := composeVar.FindStringSubmatch(m)
		name := sm[1] + sm[4]
		val, set := env[name]
		switch sm[2] {
		case ":-":
			if val == "" {
				return sm[3]
			}
		case "-":
			if !set {
				return sm[3]
			}
		case ":?", "?":
			if val == "" && (sm[2] == ":?" || !set) {
				err = fmt.Errorf("%s is required (%s)", name, sm[3])
			}
		}
		return val
	})
	return out, err
}

// composeVariant is how docker-compose.yml runs with a .env file: the
// variables compose interpolates, and the profiles COMPOSE_PROFILES there
// switches on.
type composeVariant struct {
	name     string // "" for no .env
	env      map[string]string
	profiles []string
}

// composeVariants returns the file as a fresh checkout runs it, then with
// the .env that switches every optional stage on.
func composeVariants() []composeVariant {
	on := composeVariant{env: composeOnEnv()}
	on.profiles = strings.Split(on.env["COMPOSE_PROFILES"], ",")
	on.name = fmt.Sprintf("with COMPOSE_PROFILES=%s and %s in .env", on.env["COMPOSE_PROFILES"], strings.Join(slices.DeleteFunc(keys(on.env), func(k string) bool { return k == "COMPOSE_PROFILES" }), ", "))
	return []composeVariant{{}, on}
}

// composeOnEnv is the .env that switches every optional stage on: its
// profile, its setting and the setting's secret.
func composeOnEnv() map[string]string {
	env := map[string]string{}
	var profiles []string
	for _, sw := range stageSwitches {
		profiles = append(profiles, sw.profile)
		env[sw.env], env[sw.secret] = sw.example, testSecret
	}
	env["COMPOSE_PROFILES"] = strings.Join(profiles, ",")
	return env
}

// active reports whether a service runs with a variant's profiles.
func (v composeVariant) active(s composeService) bool {
	return len(s.Profiles) == 0 || slices.ContainsFunc(s.Profiles, func(pf string) bool { return slices.Contains(v.profiles, pf) })
}

// composeServiceNames lists the services in order.
func (c *composeFile) serviceNames() []string { return keys(c.Services) }

// natsNodes maps every name a NATS node answers to in compose (service
// name and network aliases) to its service.
func (c *composeFile) natsNodes() map[string]string {
	out := map[string]string{}
	for name, s := range c.Services {
		if repo, _ := splitImage(s.Image); repo != "nats" {
			continue
		}
		out[name] = name
		for _, n := range s.Networks {
			for _, a := range n.Aliases {
				out[a] = name
			}
		}
	}
	return out
}

// composeProcesses returns the narrator services a variant runs as
// processes.
func composeProcesses(b *bundle, c *cli, v composeVariant, p *problems) []*process {
	cf := b.compose
	var entry, cmd []string
	if b.dockerfile != nil {
		entry, cmd, _ = b.dockerfile.entrypoint()
	}
	var procs []*process
	for _, name := range cf.serviceNames() {
		s := cf.Services[name]
		if (!isNarratorImage(s.Image) && s.Build == nil) || !v.active(s) {
			continue
		}
		where := fmt.Sprintf("%s: service %s", b.composePath, name)
		b.images = append(b.images, imageUse{where: where, image: s.Image})
		argv := append(slices.Clone(entry), cmd...)
		if s.Entrypoint != nil {
			argv = slices.Clone([]string(s.Entrypoint))
			if s.Command != nil {
				argv = append(argv, s.Command...)
			}
		} else if s.Command != nil {
			argv = append(slices.Clone(entry), s.Command...)
		}
		if len(argv) == 0 || path.Base(argv[0]) != "narrator" {
			p.addf("%s: runs %q, not narrator", where, argv)
			continue
		}
		pr := &process{system: "compose", unit: name, where: where, argv: argv[1:], env: map[string]string{}, files: map[string]string{}}
		pr.args = checkArgv(c, where, pr.argv, p)
		for k, raw := range s.Environment {
			val, err := interpolate(raw, v.env)
			if err != nil {
				p.addf("%s: %s: %v", where, k, err)
			}
			pr.env[k] = val
		}
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			pr.files[dst] = "file:" + src
		}
		if s.Healthcheck != nil && !s.Healthcheck.Disable {
			if port, hp, ok := healthcheckRequest(s.Healthcheck.Test); ok {
				pr.probes = append(pr.probes, httpProbe{kind: "healthcheck", path: hp, port: port})
			}
		}
		if d, err := time.ParseDuration(s.StopGracePeriod); err == nil {
			pr.grace = int(d.Seconds())
		} else {
			pr.grace = 10 // compose's default
		}
		procs = append(procs, pr)
	}
	return procs
}

// checkCompose checks docker-compose.yml.
func checkCompose(b *bundle, c *cli, p *problems) []*process {
	cf := b.compose
	if cf == nil {
		return nil
	}
	file := b.composePath
	for k := range cf.Extensions {
		if !strings.HasPrefix(k, "x-") {
			p.addf("%s: unknown top-level field %q (extension fields start with x-)", file, k)
		}
	}

	// References between services, networks, volumes and files.
	for _, name := range cf.serviceNames() {
		s := cf.Services[name]
		where := fmt.Sprintf("%s: service %s", file, name)
		if s.Image == "" {
			p.addf("%s: no image", where)
		}
		if s.Build != nil {
			df := filepath.ToSlash(filepath.Join("deploy", s.Build.Context, s.Build.Dockerfile))
			if df != "deploy/Dockerfile" {
				p.addf("%s: builds with %s (from context %s), want the repository root and deploy/Dockerfile", where, df, s.Build.Context)
			}
		}
		for n := range s.Networks {
			if _, ok := cf.Networks[n]; !ok {
				p.addf("%s: network %s is not defined under networks", where, n)
			}
		}
		for _, v := range s.Volumes {
			src, rest, ok := strings.Cut(v, ":")
			if !ok || rest == "" {
				p.addf("%s: volume %q: want SOURCE:TARGET", where, v)
				continue
			}
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if rel := path.Clean(src); !b.hasFile(rel) {
					p.addf("%s: mounts %s, which is not a file in deploy/", where, src)
				}
			} else if _, ok := cf.Volumes[src]; !ok {
				p.addf("%s: volume %s is not defined under volumes", where, src)
			}
		}
		for dep, d := range s.DependsOn {
			target, ok := cf.Services[dep]
			if !ok {
				p.addf("%s: depends on %s, which is no service", where, dep)
				continue
			}
			if len(target.Profiles) > 0 && !slices.ContainsFunc(s.Profiles, func(pf string) bool { return slices.Contains(target.Profiles, pf) }) {
				p.addf("%s: depends on %s, which runs only with profile %v", where, dep, target.Profiles)
			}
			switch d.Condition {
			case "service_healthy":
				if target.Healthcheck == nil {
					p.addf("%s: waits for %s to be healthy, but it has no healthcheck", where, dep)
				}
			case "service_completed_successfully":
				if target.Restart != "" && target.Restart != "no" {
					p.addf("%s: waits for %s to complete, but it restarts (%s)", where, dep, target.Restart)
				}
			case "service_started", "":
			default:
				p.addf("%s: depends on %s with condition %q", where, dep, d.Condition)
			}
		}
		if s.Restart != "" && s.Restart != "no" && (s.Healthcheck == nil || s.Healthcheck.Disable) {
			p.addf("%s: a long-running service without a healthcheck", where)
		}
		for _, pt := range s.Ports {
			if !regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+:)?\d+:\d+(/tcp|/udp)?$`).MatchString(pt) {
				p.addf("%s: port %q: want [IP:]HOST:CONTAINER", where, pt)
			}
		}
	}

	// The comments tell operators the .env that switches the optional
	// stages on.
	var optional []string
	for _, sw := range stageSwitches {
		optional = append(optional, c.switches[sw.env]...)
	}
	on := composeOnEnv()
	for _, k := range keys(on) {
		want := k + "="
		if k == "COMPOSE_PROFILES" {
			want += on[k]
		}
		if !strings.Contains(string(b.files[file]), want) {
			p.addf("%s: the comments do not say to put %s in .env, which switches on stage %s", file, want, strings.Join(optional, ", "))
		}
	}

	var procs []*process
	seen := map[string]bool{}
	for _, v := range composeVariants() {
		var found problems
		vprocs := composeProcesses(b, c, v, &found)
		checkProcesses(b, c, "compose", vprocs, &found)
		checkComposeNATS(b, vprocs, v.env, &found)
		checkComposeS3(b, vprocs, v.env, &found)
		if v.name == "" {
			*p = append(*p, found...)
		} else {
			p.addVariant("compose "+v.name, "compose", found)
		}
		for _, pr := range vprocs {
			if !seen[pr.where] {
				seen[pr.where] = true
				procs = append(procs, pr)
			}
		}
	}
	return procs
}

// checkComposeNATS checks the NATS services against nats-server.conf and
// the narrator services' NATS_URL.
func checkComposeNATS(b *bundle, procs []*process, env map[string]string, p *problems) {
	cf, nc := b.compose, b.natsConf
	if nc == nil {
		return
	}
	nodes := cf.natsNodes()
	var services []string
	for _, n := range nodes {
		if !slices.Contains(services, n) {
			services = append(services, n)
		}
	}
	slices.Sort(services)
	if len(services) != len(nc.opts.Routes) {
		p.addf("%s: %d NATS services, but nats-server.conf routes to %d nodes", b.composePath, len(services), len(nc.opts.Routes))
	}
	// Each route reaches one node, and every node is a route.
	routed := map[string]bool{}
	for _, h := range nc.routeHosts() {
		n, ok := nodes[h]
		if !ok {
			p.addf("%s: nats-server.conf routes to %s, which no NATS service answers to (give it that network alias)", b.composePath, h)
			continue
		}
		routed[n] = true
	}
	names := map[string]map[string]string{}
	for _, name := range services {
		s := cf.Services[name]
		where := fmt.Sprintf("%s: service %s", b.composePath, name)
		if !routed[name] {
			p.addf("%s: no route in nats-server.conf reaches this node", where)
		}
		checkNATSImage(where, s.Image, p)
		argv := append(slices.Clone([]string(s.Entrypoint)), s.Command...)
		checkNATSArgs(where, argv, nc, p)
		conf := natsConfigArg(argv)
		mounted, mounts := false, []string{}
		for _, v := range s.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			if dst == conf && path.Clean(src) == "nats-server.conf" {
				mounted = true
			}
			if !strings.HasPrefix(src, ".") && !strings.HasPrefix(src, "/") {
				mounts = append(mounts, dst)
			}
		}
		if conf == "" || !mounted {
			p.addf("%s: runs %q; want --config with ./nats-server.conf mounted at that path", where, argv)
		}
		if !underMount(nc.opts.StoreDir, mounts) {
			p.addf("%s: the JetStream store %s is not on a named volume (volumes at %v): streams would not survive the container", where, nc.opts.StoreDir, mounts)
		}
		if nc.opts.PidFile != "" && !underMount(nc.opts.PidFile, mounts) {
			p.addf("%s: pid_file %s is not on a volume", where, nc.opts.PidFile)
		}
		for _, v := range nc.vars {
			val, _ := interpolate(s.Environment[v], env)
			if val == "" {
				p.addf("%s: nats-server.conf needs $%s, which the service does not set", where, v)
				continue
			}
			if names[v] == nil {
				names[v] = map[string]string{}
			}
			if other, dup := names[v][val]; dup {
				p.addf("%s: %s=%s, the same as service %s", where, v, val, other)
			}
			names[v][val] = name
		}
		if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d <= nc.lameDuck() {
			p.addf("%s: stop_grace_period %q must exceed lame duck mode (%s) in nats-server.conf", where, s.StopGracePeriod, nc.lameDuck())
		}
		if s.Healthcheck == nil {
			continue
		}
		port, hp, ok := healthcheckRequest(s.Healthcheck.Test)
		if !ok || port != nc.opts.HTTPPort || !strings.HasPrefix(hp, "/healthz") {
			p.addf("%s: healthcheck %q: want a request to /healthz on the monitoring port %d", where, s.Healthcheck.Test, nc.opts.HTTPPort)
		} else if pb := (httpProbe{kind: where + " healthcheck", path: hp, port: port}); !slices.Contains(b.natsProbes, pb) {
			b.natsProbes = append(b.natsProbes, pb)
		}
	}
	for _, pr := range procs {
		if u := pr.setting("nats-url"); u != "" {
			checkNATSURL(pr.where, u, nodes, nc.opts.Port, p)
		}
	}
}

// checkComposeS3 checks the S3 server, the bucket it creates and the
// narrator services' S3 settings agree.
func checkComposeS3(b *bundle, procs []*process, env map[string]string, p *problems) {
	cf := b.compose
	var gw string
	for _, name := range cf.serviceNames() {
		if repo, _ := splitImage(cf.Services[name].Image); repo == "versity/versitygw" {
			gw = name
		}
	}
	if gw == "" {
		p.addf("%s: no S3-compatible server (versity/versitygw)", b.composePath)
		return
	}
	s := cf.Services[gw]
	where := fmt.Sprintf("%s: service %s", b.composePath, gw)
	if _, tag := splitImage(s.Image); tag != storagetest.VersityGWVersion {
		p.addf("%s: image %s; the storage tests run versitygw %s", where, s.Image, storagetest.VersityGWVersion)
	}
	gwPort, health := 7070, ""
	for i, a := range s.Command {
		if i+1 < len(s.Command) {
			switch a {
			case "--port", "-p":
				_, gwPort = hostPort(s.Command[i+1])
			case "--health":
				health = s.Command[i+1]
			}
		}
	}
	if s.Healthcheck != nil {
		port, hp, ok := healthcheckRequest(s.Healthcheck.Test)
		if !ok || port != gwPort || hp != health {
			p.addf("%s: healthcheck %q: want a request to --health %q on port %d", where, s.Healthcheck.Test, health, gwPort)
		}
	}
	access := firstNonEmpty(s.Environment["ROOT_ACCESS_KEY"], s.Environment["ROOT_ACCESS_KEY_ID"])
	secret, _ := interpolate(firstNonEmpty(s.Environment["ROOT_SECRET_KEY"], s.Environment["ROOT_SECRET_ACCESS_KEY"]), env)

	// Every process with a bucket reaches this server with its credentials.
	var bucket string
	for _, pr := range procs {
		bk := pr.setting("s3-bucket")
		if bk == "" {
			continue
		}
		if bucket != "" && bk != bucket {
			p.addf("%s: S3_BUCKET %s, others use %s", pr.where, bk, bucket)
		}
		bucket = bk
		u, err := url.Parse(pr.setting("s3-endpoint"))
		if err != nil || u.Hostname() != gw || u.Port() != strconv.Itoa(gwPort) {
			p.addf("%s: S3_ENDPOINT %q, want http://%s:%d", pr.where, pr.setting("s3-endpoint"), gw, gwPort)
		}
		if pr.env["S3_ACCESS_KEY_ID"] != access || pr.env["S3_SECRET_ACCESS_KEY"] != secret {
			p.addf("%s: S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY do not match service %s's root credentials", pr.where, gw)
		}
		pub, err := url.Parse(pr.setting("s3-public-url"))
		if err != nil || pub.Path != "/"+bk || !slices.ContainsFunc(s.Ports, func(pt string) bool { return strings.HasSuffix(pt, ":"+pub.Port()+":"+strconv.Itoa(gwPort)) }) {
			p.addf("%s: S3_PUBLIC_URL %q: want the bucket's path on a port service %s publishes (%v)", pr.where, pr.setting("s3-public-url"), gw, s.Ports)
		}
	}
	if bucket == "" {
		p.addf("%s: no narrator service sets S3_BUCKET", b.composePath)
		return
	}

	// A one-shot service creates that bucket and makes it readable.
	created := false
	for _, name := range cf.serviceNames() {
		is := cf.Services[name]
		if _, ok := is.DependsOn[gw]; !ok || isNarratorImage(is.Image) || is.Build != nil {
			continue
		}
		iw := fmt.Sprintf("%s: service %s", b.composePath, name)
		script := strings.Join(append(slices.Clone([]string(is.Entrypoint)), is.Command...), " ")
		for _, m := range regexp.MustCompile(`--bucket\s+(\S+)`).FindAllStringSubmatch(script, -1) {
			if m[1] != bucket {
				p.addf("%s: works on bucket %s, but narrator publishes to %s", iw, m[1], bucket)
			}
		}
		if strings.Contains(script, "create-bucket") || strings.Contains(script, "s3 mb") {
			created = true
		}
		if is.Environment["AWS_ACCESS_KEY_ID"] != access {
			p.addf("%s: AWS_ACCESS_KEY_ID does not match service %s's root access key", iw, gw)
		}
		for _, v := range is.Volumes {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			if pol, ok := b.json[path.Clean(src)]; ok {
				if !strings.Contains(script, "file://"+dst) {
					p.addf("%s: mounts %s at %s but does not use it", iw, src, dst)
				}
				checkBucketPolicy(path.Clean(src), pol, bucket, p)
			}
		}
	}
	if !created {
		p.addf("%s: no service creates bucket %s", b.composePath, bucket)
	}
}

// checkBucketPolicy checks a bucket policy lets anyone read the bucket's
// objects and nothing more.
func checkBucketPolicy(file string, v any, bucket string, p *problems) {
	pol, _ := v.(map[string]any)
	if pol["Version"] != "2012-10-17" {
		p.addf("%s: Version %v, want 2012-10-17", file, pol["Version"])
	}
	sts, _ := pol["Statement"].([]any)
	if len(sts) == 0 {
		p.addf("%s: no Statement", file)
	}
	for i, s := range sts {
		st, _ := s.(map[string]any)
		for _, a := range asStrings(st["Action"]) {
			if a != "s3:GetObject" {
				p.addf("%s: statement %d allows %s; listeners need s3:GetObject only", file, i+1, a)
			}
		}
		for _, r := range asStrings(st["Resource"]) {
			if r != "arn:aws:s3:::"+bucket+"/*" {
				p.addf("%s: statement %d covers %s, want arn:aws:s3:::%s/*", file, i+1, r, bucket)
			}
		}
		if st["Effect"] != "Allow" || st["Principal"] != "*" {
			p.addf("%s: statement %d: want Effect Allow for Principal *", file, i+1)
		}
	}
}

func asStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
