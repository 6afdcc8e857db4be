package workspace

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// simValidation runs shipped scenario name on simulated tanks with the firmware profiles
// before and after, repeat runs a side, the way the Validate tab does.
func simValidation(t testing.TB, name, before, after string, repeat int) *Result {
	t.Helper()
	w, err := Open(t.Context(), Config{Dir: t.TempDir(), Now: func() time.Time { return time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC) }, Actor: "bench-engineer", ModbusOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	res, err := w.Validate(t.Context(), Request{Scenario: name, Repeat: repeat,
		Before: "sim://tank?time=simulated&firmware=" + before, After: "sim://tank?time=simulated&firmware=" + after}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTimingMatchesCriteria: the histograms show the very values the timing criteria
// judged: per side the same count, minimum, median and maximum as the criterion's numbers.
// A slower scan moves the after median by about the regression.
func TestTimingMatchesCriteria(t *testing.T) {
	cases := map[string]struct {
		scenario, after string
		repeat          int
		probes          []string // in the scenario's order; the lateness comes last
		afterSlower     float64  // scan period: after median / before median at least this
	}{
		"scan 5 % slower": {"tank-steady-state.yaml", "scan-slow-5", 1, []string{"scan_period", "round_trip"}, 1.03},
		"alarm shifted":   {"tank-alarm-trip.yaml", "alarm-shift", 2, []string{"scan_period", "alarm_response", "round_trip"}, 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			res := simValidation(t, tc.scenario, "baseline", tc.after, tc.repeat)
			tps := res.Timing()
			var got []string
			for _, p := range tps {
				got = append(got, p.Name)
			}
			if want := append(slices.Clone(tc.probes), "sampling lateness"); !slices.Equal(got, want) {
				t.Fatalf("probes %v, want %v", got, want)
			}
			crit := map[string]verdict.Criterion{}
			for _, c := range res.Record.Criteria {
				crit[c.ID] = c
			}
			for _, p := range tps[:len(tps)-1] {
				c, ok := crit[p.Criterion()]
				if !ok {
					t.Fatalf("no criterion %s", p.Criterion())
				}
				for _, side := range []struct {
					name string
					xs   []float64
				}{{"before", p.Before}, {"after", p.After}} {
					if n := c.Numbers[side.name+"_n"]; float64(len(side.xs)) != n {
						t.Errorf("%s %s: %d values, criterion has %v", p.Name, side.name, len(side.xs), n)
						continue
					}
					if len(side.xs) == 0 {
						continue
					}
					for k, v := range map[string]float64{"min": side.xs[0], "p50": Median(side.xs), "max": side.xs[len(side.xs)-1]} {
						if want := c.Numbers[side.name+"_"+k]; math.Abs(v-want) > 1e-12 {
							t.Errorf("%s %s %s = %v, criterion has %v", p.Name, side.name, k, v, want)
						}
					}
				}
				if len(p.Before) > 0 && c.Numbers["tolerance"] != 0 && math.Abs(p.Tolerance-c.Numbers["tolerance"]) > 1e-12 {
					t.Errorf("%s tolerance %v, criterion %v", p.Name, p.Tolerance, c.Numbers["tolerance"])
				}
			}
			scan := tps[0]
			if len(scan.Before) < 3 || len(scan.After) < 3 {
				t.Fatalf("scan period: %d before and %d after segments", len(scan.Before), len(scan.After))
			}
			ratio := Median(scan.After) / Median(scan.Before)
			if tc.afterSlower > 0 && ratio < tc.afterSlower {
				t.Errorf("scan period after/before = %.4f, want at least %v", ratio, tc.afterSlower)
			}
			if tc.afterSlower == 0 && math.Abs(ratio-1) > 0.02 {
				t.Errorf("unchanged scan: after/before = %.4f", ratio)
			}
			if lat := tps[len(tps)-1]; lat.Criterion() != "" || len(lat.Before) == 0 {
				t.Errorf("lateness: criterion %q, %d values", lat.Criterion(), len(lat.Before))
			}
			h := scan.Histogram(40)
			if h.N != [2]int{len(scan.Before), len(scan.After)} || sum(h.Before)+h.Over[0] != len(scan.Before) {
				t.Errorf("scan histogram %+v lost values", h)
			}
		})
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// histogramCases seed FuzzHistogram too.
var histogramCases = map[string]struct {
	before, after []float64
	maxBins       int
	bins          int     // exact number of bins; 0: any up to maxBins
	over          int     // values in the tail bin, both sides
	widthAtMost   float64 // seconds; 0: not checked
}{
	"shifted sides share bins": {before: ramp(200, 0.010, 0.0002), after: ramp(200, 0.0105, 0.0002), maxBins: 40},
	"one value each":           {before: []float64{0.0123}, after: []float64{0.0123}, maxBins: 40, bins: 1},
	"simulated time: all zero": {before: []float64{0, 0, 0}, after: []float64{0, 0}, maxBins: 40, bins: 1},
	"after has none":           {before: ramp(50, 1, 0.01), maxBins: 20},
	"neither side":             {maxBins: 20, bins: 0},
	"one bin allowed":          {before: ramp(100, 0, 0.001), after: ramp(100, 0.05, 0.001), maxBins: 1, bins: 1},
	"long tail gets its own bin": {before: append(ramp(1000, 0.001, 0.000001), 0.5, 0.6), after: append(ramp(1000, 0.0011, 0.000001), 0.4, 0.45, 0.7),
		maxBins: 50, over: 5, widthAtMost: 0.0001},
	"negative values": {before: ramp(30, -0.002, 0.0001), after: ramp(30, -0.001, 0.0001), maxBins: 30},
}

func ramp(n int, from, step float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + float64(i)*step
	}
	return out
}

func TestHistogramBins(t *testing.T) {
	for name, tc := range histogramCases {
		t.Run(name, func(t *testing.T) {
			h := checkHistogram(t, tc.before, tc.after, tc.maxBins)
			if nb := len(h.Before); tc.bins > 0 && nb != tc.bins || tc.bins == 0 && len(tc.before)+len(tc.after) == 0 && nb != 0 {
				t.Errorf("%d bins, want %d", nb, tc.bins)
			}
			if got := h.Over[0] + h.Over[1]; got != tc.over {
				t.Errorf("%d values in the tail bin, want %d", got, tc.over)
			}
			if tc.widthAtMost > 0 && h.Width() > tc.widthAtMost*(1+1e-9) {
				t.Errorf("bin width %v s, want at most %v (the tail squeezed the bulk)", h.Width(), tc.widthAtMost)
			}
		})
	}
}

// checkHistogram checks the invariants of a histogram against a brute-force count: shared
// round bins, at most maxBins, every value in exactly the bin its edges say.
func checkHistogram(t *testing.T, before, after []float64, maxBins int) Histogram {
	t.Helper()
	before, after = slices.Clone(before), slices.Clone(after)
	slices.Sort(before)
	slices.Sort(after)
	h := TimingProbe{Before: before, After: after}.Histogram(maxBins)
	if len(before)+len(after) == 0 {
		if len(h.Edges) != 0 {
			t.Fatalf("no values, edges %v", h.Edges)
		}
		return h
	}
	nb := len(h.Edges) - 1
	if nb < 1 || nb > max(maxBins, 1) || len(h.Before) != nb || len(h.After) != nb {
		t.Fatalf("%d edges, %d/%d bins, max %d", len(h.Edges), len(h.Before), len(h.After), maxBins)
	}
	w := h.Width()
	if m := w / math.Pow(10, math.Floor(math.Log10(w))); !(approx(m, 1) || approx(m, 2) || approx(m, 5) || approx(m, 10)) {
		t.Errorf("bin width %v is not 1, 2 or 5 x 10^k", w)
	}
	for _, side := range []struct {
		xs   []float64
		bins []int
		over int
	}{{before, h.Before, h.Over[0]}, {after, h.After, h.Over[1]}} {
		want := make([]int, nb)
		over := 0
		for _, x := range side.xs {
			switch i := slices.IndexFunc(h.Edges[1:], func(e float64) bool { return x < e }); {
			case i < 0:
				over++
			case x < h.Edges[0]-w*1e-9:
				t.Fatalf("value %v below the first edge %v", x, h.Edges[0])
			default:
				want[i]++
			}
		}
		if over != side.over || !slices.Equal(side.bins, want) {
			t.Errorf("bins %v over %d, brute force %v over %d (edges %v)", side.bins, side.over, want, over, h.Edges)
		}
	}
	return h
}

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func FuzzHistogram(f *testing.F) {
	for _, tc := range histogramCases {
		f.Add(len(tc.before), len(tc.after), uint64(len(tc.before)*7+len(tc.after)), tc.maxBins)
	}
	f.Fuzz(func(t *testing.T, nb, na int, seed uint64, maxBins int) {
		nb, na, maxBins = nb%2000, na%2000, maxBins%500
		if nb < 0 || na < 0 {
			return
		}
		r := rand.New(rand.NewPCG(seed, 1))
		gen := func(n int) []float64 {
			xs := make([]float64, n)
			scale := math.Pow(10, float64(r.IntN(8))-6)
			for i := range xs {
				xs[i] = r.ExpFloat64() * scale
				if r.IntN(50) == 0 {
					xs[i] *= 100 // a tail
				}
			}
			return xs
		}
		checkHistogram(t, gen(nb), gen(na), maxBins)
	})
}

// largeTraces are a before and an after run of n sampling slots each of a counter and a
// level at 1 ms, with a response probe event, a few missing samples and transitions.
func largeResult(n int) *Result {
	sc := &scenario.Scenario{Probes: []scenario.Probe{
		{Name: "scan_period", Kind: scenario.ProbeScanPeriod, Counter: "ScanCount", Tolerance: scenario.Tolerance{Relative: 0.02}},
		{Name: "alarm_response", Kind: scenario.ProbeResponse, From: "fill", Tolerance: scenario.Tolerance{Absolute: 0.25}},
		{Name: "round_trip", Kind: scenario.ProbeRoundTrip, Tolerance: scenario.Tolerance{Absolute: 0.005}},
	}}
	res := &Result{Scenario: &Loaded{Scenario: sc}}
	r := rand.New(rand.NewPCG(3, 4))
	for side, scan := range []float64{10, 10.5} {
		tr := &trace.Trace{Run: trace.Run{ID: int64(side + 1), Period: time.Millisecond, Tags: []string{"ScanCount", "Level", "AlarmHigh"}, Status: trace.Completed}}
		tr.Samples = make([]trace.Sample, 0, 3*n)
		alarm := 0.0
		tr.Events = append(tr.Events, trace.Event{T: 0, Kind: trace.EvMark, Msg: "fill"})
		for slot := range int64(n) {
			late := int64(r.IntN(20_000))
			ts := slot*int64(time.Millisecond) + late + 50_000 + int64(r.IntN(10_000))
			q := driver.Good
			if slot%100_000 == 99_999 {
				q = driver.Missing
			}
			if slot%5000 == 0 {
				alarm = 1 - alarm
				tr.Events = append(tr.Events, trace.Event{T: ts, Kind: trace.EvTransition, Tag: "AlarmHigh", Value: []string{"false", "true"}[int(alarm)]})
			}
			for tag, v := range []float64{math.Floor(float64(ts) / (scan * 1e6)), 50 + 10*math.Sin(float64(slot)/1e4), alarm} {
				s := trace.Sample{Slot: slot, Tag: uint16(tag), T: ts, Late: late, Quality: q, Value: v}
				if q != driver.Good {
					s.Value = math.NaN()
				}
				tr.Samples = append(tr.Samples, s)
			}
		}
		tr.Events = append(tr.Events, trace.Event{T: int64(n) * 500_000, Kind: "probe", Tag: "alarm_response", Value: "12.5"})
		if side == 0 {
			res.Before = append(res.Before, tr)
		} else {
			res.After = append(res.After, tr)
		}
	}
	return res
}

// BenchmarkTiming2x1M builds every timing probe's values and 200-bin histogram from a
// before and an after run of 1M sampling slots (3M samples) each.
func BenchmarkTiming2x1M(b *testing.B) {
	res := largeResult(1_000_000)
	b.ReportAllocs()
	for b.Loop() {
		tps := res.Timing()
		for _, p := range tps {
			p.Histogram(200)
		}
		if len(tps) != 4 || len(tps[2].Before) < 990_000 {
			b.Fatalf("%d probes, %d round trips", len(tps), len(tps[2].Before))
		}
	}
}

// BenchmarkHistogram2x1M bins 2 x 1M values (the part redone when the plot is resized).
func BenchmarkHistogram2x1M(b *testing.B) {
	res := largeResult(1_000_000)
	rt := res.Timing()[2]
	b.ReportAllocs()
	for b.Loop() {
		if h := rt.Histogram(200); h.N[0] < 990_000 {
			b.Fatal(h.N)
		}
	}
}

// TestPooledQuantile: the quantiles of two sorted samples pooled equal those of the merged
// sample.
func TestPooledQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, sizes := range [][2]int{{0, 1}, {1, 0}, {1, 1}, {2, 7}, {50, 3}, {1000, 1000}, {0, 999}, {13, 0}} {
		a, b := make([]float64, sizes[0]), make([]float64, sizes[1])
		for i := range a {
			a[i] = float64(r.IntN(20))
		}
		for i := range b {
			b[i] = float64(r.IntN(20)) + 0.5
		}
		slices.Sort(a)
		slices.Sort(b)
		merged := append(slices.Clone(a), b...)
		slices.Sort(merged)
		pq := pooledQuantile{a, b}
		for k := range merged {
			if got := pq.at(k); got != merged[k] {
				t.Fatalf("sizes %v: at(%d) = %v, want %v", sizes, k, got, merged[k])
			}
		}
		for _, q := range []float64{0, 0.25, 0.5, 0.75, 0.99, 1} {
			if got, want := pq.quantile(q), compare.Quantile(merged, q); got != want {
				t.Errorf("sizes %v: quantile(%v) = %v, want %v", sizes, q, got, want)
			}
		}
	}
}
