// Package simopt parses the options that make a simulated controller look like a bench we did
// not build: where its plant starts (start=default|random|random:N) and its nominal scan
// period (scan=50ms). The sim:// URL, `patchgate sim` and the station config all read them
// here, so the three faces accept the same words and give the same errors; each caller
// prefixes the error with its own coordinates (the URL, the flag). See docs/architecture.md,
// "Simulated controllers".
package simopt

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Start says where a simulated plant begins. The zero Start is the model's fixed start, which
// every golden file and existing test relies on.
type Start struct {
	// Random starts the plant at a random valid state (a level, a temperature, counters,
	// modes) instead of the model's fixed one.
	Random bool
	// Seed, when SeedSet, draws the random state instead of the controller's seed, so that
	// a study can vary the start state and the process noise independently.
	Seed    uint64
	SeedSet bool
}

// StartWords is what ParseStart accepts, for flag help and errors.
const StartWords = "default, random or random:N (N a whole number that seeds the start state)"

// ParseStart reads "default" (or ""), "random" or "random:N".
func ParseStart(s string) (Start, error) {
	w := strings.ToLower(strings.TrimSpace(s))
	switch w {
	case "", "default":
		return Start{}, nil
	case "random":
		return Start{Random: true}, nil
	}
	if rest, ok := strings.CutPrefix(w, "random:"); ok {
		n, err := strconv.ParseUint(rest, 10, 64)
		if err == nil {
			return Start{Random: true, Seed: n, SeedSet: true}, nil
		}
	}
	return Start{}, fmt.Errorf("start %q: expected %s", s, StartWords)
}

// String is the word ParseStart reads back.
func (s Start) String() string {
	switch {
	case !s.Random:
		return "default"
	case s.SeedSet:
		return "random:" + strconv.FormatUint(s.Seed, 10)
	}
	return "random"
}

// SeedFor is the seed the random start state is drawn from, given the controller's seed.
func (s Start) SeedFor(controllerSeed uint64) uint64 {
	if s.SeedSet {
		return s.Seed
	}
	return controllerSeed
}

// Bounds of a nominal scan period. Below a millisecond a simulated controller on simulated
// time would spend the CPU on scans nobody samples; above a few seconds it is no longer a
// controller a scenario could judge within its waits.
const (
	MinScan = time.Millisecond
	MaxScan = 5 * time.Second
)

// ScanWords describes what a scan period must be, for flag help and errors.
var ScanWords = fmt.Sprintf("a scan period from %v to %v, such as 50ms", MinScan, MaxScan)

// ParseScan reads a nominal scan period written as a Go duration ("50ms", "1.5s").
func ParseScan(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("scan %q: expected %s", s, ScanWords)
	}
	if err := CheckScan(d); err != nil {
		return 0, fmt.Errorf("scan %q: expected %s", s, ScanWords)
	}
	return d, nil
}

// CheckScan refuses a scan period outside MinScan..MaxScan.
func CheckScan(d time.Duration) error {
	if d < MinScan || d > MaxScan {
		return fmt.Errorf("scan %v: expected %s", d, ScanWords)
	}
	return nil
}
