//go:build race

package runner_test

// raceEnabled: the race detector slows every goroutine several times over.
const raceEnabled = true
