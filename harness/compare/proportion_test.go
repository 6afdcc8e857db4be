package compare_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The setup and missing-data rules of docs/architecture.md ("Setup and the start state",
// "Missing data is judged per criterion"), on synthetic runs of synthScenario.

// setupScenario is synthScenario with a setup that drains the tank to its start level.
var setupScenario = strings.Replace(synthScenario, "steps:\n", `setup:
  - wait_until: Level <= 80
    timeout: 60s
    id: start_level
steps:
`, 1)

// withSetup returns run s with a setup of d before it: the plant drains from level from to 80
// while the setup's wait_until waits, then the run's steps follow, renumbered.
func withSetup(s synth, d time.Duration, from float64) *trace.Trace {
	base := s.trace()
	dn := int64(d)
	slots := dn / ms(10)
	b := newTrace(base.Run.ID, 10*time.Millisecond, base.Run.Tags...).firmware(base.Run.IdentityPre.Firmware)
	for k := int64(0); k < slots; k++ {
		level := from + (80-from)*float64(k+1)/float64(slots)
		b.slotAt(k, k*ms(10)+s.rt, level, 0, 0, float64(k*ms(10))/1e9/0.010)
	}
	scans := float64(slots)
	for _, smp := range base.Samples {
		smp.Slot += slots
		smp.T += dn
		if smp.Tag == 3 && smp.Value == smp.Value {
			smp.Value += scans // the counter keeps counting
		}
		b.tr.Samples = append(b.tr.Samples, smp)
	}
	b.ev(stepStart(1, 0, "wait until Level <= 80 (timeout 1m0s)"), check("start_level", 1, dn, "pass", ""))
	for _, e := range base.Events {
		e.T += dn
		if e.Step > 0 {
			e.Step++
		}
		b.tr.Events = append(b.tr.Events, e)
	}
	return b.done()
}

// TestSetupIsNotBehaviour: the bench left the after controller higher up, so its setup drained
// 6 s instead of 1 s and passed levels the before run never saw. From the first step on the
// two runs are the same plant: GO, and the setup's samples are not compared.
func TestSetupIsNotBehaviour(t *testing.T) {
	sc := parseScenario(t, setupScenario)
	before := withSetup(synth{id: 1}, time.Second, 82)
	after := withSetup(synth{id: 11, fw: "1.1"}, 6*time.Second, 95)
	cs := compare.Compare(sc, traces(before), traces(after), compare.Patch{})
	for _, c := range cs {
		switch c.ID {
		case "timing:alarm_response", "timing:round_trip": // one run each: too few values
			continue
		}
		if c.Status != verdict.Pass {
			t.Errorf("%s: %s: %s", c.ID, c.Status, c.Reason)
		}
	}
	if o, r := verdict.Decide(cs, sc.MajorIsNoGo); o == verdict.NoGo {
		t.Errorf("verdict %s: %v", o, r)
	}
	if c := byID(t, cs, "signal:Level"); c.Numbers["compared"] != 1000 {
		t.Errorf("signal:Level compared %v after samples, want the 1000 from the first step on", c.Numbers["compared"])
	}
	// the same runs judged from the run's start (no setup in the scenario) are far apart
	noSetup := parseScenario(t, strings.Replace(setupScenario, "setup:\n  - wait_until: Level <= 80\n    timeout: 60s\n    id: start_level\n", "", 1))
	if c := byID(t, compare.Compare(noSetup, traces(before), traces(after), compare.Patch{}), "signal:Level"); c.Status == verdict.Pass {
		t.Errorf("without the setup the drain is compared and must differ: %s: %s", c.Status, c.Reason)
	}
}

// TestSetupThatCannotReachItsStateIsInconclusive: a setup wait_until that timed out is never
// a failure of the patch, nor a pass: the verdict is INCONCLUSIVE, naming the setup step.
func TestSetupThatCannotReachItsStateIsInconclusive(t *testing.T) {
	sc := parseScenario(t, setupScenario)
	before := withSetup(synth{id: 1}, time.Second, 82)
	after := newTrace(12, 10*time.Millisecond, "Level", "AlarmHigh", "AlarmCount", "ScanCount").firmware("1.1")
	for k := int64(0); k < 6000; k++ {
		after.slot(k, 95, 1, 1, float64(k))
	}
	after.ev(stepStart(1, 0, "wait until Level <= 80 (timeout 1m0s)"), check("start_level", 1, ms(60000), "fail", "not seen within the 1m0s timeout"))
	after.status(trace.Faulted, "the setup did not reach the start state: setup step 1 (wait until Level <= 80 (timeout 1m0s)): not seen within the 1m0s timeout")
	cs := compare.Compare(sc, traces(before), traces(after.done()), compare.Patch{})
	c := byID(t, cs, "check:start_level")
	if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "setup step 1 (Level <= 80 within 1m0s) did not reach the start state") {
		t.Errorf("check:start_level %s: %s", c.Status, c.Reason)
	}
	for _, c := range cs {
		if c.Status == verdict.Fail {
			t.Errorf("%s fails on a bench that never reached its start state: %s", c.ID, c.Reason)
		}
	}
	if o, r := verdict.Decide(cs, sc.MajorIsNoGo); o != verdict.Inconclusive {
		t.Errorf("verdict %s, want INCONCLUSIVE: %v", o, r)
	}
}

