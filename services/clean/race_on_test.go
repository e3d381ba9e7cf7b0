//go:build race

package clean

// raceDetector says the tests run under the race detector.
const raceDetector = true
