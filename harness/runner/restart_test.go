package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/simtest"
	"github.com/patchgate/patchgate/simulators/station"
)

func restartScenario(t *testing.T) *scenario.Scenario {
	pm, err := point.Load("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := "version: 1\nname: restart\npoints: x\nsample:\n  period: 20ms\n  tags: [Level, ScanCount]\nsteps:\n" +
		"  - wait: 100ms\n  - restart: {}\n  - wait_until: ScanCount > 2\n    timeout: 5s\n    id: back\n"
	sc, err := scenario.Parse("restart.yaml", []byte(src), func(string) (*point.Map, error) { return pm, nil })
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestOperatorRestart: a restart step on a controller the harness cannot restart (one over
// Modbus TCP) asks the operator, keeps sampling, and goes on only once the controller was
// seen to go away and answer again; who confirmed is in the trace. A confirmation without a
// restart, a controller that stays down past the gap limit, and a refusal fault the run.
func TestOperatorRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		down    time.Duration // the station's restart time
		restart bool          // the operator really restarts the controller
		err     error         // what the operator's function returns
		status  trace.Status
		fault   string
	}{
		{name: "restarted", down: 200 * time.Millisecond, restart: true, status: trace.Completed},
		{name: "never restarted", down: 200 * time.Millisecond, status: trace.Faulted, fault: "not seen to restart"},
		{name: "never back", down: time.Hour, restart: true, status: trace.Faulted, fault: "did not come back within 400ms"},
		{name: "refused", down: 200 * time.Millisecond, err: errors.New("no answer within 10m0s"), status: trace.Faulted, fault: "step 2: restart: no answer within 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, OPCUA: "-", Faults: fault.Set{RestartTime: tc.down}})
			tg, err := driver.ParseTarget(st.ModbusURL())
			if err != nil {
				t.Fatal(err)
			}
			var asked runner.RestartRequest
			ask := func(ctx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
				asked = req
				if tc.restart {
					st.Controller.Restart()
				}
				return runner.RestartConfirmation{By: "alice", How: "at the terminal"}, tc.err
			}
			res, err := runner.Run(context.Background(), restartScenario(t), runner.Options{Target: tg, Repetition: 2, OperatorRestart: ask, GapLimit: 400 * time.Millisecond})
			if res == nil {
				t.Fatal(err)
			}
			run := res.Trace.Run
			if run.Status != tc.status || !strings.Contains(run.Fault, tc.fault) || (tc.status == trace.Completed) != (err == nil) {
				t.Fatalf("status %s, fault %q, error %v; want %s with %q", run.Status, run.Fault, err, tc.status, tc.fault)
			}
			if asked.Step != 2 || asked.Repetition != 2 || asked.Scenario != "restart" || asked.Target.String() != tg.String() {
				t.Errorf("asked %+v", asked)
			}
			var confirmed, back, gapStart, gapEnd bool
			for _, e := range res.Trace.Events {
				switch {
				case e.Kind == trace.EvRestart && strings.HasPrefix(e.Msg, "restart confirmed by alice at ") && strings.HasSuffix(e.Msg, "(at the terminal)") && e.Value == "alice" && e.Step == 2:
					confirmed = true
				case e.Kind == trace.EvRestart && strings.HasPrefix(e.Msg, "controller back "):
					back = true
				case e.Kind == trace.EvGapStart:
					gapStart = true
				case e.Kind == trace.EvGapEnd:
					gapEnd = true
				}
			}
			if confirmed != (tc.err == nil) || back != (tc.status == trace.Completed) || gapStart != tc.restart || gapEnd != (tc.status == trace.Completed) {
				t.Errorf("events: confirmed %v, back %v, gap start %v, gap end %v\n%v", confirmed, back, gapStart, gapEnd, res.Trace.Events)
			}
			if tc.status == trace.Completed && (len(res.Checks) != 1 || res.Checks[0].Status != "pass") {
				t.Errorf("checks %+v: want the controller back after the restart", res.Checks)
			}
		})
	}
}

// TestOperatorRestartAbort: cancelling the run while the operator is asked aborts the run
// and ends the question (its context is done).
func TestOperatorRestartAbort(t *testing.T) {
	st := simtest.StartConfig(t, station.Config{Model: "tank", Seed: 1, OPCUA: "-"})
	tg, _ := driver.ParseTarget(st.ModbusURL())
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	ask := func(actx context.Context, req runner.RestartRequest) (runner.RestartConfirmation, error) {
		cancel() // the operator presses Abort
		<-actx.Done()
		close(ended)
		return runner.RestartConfirmation{}, actx.Err()
	}
	res, err := runner.Run(ctx, restartScenario(t), runner.Options{Target: tg, OperatorRestart: ask})
	if !errors.Is(err, runner.ErrAborted) || res == nil || res.Trace.Run.Status != trace.Aborted {
		t.Fatalf("error %v, result %v: want an aborted run", err, res)
	}
	select {
	case <-ended:
	default:
		t.Error("the run returned before the question ended")
	}
}