// holdScenario: synthScenario whose last step holds a condition for 1 s.
// Its response probe is minor: with one run a side it has too few values to decide.
var holdScenario = strings.NewReplacer("  - wait: 1s\n", "  - expect: Level >= 85\n    hold: 1s\n    id: level_holds\n",
	"    tolerance: {absolute: 100ms}\n", "    tolerance: {absolute: 100ms}\n    severity: minor\n").Replace(synthScenario)

func holdRun(s synth) *trace.Trace {
	tr := s.trace()
	at := int64(500) * ms(10)
	tr.Events = append(tr.Events, check("level_holds", 5, at+ms(1000), "pass", ""))
	return tr
}

// missSlots removes the samples of slots [from, from+n) and records them missed.
func missSlots(tr *trace.Trace, from, n int64) *trace.Trace {
	tr.Samples = slices.DeleteFunc(tr.Samples, func(s trace.Sample) bool { return s.Slot >= from && s.Slot < from+n })
	tr.Events = append(tr.Events, trace.Event{T: from * ms(10), Kind: trace.EvMissed, Value: fmt.Sprint(n),
		Msg: fmt.Sprintf("slots %d-%d missed: the harness was late", from, from+n-1)})
	return tr
}

// TestMissedSlotVoidsOnlyWhatItCouldChange: one missed slot far from every check window
// still decides; one inside a check's window makes that check, and only it, INCONCLUSIVE;
// a gap longer than a tag's allowed shift voids that signal.
func TestMissedSlotVoidsOnlyWhatItCouldChange(t *testing.T) {
	sc := parseScenario(t, holdScenario)
	before := []*trace.Trace{holdRun(synth{id: 1})}
	cases := []struct {
		name    string
		after   *trace.Trace
		outcome verdict.Outcome
		voided  []string // criteria left undecided by the gap
	}{
		{"whole", holdRun(synth{id: 11, fw: "1.1"}), verdict.Go, nil},
		// slot 200 (2 s): inside the wait_until's window, which passed at a sample: no hole
		// can undo a pass that was seen; far from the hold window. The alarm response's
		// clock ran across it: that value is left out (a minor probe: listed, not deciding)
		{"one slot far from the hold window", missSlots(holdRun(synth{id: 12, fw: "1.1"}), 200, 1), verdict.Go, []string{"timing:alarm_response"}},
		{"one slot inside the hold window", missSlots(holdRun(synth{id: 13, fw: "1.1"}), 530, 1), verdict.Inconclusive, []string{"check:level_holds"}},
		// 3 slots (30 ms hidden) exceed the 20 ms shift of Level and AlarmHigh
		{"three slots far from the checks", missSlots(holdRun(synth{id: 14, fw: "1.1"}), 200, 3), verdict.Inconclusive, []string{"signal:AlarmHigh", "signal:Level", "timing:alarm_response"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cs := compare.Compare(sc, before, traces(tc.after), compare.Patch{})
			var voided []string
			for _, c := range cs {
				switch {
				case c.Numbers["voided_by_gap"] == 1:
					voided = append(voided, c.ID)
					if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "gap") {
						t.Errorf("%s voided but %s: %s", c.ID, c.Status, c.Reason)
					}
				case c.ID == "timing:alarm_response": // one run each: too few values anyway
				case c.Status != verdict.Pass:
					t.Errorf("%s: %s: %s", c.ID, c.Status, c.Reason)
				}
			}
			if !slices.Equal(voided, tc.voided) {
				t.Errorf("voided %v, want %v", voided, tc.voided)
			}
			if o, _ := verdict.Decide(cs, sc.MajorIsNoGo); o != tc.outcome {
				t.Errorf("verdict %s, want %s", o, tc.outcome)
			}
			data := byID(t, cs, "data")
			if tc.voided != nil && !strings.Contains(data.Reason, "the gaps leave undecided: "+strings.Join(tc.voided, "; ")) {
				t.Errorf("data: %s", data.Reason)
			}
		})
	}
}

