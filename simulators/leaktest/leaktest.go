// Package leaktest fails a test package whose simulators, drivers or protocol libraries
// leave goroutines running after the tests: every Close must wait for what it started.
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests of a package and then fails the package if goroutines of the
// simulators or their protocol libraries are still running: every Close must wait for what
// it started. Use it as TestMain: func TestMain(m *testing.M) { leaktest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitNoLeaks(10 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// watched are the code paths whose goroutines must all be gone after Close.
var watched = []string{
	"github.com/patchgate/patchgate/simulators/",
	"github.com/patchgate/patchgate/harness/",
	"github.com/simonvetter/modbus",
	"github.com/gopcua/opcua",
}

func waitNoLeaks(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := leakedStacks()
		if leaked == "" || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func leakedStacks() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leaktest.leakedStacks") || strings.Contains(g, "testing.(*M)") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		for _, w := range watched {
			if strings.Contains(g, w) {
				out = append(out, g)
				break
			}
		}
	}
	return strings.Join(out, "\n\n")
}

// CheckNoLeaks fails t if watched goroutines are still running after timeout.
func CheckNoLeaks(t testing.TB, timeout time.Duration) {
	t.Helper()
	if leaked := waitNoLeaks(timeout); leaked != "" {
		t.Errorf("goroutines left running:\n%s", leaked)
	}
}
