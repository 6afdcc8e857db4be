package report

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"

	_ "github.com/patchgate/patchgate/simulators/simdriver"
)

// shippedScenario is the text of a shipped scenario, edited by the pairs of old and new text
// in edits.
func shippedScenario(t *testing.T, name string, edits ...string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../scenarios/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("%s has no %q", name, edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	return []byte(s)
}

// scanSetup edits tank-alarm-trip.yaml to a setup that waits for 1000 controller scans: 10 s
// on the baseline firmware, 13 s on scan-slow-30.
var scanSetup = []string{"  - wait: 500ms\n", "  - wait_until: ScanCount >= 1000\n    timeout: 30s\n"}

// simBundle runs scenario text scData once on a simulated tank with firmware before and once
// with firmware after (simulated time), compares the runs as a validation does, and returns
// the bundle of it.
func simBundle(t *testing.T, scData []byte, before, after string) Bundle {
	t.Helper()
	pmData, err := os.ReadFile("../../scenarios/pointmaps/tank.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse("scenario.yaml", scData, func(string) (*point.Map, error) { return point.Parse("tank.yaml", pmData) })
	if err != nil {
		t.Fatal(err)
	}
	run := func(firmware string, id int64) *trace.Trace {
		tg, err := driver.ParseTarget("sim://tank?time=simulated&firmware=" + firmware)
		if err != nil {
			t.Fatal(err)
		}
		res, err := runner.Run(context.Background(), sc, runner.Options{Target: tg, Repetition: 1})
		if err != nil {
			t.Fatal(err)
		}
		res.Trace.Run.ID = id
		return res.Trace
	}
	b := Bundle{Before: []*trace.Trace{run(before, 1)}, After: []*trace.Trace{run(after, 2)},
		Scenario: File{Name: "scenario.yaml", Data: scData}, PointMap: File{Name: "tank.yaml", Data: pmData}}
	crit := compare.Compare(sc, b.Before, b.After, compare.Patch{})
	outcome, reasons := verdict.Decide(crit, sc.MajorIsNoGo)
	b.Record = verdict.Record{Verdict: outcome, Reasons: reasons, Scenario: sc.Name, PointMap: "tank", Criteria: crit,
		Calibration: compare.Calibrate(append(append([]*trace.Trace{}, b.Before...), b.After...)), TimeMode: "simulated",
		ToolVersion: "0.1.0-test", BeforeTarget: "sim://tank?firmware=" + before, AfterTarget: "sim://tank?firmware=" + after,
		BeforeRuns: []int64{1}, AfterRuns: []int64{2}, Decided: "2026-03-20T12:00:00Z"}
	return b
}

func criterion(t *testing.T, rec verdict.Record, id string) verdict.Criterion {
	t.Helper()
	for _, c := range rec.Criteria {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no criterion %s", id)
	return verdict.Criterion{}
}

// section is the part of report.html under the heading that names criterion id.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `">`+id+`</h3>`)
	if i < 0 {
		i = strings.Index(page, `">`+id+`: `)
	}
	if i < 0 {
		t.Fatalf("report.html has no plot of %s", id)
	}
	s := page[i:]
	if j := strings.Index(s[1:], "<h3"); j >= 0 {
		s = s[:j+1]
	}
	return s
}

// TestReportTimingPlotUsesTheCriterionValues: the report's histograms count what the timing
// criteria judged (compare.TimingValues), not values of their own: the scan period's n is
// the criterion's before_n and after_n (the bundle once counted scan periods over 100 counts
// of the whole run, setup included: n=13 where the criterion said n=9).
func TestReportTimingPlotUsesTheCriterionValues(t *testing.T) {
	b := simBundle(t, shippedScenario(t, "tank-alarm-trip.yaml"), "baseline", "scan-slow-5")
	page := string(find(unzip(t, build(t, b, testKey(1))), HTMLFile))
	n := regexp.MustCompile(`(before|after): n=(\d+)`)
	for _, id := range []string{"timing:scan_period", "timing:alarm_response", "timing:round_trip"} {
		c := criterion(t, b.Record, id)
		sec := section(t, page, id)
		got := map[string]float64{}
		for _, m := range n.FindAllStringSubmatch(sec, -1) {
			got[m[1]+"_n"], _ = strconv.ParseFloat(m[2], 64)
		}
		for _, k := range []string{"before_n", "after_n"} {
			if v, ok := got[k]; !ok || v != c.Numbers[k] {
				t.Errorf("%s: the plot says %s=%v (found %v), the criterion %v", id, k, v, ok, c.Numbers[k])
			}
		}
		if !strings.Contains(sec, "the values the criterion judged") {
			t.Errorf("%s: the note does not say where the values come from", id)
		}
	}
	if sec := section(t, page, "timing:scan_period"); !strings.Contains(sec, "n=8 segments") {
		t.Errorf("scan period plot: want 8 segments a side, as the criterion counts them: %.300s", sec)
	}
}

// TestReportOverlayDrawsAfterInTheBeforeFrame: the after run's setup took 3 s longer. The
// report's plot lays each after reading where the comparison's Frame puts it on the before
// run's clock (its setup shifted to end where the before run's does), so the Level curves
// agree where compared, as the criterion found; the setup is shaded and has no band.
func TestReportOverlayDrawsAfterInTheBeforeFrame(t *testing.T) {
	b := simBundle(t, shippedScenario(t, "tank-alarm-trip.yaml", scanSetup...), "baseline", "scan-slow-30")
	c := criterion(t, b.Record, "signal:Level")
	if c.Status != verdict.Pass {
		t.Fatalf("signal:Level %s: %s", c.Status, c.Reason)
	}
	m := newModel(b)
	const cols = 800
	o, bt, at, ok := m.overlayFor(c, cols)
	if !ok || bt != b.Before[0] || at != b.After[0] {
		t.Fatal("no overlay of the two runs")
	}
	f := compare.FrameOf(m.sc, bt, at)
	if d := f.AfterOrigin - f.BeforeOrigin; d < 2e9 {
		t.Fatalf("setups %d and %d ns: want the after one seconds longer", f.BeforeOrigin, f.AfterOrigin)
	}
	if o.setup != f.BeforeOrigin || o.t0 != f.ToBefore(firstT(at, "Level")) || o.t0 > -2e9 {
		t.Errorf("axis from %d ns, setup until %d; want from the after run's first reading %d to the before origin %d",
			o.t0, o.setup, f.ToBefore(firstT(at, "Level")), f.BeforeOrigin)
	}
	// the data the plot is built from: every after reading in the column of its time per the Frame
	want := make([]column, cols)
	idx := tagIndex(at, "Level")
	for _, s := range at.Samples {
		if int(s.Tag) != idx {
			continue
		}
		tb := f.ToBefore(s.T)
		if s.T < f.AfterOrigin {
			tb = s.T - f.AfterOrigin + f.BeforeOrigin
		}
		i := min(int(float64(tb-o.t0)/float64(o.t1-o.t0)*cols), cols-1)
		w := &want[i]
		if w.N == 0 {
			w.Min, w.Max = s.Value, s.Value
		}
		w.Min, w.Max, w.N = min(w.Min, s.Value), max(w.Max, s.Value), w.N+1
	}
	for i, w := range want {
		if g := o.after.cols[i]; g.N != w.N || g.Min != w.Min || g.Max != w.Max {
			t.Fatalf("after column %d: %d readings %v..%v, want %d %v..%v", i, g.N, g.Min, g.Max, w.N, w.Min, w.Max)
		}
	}
	// where compared the curves agree; and no band over the setup
	first := int(math.Ceil(float64(o.setup-o.t0) / float64(o.t1-o.t0) * cols))
	for i := range cols {
		bc, ac := o.before.cols[i], o.after.cols[i]
		if i < first {
			if !math.IsNaN(o.hi[i]) {
				t.Fatalf("a band in column %d, inside the setup (until column %d)", i, first)
			}
			continue
		}
		if bc.N > 0 && ac.N > 0 && (ac.Max > bc.Max+0.5 || ac.Min < bc.Min-0.5) {
			t.Errorf("column %d: after %v..%v, before %v..%v: more than the tolerance apart", i, ac.Min, ac.Max, bc.Min, bc.Max)
		}
	}
	sec := section(t, string(find(unzip(t, build(t, b, testKey(1))), HTMLFile)), "signal:Level")
	for _, want := range []string{`class="setup"`, ">setup</text>", "time on the before run&#39;s clock", "grey: the setup, recorded but not compared"} {
		if !strings.Contains(sec, want) {
			t.Errorf("the Level plot lacks %q", want)
		}
	}
}

// TestReportMarksTheWorstPoint: the alarm-shift firmware fails signal:Level; the report's
// plot marks the worst after value where the criterion found it on the before run's clock,
// with what was allowed there, and the after curve passes through it.
func TestReportMarksTheWorstPoint(t *testing.T) {
	b := simBundle(t, shippedScenario(t, "tank-alarm-trip.yaml"), "baseline", "alarm-shift")
	c := criterion(t, b.Record, "signal:Level")
	if c.Status != verdict.Fail {
		t.Fatalf("signal:Level %s: %s", c.Status, c.Reason)
	}
	m := newModel(b)
	const cols = 800
	o, _, _, _ := m.overlayFor(c, cols)
	n := c.Numbers
	w := o.worst
	if w == nil || w.t != int64(math.Round(n["worst_t_before_s"]*1e9)) || w.v != n["worst_value"] || w.lo != n["worst_lo"] ||
		w.hi != n["worst_hi"] || w.tol != n["worst_tolerance"] {
		t.Fatalf("worst point %+v; the criterion says %v", w, n)
	}
	i := min(int(float64(w.t-o.t0)/float64(o.t1-o.t0)*cols), cols-1)
	if ac := o.after.cols[i]; ac.N == 0 || w.v < ac.Min || w.v > ac.Max {
		t.Errorf("the after curve misses the worst point: column %d holds %v..%v (%d), worst %v", i, ac.Min, ac.Max, ac.N, w.v)
	}
	if w.t < o.look[0] || w.t > o.look[1] {
		t.Errorf("highlighted %v, worst point at %d", o.look, w.t)
	}
	svg := overlaySVG(o)
	for _, want := range []string{`<g class="worst">`, `class="allowed"`, `class="envelope"`, `class="value"`,
		">worst " + short(w.v) + "<", fmt.Sprintf("allowed there %s..%s", num(w.lo-w.tol), num(w.hi+w.tol))} {
		if !strings.Contains(svg, want) {
			t.Errorf("the Level plot lacks %q", want)
		}
	}
}
