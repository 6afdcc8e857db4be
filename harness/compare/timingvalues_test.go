package compare_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// TestTimingValues: for every probe, TimingValues gives the values its criterion judged: per
// side the criterion's n, min, p50, p90, p99 and max, its segment length, its runs without a
// response and its tolerance, to the bit; and the counts each case expects.
func TestTimingValues(t *testing.T) {
	withoutResponse := func(tr *trace.Trace) *trace.Trace {
		tr.Events = slices.DeleteFunc(tr.Events, func(e trace.Event) bool { return e.Kind == "probe" })
		return tr
	}
	varied := func(first, base int64) []*trace.Trace {
		var out []*trace.Trace
		for i := range 6 {
			out = append(out, synth{id: first + int64(i), alarmAt: base + int64(i%3)}.trace())
		}
		return out
	}
	resetAndGap := func() *trace.Trace { // the counter back to 20 at 5 s, a read missing at 7 s
		tr := synth{id: 11, slots: 1200}.trace()
		for i := 4 * 500; i < len(tr.Samples); i += 4 {
			tr.Samples[i+3].Value -= 480
		}
		tr.Samples[4*700+3].Quality, tr.Samples[4*700+3].Value = driver.Missing, math.NaN()
		return tr
	}
	noCounter := func(id int64) *trace.Trace {
		tr := synth{id: id}.trace()
		for i := 3; i < len(tr.Samples); i += 4 {
			tr.Samples[i].Value = 7 // never advances
		}
		return tr
	}
	subscribed := func(trs []*trace.Trace) []*trace.Trace {
		trs[0].Run.Meta = map[string]string{"sampling": "subscription"}
		return trs
	}
	type want struct {
		probe      string
		n          [2]int  // values before, after
		noResponse [2]int  // response probes
		segment    float64 // scan_period: segment length, s (0: not checked)
		status     verdict.Status
	}
	cases := []struct {
		name          string
		before, after []*trace.Trace
		want          []want
	}{
		{"5 % slower scan", reps(1, 1, synth{}), reps(1, 11, synth{scan: 0.0105}), []want{
			{probe: "scan_period", n: [2]int{6, 6}, segment: 1.5, status: verdict.Fail},
			{probe: "alarm_response", n: [2]int{1, 1}, status: verdict.StatusUndecided},
			{probe: "round_trip", n: [2]int{1000, 1000}, status: verdict.Pass},
		}},
		{"counter reset and missing read", reps(1, 1, synth{slots: 1200}), traces(resetAndGap()), []want{
			{probe: "scan_period", n: [2]int{7, 7}, segment: 1.5, status: verdict.Pass},
		}},
		// too few segments for Mann-Whitney; the period's bounds decide it
		{"short runs: too few segments", reps(1, 1, synth{slots: 400}), reps(1, 11, synth{slots: 400}), []want{
			{probe: "scan_period", n: [2]int{2, 2}, segment: 1.5, status: verdict.Pass},
		}},
		{"noisy harness: long segments", reps(1, 1, synth{rt: ms(20)}), reps(1, 11, synth{rt: ms(20)}), []want{
			{probe: "scan_period", n: [2]int{2, 2}, segment: 4.5, status: verdict.Pass},
			{probe: "round_trip", n: [2]int{1000, 1000}, status: verdict.Pass},
		}},
		{"counter never advances before", traces(noCounter(1)), reps(1, 11, synth{}), []want{
			{probe: "scan_period", n: [2]int{0, 0}, status: verdict.StatusUndecided},
		}},
		{"responses later", varied(1, 500), varied(11, 520), []want{
			{probe: "alarm_response", n: [2]int{6, 6}, status: verdict.Fail},
		}},
		{"no response after", reps(5, 1, synth{}), append(reps(4, 11, synth{}), withoutResponse(synth{id: 15}.trace())), []want{
			{probe: "alarm_response", n: [2]int{5, 4}, noResponse: [2]int{0, 1}, status: verdict.Fail},
		}},
		{"no response before", append(reps(5, 1, synth{}), withoutResponse(synth{id: 6}.trace())), varied(11, 500), []want{
			{probe: "alarm_response", n: [2]int{5, 6}, noResponse: [2]int{1, 0}, status: verdict.Pass},
		}},
		{"slower round trips, nil traces", traces(nil, synth{id: 1, rt: ms(0.4)}.trace()), traces(synth{id: 11, rt: ms(2)}.trace(), nil), []want{
			{probe: "round_trip", n: [2]int{1000, 1000}, status: verdict.Fail},
		}},
		{"subscription after: no reads", reps(1, 1, synth{rt: ms(0.4)}), subscribed(reps(1, 11, synth{rt: ms(0.5)})), []want{
			{probe: "round_trip", n: [2]int{1000, 0}, status: verdict.StatusUndecided},
		}},
		{"no after runs", reps(2, 1, synth{}), nil, []want{
			{probe: "scan_period", n: [2]int{12, 0}, segment: 1.5, status: verdict.StatusUndecided},
			{probe: "round_trip", n: [2]int{2000, 0}, status: verdict.StatusUndecided},
		}},
	}
	sc := parseScenario(t, synthScenario)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			crit := run(sc, tc.before, tc.after)
			cal := compare.Calibrate(append(slices.Clone(tc.before), tc.after...))
			for _, w := range tc.want {
				p := probe(t, sc, w.probe)
				c := byID(t, crit, "timing:"+p.Name)
				ts := checkTimingValues(t, sc, p, c, tc.before, tc.after, cal)
				if got := [2]int{len(ts.Before), len(ts.After)}; got != w.n {
					t.Errorf("%s: %v values, want %v", p.Name, got, w.n)
				}
				if ts.NoResponse != w.noResponse {
					t.Errorf("%s: %v runs without a response, want %v", p.Name, ts.NoResponse, w.noResponse)
				}
				if w.segment > 0 && math.Abs(ts.Segment-w.segment) > 1e-3 {
					t.Errorf("%s: segments of %v s, want %v", p.Name, ts.Segment, w.segment)
				}
				if c.Status != w.status {
					t.Errorf("%s: criterion %s (%s), want %s", p.Name, c.Status, c.Reason, w.status)
				}
			}
		})
	}
}

