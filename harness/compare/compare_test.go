package compare_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// synthScenario: a tank filling through its high alarm, sampled every 10 ms.
const synthScenario = `
version: 1
name: synthetic
points: pointmaps/tank.yaml
sample:
  period: 10ms
  tags: [Level, AlarmHigh, AlarmCount, ScanCount]
allow:
  - tag: InletValve
steps:
  - mark: go
  - write: {InletValve: true}
  - wait_until: AlarmHigh
    timeout: 5s
    severity: critical
    id: alarm_trips
  - expect: Level >= 89.5 && Level <= 90.5
    within: 100ms
    id: alarm_threshold
  - wait: 1s
probes:
  - name: scan_period
    kind: scan_period
    counter: ScanCount
    tolerance: {relative: 2%}
    severity: critical
  - name: alarm_response
    kind: response
    from: go
    until: AlarmHigh
    tolerance: {absolute: 100ms}
  - name: round_trip
    kind: round_trip
    tolerance: {absolute: 1ms}
    severity: minor
tolerances:
  Level: {absolute: 0.5, shift: 20ms}
  AlarmHigh: {absolute: 0, shift: 20ms}
`

// synth describes one synthetic run of synthScenario.
type synth struct {
	id       int64
	slots    int64   // 10 ms slots (default 1000: 10 s)
	scan     float64 // scan period in seconds (default 0.010)
	alarmAt  int64   // slot where the alarm rises (default 500)
	levelOff float64 // added to Level
	lag      int64   // Level and AlarmHigh lag this many slots
	fw       string  // firmware (default 1.0)
	stretch  float64 // time after the alarm runs this much slower (1: not)
	rt       int64   // read round trip in ns (T - slot time)
}

func (s synth) build() *tb {
	if s.slots == 0 {
		s.slots = 1000
	}
	if s.scan == 0 {
		s.scan = 0.010
	}
	if s.alarmAt == 0 {
		s.alarmAt = 500
	}
	if s.fw == "" {
		s.fw = "1.0"
	}
	b := newTrace(s.id, 10*time.Millisecond, "Level", "AlarmHigh", "AlarmCount", "ScanCount").firmware(s.fw)
	for k := int64(0); k < s.slots; k++ {
		t := k * ms(10)
		x := k - s.lag // the process position
		level := 80 + float64(x)*10/float64(s.alarmAt) + s.levelOff
		alarm, count := 0.0, 0.0
		if x >= s.alarmAt {
			alarm, count = 1, 1
		}
		scans := math.Floor(float64(t) / 1e9 / s.scan)
		b.slotAt(k, t+s.rt, level, alarm, count, scans)
	}
	at := s.alarmAt * ms(10) // the steps follow the process; lag only delays the samples
	b.ev(
		stepStart(1, 0, "mark go"), trace.Event{T: 0, Kind: trace.EvMark, Step: 1, Msg: "go"},
		stepStart(2, 0, "write InletValve=true"), stepStart(3, ms(10), "wait until AlarmHigh"),
		trace.Event{T: at, Kind: "probe", Tag: "alarm_response", Value: fmt.Sprintf("%.9f", float64(at)/1e9)},
		check("alarm_trips", 3, at, "pass", ""), stepStart(4, at, "expect"),
		check("alarm_threshold", 4, at, "pass", ""), stepStart(5, at, "wait 1s"),
	)
	return b
}

func (s synth) trace() *trace.Trace { return s.build().done() }

func TestBaselineAgainstItselfIsGo(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	var before, after []*trace.Trace
	for i := range 5 {
		before = append(before, synth{id: int64(i + 1)}.trace())
		after = append(after, synth{id: int64(i + 11), fw: "1.1"}.trace())
	}
	cs := compare.Compare(sc, before, after, compare.Patch{FromVersion: "1.0", ToVersion: "1.1"})
	for _, c := range cs {
		if c.Status != verdict.Pass {
			t.Errorf("%s: %s: %s", c.ID, c.Status, c.Reason)
		}
	}
	want := []string{"data", "identity:firmware", "identity:points", "check:alarm_trips", "check:alarm_threshold",
		"signal:AlarmHigh", "signal:Level", "sequence", "timing:scan_period", "timing:alarm_response", "timing:round_trip"}
	if len(cs) != len(want) {
		t.Fatalf("%d criteria, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.ID != want[i] {
			t.Errorf("criterion %d is %s, want %s (ids are stable and ordered)", i, c.ID, want[i])
		}
	}
	if o, _ := verdict.Decide(cs, sc.MajorIsNoGo); o != verdict.Go {
		t.Errorf("verdict %s, want GO", o)
	}
}

