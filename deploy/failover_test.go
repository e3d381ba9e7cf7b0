package deploy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/narrator-project/narrator/queue"
	"github.com/narrator-project/narrator/services/pipeline"
	"github.com/narrator-project/narrator/services/synth/faketts"
)

// resumeWithin is how soon after NATS is back every job in flight must
// make progress again.
const resumeWithin = 30 * time.Second

// TestFailover runs an operator's bad day against real processes: narrator
// workers and nats-server, each its own process, articles in flight, and
// NATS failing under them. Once restarted on the same store after an
// outage of ten seconds, and once as a three-node cluster from
// nats-server.conf with the node leading the task stream killed, every job
// must complete with every chunk, every job in flight must move again
// within resumeWithin of NATS being back, no process may die, and billed
// characters must equal what the provider billed, exactly. The cluster is
// started after the workers, an API server and a narrate command, which
// must wait for it, report not ready meanwhile, and then work.
//
// The figures it logs are in the README:
// go test ./deploy -run TestFailover -v
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server and narrator processes")
	}
	files, err := readDeployFiles(".")
	if err != nil {
		t.Fatal(err)
	}
	b, p := loadBundle(files)
	if len(p) > 0 || b.natsConf == nil {
		t.Fatalf("nats-server.conf: %v", p)
	}
	bin := buildNATSServer(t)
	t.Run("restart", func(t *testing.T) {
		d := newDrill(t, 1)
		srv := startNATS(t, bin, d.dir, "nats", localConf(t, b.natsConf, d.dir, "nats", true))
		d.urls = srv.url
		d.startWorkers(t)
		t.Cleanup(d.stopAll) // before the server: workers without NATS stop slowly
		d.waitReady(t)
		d.submit(t)
		d.waitInFlight(t)
		srv.stop(t, syscall.SIGTERM)
		down := time.Now()
		time.Sleep(10 * time.Second) // the outage
		srv.restart(t)
		d.back = time.Now()
		t.Logf("nats-server down for %s", d.back.Sub(down).Round(100*time.Millisecond))
		d.check(t)
	})
	t.Run("node lost", func(t *testing.T) {
		d := newDrill(t, 3)
		nodes := startCluster3(t, bin, b.natsConf, d.dir)
		var urls []string
		for _, n := range nodes {
			urls = append(urls, n.url)
		}
		d.urls = strings.Join(urls, ",")
		// Everything starts before NATS: processes started together
		// converge whatever their order.
		d.startWorkers(t)
		narrate := d.startNarrate(t)
		serve := d.startServe(t)
		for _, u := range []string{d.opsURL, serve} {
			if err := waitHTTP(t.Context(), u+"/healthz", time.Minute); err != nil {
				t.Fatalf("while waiting for NATS: %v", err)
			}
			if code := status(t, u+"/readyz"); code != http.StatusServiceUnavailable {
				t.Errorf("%s/readyz answered %d before NATS was up, want 503", u, code)
			}
			if code := status(t, u+"/healthz"); code != http.StatusOK {
				t.Errorf("%s/healthz answered %d while waiting for NATS, want 200", u, code)
			}
		}
		time.Sleep(2 * time.Second) // the processes wait, without NATS
		for _, n := range nodes {
			n.start(t)
		}
		t.Cleanup(d.stopAll)
		d.waitReady(t)
		if err := waitHTTP(t.Context(), serve+"/readyz", time.Minute); err != nil {
			t.Errorf("narrator serve: %v", err)
		}
		d.submit(t)
		d.waitInFlight(t)
		victim := d.leaderOf(t, queue.TaskStream, nodes)
		victim.stop(t, syscall.SIGKILL)
		d.back = time.Now()
		t.Logf("killed %s, the leader of %s", victim.name, queue.TaskStream)
		select {
		case <-narrate.exited:
			if narrate.err != nil {
				t.Errorf("narrator narrate started before NATS: %v\n%s", narrate.err, narrate.out.String())
			}
		case <-time.After(3 * time.Minute):
			t.Errorf("narrator narrate started before NATS has not finished:\n%s", narrate.out.String())
		}
		d.jobs = append(d.jobs, "narrate") // its article is billed too
		d.check(t)
	})
}

// drill is one failover run: the fake provider, the workers, the jobs.
type drill struct {
	dir      string
	replicas int
	urls     string // NATS_URL
	fake     *faketts.Server
	opsURL   string       // a synth worker's /healthz, /readyz
	workers  []*proc      // every narrator process
	q        *queue.Queue // the test's own view, as an API server's
	jobs     []string
	back     time.Time // when NATS was back, or the node lost
}