// TestTimingValuesOfGoldenCases: the same agreement on the stored golden traces (simulator
// runs and synthetic ones), for every probe of their scenarios.
func TestTimingValuesOfGoldenCases(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", gc.name)
			sc := loadGoldenScenario(t, dir)
			if len(sc.Probes) == 0 {
				t.Skip("no timing probes")
			}
			before := readTraces(t, filepath.Join(dir, "before.json"))
			after := readTraces(t, filepath.Join(dir, "after.json"))
			crit := compare.Compare(sc, before, after, gc.patch)
			cal := compare.Calibrate(append(slices.Clone(before), after...))
			for _, p := range sc.Probes {
				checkTimingValues(t, sc, p, byID(t, crit, "timing:"+p.Name), before, after, cal)
			}
		})
	}
}

// checkTimingValues checks TimingValues of probe p against its criterion c.
func checkTimingValues(t *testing.T, sc *scenario.Scenario, p scenario.Probe, c verdict.Criterion, before, after []*trace.Trace, cal verdict.Calibration) compare.TimingSides {
	t.Helper()
	ts, err := compare.TimingValues(sc, p, before, after, cal)
	if err != nil {
		t.Fatalf("%s: %v", p.Name, err)
	}
	for _, side := range []struct {
		name string
		xs   []float64
	}{{"before", ts.Before}, {"after", ts.After}} {
		if !slices.IsSorted(side.xs) || slices.ContainsFunc(side.xs, math.IsNaN) {
			t.Errorf("%s %s: not sorted, or a NaN", p.Name, side.name)
		}
		n, ok := c.Numbers[side.name+"_n"]
		if !ok { // a scan period without a before pooled period judges nothing
			if len(side.xs) != 0 || c.Numbers != nil {
				t.Errorf("%s %s: %d values, the criterion has no count (%v)", p.Name, side.name, len(side.xs), c.Numbers)
			}
			continue
		}
		if float64(len(side.xs)) != n {
			t.Errorf("%s %s: %d values, the criterion %v", p.Name, side.name, len(side.xs), n)
			continue
		}
		if len(side.xs) == 0 {
			continue
		}
		if !strings.Contains(c.Before+" "+c.After, " "+ts.Unit+",") {
			t.Errorf("%s: unit %q, the criterion says %q / %q", p.Name, ts.Unit, c.Before, c.After)
		}
		for k, v := range map[string]float64{
			"min": side.xs[0], "p50": compare.Quantile(side.xs, 0.5), "p90": compare.Quantile(side.xs, 0.9),
			"p99": compare.Quantile(side.xs, 0.99), "max": side.xs[len(side.xs)-1],
		} {
			if want := c.Numbers[side.name+"_"+k]; v != want {
				t.Errorf("%s %s %s = %v, the criterion %v", p.Name, side.name, k, v, want)
			}
		}
	}
	if want, ok := c.Numbers["segment_s"]; ok != (ts.Segment != 0) || ts.Segment != want {
		t.Errorf("%s: segment %v s, the criterion %v (%v)", p.Name, ts.Segment, want, ok)
	}
	if p.Kind == scenario.ProbeResponse {
		if got, want := ts.NoResponse, [2]int{int(c.Numbers["before_no_response"]), int(c.Numbers["after_no_response"])}; got != want {
			t.Errorf("%s: %v runs without a response, the criterion %v", p.Name, got, want)
		}
	} else if ts.NoResponse != [2]int{} {
		t.Errorf("%s: %v runs without a response", p.Name, ts.NoResponse)
	}
	if want, ok := c.Numbers["tolerance"]; ok && ts.Tolerance != want {
		t.Errorf("%s: tolerance %v, the criterion %v", p.Name, ts.Tolerance, want)
	}
	if len(ts.Before) == 0 && ts.Tolerance != 0 || len(ts.Before) > 0 && ts.Tolerance <= 0 {
		t.Errorf("%s: tolerance %v with %d before values", p.Name, ts.Tolerance, len(ts.Before))
	}
	return ts
}