func TestData(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	good := synth{id: 1}.trace
	cases := []struct {
		name   string
		before []*trace.Trace
		after  []*trace.Trace
		status verdict.Status
		reason string // substring
	}{
		{"complete", traces(good()), traces(synth{id: 2, fw: "2"}.trace()), verdict.Pass, "all runs completed"},
		{"no before runs", nil, traces(good()), verdict.StatusUndecided, "no before runs"},
		{"nil traces are ignored", traces(nil), traces(good()), verdict.StatusUndecided, "no before runs"},
		{"faulted run", traces(good()), traces(synth{id: 2}.build().status(trace.Faulted, "connection lost for more than 30s").done()),
			verdict.StatusUndecided, "after run 2: faulted: connection lost for more than 30s"},
		{"aborted run", traces(synth{id: 3}.build().status(trace.Aborted, "").ev(trace.Event{T: ms(1234), Kind: trace.EvAbort}).done()), traces(good()),
			verdict.StatusUndecided, "before run 3: aborted at 1.234 s"},
		{"incomplete run", traces(good()), traces(synth{id: 4}.build().status(trace.Incomplete, "").done()), verdict.StatusUndecided, "incomplete"},
		{"empty run", traces(good()), traces(newTrace(5, 10*time.Millisecond, "Level").done()), verdict.StatusUndecided, "after run 5: no samples"},
		{"gap", traces(good()), traces(synth{id: 6}.build().ev(
			trace.Event{T: ms(2000), Kind: trace.EvGapStart, Msg: "read timeout"},
			trace.Event{T: ms(2300), Kind: trace.EvGapEnd}).done()),
			verdict.Pass, "all runs completed; after run 6: connection lost at 2.000 s for 300.00 ms (read timeout)"},
		{"gap that never ends", traces(good()), traces(synth{id: 6}.build().ev(trace.Event{T: ms(9000), Kind: trace.EvGapStart, Msg: "eof"}).done()),
			verdict.StatusUndecided, "not back by the end of the run"},
		{"missed slots", traces(synth{id: 7}.build().ev(trace.Event{T: ms(500), Kind: trace.EvMissed, Value: "3"}).done()), traces(good()),
			verdict.Pass, "before run 7: 3 sampling slots missed at 0.500 s"},
		{"missing sample", traces(good()), traces(func() *trace.Trace {
			tr := synth{id: 8}.trace()
			tr.Samples[4*120+1].Quality = driver.Missing // AlarmHigh at slot 120
			return tr
		}()), verdict.Pass, "after run 8: 1 missing sample (AlarmHigh), the first at 1.200 s (slot 120); the gaps leave undecided: timing:alarm_response"},
		{"bad samples are not missing data", traces(good()), traces(func() *trace.Trace {
			tr := synth{id: 9}.trace()
			tr.Samples[4*120].Quality = driver.Bad
			return tr
		}()), verdict.Pass, "all runs completed"},
		{"a restart's gap is expected", traces(good()), traces(func() *trace.Trace {
			b := synth{id: 10}.build()
			b.ev(stepStart(6, ms(3000), "restart"), trace.Event{T: ms(3000), Kind: trace.EvGapStart, Msg: "controller restarting"},
				trace.Event{T: ms(3200), Kind: trace.EvGapEnd})
			for k := 300; k < 320; k++ {
				for j := range 4 {
					b.tr.Samples[4*k+j].Quality, b.tr.Samples[4*k+j].Value = driver.Missing, math.NaN()
				}
			}
			return b.done()
		}()), verdict.Pass, "expected: after run 10: connection lost at 3.000 s for 200.00 ms after a restart"},
		{"missing samples after the restart came back are not", traces(good()), traces(func() *trace.Trace {
			b := synth{id: 11}.build()
			b.ev(stepStart(6, ms(3000), "restart"))
			for k := 300; k < 320; k++ {
				for j := range 4 {
					b.tr.Samples[4*k+j].Quality = driver.Missing
				}
			}
			b.tr.Samples[4*400].Quality = driver.Missing
			return b.done()
		}()), verdict.Pass, "1 missing sample (Level), the first at 4.000 s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, tc.before, tc.after), "data")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Severity != "critical" {
				t.Errorf("severity %s, want critical", c.Severity)
			}
			if c.Status == verdict.StatusUndecided && c.Where == nil {
				t.Error("an inconclusive data criterion must say where")
			}
		})
	}
}

// TestDataRestartStepByIndex: a restart step is known from the scenario, whatever the
// step_start message says.
func TestDataRestartStepByIndex(t *testing.T) {
	sc := parseScenario(t, `
version: 1
name: restart
points: pointmaps/tank.yaml
sample:
  period: 10ms
  tags: [Level, AlarmHigh, AlarmCount, ScanCount]
steps:
  - wait: 3s
  - restart: {}
  - wait: 7s
`)
	mk := func(id int64, step int) *trace.Trace {
		b := synth{id: id}.build()
		b.tr.Events = []trace.Event{stepStart(1, 0, "wait 3s"), stepStart(step, ms(3000), "controller restart requested"),
			{T: ms(3000), Kind: trace.EvGapStart, Msg: "controller restarting"}, {T: ms(5000), Kind: trace.EvGapEnd}}
		for k := 300; k < 500; k++ {
			for j := range 4 {
				b.tr.Samples[4*k+j].Quality, b.tr.Samples[4*k+j].Value = driver.Missing, math.NaN()
			}
		}
		return b.done()
	}
	if c := byID(t, run(sc, traces(mk(1, 2)), traces(mk(2, 2))), "data"); c.Status != verdict.Pass || !strings.Contains(c.Reason, "expected") {
		t.Errorf("restart at step 2: %s: %s", c.Status, c.Reason)
	}
	// the same gap during a step that is no restart is a hole: listed, and judged by the
	// criteria it could change (Level has no tolerance here: no signal to void)
	if c := byID(t, run(sc, traces(mk(1, 3)), traces(mk(2, 3))), "data"); c.Status != verdict.Pass ||
		!strings.Contains(c.Reason, "connection lost at 3.000 s for 2.00 s") || strings.Contains(c.Reason, "expected") {
		t.Errorf("gap in a wait step: %s: %s", c.Status, c.Reason)
	}
}

