package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// spin burns CPU for d of wall time, in arithmetic on registers: no memory
// access for the race detector to instrument, whose runtime's samples would
// not be in spin.
//
//go:noinline
func spin(d time.Duration) uint64 {
	x := uint64(1)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 1 << 20 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
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
	pprof.Do(context.Background(), pprof.Labels("stage", "busy"), func(context.Context) { _ = spin(400 * time.Millisecond) })
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
