package gui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/patchgate/patchgate/app/gui/workspace"
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

// TestLivePlotWhileRunning: while a validation runs on the embedded (real-time) stations the
// lower section is the live plot, fed with the sampled values; the verdict brings the
// Compare section back.
func TestLivePlotWhileRunning(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	h.selectTab("Validate")
	v.patch.SetSelected(noPatch)
	test.Tap(v.run)
	if v.lower.Objects[0] != v.live.content {
		t.Fatal("no live plot while running")
	}
	if v.live.tag.Selected != "Level" {
		t.Errorf("live tag %q, want the tank's first analogue point, Level", v.live.tag.Selected)
	}
	h.waitFor("live samples of both sides", 2*time.Minute, func() bool {
		s := v.live.series["Level"]
		return s != nil && len(s[0].T) > 0 && len(s[1].T) > 0 || v.cancel == nil
	})
	s := v.live.series["Level"]
	if s == nil || len(s[0].T) == 0 || len(s[1].T) == 0 {
		t.Fatalf("live series %v (%s)", s, v.step.Text)
	}
	if v.live.plot.o == nil || v.live.plot.o.End <= 0 {
		t.Error("live plot draws nothing")
	}
	sc, err := workspace.LoadScenario(DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	// setup and steps, numbered as the progress numbers them (the list once left the setup
	// out and highlighted the step the setup's length before the one running)
	all := len(sc.Setup) + len(sc.Steps)
	if len(sc.Setup) == 0 || len(v.live.steps) != all || v.live.cur < 1 || v.live.cur > all || !strings.HasPrefix(v.live.steps[0], "setup: ") {
		t.Errorf("step list: %d steps (want %d setup and steps), at step %d", len(v.live.steps), all, v.live.cur)
	}
	h.waitFor("the verdict", 2*time.Minute, func() bool { return v.cancel == nil })
	if v.result == nil {
		t.Fatalf("validation: %s", v.step.Text)
	}
	if v.lower.Objects[0] != v.compare.content {
		t.Error("the Compare section did not come back with the verdict")
	}
	// what was plotted live is what was recorded (the last repetition of each side)
	want := workspace.TagSeries(v.result.After[len(v.result.After)-1], "Level")
	if !slices.Equal(s[1].T, want.T) {
		t.Errorf("after side: %d samples live, %d recorded", len(s[1].T), len(want.T))
	}
}
