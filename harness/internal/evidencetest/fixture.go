// Package evidencetest holds the test fixture of the evidence bundle's packages (harness/
// evidence, harness/report): a validation's content with criteria of every kind, made of
// synthetic traces. Tests only.
package evidencetest

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Key is a fixed signing key, so that bundles are the same from run to run.
func Key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// File is a file as used in the run.
type File struct {
	Name string
	Data []byte
}

// Timing is the samples of one timing criterion, in seconds.
type Timing struct{ Before, After []float64 }

// Bundle is what a bundle holds, in the fields evidence.Bundle and report.Input share.
type Bundle struct {
	Record             verdict.Record
	Before, After      []*trace.Trace
	Scenario, PointMap File
	ToolVersion        string
	Timing             map[string]Timing
}

// T0 is when the fixture's first run started.
var T0 = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

// synthTrace is a tank run: Level a slow wave (offset by shift), AlarmHigh above 89.5, a
// ScanCount counting 10 ms scans (scan extra µs slower per scan), read every period over n
// slots, with a connection gap (missing readings) from 40 % to 42 % of the run.
func SynthTrace(id int64, side string, n int, period time.Duration, shift float64, scanExtra time.Duration) *trace.Trace {
	tr := &trace.Trace{Run: trace.Run{
		ID: id, Scenario: "tank-alarm-trip", PointMap: "tank", Target: "sim://tank?firmware=" + side,
		Repetition: int(id % 10), Status: trace.Completed, Started: T0.Add(time.Duration(id) * time.Hour),
		TimeMode: "simulated", Period: period, Tags: []string{"Level", "AlarmHigh", "ScanCount"},
		IdentityPre:  driver.Identity{Vendor: "patchgate", Product: "tank", Firmware: side, Serial: "T-1"},
		IdentityPost: driver.Identity{Vendor: "patchgate", Product: "tank", Firmware: side, Serial: "T-1"},
	}}
	scan := 10*time.Millisecond + scanExtra
	gapFrom, gapTo := int64(n)*4/10, int64(n)*42/100
	alarm := false
	// the scenario's setup (steps 1 and 2), then its first step, the mark, at 0.5 s
	const setup = int64(500 * time.Millisecond)
	tr.Events = append(tr.Events,
		trace.Event{T: 0, Kind: trace.EvStepStart, Step: 1, Msg: "write Mode=0"},
		trace.Event{T: 1000, Kind: trace.EvStepEnd, Step: 1},
		trace.Event{T: 2000, Kind: trace.EvStepStart, Step: 2, Msg: "wait 500ms"},
		trace.Event{T: setup, Kind: trace.EvStepEnd, Step: 2},
		trace.Event{T: setup, Kind: trace.EvStepStart, Step: 3, Msg: "mark fill"},
		trace.Event{T: setup, Kind: trace.EvMark, Step: 3, Msg: "fill"},
		trace.Event{T: setup + 1000, Kind: trace.EvStepEnd, Step: 3},
		trace.Event{T: setup + 2000, Kind: trace.EvStepStart, Step: 4, Msg: "write InletValve=true"},
	)
	for slot := range int64(n) {
		t := slot * int64(period)
		late := int64(20_000 + slot%7*3_000)
		if slot == gapFrom {
			tr.Events = append(tr.Events, trace.Event{T: t, Kind: trace.EvGapStart, Msg: "connection reset"})
		}
		if slot == gapTo {
			tr.Events = append(tr.Events, trace.Event{T: t, Kind: trace.EvGapEnd, Msg: "reconnected"})
		}
		if slot >= gapFrom && slot < gapTo {
			for tag := range 3 {
				tr.Samples = append(tr.Samples, trace.Sample{Slot: slot, Tag: uint16(tag), T: t + late, Late: late,
					Quality: driver.Missing, Value: math.NaN()})
			}
			if slot == gapFrom+1 {
				tr.Events = append(tr.Events, trace.Event{T: t, Kind: trace.EvMissed, Msg: "slot missed"})
			}
			continue
		}
		x := float64(slot) / float64(n)
		level := 50 + 45*math.Sin(2*math.Pi*x) + shift + float64(id%10)*0.01
		hi := level > 89.5
		if hi != alarm {
			alarm = hi
			v := "false"
			if hi {
				v = "true"
			}
			tr.Events = append(tr.Events, trace.Event{T: t + late, Kind: trace.EvTransition, Tag: "AlarmHigh", Value: v})
		}
		b := 0.0
		if hi {
			b = 1
		}
		count := float64((t + late) / int64(scan))
		tr.Samples = append(tr.Samples,
			trace.Sample{Slot: slot, Tag: 0, T: t + late, Late: late, Value: level},
			trace.Sample{Slot: slot, Tag: 1, T: t + late + 1000, Late: late + 1000, Value: b},
			trace.Sample{Slot: slot, Tag: 2, T: t + late + 2000, Late: late + 2000, Value: count})
	}
	end := int64(n) * int64(period)
	checkStatus := "pass"
	if shift != 0 {
		checkStatus = "fail"
	}
	tr.Events = append(tr.Events,
		trace.Event{T: end / 4, Kind: trace.EvCheck, Step: 3, Tag: "alarm_high_threshold", Value: checkStatus, Msg: "Level 90.2 at the alarm"},
		trace.Event{T: end / 2, Kind: trace.EvMark, Step: 5, Msg: "drain"},
		trace.Event{T: end - 1, Kind: trace.EvStepEnd, Step: 4},
	)
	if side == "after" {
		tr.Events = append(tr.Events, trace.Event{T: end * 3 / 4, Kind: trace.EvFault, Msg: "write refused once (retried)"})
	}
	// the runner's measurement of the alarm_response probe, as its "probe" event
	if s, ok := map[int64]float64{1: 2.91, 2: 2.93, 11: 3.02, 12: 3.05}[id]; ok && setup+int64(s*1e9) < end {
		tr.Events = append(tr.Events, trace.Event{T: setup + int64(s*1e9), Kind: "probe", Tag: "alarm_response", Value: fmt.Sprintf("%.9f", s)})
		slices.SortStableFunc(tr.Events, func(a, b trace.Event) int { return cmp.Compare(a.T, b.T) })
	}
	return tr
}

