package gui

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/harness/ledger"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
	"github.com/patchgate/patchgate/simulators/fault"
	"github.com/patchgate/patchgate/simulators/station"
)

// answerRestart plays the operator at a restart dialog, if one is shown: it restarts the
// station the dialog names (one of stations, by Modbus URL) and presses Continue.
func (h *harness) answerRestart(stations map[string]*station.Station) {
	r := h.ui.Validate.restart
	if r == nil {
		return
	}
	st, ok := stations[r.req.Target.String()]
	if !ok {
		h.t.Fatalf("restart dialog for %s, a controller the test does not know", r.req.Target)
	}
	st.Controller.Restart()
	r.d.Confirm()
}

// restartBench starts a baseline and a benign heater outside the workspace (real PLCs to
// the app), each down 300 ms on a restart, and readies the Validate tab to validate the
// shipped heater restart scenario between them, one run a side.
func restartBench(t *testing.T, h *harness) (before, after *station.Station) {
	t.Helper()
	for i, fw := range []string{"baseline", "benign"} {
		st, err := station.Start(context.Background(), station.Config{Model: "heater", Firmware: fw, Seed: 1,
			Modbus: "127.0.0.1:0", Faults: fault.Set{RestartTime: 300 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			before = st
		} else {
			after = st
		}
	}
	v := h.ui.Validate
	h.selectTab("Validate")
	v.scenario.SetSelected("heater-restart-retain.yaml")
	v.patch.SetSelected(noPatch)
	v.repeat.SetText("1")
	v.before.SetText(before.ModbusURL())
	v.after.SetText(after.ModbusURL())
	test.Tap(v.run)
	if v.arming == nil {
		t.Fatal("no arming dialog for controllers outside the workspace")
	}
	v.arming.Confirm()
	return before, after
}

// TestRestartDialog: a validation on controllers the harness cannot restart reaches the
// restart step and shows the restart dialog, naming the step, the side and the target, with
// the time left; the operator restarts the controller and presses Continue, and the run
// goes on: once a side, the restart confirmed by the workspace's actor in the trace.
func TestRestartDialog(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("two real-time runs with restarts: run without -race (make test does)")
	}
	h := newHarness(t)
	v := h.ui.Validate
	before, after := restartBench(t, h)
	h.waitFor("the restart dialog", time.Minute, func() bool { return v.restart != nil || v.cancel == nil })
	r := v.restart
	if r == nil {
		t.Fatalf("no restart dialog: %s", v.step.Text)
	}
	if r.req.Side != "before" || r.req.Target.String() != before.ModbusURL() || r.req.Scenario != "heater-restart-retain" {
		t.Errorf("dialog asks about %+v", r.req)
	}
	if !strings.Contains(r.left.Text, "left to answer") || !strings.Contains(v.step.Text, "waiting for the operator to restart") {
		t.Errorf("countdown %q, step %q", r.left.Text, v.step.Text)
	}
	if *screenshots != "" { // make screenshots: the dialog over the running validation
		f, err := os.Create(filepath.Join(*screenshots, "restart-dialog.png"))
		if err != nil {
			t.Fatal(err)
		}
		err = png.Encode(f, h.win.Canvas().Capture())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var targets []string
	stations := map[string]*station.Station{before.ModbusURL(): before, after.ModbusURL(): after}
	h.waitFor("the verdict", 2*time.Minute, func() bool {
		if r := v.restart; r != nil {
			targets = append(targets, r.req.Target.String())
		}
		h.answerRestart(stations)
		return v.cancel == nil
	})
	if v.result == nil {
		t.Fatalf("validation: %s", v.step.Text)
	}
	if !slices.Equal(targets, []string{before.ModbusURL(), after.ModbusURL()}) {
		t.Errorf("dialogs for %v, want one for the before and one for the after controller", targets)
	}
	for _, tr := range append(v.result.Before, v.result.After...) {
		var confirmed bool
		for _, e := range tr.Events {
			confirmed = confirmed || e.Kind == trace.EvRestart && e.Value == "bench-engineer" && strings.Contains(e.Msg, "(operator at the desktop dialog)")
		}
		if tr.Run.Status != trace.Completed || !confirmed {
			t.Errorf("run %d: %s %s, restart confirmed by bench-engineer: %v", tr.Run.ID, tr.Run.Status, tr.Run.Fault, confirmed)
		}
	}
	for _, c := range v.result.Record.Criteria {
		if (c.ID == "check:retained_values" || c.ID == "check:comm_restored") && c.Status != verdict.Pass || strings.HasSuffix(c.ID, "_restart") {
			t.Errorf("%s %s: %s", c.ID, c.Status, c.Reason)
		}
	}
	t.Logf("verdict %s", v.Verdict())
}

// TestRestartDialogAbort: Abort at the restart dialog aborts the validation: the run is
// marked aborted, with the operator's abort as the reason, and no verdict is reached.
func TestRestartDialogAbort(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	restartBench(t, h)
	h.waitFor("the restart dialog", time.Minute, func() bool { return v.restart != nil || v.cancel == nil })
	if v.restart == nil {
		t.Fatalf("no restart dialog: %s", v.step.Text)
	}
	v.restart.d.Dismiss() // Abort
	h.waitFor("the abort", time.Minute, func() bool { return v.cancel == nil })
	if v.Verdict() != "ABORTED" || v.restart != nil {
		t.Fatalf("verdict %q, dialog %v; want ABORTED and the dialog gone", v.Verdict(), v.restart)
	}
	runs, err := h.ws.DB.Runs(context.Background(), ledger.RunFilter{})
	if err != nil || len(runs) != 1 || runs[0].Status != trace.Aborted {
		t.Fatalf("runs %+v, %v: want the before run, aborted", runs, err)
	}
	tr, err := h.ws.DB.LoadTrace(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(tr.Events, func(e trace.Event) bool {
		return e.Kind == trace.EvAbort && strings.Contains(e.Msg, errRestartAborted.Error())
	}); i < 0 {
		t.Errorf("no abort event naming the operator's abort: %v", tr.Events)
	}
}
