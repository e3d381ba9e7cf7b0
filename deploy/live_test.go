package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/c2pa"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/webhook"
	"github.com/narrator-project/narrator/storage/storagetest"
)

// TestDeploymentsRunOnTheirCluster starts the three-node NATS cluster that
// nats-server.conf describes (in this process, on local ports) and a real
// S3 server, then runs every narrator process that docker-compose.yml and
// the Kubernetes manifests start, with their arguments and variables, and
// those they start with an optional stage switched on. Each must come up,
// create the consumers its stages work on (the names KEDA scales on),
// answer its probes and health checks, and stop cleanly on SIGTERM within
// its grace period. A webhook worker must also deliver a queued event,
// signed, to an endpoint this test runs.
func TestDeploymentsRunOnTheirCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster, an S3 server and every deployed process")
	}
	files, err := readDeployFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	b, p := checkAll(files, narrator)
	if len(p) > 0 {
		t.Fatalf("the deploy files have problems (see TestDeployFilesMatchTheBinary); first: %s", p[0])
	}
	cl := startCluster(t, b.natsConf)
	gw := storagetest.StartVersityGW(t)
	hooks := startReceiver(t)

	t.Run("NATS probes", func(t *testing.T) {
		for _, pb := range b.natsProbes {
			for _, n := range cl.nodes {
				if err := waitHTTP(t.Context(), "http://"+n.monitor+pb.path, 30*time.Second); err != nil {
					t.Errorf("%s: node %s: %v", pb.kind, n.name, err)
				}
			}
		}
	})

	buckets := map[string]bool{}
	for _, pr := range append(slices.Clone(b.composeProcs), b.k8sProcs...) {
		t.Run(pr.where, func(t *testing.T) {
			if bk := pr.setting("s3-bucket"); bk != "" && !buckets[bk] {
				if err := gw.CreateBucket(t.Context(), bk); err != nil {
					t.Fatal(err)
				}
				buckets[bk] = true
			}
			runDeployed(t, cl, gw, hooks, b, pr)
		})
	}

	t.Run("streams have three replicas", func(t *testing.T) {
		s, err := cl.js.Stream(t.Context(), queue.TaskStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 {
			t.Errorf("%s has %d replicas, want 3", queue.TaskStream, info.Config.Replicas)
		}
	})
}

// cluster is three in-process NATS servers made from nats-server.conf.
type cluster struct {
	nodes []*node
	urls  string // NATS_URL for all three
	nc    *nats.Conn
	js    jetstream.JetStream
	q     *queue.Queue // narrator's view of it, opened when first needed
}

// queue opens narrator's streams and buckets on the cluster, as the
// deployed processes do.
func (cl *cluster) queue(t *testing.T) *queue.Queue {
	t.Helper()
	if cl.q != nil {
		return cl.q
	}
	q, err := queue.Open(t.Context(), queue.Config{URL: cl.urls, Replicas: len(cl.nodes)})
	if err != nil {
		t.Fatal(err)
	}
	cl.q = q
	return q
}

type node struct {
	name, monitor string
	srv           *server.Server
}

