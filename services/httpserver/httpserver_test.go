package httpserver_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/narrator-project/narrator/services/httpserver"
)

// short are timeouts a test can outlast many times over in seconds.
var short = httpserver.Timeouts{
	ReadHeader: 300 * time.Millisecond,
	Read:       300 * time.Millisecond,
	Write:      300 * time.Millisecond,
	Idle:       300 * time.Millisecond,
	Stall:      300 * time.Millisecond,
}

// guard bounds how long a test waits for the server to act on a timeout:
// far longer than any of them, far shorter than a client that never stops.
const guard = 10 * time.Second

// serve starts a server of h with the short timeouts on a loopback port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpserver.New(h, short)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(guard))
	return c
}

// closed reports whether the server has closed c: reads end with EOF or a
// reset rather than the test's own deadline.
func closed(c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the connection is still open after %s", guard)
	}
	return nil
}

// TestSlowBodyIsCutOff: a request whose body trickles in, a byte at a
// time, is cut off by the read deadline.
func TestSlowBodyIsCutOff(t *testing.T) {
	read := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		read <- err
	}))
	c := dial(t, addr)
	fmt.Fprint(c, "POST /hooks/cms HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for range tick.C {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	select {
	case err := <-read:
		if err == nil {
			t.Error("the handler read the whole slow body")
		}
	case <-time.After(guard):
		t.Fatalf("the handler was still reading the body after %s", guard)
	}
	if err := closed(c); err != nil {
		t.Error(err)
	}
}

// TestIdleConnectionIsClosed: a keep-alive connection that sends no next
// request is closed.
func TestIdleConnectionIsClosed(t *testing.T) {
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	c := dial(t, addr)
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := closed(c); err != nil {
		t.Error(err)
	}
}

// TestResponseToAClientThatDoesNotReadIsCutOff: a response that does not
// stream must be written within the write deadline.
func TestResponseToAClientThatDoesNotReadIsCutOff(t *testing.T) {
	wrote := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 4096 { // 256 MiB, far more than socket buffers hold
			if _, err := w.Write(chunk); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}))
	c := dial(t, addr)
	fmt.Fprint(c, "GET /feed.xml HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-wrote:
		if err == nil {
			t.Error("256 MiB went to a client that read nothing")
		}
	case <-time.After(guard):
		t.Fatalf("the handler was still writing after %s", guard)
	}
}

// TestStreamOutlivesTheDeadlines: a streaming response that keeps making
// progress lasts longer than the read and write deadlines, with its
// request's context live throughout; a stream its client stops reading
// is cut off.
func TestStreamOutlivesTheDeadlines(t *testing.T) {
	const events = 20 // 100 ms apart: 2 s, several times every deadline
	ended := make(chan error, 1)
	addr := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w = httpserver.Stream(w, r)
		rc := http.NewResponseController(w)
		w.Header().Set("Content-Type", "text/event-stream")
		forever := r.URL.Query().Get("forever") != ""
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			select {
			case <-r.Context().Done():
				ended <- fmt.Errorf("the request's context ended after %d events: %w", n, r.Context().Err())
				return
			case <-tick.C:
			default:
				if !forever { // a stream that never pauses fills any buffer
					<-tick.C
				}
			}
			if _, err := fmt.Fprintf(w, "data: %d %s\n\n", n, strings.Repeat("x", 16<<10)); err != nil {
				ended <- err
				return
			}
			if err := rc.Flush(); err != nil {
				ended <- err
				return
			}
			if n++; n == events && !forever {
				ended <- nil
				return
			}
		}
	}))

	c := dial(t, addr)
	fmt.Fprint(c, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if n := strings.Count(string(body), "data: "); err != nil || n != events {
		t.Errorf("read %d of %d events: %v", n, events, err)
	}
	if err := <-ended; err != nil {
		t.Errorf("the stream ended early: %v", err)
	}

	// A client that stops reading: the stream's writes stall, and fail.
	c = dial(t, addr)
	fmt.Fprint(c, "GET /api/events?forever=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case err := <-ended:
		if err == nil {
			t.Error("the stream to a client that reads nothing ended well")
		}
	case <-time.After(guard):
		t.Fatalf("the stream to a client that reads nothing was still open after %s", guard)
	}
}
