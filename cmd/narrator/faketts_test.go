package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/narrator-project/narrator/services/synth/faketts"
)

func TestFakeTTSPrintsURLAndServes(t *testing.T) {
	if _, err := exec.LookPath("lame"); err != nil {
		t.Fatal("lame not found in PATH: install it (Debian: apt-get install lame)")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out, w := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake-tts", "--listen", "127.0.0.1:0", "--latency-per-char", "0", "--api-key", "k", "--script", "1=429"}, stdio{In: strings.NewReader(""), Out: w, Err: &stderr})
		w.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("first line: %v (stderr: %s)", err, stderr.String())
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v1") {
		t.Fatalf("first line %q is not a base URL", line)
	}
	go io.Copy(io.Discard, out)
	for _, want := range []int{429, 200} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/audio/speech", strings.NewReader(`{"model":"tts-1","input":"Hello.","voice":"alloy"}`))
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("status %d, want %d", resp.StatusCode, want)
		}
	}
	log, err := faketts.FetchLog(ctx, base)
	if err != nil || len(log) != 2 {
		t.Fatalf("log %+v, %v", log, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit code %d after ctx ended; stderr: %s", code, stderr.String())
	}
}

func TestFakeTTSUsage(t *testing.T) {
	for _, args := range [][]string{
		{"fake-tts", "--script", "0=hang"},
		{"fake-tts", "--fail-5xx", "2"},
		{"fake-tts", "extra"},
	} {
		var stderr strings.Builder
		if code := run(t.Context(), args, stdio{In: strings.NewReader(""), Out: io.Discard, Err: &stderr}); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %s)", args, code, stderr.String())
		}
	}
}
