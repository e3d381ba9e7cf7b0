package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/narrator-project/narrator/storage"
)

// VersityGWVersion is the versitygw release the tests are written against.
const VersityGWVersion = "v1.8.0"

// readyTimeout bounds how long a starting gateway may take to answer.
const readyTimeout = 30 * time.Second

// VersityGW is a real S3 server (versitygw with its posix backend) running
// as a child process for one test. Stop, Kill and Start let a test take it
// down and bring it back on the same address with the same data.
type VersityGW struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string // created at start
	AccessKey string
	SecretKey string
	Region    string
	Dir       string // the posix backend's root: one directory per bucket

	bin, addr, logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// StartVersityGW starts versitygw on a free port with its data in a
// temporary directory, creates a bucket, waits until the server answers,
// and stops it when the test ends. The binary is $VERSITYGW, else
// ~/go/bin/versitygw, else versitygw on PATH. Without one the test fails
// with install instructions, or is skipped when NARRATOR_SKIP_S3=1.
func StartVersityGW(t testing.TB) *VersityGW {
	t.Helper()
	bin, err := findVersityGW()
	if err != nil {
		if os.Getenv("NARRATOR_SKIP_S3") == "1" {
			t.Skipf("skipping S3 test (NARRATOR_SKIP_S3=1): %v", err)
		}
		t.Fatalf("%v\ninstall it with: go install github.com/versity/versitygw/cmd/versitygw@%s\n"+
			"(or point VERSITYGW at the binary, or set NARRATOR_SKIP_S3=1 to skip S3 tests)", err, VersityGWVersion)
	}
	tmp := t.TempDir()
	g := &VersityGW{
		Bucket:    "narrator-test",
		AccessKey: "narratortest",
		SecretKey: "narratortest-secret-key",
		Region:    "us-east-1",
		Dir:       filepath.Join(tmp, "data"),
		bin:       bin,
		logPath:   filepath.Join(tmp, "versitygw.log"),
	}
	if err := os.MkdirAll(g.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Kill(); err != nil {
			t.Errorf("stop versitygw: %v", err)
		}
	})
	// Another process may take the free port between probing and binding
	// it; a fresh port is the cure.
	for attempt := 1; ; attempt++ {
		g.addr, err = freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		g.Endpoint = "http://" + g.addr
		if err = g.Start(); err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("start versitygw: %v", err)
		}
	}
	if err := g.CreateBucket(context.Background(), g.Bucket); err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	return g
}

func findVersityGW() (string, error) {
	if p := os.Getenv("VERSITYGW"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("VERSITYGW=%s: %w", p, err)
		}
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found in $VERSITYGW, ~/go/bin or PATH")
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// Start runs the server, on the address and data of the first start, and
// returns when it answers HTTP requests.
func (g *VersityGW) Start() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil {
		return errors.New("versitygw is already running")
	}
	logf, err := os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(g.bin, "--port", g.addr, "--region", g.Region, "posix", g.Dir)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+g.AccessKey, "ROOT_SECRET_KEY="+g.SecretKey)
	cmd.Stdout, cmd.Stderr = logf, logf
	setDeathSignal(cmd)
	err = cmd.Start()
	logf.Close() // the child holds its own descriptor
	if err != nil {
		return fmt.Errorf("run %s: %w", g.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	g.cmd, g.done = cmd, done
	if err := g.waitReady(done); err != nil {
		cmd.Process.Kill()
		<-done
		g.cmd, g.done = nil, nil
		return fmt.Errorf("%w\nversitygw log:\n%s", err, g.logTail())
	}
	return nil
}

// waitReady polls until the server answers any HTTP request (an anonymous
// request gets 403, which is an answer), the process exits, or the
// deadline passes.
func (g *VersityGW) waitReady(exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(g.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw at %s did not answer within %s: %v", g.Endpoint, readyTimeout, err)
		}
		select {
		case <-exited:
			return fmt.Errorf("versitygw exited before answering on %s", g.Endpoint)
		case <-tick.C:
		}
	}
}

func (g *VersityGW) logTail() string {
	b, _ := os.ReadFile(g.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to exit.
func (g *VersityGW) Stop() error { return g.signal(syscall.SIGTERM) }

// Kill ends the server at once (SIGKILL), as a crash would, and waits for
// it to exit. Stopping a server that is not running does nothing.
func (g *VersityGW) Kill() error { return g.signal(syscall.SIGKILL) }

// Restart stops the server and starts it again on the same address and
// data.
func (g *VersityGW) Restart() error {
	if err := g.Stop(); err != nil {
		return err
	}
	return g.Start()
}

func (g *VersityGW) signal(sig os.Signal) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		return nil
	}
	if err := g.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
	g.cmd, g.done = nil, nil
	return nil
}

// Client returns an S3 client of the gateway's root user, for tests that
// look at the server directly.
func (g *VersityGW) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       g.Region,
		BaseEndpoint: aws.String(g.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(g.AccessKey, g.SecretKey, ""),
		// versitygw handles CRC checksums, but storage tests run on the
		// mode that every S3-compatible server accepts.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// CreateBucket creates a bucket; one that already exists is fine.
func (g *VersityGW) CreateBucket(ctx context.Context, name string) error {
	_, err := g.Client().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("create bucket %q: %w", name, err)
	}
	return nil
}

// S3Config returns a store configuration for the gateway's bucket.
func (g *VersityGW) S3Config() storage.S3Config {
	return storage.S3Config{
		Bucket:          g.Bucket,
		Region:          g.Region,
		Endpoint:        g.Endpoint,
		PathStyle:       true,
		AccessKeyID:     g.AccessKey,
		SecretAccessKey: g.SecretKey,
		Checksum:        storage.ChecksumWhenRequired,
	}
}
