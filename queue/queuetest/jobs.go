// Package queuetest fills a queue with jobs for benchmarks of what reads
// job state at scale.
package queuetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/narrator-project/narrator/queue"
)

// Sections are the sections Populate spreads jobs over, most common first.
var Sections = []string{"News", "Politics", "Sport", "Business", "Culture", "Opinion", "World", "Science", "Health", "Travel", "Food", "Obituaries"}

// Populate creates n jobs through the queue as a newsroom's archive
// would leave them: most done, some failed, unpublished, running or
// queued, in a dozen sections of uneven size. Every job is created queued
// and then moved on through Update, as the pipeline does, by several
// writers at once. It returns how many ended in each state.
func Populate(ctx context.Context, q *queue.Queue, n int) (map[queue.State]int, error) {
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[queue.State]int{}
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				st, err := one(ctx, q, i, rng)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				counts[st]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return counts, ctx.Err()
}

func one(ctx context.Context, q *queue.Queue, i int, rng *rand.Rand) (queue.State, error) {
	id := fmt.Sprintf("archive-%06d", i)
	// Section sizes fall off like a newsroom's: News about 4× Obituaries.
	sec := Sections[min(int(rng.ExpFloat64()*3), len(Sections)-1)]
	j := queue.Job{ID: id, ArticleID: id, Revision: 1, State: queue.Queued, Priority: queue.Low,
		Options:   queue.Options{Provider: "openai", Section: sec, Title: "Archive article " + id},
		Submitted: time.Now().UTC()}
	if err := q.Jobs().Create(ctx, j); err != nil {
		return "", err
	}
	var st queue.State
	switch r := rng.Float64(); {
	case r < 0.90:
		st = queue.Done
	case r < 0.93:
		st = queue.Failed
	case r < 0.94:
		st = queue.Unpublished
	case r < 0.97:
		st = queue.Running
	default:
		return queue.Queued, nil
	}
	_, err := q.Jobs().Update(ctx, id, func(j *queue.Job) error {
		j.State, j.Stage, j.Title, j.Chunks, j.Chars, j.BilledChars = st, "publish", j.Options.Title, 6, 5400, 5400
		if st == queue.Failed {
			j.Error, j.FailedStage = "synth: chunk 3: the provider refused the input", "synth"
		}
		if st == queue.Done {
			j.Output = &queue.Output{Key: "narrations/" + id + "/x.mp3", URL: "https://media.example/narrations/" + id + "/x.mp3", Bytes: 6 << 20, Duration: 5 * time.Minute}
		}
		return nil
	})
	return st, err
}

// Server starts a NATS server with JetStream storing under dir in a
// process of its own (this test binary again, see ServeIfAsked), reachable
// over TCP as a cluster's node would be, and returns its URL. The
// benchmark's process then holds only what it measures: its memory is the
// API's, not the server's. Unlike narrator's embedded server it does not
// sync every write, so that a benchmark fills it quickly; reads, which the
// benchmarks time, are the same.
func Server(tb testing.TB, dir string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+dir+"|"+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	url := "nats://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return url
		}
		if time.Now().After(deadline) {
			tb.Fatal("NATS server did not start")
		}
	}
}

const serveEnv = "NARRATOR_QUEUETEST_SERVE"

// ServeIfAsked, called first in a TestMain, runs the NATS server Server
// asked this binary for, until interrupted, and exits; otherwise it
// returns at once.
func ServeIfAsked() {
	spec := os.Getenv(serveEnv)
	if spec == "" {
		return
	}
	dir, addr, _ := strings.Cut(spec, "|")
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	srv, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: dir, Host: host, Port: p,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv.Start()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Shutdown()
	srv.WaitForShutdown()
	os.Exit(0)
}
