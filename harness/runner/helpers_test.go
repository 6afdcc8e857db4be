package runner_test

import "github.com/patchgate/patchgate/harness/point"

func pv(f float64) point.Value { return point.Uint(uint64(f)) }
