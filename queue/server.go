package queue

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startEmbedded runs a NATS server with JetStream inside this process,
// storing under dir and syncing every write to disk: acknowledged writes
// otherwise sit in memory for up to two minutes. With listen empty the
// server takes no TCP connections and clients connect in-process, so two
// embedded servers on one machine never meet.
func startEmbedded(dir, listen string) (*server.Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("queue: data directory: %w", err)
	}
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