func newDrill(t *testing.T, replicas int) *drill {
	return &drill{
		dir:      t.TempDir(),
		replicas: replicas,
		// Short articles, quick answers: a chunk takes a second or two.
		fake: faketts.Start(t, faketts.Config{APIKey: "sk-failover", LatencyPerChar: 3 * time.Millisecond}),
	}
}

func (d *drill) env() []string {
	return append(baseEnv(d.dir),
		"NATS_URL="+d.urls,
		fmt.Sprintf("NARRATOR_REPLICAS=%d", d.replicas),
		"NARRATOR_ENGINE=openai",
		"OPENAI_API_KEY=sk-failover",
		"OPENAI_BASE_URL="+d.fake.URL(),
		"NARRATOR_CHUNK_TARGET=400",
		"NARRATOR_SYNTH_CONCURRENCY=4", // articles stay in flight for a while
		"NARRATOR_DATA_DIR="+filepath.Join(d.dir, "data"),
		"NARRATOR_LOG_LEVEL=info",
	)
}

// startWorkers runs the stages as separate processes, two of synthesis.
func (d *drill) startWorkers(t *testing.T) {
	port := freePort(t)
	d.opsURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	for i, args := range [][]string{
		{"--stages", "clean,chunk"},
		{"--stages", "synth", "--ops-addr", fmt.Sprintf("127.0.0.1:%d", port)},
		{"--stages", "synth"},
		{"--stages", "stitch,publish,feed"},
	} {
		d.workers = append(d.workers, startProc(t, fmt.Sprintf("worker-%d", i), narrator.bin, d.env(), append([]string{"worker"}, args...)...))
	}
}

