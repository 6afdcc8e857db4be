package compare_test

import (
	"path/filepath"
	"testing"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestSequenceEventAtTheLastSampleIsNotExtra: tank-alarm-trip ends when the high alarm
// clears, so both runs' last event (AlarmHigh↓) is on their last sample, 650 ms apart with
// alarm-shift. The stored runs (real time, from the CLI) had the alignment map the before
// run's last event a few µs past the after run's last sample: the sequence called the
// alarm's clearing extra after the patch. It must match it (a shift is the threshold
// check's to judge: AlarmHigh has no tolerance). The events are those from the first step
// after the setup on: the setup's InletValve↓ is not behaviour. The scenario is the
// tank-alarm-trip the runs were recorded with (its two-step setup), kept beside them: the
// shipped one has since grown a setup that brings the level to 50 %, and the recorded
// steps would no longer line up with it.
func TestSequenceEventAtTheLastSampleIsNotExtra(t *testing.T) {
	dir := filepath.Join("testdata", "sequence-last-sample")
	sc, err := scenario.Load(filepath.Join(dir, "tank-alarm-trip.yaml"), "")
	if err != nil {
		t.Fatal(err)
	}
	before, after := readTraces(t, filepath.Join(dir, "before.json")), readTraces(t, filepath.Join(dir, "after.json"))
	crit := compare.Compare(sc, before, after, compare.Patch{})
	for _, c := range crit {
		if c.ID != "sequence" {
			continue
		}
		if c.Status != verdict.Pass || c.Numbers["before_events"] != 4 || c.Numbers["after_events"] != 4 {
			t.Errorf("sequence %s: %s (numbers %v)", c.Status, c.Reason, c.Numbers)
		}
		return
	}
	t.Fatal("no sequence criterion")
}