func TestChecks(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	with := func(id int64, status, msg string) *trace.Trace {
		tr := synth{id: id}.trace()
		for i, e := range tr.Events {
			if e.Kind == trace.EvCheck && e.Tag == "alarm_threshold" {
				tr.Events[i].Value, tr.Events[i].Msg = status, msg
			}
		}
		return tr
	}
	without := func(id int64) *trace.Trace {
		tr := synth{id: id}.trace()
		var keep []trace.Event
		for _, e := range tr.Events {
			if !(e.Kind == trace.EvCheck && e.Tag == "alarm_threshold") {
				keep = append(keep, e)
			}
		}
		tr.Events = keep
		return tr
	}
	cases := []struct {
		name          string
		before, after []*trace.Trace
		status        verdict.Status
		reason        string
	}{
		{"pass", traces(with(1, "pass", "")), traces(with(2, "pass", "")), verdict.Pass, "holds after the patch"},
		{"fails after, passed before", traces(with(1, "pass", "")), traces(with(2, "fail", "not seen within 100ms")),
			verdict.Fail, "after run 2 at 5.000 s: not seen within 100ms; passed before the patch"},
		{"fails before the patch too", traces(with(1, "fail", "not seen within 100ms")), traces(with(2, "fail", "not seen within 100ms")),
			verdict.Fail, "fails before the patch too"},
		{"fixed by the patch", traces(with(1, "fail", "x")), traces(with(2, "pass", "")), verdict.Pass, "failed before it"},
		{"inconclusive after", traces(with(1, "pass", "")), traces(with(2, "inconclusive", "no good value of Level in the window")),
			verdict.StatusUndecided, "after run 2 at 5.000 s: no good value of Level"},
		{"inconclusive before", traces(with(1, "inconclusive", "run stopped")), traces(with(2, "pass", "")), verdict.StatusUndecided, "before run 1"},
		{"not reached", traces(with(1, "pass", "")), traces(without(2)), verdict.StatusUndecided, "after run 2: not reached"},
		{"one failing repetition of three fails", traces(with(1, "pass", "")),
			traces(with(2, "pass", ""), with(3, "inconclusive", "x"), with(4, "fail", "not seen")), verdict.Fail, "after run 4"},
		{"no after runs", traces(with(1, "pass", "")), nil, verdict.StatusUndecided, "no runs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, tc.before, tc.after), "check:alarm_threshold")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Severity != "major" || c.Expected != "Level >= 89.5 && Level <= 90.5 within 100ms" {
				t.Errorf("severity %s, expected %q", c.Severity, c.Expected)
			}
			if c.Status == verdict.Fail && (c.Where == nil || c.Where.Step != 4 || c.Where.Side != "after") {
				t.Errorf("where %+v; want the after run at step 4", c.Where)
			}
		})
	}
	// severity comes from the step
	c := byID(t, run(sc, traces(with(1, "pass", "")), traces(with(2, "pass", ""))), "check:alarm_trips")
	if c.Severity != "critical" {
		t.Errorf("alarm_trips severity %s, want critical (from the scenario step)", c.Severity)
	}
	// a check the runs recorded that the scenario does not list (a restart the harness
	// could not make) is a criterion too
	extra := synth{id: 2}.build().ev(check("step6_restart", 6, ms(6000), "inconclusive", "this target cannot be restarted")).done()
	c = byID(t, run(sc, traces(synth{id: 1}.trace()), traces(extra)), "check:step6_restart")
	if c.Status != verdict.StatusUndecided || c.Severity != "major" {
		t.Errorf("step6_restart %s %s; want inconclusive major", c.Status, c.Severity)
	}
}