// TestGapVoidsAFailThatCouldHaveBeenAPass: the alarm threshold check failed in the after run
// (its condition was not seen within 100 ms), but two slots of that window were missed: the
// condition may have held then. A hold check that broke at a sample stays failed.
func TestGapVoidsAFailThatCouldHaveBeenAPass(t *testing.T) {
	sc := parseScenario(t, holdScenario)
	at := int64(500) * ms(10)
	within := holdRun(synth{id: 11, fw: "1.1"})
	for i, e := range within.Events {
		if e.Kind == trace.EvCheck && e.Tag == "alarm_threshold" {
			within.Events[i] = check("alarm_threshold", 4, at+ms(100), "fail", "not seen within 100ms")
		}
	}
	within.Events = append(within.Events, stepStart(4, at, "expect"))
	missSlots(within, 502, 2)
	c := byID(t, compare.Compare(sc, traces(holdRun(synth{id: 1})), traces(within), compare.Patch{}), "check:alarm_threshold")
	if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "could hide the moment the condition held") {
		t.Errorf("within: %s: %s", c.Status, c.Reason)
	}
	broke := holdRun(synth{id: 12, fw: "1.1"})
	broke.Events[len(broke.Events)-1] = check("level_holds", 5, at+ms(400), "fail", "false at 5.4s")
	missSlots(broke, 520, 2)
	c = byID(t, compare.Compare(sc, traces(holdRun(synth{id: 1})), traces(broke), compare.Patch{}), "check:level_holds")
	if c.Status != verdict.Fail {
		t.Errorf("hold broken at a sample: %s: %s", c.Status, c.Reason)
	}
}

// TestLatenessThatMissedNoSlotIsNoReason: every read 4 ms late on 10 ms slots (no slot
// missed) leaves the data whole.
func TestLatenessThatMissedNoSlotIsNoReason(t *testing.T) {
	sc := parseScenario(t, holdScenario)
	late := holdRun(synth{id: 11, fw: "1.1"})
	for i := range late.Samples {
		late.Samples[i].Late = ms(4)
		late.Samples[i].T += ms(4)
	}
	cs := compare.Compare(sc, traces(holdRun(synth{id: 1})), traces(late), compare.Patch{})
	if c := byID(t, cs, "data"); c.Status != verdict.Pass || c.Numbers["voided_criteria"] != 0 {
		t.Errorf("data %s: %s", c.Status, c.Reason)
	}
	if o, r := verdict.Decide(cs, sc.MajorIsNoGo); o != verdict.Go {
		t.Errorf("verdict %s: %v", o, r)
	}
}

// TestSlotMissedJustAfterACheckDecidedIsNotInItsWindow: the third-party PLC's alarm-shift
// came out INCONCLUSIVE over Modbus because the slot after the sample that decided the
// threshold check was missed; a hole that begins at a window's last sample hides nothing
// of it.
func TestSlotMissedJustAfterACheckDecidedIsNotInItsWindow(t *testing.T) {
	sc := parseScenario(t, holdScenario)
	at := int64(500) * ms(10)
	after := holdRun(synth{id: 11, fw: "1.1"})
	for i, e := range after.Events {
		if e.Kind == trace.EvCheck && e.Tag == "alarm_threshold" {
			after.Events[i] = check("alarm_threshold", 4, at+ms(100), "fail", "not seen within 100ms")
		}
	}
	missSlots(after, 511, 1) // the window's last sample is slot 510
	c := byID(t, compare.Compare(sc, traces(holdRun(synth{id: 1})), traces(after), compare.Patch{}), "check:alarm_threshold")
	if c.Status != verdict.Fail {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
}
