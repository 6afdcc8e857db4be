package discover_test

import (
	"io"
	"log"
	"testing"

	"github.com/patchgate/patchgate/simulators/leaktest"
)

// TestMain silences gopcua's server log and fails the package if a goroutine of a driver or
// a simulator outlives the tests.
func TestMain(m *testing.M) {
	log.SetOutput(io.Discard)
	leaktest.Main(m)
}
