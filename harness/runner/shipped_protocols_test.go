package runner_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/simulators/station"
)

// TestShippedScenariosOverBothProtocols runs every shipped scenario (but the 10-minute
// soaks) against its model's
// baseline over Modbus TCP and over OPC UA, in real time: every check passes, and the
// scenarios that restart or reconnect the controller show the gap in the trace.
func TestShippedScenariosOverBothProtocols(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time runs")
	}
	if raceEnabled {
		t.Skip("real-time emulation: run without -race (make test does)")
	}
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	type result struct {
		res *runner.Result
		err error
	}
	type job struct{ file, proto string }
	var jobs []job
	for _, f := range files {
		if strings.HasSuffix(f, "-soak.yaml") {
			continue // ten minutes of wall time; TestShippedScenariosPassOnBaseline runs them in simulated time
		}
		for _, proto := range []string{"modbus", "opcua"} {
			jobs = append(jobs, job{filepath.Base(f), proto})
		}
	}
	out := make([]result, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		model := strings.SplitN(j.file, "-", 2)[0]
		cfg := station.Config{Model: model, Seed: 1, Security: "none"}
		if j.proto == "modbus" {
			cfg.Modbus = "127.0.0.1:0"
		} else {
			cfg.OPCUA = "127.0.0.1:0"
		}
		st, err := station.Start(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		tg := st.ModbusURL()
		if j.proto == "opcua" {
			tg = st.OPCUAURL() + "?security=None&allow_insecure=1"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			target, err := driver.ParseTarget(tg)
			if err != nil {
				out[i] = result{nil, err}
				return
			}
			restart := func(context.Context, runner.RestartRequest) (runner.RestartConfirmation, error) {
				st.Controller.Restart()
				return runner.RestartConfirmation{By: "test"}, nil
			}
			res, err := runner.Run(context.Background(), load(t, j.file), runner.Options{Target: target, Armed: true, OperatorRestart: restart})
			out[i] = result{res, err}
		}()
	}
	wg.Wait()
	for i, j := range jobs {
		r := out[i]
		t.Run(j.file+"/"+j.proto, func(t *testing.T) {
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.res.Trace.Run.Status != trace.Completed {
				t.Fatalf("status %s: %s", r.res.Trace.Run.Status, r.res.Trace.Run.Fault)
			}
			for _, c := range r.res.Checks {
				if c.Status != "pass" {
					t.Errorf("check %s: %s %s (seen %v)", c.ID, c.Status, c.Reason, c.Seen)
				}
			}
			if strings.Contains(j.file, "restart") || strings.Contains(j.file, "comm-timeout") {
				var start, end bool
				for _, e := range r.res.Trace.Events {
					start = start || e.Kind == trace.EvGapStart
					end = end || e.Kind == trace.EvGapEnd
				}
				if !start || !end {
					t.Errorf("restart scenario: gap start %v, gap end %v in the trace; want both", start, end)
				}
			}
		})
	}
}