// startNarrate narrates one article from the command line.
func (d *drill) startNarrate(t *testing.T) *proc {
	f := filepath.Join(d.dir, "narrate.txt")
	if err := os.WriteFile(f, []byte(article(99)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "narrate", narrator.bin, d.env(), "narrate", "--quiet", "-o", filepath.Join(d.dir, "narrate.mp3"), f)
	d.workers = append(d.workers, p)
	return p
}

// startServe runs the API server alone and returns its address.
func (d *drill) startServe(t *testing.T) string {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d.workers = append(d.workers, startProc(t, "serve", narrator.bin, d.env(), "serve", "--stages", "none", "--http", addr))
	return "http://" + addr
}

// stopAll stops every narrator process at once.
func (d *drill) stopAll() {
	var wg sync.WaitGroup
	for _, w := range d.workers {
		wg.Go(w.stop)
	}
	wg.Wait()
}

// waitReady waits until every worker has its consumers and the test can
// reach JetStream.
func (d *drill) waitReady(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	q, err := queue.Open(ctx, queue.Config{URL: d.urls, Replicas: d.replicas})
	if err != nil {
		t.Fatalf("open the queue: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	d.q = q
	if err := waitHTTP(ctx, d.opsURL+"/readyz", time.Minute); err != nil {
		t.Fatalf("synth worker: %v", err)
	}
	for _, w := range d.workers {
		if !strings.HasPrefix(w.name, "worker") {
			continue
		}
		for !strings.Contains(w.out.String(), "worker started") {
			if ctx.Err() != nil {
				t.Fatalf("%s did not start:\n%s", w.name, w.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

const articles = 12

// submit queues the articles, as the API would.
func (d *drill) submit(t *testing.T) {
	t.Helper()
	p, err := pipeline.New(pipeline.Deps{Queue: d.q}, pipeline.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range articles {
		j, err := p.Submit(t.Context(), pipeline.Request{ArticleID: fmt.Sprintf("failover-%d", i), Body: []byte(article(i)), Kind: "text", Options: queue.Options{Provider: "openai"}})
		if err != nil {
			t.Fatal(err)
		}
		d.jobs = append(d.jobs, j.ID)
	}
}

// waitInFlight waits until synthesis is well under way but far from done.
func (d *drill) waitInFlight(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		done := 0
		for _, e := range d.fake.Log() {
			if e.Status == http.StatusOK {
				done++
			}
		}
		if done >= 8 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("synthesis did not start: %d requests answered", done)
		}
	}
}

// check waits for every job to end, then holds the run to its goals.
func (d *drill) check(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var jobs []queue.Job
	for _, id := range d.jobs {
		var j queue.Job
		for {
			var err error
			j, err = d.q.Jobs().Get(ctx, id)
			if err == nil && j.Ended() {
				break
			}
			if ctx.Err() != nil {
				d.dump(t)
				t.Fatalf("job %s has not ended: %s in %s (%v)", id, j.State, j.Stage, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		jobs = append(jobs, j)
	}
	finished := time.Now()

	// Every job is done, with every chunk's audio where stitching found it,
	// and every job in flight moved again soon after NATS was back: its
	// first stage or chunk to start or end after it, as job state records.
	billed := 0
	var worst time.Duration
	worstJob, resumed := "", finished
	for _, j := range jobs {
		if j.State != queue.Done {
			t.Errorf("job %s %s in %s: %s", j.ID, j.State, j.FailedStage, j.Error)
			continue
		}
		chunks, err := d.q.Jobs().Chunks(ctx, j.ID, j.Revision)
		if err != nil {
			t.Fatal(err)
		}
		if len(chunks) != j.Chunks {
			t.Errorf("job %s: %d chunk statuses for %d chunks", j.ID, len(chunks), j.Chunks)
		}
		var moved []time.Time
		for _, c := range chunks {
			if _, err := d.q.Audio().Size(ctx, c.Audio); c.State != queue.ChunkDone || err != nil {
				t.Errorf("job %s chunk %d: %s, audio %q: %v", j.ID, c.Index, c.State, c.Audio, err)
			}
			moved = append(moved, c.Start, c.End)
		}
		for _, tm := range j.Timings {
			moved = append(moved, tm.Start, tm.End)
		}
		if j.Timings[pipeline.StagePublish].End.After(d.back) {
			first := finished
			for _, tm := range moved {
				if !tm.Before(d.back) && tm.Before(first) {
					first = tm
				}
			}
			if gap := first.Sub(d.back); gap >= worst {
				worst, worstJob = gap, j.ID
			}
			if first.Before(resumed) {
				resumed = first
			}
		}
		if _, err := os.Stat(filepath.Join(d.dir, "data", "media", "objects", j.Output.Key)); err != nil {
			t.Errorf("job %s: published file: %v", j.ID, err)
		}
		billed += j.BilledChars
	}

	t.Logf("work resumed %s after NATS was back; every job in flight moved again within %s (slowest: %s); all %d jobs done %s after",
		resumed.Sub(d.back).Round(100*time.Millisecond), worst.Round(100*time.Millisecond), worstJob, len(jobs), finished.Sub(d.back).Round(100*time.Millisecond))
	if worst > resumeWithin {
		d.dump(t)
		t.Errorf("job %s made no progress for %s after NATS was back; want under %s", worstJob, worst.Round(time.Second), resumeWithin)
	}

	// Billed characters are exactly those of the requests the provider
	// answered, counted once each, however often their records were retried.
	answered, requests := 0, 0
	for _, e := range d.fake.Log() {
		if e.Status == http.StatusOK {
			answered += e.Chars
			requests++
		}
	}
	byDay, err := d.q.Jobs().Billed(ctx, "openai", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	usage := 0
	for _, n := range byDay {
		usage += n
	}
	t.Logf("%d speech requests answered, %d characters; usage %d; the jobs' billed characters %d", requests, answered, usage, billed)
	if usage != answered {
		t.Errorf("usage records %d billed characters; the provider billed %d", usage, answered)
	}
	if billed != answered {
		t.Errorf("the jobs billed %d characters; the provider billed %d", billed, answered)
	}
	for _, w := range d.workers {
		select {
		case <-w.exited:
			if w.name != "narrate" {
				t.Errorf("%s died: %v\n%s", w.name, w.err, w.out.String())
			}
		default:
		}
	}
}

// leaderOf returns the node leading a stream.
func (d *drill) leaderOf(t *testing.T, stream string, nodes []*natsProc) *natsProc {
	t.Helper()
	nc, err := nats.Connect(d.urls)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil || info.Cluster == nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	for _, n := range nodes {
		if n.name == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("stream %s is led by %q, not one of the nodes", stream, info.Cluster.Leader)
	return nil
}

// dump logs what the workers said, for a run that went wrong.
func (d *drill) dump(t *testing.T) {
	for _, w := range d.workers {
		t.Logf("%s:\n%s", w.name, w.out.String())
	}
}

var sentences = []string{
	"The council voted on Tuesday to fund the flood wall along the river.",
	"Work is due to start in the spring and to last two years.",
	"Residents of the lower town have waited a decade for the defences.",
	"The mayor said the cost had risen by a fifth since the first plans.",
	"Engineers will raise the embankment by more than a metre.",
	"Opposition members asked why the contract was not put out to tender again.",
	"The finance committee will publish the full budget next month.",
	"Shops on the quay were flooded twice in the last three winters.",
	"The regional water board will pay a third of the cost.",
	"A public meeting on the route of the wall is planned for March.",
	"Farmers upstream fear that the wall will push water onto their fields.",
	"The council's report found that the old defences were beyond repair.",
}

// article is a short news story of about 1,300 characters, different for
// every n, so no chunk is served from another's cache.
func article(n int) string {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var b strings.Builder
	fmt.Fprintf(&b, "Flood wall, part %d\n\n", n+1)
	for p := range 4 {
		for range 4 {
			b.WriteString(sentences[rng.IntN(len(sentences))] + " ")
		}
		fmt.Fprintf(&b, "This is paragraph %d of story %d.\n\n", p+1, n+1)
	}
	return b.String()
}

// proc is a process a test started.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: new(syncBuffer)}
	p.launch(t, bin, env, args)
	return p
}

func (p *proc) launch(t *testing.T, bin string, env, args []string) {
	t.Helper()
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
}

// stop ends the process with SIGTERM, or SIGKILL after 30 s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// natsProc is a nats-server process on a fixed address and store.
type natsProc struct {
	proc
	bin  string
	args []string
	url  string
}

// buildNATSServer builds the nats-server of narrator's own dependencies.
func buildNATSServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats-server")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build nats-server: %v\n%s", err, out)
	}
	return bin
}

var (
	clusterBlock = regexp.MustCompile(`(?ms)^cluster \{.*?^\}`)
	storeDir     = regexp.MustCompile(`(?m)^(\s*store_dir:).*$`)
	pidFile      = regexp.MustCompile(`(?m)^(\s*pid_file:).*$`)
)

// localConf is nats-server.conf for node name, its store and pid file in
// dir; alone, without its cluster block. Addresses are moved by flags.
func localConf(t *testing.T, nc *natsConf, dir, name string, alone bool) string {
	t.Helper()
	text := storeDir.ReplaceAllString(nc.text, "${1} "+strconv.Quote(filepath.Join(dir, name)))
	text = pidFile.ReplaceAllString(text, "${1} "+strconv.Quote(filepath.Join(dir, name+".pid")))
	if alone {
		text = clusterBlock.ReplaceAllString(text, "")
	}
	if !strings.Contains(text, filepath.Join(dir, name)) || alone && strings.Contains(text, "routes") {
		t.Fatal("nats-server.conf no longer has the store_dir and cluster block this test moves")
	}
	f, err := (&natsConf{text: text, vars: nc.vars}).writeWith(dir, func(string) string { return name })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// startNATS runs nats-server with a configuration file, moved to local
// ports and the test's directory, and waits until it serves clients.
func startNATS(t *testing.T, bin, dir, name, conf string, extra ...string) *natsProc {
	t.Helper()
	n := newNATS(t, bin, dir, name, conf, extra...)
	n.start(t)
	return n
}

func newNATS(t *testing.T, bin, dir, name, conf string, extra ...string) *natsProc {
	t.Helper()
	port, monitor := freePort(t), freePort(t)
	n := &natsProc{proc: proc{name: name, out: new(syncBuffer)}, bin: bin, url: fmt.Sprintf("nats://127.0.0.1:%d", port)}
	n.args = append([]string{"-c", conf, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-m", fmt.Sprint(monitor)}, extra...)
	return n
}

func (n *natsProc) start(t *testing.T) {
	t.Helper()
	n.launch(t, n.bin, append(os.Environ(), "SERVER_NAME="+n.name), n.args)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(n.out.String(), "Server is ready"); time.Sleep(20 * time.Millisecond) {
		select {
		case <-n.exited:
			t.Fatalf("%s exited: %v\n%s", n.name, n.err, n.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", n.name, n.out.String())
		}
	}
}

// restart starts the server again on the same address and store.
func (n *natsProc) restart(t *testing.T) {
	t.Helper()
	n.out = new(syncBuffer)
	n.start(t)
}

func (n *natsProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop on %s", n.name, sig)
	}
}

// startCluster3 prepares the three nodes of nats-server.conf on local
// ports; the caller starts them.
func startCluster3(t *testing.T, bin string, nc *natsConf, dir string) []*natsProc {
	t.Helper()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	var nodes []*natsProc
	for i := range 3 {
		name := fmt.Sprintf("nats-%d", i)
		conf := localConf(t, nc, dir, name, false)
		nodes = append(nodes, newNATS(t, bin, dir, name, conf,
			"--cluster", routes[i], "--routes", strings.Join(slices.Delete(slices.Clone(routes), i, i+1), ",")))
	}
	return nodes
}

// status returns a GET's status code, 0 when nothing answers.
func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
