package runner_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

// TestShippedScenariosPassOnBaseline runs every shipped scenario against its model's baseline
// firmware in simulated time: every check passes, nothing is missed.
func TestShippedScenariosPassOnBaseline(t *testing.T) {
	files, _ := filepath.Glob("../../scenarios/*.yaml")
	if len(files) < 7 {
		t.Fatalf("found %d shipped scenarios, want at least 7", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			sc := load(t, name)
			model := strings.SplitN(name, "-", 2)[0]
			res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "sim://"+model+"?time=simulated")})
			if err != nil {
				t.Fatal(err)
			}
			if res.Trace.Run.Status != trace.Completed {
				t.Errorf("status %s: %s", res.Trace.Run.Status, res.Trace.Run.Fault)
			}
			if len(res.Checks) == 0 && len(sc.Probes) == 0 && sc.Posture == nil {
				t.Error("the scenario checked and measured nothing")
			}
			if sc.Posture != nil && (res.Trace.Run.Meta[trace.MetaPosture] == "" || res.Trace.Run.Meta[trace.MetaPostureError] != "") {
				t.Errorf("posture not collected: %q", res.Trace.Run.Meta[trace.MetaPostureError])
			}
			for _, p := range sc.Probes {
				if p.Kind != scenario.ProbeLoad {
					continue
				}
				if ok, failed, _, _, _ := loadEvents(res.Trace); ok == 0 || failed > 0 {
					t.Errorf("load probe %s: %d reads answered, %d failed", p.Name, ok, failed)
				}
			}
			for _, c := range res.Checks {
				if c.Status != "pass" {
					t.Errorf("check %s (%s): %s %s; seen %v", c.ID, c.Cond, c.Status, c.Reason, c.Seen)
				}
			}
			if res.Missed != 0 {
				t.Errorf("%d missed slots", res.Missed)
			}
		})
	}
}

// TestRegressionsFailTheirChecks: the scenario checks alone already catch the regressions
// that are visible as a single condition (the comparison catches the rest).
func TestRegressionsFailTheirChecks(t *testing.T) {
	cases := []struct{ scenario, target, check string }{
		{"tank-alarm-trip.yaml", "sim://tank?time=simulated&firmware=alarm-shift", "alarm_high_threshold"},
		{"tank-restart-retain.yaml", "sim://tank?time=simulated&firmware=retain-lost", "retained_values"},
		{"heater-step-response.yaml", "sim://heater?time=simulated&firmware=loop-retuned", "overshoot_limit"},
		{"heater-overtemp-alarm.yaml", "sim://heater?time=simulated&firmware=alarm-shift", "overtemp_alarm_threshold"},
		{"heater-restart-retain.yaml", "sim://heater?time=simulated&firmware=retain-lost", "retained_values"},
		{"conveyor-restart-retain.yaml", "sim://conveyor?time=simulated&firmware=retain-lost", "retained_counters"},
	}
	for _, tc := range cases {
		t.Run(tc.target, func(t *testing.T) {
			res, err := runner.Run(context.Background(), load(t, tc.scenario), runner.Options{Target: target(t, tc.target)})
			if err != nil {
				t.Fatal(err)
			}
			if got := checks(res)[tc.check]; got != "fail" {
				t.Errorf("check %s = %q, want fail (all: %v)", tc.check, got, checks(res))
			}
		})
	}
}
