//go:build race

// Package race says whether the race detector is on, so that the few tests
// that only measure a whole corpus or narrate a whole article, ten times
// slower under the detector, run in make test's second step without it.
package race

// Enabled is true when the binary is built with -race.
const Enabled = true
