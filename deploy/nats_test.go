package deploy

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsConf is nats-server.conf as the NATS server reads it.
type natsConf struct {
	text string
	// vars are the environment variables the file refers to ($NAME); each
	// node must set them.
	vars []string
	// opts is the file processed by the server's own parser, with each
	// variable set to probeValue(name).
	opts *server.Options
}

var confVar = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)

func probeValue(name string) string { return "probe-" + strings.ToLower(name) }

// parseNATSConf runs the configuration through nats-server's parser and
// option processing, which refuse unknown fields and bad values.
func parseNATSConf(data []byte) (*natsConf, error) {
	nc := &natsConf{text: string(data)}
	seen := map[string]bool{}
	for _, line := range strings.Split(nc.text, "\n") {
		if i := strings.IndexAny(line, "#"); i >= 0 {
			line = line[:i]
		}
		for _, m := range confVar.FindAllStringSubmatch(line, -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				nc.vars = append(nc.vars, m[1])
			}
		}
	}
	sort.Strings(nc.vars)
	f, err := nc.writeWith(os.TempDir(), probeValue)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f)
	nc.opts, err = server.ProcessConfigFile(f)
	if err != nil {
		return nil, fmt.Errorf("nats-server refuses it: %v", err)
	}
	return nc, nil
}

// writeWith writes the configuration to a new file in dir with each
// variable defined at the top, as the environment would define it.
func (nc *natsConf) writeWith(dir string, value func(name string) string) (string, error) {
	var prelude strings.Builder
	for _, v := range nc.vars {
		fmt.Fprintf(&prelude, "%s: %q\n", v, value(v))
	}
	f, err := os.CreateTemp(dir, "nats-server-*.conf")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(prelude.String() + nc.text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// checkNATSArgs runs a NATS container's command line through nats-server's
// own flag parsing, with the configuration it names replaced by a local
// copy of nats-server.conf.
func checkNATSArgs(where string, argv []string, nc *natsConf, p *problems) {
	if len(argv) == 0 || path.Base(argv[0]) != "nats-server" {
		p.addf("%s: runs %q, want nats-server", where, argv)
		return
	}
	conf := natsConfigArg(argv)
	local, err := nc.writeWith(os.TempDir(), probeValue)
	if err != nil {
		p.addf("%s: %v", where, err)
		return
	}
	defer os.Remove(local)
	args := slices.Clone(argv[1:])
	for i, a := range args {
		if a == conf {
			args[i] = local
		} else if strings.HasSuffix(a, "="+conf) {
			args[i] = strings.TrimSuffix(a, conf) + local
		}
	}
	fs := flag.NewFlagSet("nats-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	noop := func() {}
	if _, err := server.ConfigureOptions(fs, args, noop, noop, noop); err != nil {
		p.addf("%s: nats-server %s: %v", where, strings.Join(argv[1:], " "), err)
	}
}

// routeHosts returns the host names of the cluster routes.
func (nc *natsConf) routeHosts() []string {
	var out []string
	for _, r := range nc.opts.Routes {
		out = append(out, r.Hostname())
	}
	return out
}

// checkNATSConf checks the cluster configuration on its own.
func checkNATSConf(b *bundle, p *problems) {
	nc := b.natsConf
	if nc == nil {
		return
	}
	o := nc.opts
	const where = "nats-server.conf"
	if !o.JetStream {
		p.addf("%s: JetStream is not enabled (add a jetstream block)", where)
	}
	if !o.SyncAlways {
		p.addf("%s: jetstream.sync_interval is not always: acknowledged writes would sit unsynced for up to two minutes", where)
	}
	if o.StoreDir == "" || !path.IsAbs(o.StoreDir) {
		p.addf("%s: jetstream.store_dir %q: want an absolute path on the data volume", where, o.StoreDir)
	}
	named := false
	for _, v := range nc.vars {
		if o.ServerName == probeValue(v) {
			named = true
		}
	}
	if !named {
		p.addf("%s: server_name %q is not taken from the environment ($SERVER_NAME): every node would have the same name", where, o.ServerName)
	}
	if o.Cluster.Name == "" || o.Cluster.Port <= 0 {
		p.addf("%s: want a cluster block with a name and a listen port", where)
	}
	hosts := nc.routeHosts()
	if len(hosts) != 3 {
		p.addf("%s: %d cluster routes, want the three nodes", where, len(hosts))
	}
	seen := map[string]bool{}
	for i, r := range o.Routes {
		if seen[r.Hostname()] {
			p.addf("%s: route %s is listed twice", where, r.Hostname())
		}
		seen[r.Hostname()] = true
		if r.Port() != strconv.Itoa(o.Cluster.Port) {
			p.addf("%s: route %d (%s) is not on the cluster port %d", where, i+1, r.Host, o.Cluster.Port)
		}
	}
	if o.HTTPPort <= 0 {
		p.addf("%s: no monitoring port (http_port): probes and KEDA's scaler read it", where)
	}
	if o.MaxPayload < 1<<20 {
		p.addf("%s: max_payload %d is below NATS's 1 MB default, which narrator's messages are sized for", where, o.MaxPayload)
	}
	if o.Port <= 0 {
		p.addf("%s: no client port", where)
	}
	if o.PidFile != "" && !path.IsAbs(o.PidFile) {
		p.addf("%s: pid_file %q: want an absolute path", where, o.PidFile)
	}
}

// lameDuck is how long a node takes to stop after it is told to.
func (nc *natsConf) lameDuck() time.Duration {
	return nc.opts.LameDuckDuration + nc.opts.LameDuckGracePeriod
}

// underMount reports whether a path is at or under one of the mount points.
func underMount(p string, mounts []string) bool {
	for _, m := range mounts {
		m = strings.TrimSuffix(m, "/")
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

// checkNATSImage checks a NATS image is the release the configuration was
// validated with here (the nats-server module in go.mod).
func checkNATSImage(where, image string, p *problems) {
	repo, tag := splitImage(image)
	if repo != "nats" {
		p.addf("%s: image %s, want the official nats image", where, image)
		return
	}
	want := majorMinor(server.VERSION)
	v, _, _ := strings.Cut(tag, "-")
	if majorMinor(v) != want {
		p.addf("%s: image %s; the configuration is checked with nats-server %s (go.mod), want nats:%s-alpine", where, image, server.VERSION, want)
	}
}

// natsConfigArg returns the path given to nats-server with --config or -c.
func natsConfigArg(argv []string) string {
	for i, a := range argv {
		switch {
		case (a == "--config" || a == "-c" || a == "-config") && i+1 < len(argv):
			return argv[i+1]
		case strings.HasPrefix(a, "--config="):
			return strings.TrimPrefix(a, "--config=")
		}
	}
	return ""
}

// hostPort splits host:port, "" and 0 when it is not one.
func hostPort(s string) (string, int) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}