func TestSignal(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	base := traces(synth{id: 1}.trace())
	cases := []struct {
		name   string
		tag    string
		after  *trace.Trace
		status verdict.Status
		reason string
	}{
		{"identical", "Level", synth{id: 2}.trace(), verdict.Pass, "all 1000 samples within"},
		{"offset within tolerance", "Level", synth{id: 2, levelOff: 0.45}.trace(), verdict.Pass, "largest distance from the before envelope 0.45"},
		{"offset beyond tolerance", "Level", synth{id: 2, levelOff: 0.7}.trace(), verdict.Fail,
			"0.7 above the before envelope [99.94, 99.98], tolerance 0.5; 100% of 1000 samples outside"},
		{"lag within the shift", "Level", synth{id: 2, lag: 2}.trace(), verdict.Pass, "within"},
		{"alarm lag within the shift", "AlarmHigh", synth{id: 2, lag: 2}.trace(), verdict.Pass, "within"},
		{"alarm lag beyond the shift", "AlarmHigh", synth{id: 2, lag: 4}.trace(), verdict.Fail,
			"AlarmHigh = 0 at 5.020 s (after run 2), 1 below the before envelope [1, 1], tolerance 0; 0.2% of 1000 samples outside"},
		{"alarm early beyond the shift", "AlarmHigh", synth{id: 2, lag: -4}.trace(), verdict.Fail, "AlarmHigh = 1 at 4.960 s"},
		{"a late alarm that ends a step is aligned away (the check and the probe judge it)", "AlarmHigh", synth{id: 2, alarmAt: 520}.trace(), verdict.Pass, "within"},
		{"a slower after run is aligned on its steps", "AlarmHigh", synth{id: 2, alarmAt: 550}.trace(), verdict.Pass, "within"},
		{"after runs past the before runs", "Level", synth{id: 2, slots: 1300}.trace(), verdict.StatusUndecided, "23% of the after samples fall outside"},
		{"a sample just past the end is compared with the last", "Level", synth{id: 2, slots: 1002}.trace(), verdict.Pass, "all 1002 samples"},
		{"one further is not", "Level", synth{id: 2, slots: 1003}.trace(), verdict.Pass, "all 1002 samples"},
		{"NaN values are skipped", "Level", func() *trace.Trace {
			tr := synth{id: 2}.trace()
			tr.Samples[4*10].Value = math.NaN() // good quality but no number (a string, say)
			return tr
		}(), verdict.Pass, "all 999 samples"},
		{"no good samples after", "Level", func() *trace.Trace {
			tr := synth{id: 2}.trace()
			for i := 0; i < len(tr.Samples); i += 4 {
				tr.Samples[i].Quality = driver.Bad
			}
			return tr
		}(), verdict.StatusUndecided, "no good samples of Level after the patch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, base, traces(tc.after)), "signal:"+tc.tag)
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Status == verdict.Fail && (c.Where == nil || c.Where.Tag != tc.tag || c.Where.RunID != 2) {
				t.Errorf("where %+v; want after run 2, tag %s", c.Where, tc.tag)
			}
		})
	}
}

func TestSignalRelativeToleranceAndEnvelopeOfRepetitions(t *testing.T) {
	sc := parseScenario(t, strings.Replace(synthScenario, "Level: {absolute: 0.5, shift: 20ms}", "Level: {relative: 1%}", 1))
	// 1 % of about 80..90: 0.8..0.9
	c := byID(t, run(sc, traces(synth{id: 1}.trace()), traces(synth{id: 2, levelOff: 0.75}.trace())), "signal:Level")
	if c.Status != verdict.Pass {
		t.Errorf("+0.75 against 1%% of 80: %s %s", c.Status, c.Reason)
	}
	c = byID(t, run(sc, traces(synth{id: 1}.trace()), traces(synth{id: 2, levelOff: 0.95}.trace())), "signal:Level")
	if c.Status != verdict.Fail {
		t.Errorf("+0.95 against 1%% of at most 90: %s %s", c.Status, c.Reason)
	}
	// two before repetitions 0.6 apart make an envelope: after between them passes
	c = byID(t, run(sc, traces(synth{id: 1}.trace(), synth{id: 3, levelOff: 1.6}.trace()), traces(synth{id: 2, levelOff: 2.1}.trace())), "signal:Level")
	if c.Status != verdict.Pass {
		t.Errorf("within the envelope of the repetitions plus 1%%: %s %s", c.Status, c.Reason)
	}
}

