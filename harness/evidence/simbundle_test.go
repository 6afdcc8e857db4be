package evidence

import (
	"context"
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
		Scenario: File{Name: "scenario.yaml", Data: scData}, PointMap: File{Name: "tank.yaml", Data: pmData}, ToolVersion: "0.1.0-test"}
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