// startCluster runs nats-server.conf three times, as the three nodes: the
// file's settings (JetStream, sync_interval, limits, cluster name) stay;
// addresses, routes and directories are moved to this machine.
func startCluster(t *testing.T, nc *natsConf) *cluster {
	t.Helper()
	var routes []string
	ports := make([]int, 3)
	for i := range ports {
		ports[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	cl := &cluster{}
	var urls []string
	for i := range 3 {
		name := fmt.Sprintf("nats-%d", i)
		conf, err := nc.writeWith(t.TempDir(), func(string) string { return name })
		if err != nil {
			t.Fatal(err)
		}
		o, err := server.ProcessConfigFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		o.Host, o.Port = "127.0.0.1", -1
		o.HTTPHost, o.HTTPPort = "127.0.0.1", -1
		o.Cluster.Host, o.Cluster.Port = "127.0.0.1", ports[i]
		o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		o.StoreDir = filepath.Join(dir, "jetstream")
		o.PidFile = filepath.Join(dir, "nats-server.pid")
		// DEPLOY_NATS_LOG=1 shows the nodes' logs, for a cluster that will
		// not form.
		o.NoSigs, o.NoLog = true, os.Getenv("DEPLOY_NATS_LOG") == ""
		o.Debug = os.Getenv("DEPLOY_NATS_LOG") != ""
		srv, err := server.NewServer(o)
		if err != nil {
			t.Fatal(err)
		}
		srv.ConfigureLogger()
		srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		if !srv.ReadyForConnections(30 * time.Second) {
			t.Fatalf("%s did not start", name)
		}
		if srv.Name() != name {
			t.Fatalf("server name %q, want %q from $SERVER_NAME", srv.Name(), name)
		}
		cl.nodes = append(cl.nodes, &node{name: name, monitor: srv.MonitorAddr().String(), srv: srv})
		urls = append(urls, srv.ClientURL())
	}
	cl.urls = strings.Join(urls, ",")
	t.Cleanup(func() {
		if cl.q != nil {
			cl.q.Close()
		}
	})
	var err error
	if cl.nc, err = nats.Connect(cl.urls); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.nc.Close)
	if cl.js, err = jetstream.New(cl.nc); err != nil {
		t.Fatal(err)
	}
	// JetStream answers once the nodes have elected a meta leader.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var last error
	for {
		attempt, stop := context.WithTimeout(ctx, 2*time.Second)
		_, err := cl.js.AccountInfo(attempt)
		stop()
		if err == nil {
			return cl
		}
		if ctx.Err() != nil {
			t.Fatalf("the cluster did not form: %v", last)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
}

// testSecret is the value the processes get for every secret the
// deployment gives them: long enough for narrator's length checks.
const testSecret = "deploy-test-secret-0123456789abcdef"

// fakeSecret is a value of a secret narrator accepts: API tokens in their
// name:scope:secret form, the C2PA certificate and key as a test pair made
// in dir, any other secret as testSecret.
func fakeSecret(t *testing.T, dir, name string) string {
	switch name {
	case "NARRATOR_API_TOKENS":
		return "deploy-test:editor:" + testSecret
	case "NARRATOR_C2PA_CERT", "NARRATOR_C2PA_KEY":
		cert, key, _, err := c2pa.TestCredentials(filepath.Join(dir, "c2pa"), "deploy test")
		if err != nil {
			t.Fatal(err)
		}
		f := cert
		if name == "NARRATOR_C2PA_KEY" {
			f = key
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return testSecret
}

// runDeployed runs one deployed narrator process against the cluster.
func runDeployed(t *testing.T, cl *cluster, gw *storagetest.VersityGW, hooks *receiver, b *bundle, pr *process) {
	dir := t.TempDir()
	cl.deleteConsumers(t)

	env := map[string]string{}
	if b.dockerfile != nil {
		for k, v := range b.dockerfile.env() {
			env[k] = v
		}
	}
	secretFile := func(name, value string) string {
		f := filepath.Join(dir, "secret-"+name)
		if err := os.WriteFile(f, []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for k, v := range pr.env {
		if strings.HasPrefix(v, "secret:") || v == "(from the pod)" {
			v = fakeSecret(t, dir, k)
		}
		env[k] = v
	}
	// Where the platform would provide things, this machine does.
	env["NATS_URL"] = cl.urls
	if env["NARRATOR_WEBHOOK_URLS"] != "" {
		env["NARRATOR_WEBHOOK_URLS"] = hooks.url
	}
	env["NARRATOR_DATA_DIR"] = filepath.Join(dir, "data")
	if env["S3_BUCKET"] != "" {
		env["S3_ENDPOINT"], env["S3_REGION"], env["S3_PATH_STYLE"] = gw.Endpoint, gw.Region, "true"
		env["S3_ACCESS_KEY_ID"], env["S3_SECRET_ACCESS_KEY"] = gw.AccessKey, gw.SecretKey
		for _, k := range []string{"S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"} {
			if _, ok := env[k+"_FILE"]; ok {
				env[k+"_FILE"] = secretFile(k, env[k])
				delete(env, k)
			}
		}
	}
	for k := range env {
		if strings.HasSuffix(k, "_FILE") && !strings.HasPrefix(env[k], dir) {
			env[k] = secretFile(k, fakeSecret(t, dir, strings.TrimSuffix(k, "_FILE")))
		}
	}
	if pr.engine() == "openai" {
		// Nothing is synthesized: no task is published. The address only
		// has to be an http URL.
		env["OPENAI_BASE_URL"] = "http://127.0.0.1:9/v1"
	}
	argv := slices.Clone(pr.argv)
	localPort := map[int]int{}
	for port, envName := range pr.listenPorts() {
		lp := freePort(t)
		localPort[port] = lp
		for name, f := range pr.args.cmd.flags {
			if strings.Contains(f.usage, "(env "+envName+")") {
				argv = append(argv, fmt.Sprintf("-%s=127.0.0.1:%d", name, lp))
			}
		}
	}

	cmdEnv := baseEnv(dir)
	for k, v := range env {
		cmdEnv = append(cmdEnv, k+"="+v)
	}
	cmd := exec.Command(narrator.bin, argv...)
	cmd.Env = cmdEnv
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()

	// Up: its consumers exist, its probes answer.
	want := pr.consumers(narrator)
	deadline := time.Now().Add(60 * time.Second)
	pending := slices.Clone(pr.probes)
	for {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("narrator %s exited: %v\n%s", strings.Join(argv, " "), err, out.String())
		default:
		}
		have := servingConsumers(t.Context(), cl, pr.stageNames(narrator))
		var next []httpProbe
		for _, pb := range pending {
			if !get200(t.Context(), fmt.Sprintf("http://127.0.0.1:%d%s", localPort[pb.port], pb.path)) {
				next = append(next, pb)
			}
		}
		pending = next
		if containsAll(have, want) && len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: consumers pulled from %v (want %v), probes not answering 200: %v\n%s", have, want, pending, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A webhook worker sends what is queued for it to the endpoint, signed
	// with the secret it is given.
	if slices.Contains(pr.stages(narrator), "webhook") {
		secret := env["NARRATOR_WEBHOOK_SECRET"]
		if f := env["NARRATOR_WEBHOOK_SECRET_FILE"]; f != "" {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			secret = strings.TrimSpace(string(data))
		}
		checkDelivery(t, cl, hooks, pr, secret, &out)
	}

	// KEDA reads the scaled consumer from the monitoring endpoint, at the
	// node named by the consumer's leader.
	if pr.system == "k8s" {
		for _, c := range want {
			if slices.Contains(b.kedaConsumers, c) {
				checkKEDAView(t, cl, c)
			}
		}
	}

	// Down: SIGTERM, and out within the grace period.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("narrator %s did not stop cleanly on SIGTERM: %v\n%s", strings.Join(argv, " "), err, out.String())
		}
	case <-time.After(time.Duration(pr.grace) * time.Second):
		t.Errorf("narrator %s still running %ds (the grace period) after SIGTERM\n%s", strings.Join(argv, " "), pr.grace, out.String())
	}
}

// receiver is a webhook endpoint: it answers 204 and passes on what it was
// sent.
type receiver struct {
	url string
	got chan received
}

type received struct {
	header http.Header
	body   []byte
}

func startReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{got: make(chan received, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		select {
		case r.got <- received{req.Header.Clone(), body}:
		default: // nobody is waiting: a repeat
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/narrator"
	return r
}

// checkDelivery queues a narration.completed event for a job of the
// process's own and waits for the webhook worker to POST it to the
// receiver, signed with secret, and to record the delivery in job state.
func checkDelivery(t *testing.T, cl *cluster, hooks *receiver, pr *process, secret string, out *syncBuffer) {
	t.Helper()
	q := cl.queue(t)
	id := "deploy-test-" + regexp.MustCompile(`[^A-Za-z0-9_-]`).ReplaceAllString(pr.system+"-"+pr.unit, "-")
	if err := q.Jobs().Create(t.Context(), queue.Job{ID: id, ArticleID: id, Revision: 1, State: queue.Done}); err != nil {
		t.Fatal(err)
	}
	ev := webhook.NewEvent(webhook.Completed, webhook.Narration{ID: id, ArticleID: id, Revision: 1, State: string(queue.Done)}, time.Now())
	// The webhook stage's task: the job revision and the event to send.
	task := struct {
		Job   string        `json:"job"`
		Rev   int           `json:"rev"`
		Event webhook.Event `json:"event"`
	}{id, 1, ev}
	if err := q.Publish(t.Context(), queue.Message{Stage: "webhook", ID: "webhook-" + ev.ID, Data: task}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	for delivered := false; !delivered; {
		select {
		case r := <-hooks.got:
			if r.header.Get(webhook.DeliveryHeader) != ev.ID {
				continue // another process's event, redelivered
			}
			if err := webhook.Verify(secret, r.header, r.body, time.Now(), 0); err != nil {
				t.Fatalf("the webhook worker's POST: %v\n%s", err, out.String())
			}
			var got webhook.Event
			if err := json.Unmarshal(r.body, &got); err != nil || got.ID != ev.ID || got.Type != webhook.Completed {
				t.Fatalf("the webhook worker POSTed %s (%v), want event %s", r.body, err, ev.ID)
			}
			delivered = true
			t.Logf("event %s POSTed to %s, signed", ev.ID, hooks.url)
		case <-timeout:
			t.Fatalf("no webhook POST of event %s within 30s\n%s", ev.ID, out.String())
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := q.Jobs().Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(j.Webhooks, func(d webhook.Delivery) bool { return d.ID == ev.ID && d.State == webhook.StateDelivered }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s records no delivery of %s: %+v", id, ev.ID, j.Webhooks)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkKEDAView reads /jsz the way KEDA's nats-jetstream scaler does and
// checks the consumer is there, led by a node KEDA can address by name.
func checkKEDAView(t *testing.T, cl *cluster, consumer string) {
	t.Helper()
	var names []string
	for _, n := range cl.nodes {
		names = append(names, n.name)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, n := range cl.nodes {
			info, err := jsz(t.Context(), n.monitor)
			if err != nil {
				t.Fatal(err)
			}
			for _, acc := range info.AccountDetails {
				if acc.Name != "$G" {
					continue
				}
				for _, s := range acc.Streams {
					if s.Name != queue.TaskStream {
						continue
					}
					for _, ci := range s.Consumer {
						if ci.Name == consumer && ci.Cluster != nil && slices.Contains(names, ci.Cluster.Leader) {
							return
						}
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node's /jsz shows consumer %s of %s in account $G with a leader among %v", consumer, queue.TaskStream, names)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func jsz(ctx context.Context, monitor string) (*server.JSInfo, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+monitor+"/jsz?acc=$G&consumers=true&config=true", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var info server.JSInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		return nil, fmt.Errorf("/jsz: %w", err)
	}
	return &info, nil
}

// servingConsumers lists the task consumers of the given stages that
// exist and whose stage has a worker listening for new tasks: some process
// is consuming from them, not merely creating them.
func servingConsumers(ctx context.Context, cl *cluster, stages []string) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := cl.js.Stream(ctx, queue.TaskStream)
	if err != nil {
		return nil
	}
	var exist []string
	for name := range s.ConsumerNames(ctx).Name() {
		exist = append(exist, name)
	}
	var out []string
	for _, stage := range stages {
		listening := 0
		for _, n := range cl.nodes {
			if sz, err := n.srv.Subsz(&server.SubszOptions{Subscriptions: true, Test: queue.WakeSubject(stage)}); err == nil {
				listening += sz.Total
			}
		}
		for _, c := range pipeline.Consumers(stage) {
			if listening > 0 && slices.Contains(exist, c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// deleteConsumers removes the task consumers, so that what the next
// process is found pulling from is its own. A consumer still being set up
// by a process that just stopped may refuse for a moment.
func (cl *cluster) deleteConsumers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		var left []string
		s, err := cl.js.Stream(ctx, queue.TaskStream)
		if err == nil {
			for name := range s.ConsumerNames(ctx).Name() {
				if err := s.DeleteConsumer(ctx, name); err != nil {
					left = append(left, name+": "+err.Error())
				}
			}
		}
		cancel()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumers left from the previous process: %v", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get200 reports whether a GET answers 200.
func get200(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitHTTP waits until a GET answers 200.
func waitHTTP(ctx context.Context, url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for !get200(ctx, url) {
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: no 200 within %s", url, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}

// freePort returns a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer is a buffer a child process's two streams write to at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
