package main

import (
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// spin burns CPU for d of wall time.
//
//go:noinline
func spin(d time.Duration) {
	sum := sha256.Sum256(nil)
	for end := time.Now().Add(d); time.Now().Before(end); {
		sum = sha256.Sum256(sum[:])
	}
}

// TestReadCPUProfile profiles work labelled as a stage and reads it back:
// the CPU lands on the stage, and in the function that spent it.
func TestReadCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	pprof.Do(context.Background(), pprof.Labels("stage", "busy"), func(context.Context) { spin(400 * time.Millisecond) })
	pprof.StopCPUProfile()
	f.Close()
	p, err := readCPUProfile(path, ".spin")
	if err != nil {
		t.Fatal(err)
	}
	busy, within := p.ByStage["busy"], p.Within[".spin"]["busy"]
	if busy <= 0 || within < busy*8/10 || p.Total < busy {
		t.Errorf("profile: busy %d ns, of which in spin %d, total %d: %+v", busy, within, p.Total, p)
	}
	if _, err := readCPUProfile(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("read a profile that is not there")
	}
}
