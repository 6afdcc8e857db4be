package gui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/harness/trace"
)

// TestStoredRunsForBothSides compares two stored runs without running anything: the
// candidate recorded earlier against the baseline recorded earlier still, as a bench
// with one PLC does when the change board asks for the comparison again.
func TestStoredRunsForBothSides(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	v.patch.SetSelected(noPatch)
	v.repeat.SetText("1") // one run a side, as the stored comparison will have
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	if v.result == nil {
		t.Fatalf("first validation: %s", v.step.Text)
	}
	first := v.result.Record
	pick := func(id int64) int {
		i := slices.IndexFunc(v.runs, func(r trace.Run) bool { return r.ID == id })
		if i < 0 {
			t.Fatalf("run %d not offered: %v", id, v.stored.Options)
		}
		return i + 1
	}
	v.stored.SetSelectedIndex(pick(first.BeforeRuns[0]))
	v.storedAf.SetSelectedIndex(pick(first.AfterRuns[0]))
	if !v.before.Disabled() || !v.after.Disabled() {
		t.Error("targets still editable with stored runs chosen for both sides")
	}
	v.before.SetText("modbus://127.0.0.1:1?unit=1&map=tank") // nothing listens: must not be used
	v.after.SetText("not a url")
	test.Tap(v.run)
	h.waitFor("the verdict", 2*time.Minute, func() bool { return v.cancel == nil })
	if v.result == nil {
		t.Fatalf("stored-run comparison: %s", v.step.Text)
	}
	rec := v.result.Record
	if !slices.Equal(rec.BeforeRuns, first.BeforeRuns[:1]) || !slices.Equal(rec.AfterRuns, first.AfterRuns[:1]) {
		t.Errorf("runs %v / %v; want the stored %d / %d", rec.BeforeRuns, rec.AfterRuns, first.BeforeRuns[0], first.AfterRuns[0])
	}
	if rec.Verdict != first.Verdict {
		t.Errorf("verdict %s from the stored runs, %s when they were recorded", rec.Verdict, first.Verdict)
	}
	v.storedAf.SetSelectedIndex(0)
	if v.after.Disabled() {
		t.Error("after target not editable again once the stored run is deselected")
	}
}
