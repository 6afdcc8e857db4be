package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

// TestSetupThatCannotReachItsStateStopsTheRun: a setup wait_until that times out leaves the
// plant out of its start state; the run stops there, faulted with the step named, restores
// what it wrote, and never runs its steps (docs/architecture.md, "Setup and the start state").
// scenarioText compiles a scenario written here, on the shipped tank point map.
func scenarioText(t *testing.T, src string) *scenario.Scenario {
	t.Helper()
	dir := t.TempDir()
	pm, err := os.ReadFile("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tank.yaml"), pm, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(file, "")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestSetupThatCannotReachItsStateStopsTheRun(t *testing.T) {
	sc := scenarioText(t, `
version: 1
name: unreachable-start
points: tank.yaml
sample:
  period: 50ms
  tags: [Level, InletValve]
allow:
  - tag: InletValve
  - tag: Mode
    values: [0, 1]
setup:
  - write: {Mode: 0, InletValve: false}
  - wait_until: Level >= 99.5
    timeout: 2s
    id: start_level
steps:
  - write: {InletValve: true}
  - wait: 1s
`)
	res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "sim://tank?time=simulated")})
	if !errors.Is(err, runner.ErrSetup) {
		t.Fatalf("err %v, want ErrSetup", err)
	}
	tr := res.Trace
	if tr.Run.Status != trace.Faulted || !strings.Contains(tr.Run.Fault, "setup step 2 (wait until Level >= 99.5 (timeout 2s)): not seen within the 2s timeout") {
		t.Errorf("status %s, fault %q", tr.Run.Status, tr.Run.Fault)
	}
	for _, e := range tr.Events {
		if e.Kind == trace.EvStepStart && e.Step > 2 {
			t.Errorf("step %d ran after the setup failed", e.Step)
		}
	}
	for _, w := range res.Writes {
		if w.Phase == "step" && w.Step > 2 {
			t.Errorf("a step's write was made: %+v", w)
		}
	}
	if checks(res)["start_level"] != "fail" {
		t.Errorf("checks %v", checks(res))
	}
}

// TestZeroWindowExpectAfterAWriteJudgesTheNextSample: an expect with no window right after a
// write was judged on the sample taken before the write, and failed.
func TestZeroWindowExpectAfterAWriteJudgesTheNextSample(t *testing.T) {
	sc := scenarioText(t, `
version: 1
name: expect-after-write
points: tank.yaml
sample:
  period: 50ms
  tags: [InletValve]
allow:
  - tag: InletValve
  - tag: Mode
    values: [0, 1]
setup:
  - write: {Mode: 0, InletValve: false}
  - wait: 200ms
steps:
  - write: {InletValve: true}
  - expect: InletValve
    id: inlet_open
  - write: {InletValve: false}
`)
	res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "sim://tank?time=simulated")})
	if err != nil {
		t.Fatal(err)
	}
	if got := checks(res)["inlet_open"]; got != "pass" {
		t.Errorf("inlet_open %s, want pass (judged on the sample after the write)", got)
	}
}

// TestWaitUntilOnARefusedTagStopsWaiting: a setup that waits on a tag the device refuses (a
// moved register) waited out its whole timeout, a minute of bench time per run; it stops
// after a few refused samples, undecided, and the run stops with the setup step named.
func TestWaitUntilOnARefusedTagStopsWaiting(t *testing.T) {
	sc := load(t, "tank-steady-state.yaml")
	res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "sim://tank?time=simulated&firmware=register-moved")})
	if !errors.Is(err, runner.ErrSetup) {
		t.Fatalf("err %v, want ErrSetup", err)
	}
	if !strings.Contains(res.Trace.Run.Fault, "the device refuses Level") {
		t.Errorf("fault %q", res.Trace.Run.Fault)
	}
	var last int64
	for _, s := range res.Trace.Samples {
		last = max(last, s.T)
	}
	if last > int64(5*time.Second) {
		t.Errorf("sampled until %v: waited out the timeout", time.Duration(last))
	}
}
