package runner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

func load(t *testing.T, name string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("../../scenarios/"+name, "")
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func target(t *testing.T, s string) driver.Target {
	t.Helper()
	tg, err := driver.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func checks(res *runner.Result) map[string]string {
	out := map[string]string{}
	for _, c := range res.Checks {
		out[c.ID] = c.Status
	}
	return out
}

func TestAlarmTripScenarioOnSimulatedTime(t *testing.T) {
	sc := load(t, "tank-alarm-trip.yaml")
	for _, tc := range []struct {
		fw        string
		threshold string // status of alarm_high_threshold
	}{{"baseline", "pass"}, {"alarm-shift", "fail"}} {
		t.Run(tc.fw, func(t *testing.T) {
			res, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "sim://tank?time=simulated&firmware="+tc.fw)})
			if err != nil {
				t.Fatal(err)
			}
			r := res.Trace.Run
			if r.Status != trace.Completed || r.TimeMode != "simulated" {
				t.Errorf("status %s, time mode %s; want completed, simulated", r.Status, r.TimeMode)
			}
			got := checks(res)
			if got["alarm_high_trips"] != "pass" || got["interlock_trips"] != "pass" {
				t.Errorf("checks %v: the alarm and the interlock must trip on every firmware", got)
			}
			if got["alarm_high_threshold"] != tc.threshold {
				t.Errorf("alarm_high_threshold = %s, want %s (checks %v)", got["alarm_high_threshold"], tc.threshold, got)
			}
			if res.Missed != 0 {
				t.Errorf("%d missed slots on a virtual clock", res.Missed)
			}
			// samples: one per tag per slot, slots consecutive from 0
			n := len(r.Tags)
			if len(res.Trace.Samples)%n != 0 {
				t.Fatalf("%d samples for %d tags", len(res.Trace.Samples), n)
			}
			for i, s := range res.Trace.Samples {
				if s.Slot != int64(i/n) || s.Late != 0 {
					t.Fatalf("sample %d: slot %d late %d; want slot %d on time", i, s.Slot, s.Late, i/n)
				}
			}
			if len(res.Probes) != 1 || res.Probes[0].Seconds < 5 || res.Probes[0].Seconds > 15 {
				t.Errorf("alarm response probe %+v; want one value of about 10 s", res.Probes)
			}
			if r.IdentityPre.Firmware == "" || r.IdentityPre.Firmware != r.IdentityPost.Firmware {
				t.Errorf("identity %+v / %+v", r.IdentityPre, r.IdentityPost)
			}
		})
	}
}

func TestRealTargetNeedsArming(t *testing.T) {
	sc := load(t, "tank-alarm-trip.yaml")
	_, err := runner.Run(context.Background(), sc, runner.Options{Target: target(t, "modbus://127.0.0.1:1?unit=1")})
	if !errors.Is(err, runner.ErrNotArmed) {
		t.Fatalf("got %v, want ErrNotArmed before any I/O", err)
	}
}

func TestDryRunListsExactWrites(t *testing.T) {
	sc := load(t, "tank-alarm-trip.yaml")
	ws := runner.DryRun(sc)
	var n int
	for _, w := range ws {
		if w.Phase == "restore" {
			n++
		}
	}
	if n != len(sc.Restore) || n == 0 {
		t.Errorf("restore writes %d, want one per allow-listed tag (%d)", n, len(sc.Restore))
	}
	if ws[0].Tag != "Mode" || ws[0].Value != "0" || ws[0].Phase != "setup" {
		t.Errorf("first write %+v, want setup Mode = 0", ws[0])
	}
}

func TestAbortRestoresValues(t *testing.T) {
	sc := load(t, "tank-alarm-trip.yaml")
	ctx, cancel := context.WithCancel(context.Background())
	tg := target(t, "sim://tank?time=simulated")
	conn, err := driver.Open(ctx, tg, sc.Points)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// set a distinctive starting state to be restored
	if err := conn.Write(ctx, []driver.Write{{Tag: "Mode", Value: pv(1)}}); err != nil {
		t.Fatal(err)
	}
	var seen int
	res, err := runner.Run(ctx, sc, runner.Options{Target: tg, Conn: conn, Progress: func(p runner.Progress) {
		if seen++; p.Step >= 4 && p.Latest["InletValve"].Bool() {
			cancel() // the operator presses Abort while the inlet is open
		}
	}})
	if !errors.Is(err, runner.ErrAborted) {
		t.Fatalf("got %v, want ErrAborted", err)
	}
	if res.Trace.Run.Status != trace.Aborted {
		t.Errorf("status %s, want aborted", res.Trace.Run.Status)
	}
	rd := make([]driver.Reading, 2)
	if err := conn.Read(context.Background(), []string{"Mode", "InletValve"}, rd); err != nil {
		t.Fatal(err)
	}
	if rd[0].Value.Float() != 1 || rd[1].Value.Bool() {
		t.Errorf("after abort Mode=%v InletValve=%v; want the values before the test (1, false)", rd[0].Value, rd[1].Value)
	}
}
