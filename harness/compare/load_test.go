package compare

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Newcombe (1998), "Interval estimation for the difference between independent proportions",
// Statistics in Medicine 17: 873-890, table II: 56/70 - 48/80 by method 10 is 0.0524..0.3339,
// and 9/10 - 3/10 is 0.1705..0.8090.
func TestNewcombeMatchesThePublishedIntervals(t *testing.T) {
	for _, c := range []struct {
		xa, na, xb, nb int
		lo, hi         float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
	} {
		lo, hi := newcombe(c.xa, c.na, c.xb, c.nb)
		if math.Abs(lo-c.lo) > 0.0001 || math.Abs(hi-c.hi) > 0.0001 {
			t.Errorf("%d/%d - %d/%d: %.4f..%.4f, want %.4f..%.4f", c.xa, c.na, c.xb, c.nb, lo, hi, c.lo, c.hi)
		}
	}
}

// loadRun is a completed run whose load probe "poll" made reads with these latencies (s);
// NaN is a failed read.
func loadRun(label string, lat []float64) *runData {
	tr := &trace.Trace{Run: trace.Run{Status: trace.Completed}}
	tr.Events = append(tr.Events, trace.Event{Kind: trace.EvLoad, Tag: "poll", Value: runner.LoadStart})
	for i, v := range lat {
		e := trace.Event{T: int64(i) * 5e6, Kind: trace.EvLoad, Tag: "poll", Value: fmt.Sprintf("%.9f", v)}
		if math.IsNaN(v) {
			e.Value, e.Msg = runner.LoadError, "timeout"
		}
		tr.Events = append(tr.Events, e)
	}
	tr.Events = append(tr.Events, trace.Event{Kind: trace.EvLoad, Tag: "poll", Value: runner.LoadEnd})
	return &runData{tr: tr, label: label}
}

// latencies makes n reads around median m (s), every k-th failing (k 0: none).
func latencies(n int, m float64, k int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = m * (0.8 + 0.4*float64(i%50)/49)
		if k > 0 && i%k == 0 {
			out[i] = math.NaN()
		}
	}
	return out
}

func TestLoadProbeDecides(t *testing.T) {
	p := scenario.Probe{Name: "poll", Kind: scenario.ProbeLoad, Rate: 200, For: 10 * time.Second, Errors: 0.01,
		Tolerance: scenario.Tolerance{Absolute: 0.005, Relative: 0.5}}
	for _, c := range []struct {
		name          string
		before, after []float64
		want          verdict.Status
		reason        string
	}{
		{"unchanged", latencies(2000, 0.0004, 0), latencies(2000, 0.0004, 0), verdict.Pass, "errors 0% vs 0% before"},
		{"slower past the tolerance", latencies(2000, 0.0004, 0), latencies(2000, 0.050, 0), verdict.Fail, "> 5.00 ms tolerance"},
		{"one read in ten fails", latencies(2000, 0.0004, 0), latencies(2000, 0.0004, 10), verdict.Fail, "more than 1% added"},
		{"every read fails after", latencies(2000, 0.0004, 0), latencies(2000, 0.0004, 1), verdict.Fail, "errors 100%"},
		{"too few reads to bound the errors", latencies(100, 0.0004, 0), latencies(100, 0.0004, 0), verdict.StatusUndecided, "reads per side would resolve it"},
		{"no load reads after", latencies(2000, 0.0004, 0), nil, verdict.StatusUndecided, "no load reads"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var crit verdict.Criterion
			loadProbe(&crit, p, []*runData{loadRun("before", c.before)}, []*runData{loadRun("after", c.after)})
			if crit.Status != c.want || !strings.Contains(crit.Reason, c.reason) {
				t.Errorf("%s: %s\nwant %s containing %q", crit.Status, crit.Reason, c.want, c.reason)
			}
		})
	}
}

// BenchmarkLoadProbe judges one load probe of 200 reads/s for 10 s a side (2000 reads each).
func BenchmarkLoadProbe(b *testing.B) {
	p := scenario.Probe{Name: "poll", Kind: scenario.ProbeLoad, Rate: 200, For: 10 * time.Second, Errors: 0.01,
		Tolerance: scenario.Tolerance{Absolute: 0.005}}
	before, after := []*runData{loadRun("before", latencies(2000, 0.0004, 0))}, []*runData{loadRun("after", latencies(2000, 0.0005, 0))}
	for b.Loop() {
		var c verdict.Criterion
		loadProbe(&c, p, before, after)
	}
}