func TestSequence(t *testing.T) {
	src := `
version: 1
name: seq
points: pointmaps/conveyor.yaml
sample:
  period: 10ms
  tags: [PartSensor, RejectGate, RejectCount, PartCount, ScanCount]
steps:
  - mark: go
  - wait: 2s
tolerances:
  RejectGate: {absolute: 0, shift: 50ms}
`
	sc := parseScenario(t, src)
	type ev struct {
		tag  string
		slot int64
		v    float64
	}
	// a bad part: sensor up at 0.5 s, gate open 50 ms later, count 150 ms after that, sensor
	// down at 0.58 s, gate closed at 0.85 s
	bad := []ev{{"PartSensor", 50, 1}, {"RejectGate", 55, 1}, {"PartSensor", 58, 0}, {"RejectCount", 70, 1}, {"RejectGate", 85, 0}}
	mk := func(id int64, evs []ev) *trace.Trace {
		tags := []string{"PartSensor", "RejectGate", "RejectCount", "PartCount", "ScanCount"}
		b := newTrace(id, 10*time.Millisecond, tags...)
		cur := []float64{0, 0, 0, 0, 0}
		for k := int64(0); k < 200; k++ {
			for _, e := range evs {
				if e.slot == k {
					cur[b.ix[e.tag]] = e.v
				}
			}
			cur[4] = float64(k) // ScanCount moves all the time: never an event
			b.slot(k, cur...)
		}
		return b.ev(stepStart(1, 0, "mark go"), stepStart(2, 0, "wait 2s")).done()
	}
	moved := func(tag string, v float64, slot int64) []ev {
		var out []ev
		for _, e := range bad {
			if e.tag == tag && e.v == v {
				e.slot = slot
			}
			out = append(out, e)
		}
		return out
	}
	drop := func(tag string) []ev {
		var out []ev
		for _, e := range bad {
			if e.tag != tag {
				out = append(out, e)
			}
		}
		return out
	}
	cases := []struct {
		name   string
		after  []ev
		status verdict.Status
		reason string
	}{
		{"same", bad, verdict.Pass, "5 events match in order"},
		{"shift within tolerance", moved("RejectGate", 0, 90), verdict.Pass, "largest shift 50.00 ms"},
		{"shift beyond tolerance", moved("RejectGate", 0, 92), verdict.Fail,
			"RejectGate↓ at 0.920 s after the patch is +70.00 ms from before (0.850 s); allowed 60.00 ms; 1 shifted of 5 events before"},
		{"a shift within tolerance that crosses another event reorders", moved("RejectGate", 1, 60), verdict.Fail,
			"RejectGate↑ reordered: after the patch at 0.600 s (before RejectCount+1), before it at 0.550 s (after PartSensor↑)"},
		{"reordered", moved("RejectCount", 1, 50), verdict.Fail,
			"RejectCount+1 reordered: after the patch at 0.500 s (before RejectGate↑), before it at 0.700 s (after PartSensor↓)"},
		{"missing", drop("RejectGate"), verdict.Fail, "RejectGate↑ at 0.550 s before the patch is missing after it; 2 missing of 5 events before"},
		{"extra", append(append([]ev{}, bad...), ev{"PartCount", 150, 1}), verdict.Fail,
			"PartCount+1 at 1.500 s after the patch was not there before; 1 extra"},
		{"counter reset", append(append([]ev{}, bad...), ev{"RejectCount", 150, 0}), verdict.Fail, "RejectCount→0 at 1.500 s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, traces(mk(1, bad)), traces(mk(2, tc.after))), "sequence")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Severity != "major" {
				t.Errorf("severity %s, want major", c.Severity)
			}
			if strings.Contains(c.Before+c.After+c.Reason, "ScanCount") {
				t.Errorf("ScanCount is a scan counter, not an event: %s / %s", c.Before, c.After)
			}
		})
	}
}

func TestSequenceRepetitionsPairBySeed(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	// repetition i after is compared with repetition i before: alarms at different times
	// per repetition are no difference
	b := traces(synth{id: 1, alarmAt: 400}.trace(), synth{id: 2, alarmAt: 600}.trace())
	a := traces(synth{id: 3, alarmAt: 400}.trace(), synth{id: 4, alarmAt: 600}.trace())
	if c := byID(t, run(sc, b, a), "sequence"); c.Status != verdict.Pass {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
	if c := byID(t, run(sc, b, traces(a[0], synth{id: 4, alarmAt: 600, lag: 500}.trace())), "sequence"); c.Status != verdict.Fail ||
		!strings.Contains(c.Reason, "AlarmHigh↑ at 6.000 s before the patch is missing after it (after run 4 vs before run 2)") {
		t.Errorf("a repetition missing its alarm: %s: %s", c.Status, c.Reason)
	}
	// a run that stopped before the alarm did not observe it: not missing (the data
	// criterion makes the stopped run inconclusive)
	if c := byID(t, run(sc, b, traces(a[0], synth{id: 4, alarmAt: 600, slots: 550}.trace())), "sequence"); c.Status != verdict.Pass {
		t.Errorf("a run that stopped early: %s: %s", c.Status, c.Reason)
	}
}

func TestIdentityFirmware(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	b := func(fw string) []*trace.Trace { return traces(synth{id: 1, fw: fw}.trace()) }
	a := func(fw string) []*trace.Trace { return traces(synth{id: 2, fw: fw}.trace()) }
	cases := []struct {
		name          string
		before, after []*trace.Trace
		patch         compare.Patch
		status        verdict.Status
		reason        string
	}{
		{"changed as claimed", b("1.0"), a("1.1"), compare.Patch{FromVersion: "1.0", ToVersion: "1.1"}, verdict.Pass, "firmware 1.0 -> 1.1"},
		{"changed, no claim", b("1.0"), a("1.1"), compare.Patch{}, verdict.Pass, "1.0 -> 1.1"},
		{"not changed", b("1.0"), a("1.0"), compare.Patch{}, verdict.Fail, "did not change (1.0 before and after): the patch was not applied"},
		{"other version installed", b("1.0"), a("1.2"), compare.Patch{ToVersion: "1.1"}, verdict.Fail, "the device runs 1.2, the patch installs 1.1"},
		{"other version before", b("0.9"), a("1.1"), compare.Patch{FromVersion: "1.0", ToVersion: "1.1"}, verdict.Fail, "ran 0.9, the patch applies to 1.0"},
		{"padding is not a difference", b("1.0\x00\x00 "), a("1.1"), compare.Patch{FromVersion: "1.0"}, verdict.Pass, "1.0 -> 1.1"},
		{"unknown after", b("1.0"), traces(func() *trace.Trace {
			tr := synth{id: 2}.trace()
			tr.Run.IdentityPre, tr.Run.IdentityPost = driver.Identity{}, driver.Identity{}
			return tr
		}()), compare.Patch{}, verdict.StatusUndecided, "not reported"},
		{"from the Firmware tag", b("1.0"), traces(func() *trace.Trace {
			bb := newTrace(2, 10*time.Millisecond, "Firmware")
			bb.tr.Run.IdentityPre, bb.tr.Run.IdentityPost = driver.Identity{}, driver.Identity{}
			bb.tr.Samples = append(bb.tr.Samples, trace.Sample{Quality: driver.Good, Value: math.NaN(), Text: "1.1"})
			return bb.done()
		}()), compare.Patch{ToVersion: "1.1"}, verdict.Pass, "1.0 -> 1.1"},
		{"baseline is two firmwares", traces(synth{id: 1, fw: "1.0"}.trace(), synth{id: 3, fw: "0.9"}.trace()), a("1.1"), compare.Patch{},
			verdict.StatusUndecided, "several firmware versions (1.0, 0.9)"},
		{"changed during an after run", b("1.0"), traces(func() *trace.Trace {
			tr := synth{id: 2, fw: "1.1"}.trace()
			tr.Run.IdentityPost.Firmware = "1.2"
			return tr
		}()), compare.Patch{}, verdict.StatusUndecided, "after runs report several"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, compare.Compare(sc, tc.before, tc.after, tc.patch), "identity:firmware")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Severity != "critical" {
				t.Errorf("severity %s", c.Severity)
			}
		})
	}
}