// Fixture is a bundle's content with criteria of every kind, each pointing into the traces.
func Fixture(t testing.TB, samples int) Bundle {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	dir := filepath.Dir(self)
	sc, err := os.ReadFile(filepath.Join(dir, "testdata", "tank-alarm-trip.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := os.ReadFile(filepath.Join(dir, "..", "..", "..", "scenarios", "pointmaps", "tank.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const period = 50 * time.Millisecond
	b := Bundle{
		Before: []*trace.Trace{
			SynthTrace(1, "before", samples, period, 0, 0),
			SynthTrace(2, "before", samples, period, 0, 0),
		},
		After: []*trace.Trace{
			SynthTrace(11, "after", samples, period, 0.8, 40*time.Microsecond),
			SynthTrace(12, "after", samples, period, 0.8, 40*time.Microsecond),
		},
		Scenario:    File{Name: "scenarios/tank-alarm-trip.yaml", Data: sc},
		PointMap:    File{Name: "tank.yaml", Data: pm},
		ToolVersion: "0.1.0-test",
		Timing: map[string]Timing{
			"timing:alarm_response": {Before: []float64{2.91, 2.93, math.NaN()}, After: []float64{3.02, 3.05}},
			"timing:round_trip":     {Before: []float64{0.0011, 0.0012, 0.0013, 0.0012}, After: []float64{0.0019, 0.0021, 0.0020}},
		},
	}
	end := int64(samples) * int64(period)
	b.Record = verdict.Record{
		Verdict: verdict.NoGo,
		Reasons: []string{
			"alarm_high_threshold (critical) failed: Level 90.8 at the alarm, expected 89.5..90.5",
			"Level (major) outside its tolerance band for 1.2 s",
		},
		Scenario: "tank-alarm-trip", ScenarioSHA256: "5f2c", PointMap: "tank", Patch: "FW 2.4.1 hotfix",
		BeforeTarget: "sim://tank?firmware=baseline", AfterTarget: "sim://tank?firmware=alarm-shift",
		BeforeRuns: []int64{1, 2}, AfterRuns: []int64{11, 12},
		IdentityBefore: driver.Identity{Vendor: "patchgate", Product: "tank", Firmware: "1.0.0", Serial: "T-1",
			Extra: map[string]string{"security_policy": "None"}},
		IdentityAfter: driver.Identity{Vendor: "patchgate", Product: "tank", Firmware: "1.0.1", Serial: "T-1",
			Extra: map[string]string{"security_policy": "None"}},
		Criteria: []verdict.Criterion{
			{ID: "runs_complete", Kind: verdict.KindData, Severity: "critical", Status: verdict.Pass,
				Expected: "all runs completed", Before: "2/2", After: "2/2", Tolerance: "none", Reason: "every run completed",
				Where: &verdict.Where{Side: "before", RunID: 1, FromNs: 0, ToNs: end}},
			{ID: "no_gaps", Kind: verdict.KindData, Severity: "major", Status: verdict.StatusUndecided,
				Expected: "no connection gaps", Before: "1 gap", After: "1 gap", Tolerance: "0", Reason: "a connection gap in both sides",
				Where: &verdict.Where{Side: "after", RunID: 12, FromNs: end * 4 / 10, ToNs: end * 42 / 100}, Needed: 3},
			{ID: "alarm_high_threshold", Kind: verdict.KindCheck, Severity: "critical", Status: verdict.Fail,
				Expected: "89.5 <= Level <= 90.5", Before: "90.0", After: "90.8", Tolerance: "as written",
				Reason: "Level 90.8 at the alarm", Where: &verdict.Where{Side: "after", RunID: 11, Step: 3, FromNs: end / 4, ToNs: end/4 + 1e8}},
			{ID: "Level", Kind: verdict.KindSignal, Severity: "major", Status: verdict.Fail,
				Expected: "within ±0.5 of before, shift 200ms", Before: "reference", After: "max deviation 0.8",
				Tolerance: "±0.5, shift 200ms", Reason: "outside the band for 1.2 s",
				Where:   &verdict.Where{Side: "after", RunID: 11, Tag: "Level", FromNs: end / 5, ToNs: end / 3},
				Numbers: map[string]float64{"max_dev": 0.8, "outside_s": 1.2}},
			{ID: "AlarmHigh", Kind: verdict.KindSignal, Severity: "minor", Status: verdict.Pass,
				Expected: "same as before", Before: "reference", After: "same", Tolerance: "exact", Reason: "identical",
				Where: &verdict.Where{Side: "before", RunID: 2, Tag: "AlarmHigh", FromNs: 0, ToNs: end}},
			{ID: "alarm_sequence", Kind: verdict.KindSequence, Severity: "major", Status: verdict.Pass,
				Expected: "AlarmHigh, then Interlock", Before: "AlarmHigh, Interlock", After: "AlarmHigh, Interlock",
				Tolerance: "order", Reason: "same order", Where: &verdict.Where{Side: "after", RunID: 11, Tag: "AlarmHigh", FromNs: end / 5, ToNs: end / 2}},
			{ID: "timing:scan_period", Kind: verdict.KindTiming, Severity: "critical", Status: verdict.Pass,
				Expected: "median within 2 %", Before: "10.00 ms", After: "10.04 ms", Tolerance: "2 %",
				Reason: "0.4 % slower", Where: &verdict.Where{Side: "after", Tag: "ScanCount", FromNs: 0, ToNs: end}},
			{ID: "timing:alarm_response", Kind: verdict.KindTiming, Severity: "major", Status: verdict.StatusUndecided,
				Expected: "within 250ms", Before: "2.92 s", After: "3.04 s", Tolerance: "250ms",
				Reason: "too few samples", Where: &verdict.Where{Side: "before", RunID: 2, FromNs: 0, ToNs: end / 4}, Needed: 5},
			{ID: "timing:round_trip", Kind: verdict.KindTiming, Severity: "minor", Status: verdict.Fail,
				Expected: "within 50 % + 5ms", Before: "1.2 ms", After: "2.0 ms", Tolerance: "50 %, 5ms",
				Reason: "67 % slower", Where: &verdict.Where{Side: "after", RunID: 12, FromNs: 0, ToNs: end}},
			{ID: "firmware_changed", Kind: verdict.KindIdentity, Severity: "critical", Status: verdict.Pass,
				Expected: "firmware 1.0.0 -> 1.0.1", Before: "1.0.0", After: "1.0.1", Tolerance: "exact",
				Reason: "as the patch says", Where: &verdict.Where{Side: "after", RunID: 11}},
		},
		Calibration: verdict.Calibration{LatenessP50Us: 21.5, LatenessP99Us: 38.2, JitterUs: 16.7, RoundTripP50Us: 1200, RoundTripP99Us: 1900},
		TimeMode:    "simulated", ToolVersion: "0.1.0-test", Decided: "2025-03-14T10:00:00Z",
	}
	return b
}
