package telegraf_test

import (
	"testing"

	"github.com/patchgate/patchgate/simulators/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m) }
