//go:build race

package station_test

// raceEnabled: the race detector slows every goroutine several times over.
const raceEnabled = true
