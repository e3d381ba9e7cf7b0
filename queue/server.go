package queue

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded runs a NATS server with JetStream inside this process,
// storing under dir and syncing every write to disk: acknowledged writes
// otherwise sit in memory for up to two minutes. With listen empty the
// server takes no TCP connections and clients connect in-process, so two
// embedded servers on one machine never meet.
func startEmbedded(dir, listen string) (*server.Server, *os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("queue: data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	srv, err := newEmbedded(dir, listen)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return srv, lock, nil
}

// lockDir takes an exclusive lock on the data directory: two servers on
// one JetStream store would corrupt it.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "narrator.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("queue: lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: data directory %s is in use by another narrator process; "+
			"use another --data-dir, or start that process with --nats-listen and set NATS_URL to reach it", dir)
	}
	return f, nil
}

func newEmbedded(dir, listen string) (*server.Server, error) {
	store, err := filepath.Abs(filepath.Join(dir, "jetstream"))
	if err != nil {
		return nil, fmt.Errorf("queue: data directory: %w", err)
	}
	opts := &server.Options{
		ServerName: "narrator-embedded",
		JetStream:  true,
		StoreDir:   store,
		SyncAlways: true,
		NoSigs:     true,
		NoLog:      true,
		DontListen: listen == "",
		MaxPayload: 8 << 20,
	}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return nil, fmt.Errorf("queue: listen address %q: want host:port: %w", listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("queue: listen address %q: bad port", listen)
		}
		if p == 0 {
			p = -1 // a random free port
		}
		opts.Host, opts.Port = host, p
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("queue: embedded NATS server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("queue: embedded NATS server did not start within 30s (is %s locked by another process?)", store)
	}
	return srv, nil
}
