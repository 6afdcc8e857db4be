package runner_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

func loadScenario(t *testing.T, rate, dur string) *scenario.Scenario {
	t.Helper()
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := `version: 1
name: load
points: tank.yaml
sample: {period: 50ms, tags: [Level, ScanCount]}
load_limit: {rate: 200, for: 10s}
steps:
  - wait: 200ms
probes:
  - {name: poll, kind: load, tags: [Level], rate: ` + rate + `, for: ` + dur + `, tolerance: {absolute: 5ms}}
`
	sc, err := scenario.Parse("load.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// loadEvents counts a run's load reads: answered, failed, and failed without being sent.
func loadEvents(tr *trace.Trace) (ok, failed, unsent int, lastSample, firstLoad int64) {
	firstLoad = -1
	for _, s := range tr.Samples {
		lastSample = max(lastSample, s.T)
	}
	for _, e := range tr.Events {
		if e.Kind != trace.EvLoad || e.Value == runner.LoadStart || e.Value == runner.LoadEnd {
			continue
		}
		if firstLoad < 0 {
			firstLoad = e.T
		}
		switch {
		case e.Value != runner.LoadError:
			if _, err := strconv.ParseFloat(e.Value, 64); err != nil {
				panic(e.Value)
			}
			ok++
		case e.Msg != "" && e.Msg[:8] == "not sent":
			unsent++
			failed++
		default:
			failed++
		}
	}
	return
}

func TestLoadProbeReadsAtItsRateAfterTheSteps(t *testing.T) {
	res, err := runner.Run(context.Background(), loadScenario(t, "100", "2s"), runner.Options{Target: target(t, "sim://tank?time=simulated")})
	if err != nil {
		t.Fatal(err)
	}
	ok, failed, _, lastSample, firstLoad := loadEvents(res.Trace)
	if ok != 200 || failed != 0 {
		t.Errorf("%d reads answered, %d failed; want 200 and 0", ok, failed)
	}
	if firstLoad < lastSample {
		t.Errorf("the load began at %d ns, before the last sample at %d ns; it runs after the steps", firstLoad, lastSample)
	}
}

// A controller that answers a read in 100 ms cannot carry 50 reads/s: the load stops at
// twice its duration and the reads it never sent are errors, not silently dropped.
func TestLoadProbeOnASlowControllerRecordsWhatItCouldNotSend(t *testing.T) {
	res, err := runner.Run(context.Background(), loadScenario(t, "50", "2s"), runner.Options{Target: target(t, "sim://tank?time=simulated&faults=latency=100ms")})
	if err != nil {
		t.Fatal(err)
	}
	ok, failed, unsent, _, _ := loadEvents(res.Trace)
	if ok+failed != 100 || unsent == 0 || ok < 30 || ok > 45 {
		t.Errorf("%d answered, %d failed of which %d not sent; want 100 in all, about 40 answered in 4 s", ok, failed, unsent)
	}
}
