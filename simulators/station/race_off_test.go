//go:build !race

package station_test

const raceEnabled = false