func TestIdentityPoints(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	edit := func(f func(tr *trace.Trace)) *trace.Trace {
		tr := synth{id: 2, fw: "1.1"}.trace()
		f(tr)
		return tr
	}
	badTag := func(tag int, every int) func(tr *trace.Trace) {
		return func(tr *trace.Trace) {
			for i := tag; i < len(tr.Samples); i += 4 * every {
				tr.Samples[i].Quality, tr.Samples[i].Value = driver.Bad, math.NaN()
			}
		}
	}
	cases := []struct {
		name   string
		after  *trace.Trace
		status verdict.Status
		reason string
	}{
		{"unchanged", edit(func(*trace.Trace) {}), verdict.Pass, "every point reads as before"},
		{"moved register", edit(badTag(0, 1)), verdict.Fail, "the device refuses Level after the patch"},
		{"intermittent exceptions are listed", edit(badTag(0, 50)), verdict.Pass, "listed: Level Bad in 20 of 1000 readings"},
		{"serial", edit(func(tr *trace.Trace) { tr.Run.IdentityPre.Serial = "S2" }), verdict.Fail, `something else changed: serial "S1" -> "S2"`},
		{"vendor", edit(func(tr *trace.Trace) { tr.Run.IdentityPre.Vendor = "other" }), verdict.Fail, `vendor "acme" -> "other"`},
		{"OPC UA node moved", edit(func(tr *trace.Trace) {
			tr.Run.IdentityPre.Extra = map[string]string{"node.Level": "ns=2;s=Tank.Level2"}
		}), verdict.Fail, `node.Level new: "ns=2;s=Tank.Level2"`},
		{"other extras are listed, not judged", edit(func(tr *trace.Trace) {
			tr.Run.IdentityPre.Extra = map[string]string{"build_number": "77", "profile": "benign"}
		}), verdict.Pass, `also differs (not judged): build_number new: "77"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := synth{id: 1}.trace()
			before.Run.IdentityPre.Extra = nil
			c := byID(t, run(sc, traces(before), traces(tc.after)), "identity:points")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if strings.Contains(c.Reason, "profile") {
				t.Errorf("the simulator's profile name is the firmware, not an identity change: %s", c.Reason)
			}
		})
	}
	// a node id that changed value
	before := synth{id: 1}.trace()
	before.Run.IdentityPre.Extra = map[string]string{"node.Level": "ns=2;s=Tank.Level"}
	after := edit(func(tr *trace.Trace) { tr.Run.IdentityPre.Extra = map[string]string{"node.Level": "ns=3;s=Tank.Level"} })
	if c := byID(t, run(sc, traces(before), traces(after)), "identity:points"); c.Status != verdict.Fail ||
		!strings.Contains(c.Reason, `node.Level "ns=2;s=Tank.Level" -> "ns=3;s=Tank.Level"`) {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
}

// reps builds n synthetic runs.
func reps(n int, first int64, s synth) []*trace.Trace {
	var out []*trace.Trace
	for i := range n {
		s.id = first + int64(i)
		out = append(out, s.trace())
	}
	return out
}

func TestTimingScanPeriod(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	cases := []struct {
		name          string
		before, after []*trace.Trace
		status        verdict.Status
		reason        string
		needed        int
	}{
		{"same period", reps(1, 1, synth{}), reps(1, 11, synth{}), verdict.Pass, "period 10.00 ms vs 10.00 ms, 0% within 2% tolerance (bounds of the change -0.2%..+0.2%", 0},
		{"5 % slower", reps(1, 1, synth{}), reps(1, 11, synth{scan: 0.0105}), verdict.Fail, "period 10.50 ms vs 10.00 ms, +5% > 2% tolerance (bounds of the change +4.8%..+5.3%", 0},
		{"5 % faster", reps(1, 1, synth{}), reps(1, 11, synth{scan: 0.0095}), verdict.Fail, "period 9.51 ms vs 10.00 ms, -4.9% > 2% tolerance", 0},
		{"1 % slower: significant, inside the tolerance", reps(3, 1, synth{}), reps(3, 11, synth{scan: 0.0101}), verdict.Pass,
			"+1% within 2% tolerance (bounds of the change +0.81%..+1.2%", 0},
		// 4 s of counter samples per side bound the period to ±0.25 %: too short for
		// Mann-Whitney's segments, long enough to decide
		{"short runs decide from their bounds", reps(1, 1, synth{slots: 400}), reps(1, 11, synth{slots: 400}), verdict.Pass,
			"2 vs 2 segments of 1.50 s, too few for Mann-Whitney (5 per side)", 0},
		// 0.4 s: ±1 count of 40 is ±2.5 %
		{"too short to bound", reps(1, 1, synth{slots: 40}), reps(1, 11, synth{slots: 40}), verdict.StatusUndecided,
			"straddle the 2% tolerance; runs of about", 0},
		{"2 % slower straddles the tolerance", reps(1, 1, synth{}), reps(1, 11, synth{scan: 0.0102}), verdict.StatusUndecided, "straddle the 2% tolerance", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, tc.before, tc.after), "timing:scan_period")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if tc.needed != 0 && c.Needed != tc.needed {
				t.Errorf("needed %d, want %d", c.Needed, tc.needed)
			}
			if c.Severity != "critical" {
				t.Errorf("severity %s", c.Severity)
			}
		})
	}
	// the numbers behind the finding
	c := byID(t, run(sc, reps(1, 1, synth{}), reps(1, 11, synth{scan: 0.0105})), "timing:scan_period")
	for _, k := range []string{"before_n", "before_min", "before_p50", "before_p90", "before_p99", "before_max",
		"after_n", "after_p50", "median_diff", "shift", "ci_low", "ci_high", "mw_u", "mw_p", "effect_r", "ks_d", "tolerance", "segment_s"} {
		if _, ok := c.Numbers[k]; !ok {
			t.Errorf("number %s missing", k)
		}
	}
	if c.Numbers["effect_r"] != 1 || c.Numbers["ks_d"] != 1 || math.Abs(c.Numbers["after_p50"]-0.0105) > 1e-4 {
		t.Errorf("numbers %v", c.Numbers)
	}
}

func TestTimingScanPeriodLeavesOutResetsAndGaps(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	// after: the counter resets at 5 s (a restart) and a read is missing at 7 s; every
	// interval across them would be a wild period
	after := synth{id: 11, slots: 1200}.trace()
	for i := 4 * 500; i < len(after.Samples); i += 4 {
		after.Samples[i+3].Value -= 480 // back to 20 at 5 s
	}
	after.Samples[4*700+3].Quality, after.Samples[4*700+3].Value = driver.Missing, math.NaN()
	c := byID(t, run(sc, reps(1, 1, synth{slots: 1200}), traces(after)), "timing:scan_period")
	if c.Status != verdict.Pass || c.Numbers["after_max"] > 0.0101 || c.Numbers["after_min"] < 0.0099 {
		t.Errorf("%s: %s; numbers %v", c.Status, c.Reason, c.Numbers)
	}
	// pieces 0-5 s, 5-7 s, 7-12 s: 3 + 1 + 3 segments of at least 1.5 s
	if c.Numbers["after_n"] != 7 {
		t.Errorf("after segments %v, want 7", c.Numbers["after_n"])
	}
}

func TestTimingResponse(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	noResponse := func(id int64) *trace.Trace {
		tr := synth{id: id}.trace()
		var keep []trace.Event
		for _, e := range tr.Events {
			if e.Kind != "probe" {
				keep = append(keep, e)
			}
		}
		tr.Events = keep
		return tr
	}
	varied := func(first int64, base int64) []*trace.Trace {
		var out []*trace.Trace
		for i := range 6 {
			out = append(out, synth{id: first + int64(i), alarmAt: base + int64(i%3)}.trace())
		}
		return out
	}
	cases := []struct {
		name          string
		before, after []*trace.Trace
		status        verdict.Status
		reason        string
		needed        int
	}{
		{"one run per side", reps(1, 1, synth{}), reps(1, 11, synth{}), verdict.StatusUndecided,
			"too few runs for a distribution: 1 before, 1 after; needs at least 5 per side", 5},
		{"same", varied(1, 500), varied(11, 500), verdict.Pass, "within 100.00 ms tolerance", 0},
		{"later beyond tolerance", varied(1, 500), varied(11, 520), verdict.Fail, "median 5.21 s vs 5.01 s, +200.00 ms > 100.00 ms tolerance", 0},
		{"no response after", reps(5, 1, synth{}), append(reps(4, 11, synth{}), noResponse(15)), verdict.Fail,
			"no response in after run 15: AlarmHigh never held after mark \"go\"", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := byID(t, run(sc, tc.before, tc.after), "timing:alarm_response")
			if c.Status != tc.status || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("got %s: %s\nwant %s containing %q", c.Status, c.Reason, tc.status, tc.reason)
			}
			if c.Needed != tc.needed {
				t.Errorf("needed %d, want %d", c.Needed, tc.needed)
			}
		})
	}
	// sampling too coarse for the tolerance
	coarse := parseScenario(t, strings.Replace(synthScenario, "tolerance: {absolute: 100ms}", "tolerance: {absolute: 5ms}", 1))
	c := byID(t, run(coarse, varied(1, 500), varied(11, 500)), "timing:alarm_response")
	if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "cannot resolve the ±5.00 ms tolerance: a response is seen only at a sample: sample period 10.00 ms") {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
}

func TestTimingRoundTrip(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	c := byID(t, run(sc, reps(1, 1, synth{rt: ms(0.4)}), reps(1, 11, synth{rt: ms(2)})), "timing:round_trip")
	if c.Status != verdict.Fail || !strings.Contains(c.Reason, "median 2.00 ms vs 400.0 µs") || c.Severity != "minor" {
		t.Errorf("%s %s: %s", c.Status, c.Severity, c.Reason)
	}
	c = byID(t, run(sc, reps(1, 1, synth{rt: ms(0.4)}), reps(1, 11, synth{rt: ms(0.5)})), "timing:round_trip")
	if c.Status != verdict.Pass {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
	sub := reps(1, 11, synth{rt: ms(0.5)})
	sub[0].Run.Meta = map[string]string{"sampling": "subscription"}
	c = byID(t, run(sc, reps(1, 1, synth{rt: ms(0.4)}), sub), "timing:round_trip")
	if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "subscription") {
		t.Errorf("%s: %s", c.Status, c.Reason)
	}
}

func TestCalibrate(t *testing.T) {
	if got := compare.Calibrate(nil); got != (verdict.Calibration{}) {
		t.Errorf("no runs: %+v", got)
	}
	sim := synth{id: 1}.trace()
	if got := compare.Calibrate(traces(sim)); got != (verdict.Calibration{}) {
		t.Errorf("simulated time has no noise: %+v", got)
	}
	// real time: lateness 100 µs, 1 % of slots 1100 µs late; round trip 300 µs
	b := newTrace(2, 10*time.Millisecond, "Level", "ScanCount")
	for k := int64(0); k < 1000; k++ {
		late := ms(0.1)
		if k%100 == 7 {
			late = ms(1.1)
		}
		start := k*ms(10) + late
		b.tr.Samples = append(b.tr.Samples,
			trace.Sample{Slot: k, Tag: 0, T: start + ms(0.3), Late: late, Value: 1},
			trace.Sample{Slot: k, Tag: 1, T: start + ms(0.3), Late: late, Value: 1})
	}
	// a failed read (Missing) has no round trip
	b.tr.Samples = append(b.tr.Samples, trace.Sample{Slot: 1000, Tag: 0, T: 1000*ms(10) + ms(500), Quality: driver.Missing, Value: math.NaN()})
	got := compare.Calibrate(traces(b.done(), nil))
	near := func(x, want float64) bool { return math.Abs(x-want) < 1 }
	if !near(got.LatenessP50Us, 100) || !near(got.RoundTripP50Us, 300) || !near(got.RoundTripP99Us, 300) || got.LatenessP99Us < 100 || got.LatenessP99Us > 1100 || !near(got.JitterUs, got.LatenessP99Us-got.LatenessP50Us) {
		t.Errorf("%+v", got)
	}
}

// TestScanPeriodNoiseWidensTheBound: a read's round trip is how uncertain its time stamp is.
// 20 ms round trips (two scans) make the segments too long for Mann-Whitney in a 10 s run,
// but over 10 s they bound the period to ±0.3 %: the data decide it. Over 1 s they cannot.
func TestScanPeriodNoiseWidensTheBound(t *testing.T) {
	sc := parseScenario(t, synthScenario)
	c := byID(t, run(sc, reps(1, 1, synth{rt: ms(20)}), reps(1, 11, synth{rt: ms(20)})), "timing:scan_period")
	if c.Status != verdict.Pass || !strings.Contains(c.Reason, "too few for Mann-Whitney") {
		t.Errorf("10 s: %s: %s", c.Status, c.Reason)
	}
	if w := c.Numbers["before_hi"] - c.Numbers["before_lo"]; w < 0.00004 || w > 0.00008 {
		t.Errorf("10 s: before bounds %v..%v, want about ±0.3 %%", c.Numbers["before_lo"], c.Numbers["before_hi"])
	}
	c = byID(t, run(sc, reps(1, 1, synth{rt: ms(20), slots: 100}), reps(1, 11, synth{rt: ms(20), slots: 100})), "timing:scan_period")
	if c.Status != verdict.StatusUndecided || !strings.Contains(c.Reason, "runs of about") {
		t.Errorf("1 s: %s: %s", c.Status, c.Reason)
	}
}

func TestEmptyAndNilScenario(t *testing.T) {
	cs := compare.Compare(nil, nil, nil, compare.Patch{})
	if len(cs) != 3 {
		t.Fatalf("%d criteria for nothing; want data and the identities", len(cs))
	}
	for _, c := range cs {
		if c.Status != verdict.StatusUndecided {
			t.Errorf("%s: %s with no runs", c.ID, c.Status)
		}
	}
	if o, _ := verdict.Decide(cs, true); o != verdict.Inconclusive {
		t.Errorf("verdict %s with no runs", o)
	}
}