func probe(t *testing.T, sc *scenario.Scenario, name string) scenario.Probe {
	t.Helper()
	for _, p := range sc.Probes {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no probe %q", name)
	return scenario.Probe{}
}

func TestTimingValuesUnknownKind(t *testing.T) {
	_, err := compare.TimingValues(nil, scenario.Probe{Name: "x", Kind: "jitter"}, reps(1, 1, synth{}), nil, verdict.Calibration{})
	if err == nil || err.Error() != "unknown probe kind jitter" {
		t.Errorf("error %v", err)
	}
}

// TestSamplingLateness: every slot's lateness, sorted, in seconds; its p50 and p99 are
// Calibrate's.
func TestSamplingLateness(t *testing.T) {
	if got := compare.SamplingLateness(traces(nil)); len(got) != 0 {
		t.Errorf("no runs: %v", got)
	}
	if got := compare.SamplingLateness(traces(synth{id: 1, slots: 50}.trace())); len(got) != 50 || got[0] != 0 || got[49] != 0 {
		t.Errorf("simulated time: %d values, %v..%v", len(got), got[0], got[len(got)-1])
	}
	b := newTrace(2, 10*time.Millisecond, "Level", "ScanCount")
	for k := int64(0); k < 1000; k++ {
		late := ms(0.1) + k%7*ms(0.01)
		if k%100 == 7 {
			late = ms(1.1)
		}
		b.tr.Samples = append(b.tr.Samples,
			trace.Sample{Slot: k, Tag: 0, T: k*ms(10) + late + ms(0.3), Late: late, Value: 1},
			trace.Sample{Slot: k, Tag: 1, T: k*ms(10) + late + ms(0.3), Late: late, Value: float64(k)})
	}
	runs := traces(b.done(), nil)
	got := compare.SamplingLateness(runs)
	if len(got) != 1000 || !slices.IsSorted(got) || got[0] != 0.0001 || got[999] != 0.0011 {
		t.Fatalf("%d values, %v..%v", len(got), got[0], got[len(got)-1])
	}
	cal := compare.Calibrate(runs)
	for _, q := range []struct{ p, us float64 }{{0.5, cal.LatenessP50Us}, {0.99, cal.LatenessP99Us}} {
		if v := compare.Quantile(got, q.p) * 1e6; math.Abs(v-q.us) > 1e-6 {
			t.Errorf("p%v %v µs, Calibrate %v µs", q.p*100, v, q.us)
		}
	}
}
