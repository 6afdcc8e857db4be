package workspace

import (
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The Compare view's timing histograms: for each timing probe of the scenario, the values
// its criterion compares, before and after, as harness/compare gives them
// (compare.TimingValues, computed by the criterion's own code), binned on bins shared by both
// sides.

// KindLateness is the harness's own sampling lateness, shown beside the probes: it is what
// makes a timing criterion inconclusive when it is larger than the tolerance.
const KindLateness scenario.ProbeKind = "lateness"

// TimingProbe is one timing measurement of a validation: the values of every before run and
// of every after run, in seconds.
type TimingProbe struct {
	Name   string             // the probe's name; its criterion is Criterion()
	Kind   scenario.ProbeKind // scan_period, response, round_trip, or KindLateness
	Unit   string             // what one value is: segments, runs, reads, slots
	Before []float64          // seconds, sorted, no NaN
	After  []float64
	// NoValue counts the runs of each side that gave no value where one was due: a response
	// probe whose run reached its mark, completed and never saw the condition.
	NoValue [2]int
	// Tolerance is the criterion's half-width around the before median, in seconds (0: none
	// or no before values).
	Tolerance float64
	Note      string // what the values are, and anything that makes them thin
}

// Criterion is the id of the probe's criterion ("" for the harness lateness).
func (p TimingProbe) Criterion() string {
	if p.Kind == KindLateness {
		return ""
	}
	return "timing:" + p.Name
}

// Median of one side (NaN when it has no values), as harness/compare computes it.
func Median(sorted []float64) float64 { return compare.Quantile(sorted, 0.5) }

// Timing gives the timing measurements of res: one per probe of its scenario, in the
// scenario's order, then the harness's sampling lateness. The probes are computed at once.
func (res *Result) Timing() []TimingProbe {
	if res == nil {
		return nil
	}
	var probes []scenario.Probe
	var sc *scenario.Scenario
	if res.Scenario != nil && res.Scenario.Scenario != nil {
		sc = res.Scenario.Scenario
		probes = sc.Probes
	}
	simulated := res.Record.TimeMode == "simulated"
	out := make([]TimingProbe, len(probes)+1)
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() { out[i] = probeValues(sc, p, res.Before, res.After, res.Record.Calibration, simulated) })
	}
	wg.Go(func() {
		lat := TimingProbe{Name: "sampling lateness", Kind: KindLateness, Unit: "slots",
			Before: compare.SamplingLateness(res.Before), After: compare.SamplingLateness(res.After),
			Note: "the harness's own noise: how late each sampling slot's read was issued"}
		if simulated {
			lat.Note += "; on simulated time it is 0"
		}
		out[len(probes)] = lat
	})
	wg.Wait()
	return out
}

// probeValues gives the values of probe p as its criterion judges them.
func probeValues(sc *scenario.Scenario, p scenario.Probe, before, after []*trace.Trace, cal verdict.Calibration, simulated bool) TimingProbe {
	tp := TimingProbe{Name: p.Name, Kind: p.Kind}
	ts, err := compare.TimingValues(sc, p, before, after, cal)
	if err != nil {
		tp.Note = err.Error()
		return tp
	}
	tp.Unit, tp.Before, tp.After, tp.NoValue, tp.Tolerance = ts.Unit, ts.Before, ts.After, ts.NoResponse, ts.Tolerance
	switch p.Kind {
	case scenario.ProbeScanPeriod:
		if ts.Segment > 0 {
			tp.Note = fmt.Sprintf("scan period of %s, one value per %s of continuous good counter samples", p.Counter, fmtSeconds(ts.Segment))
		} else {
			tp.Note = fmt.Sprintf("scan period of %s: no advancing good counter samples before the patch", p.Counter)
		}
	case scenario.ProbeResponse:
		tp.Note = fmt.Sprintf("one value per run: from mark %q until %s", p.From, condText(p.Until))
	case scenario.ProbeRoundTrip:
		tp.Note = "one value per answered sampling slot; runs sampled by subscription issue no reads"
		if simulated {
			tp.Note += "; on simulated time it is 0"
		}
	}
	return tp
}

func condText(c *scenario.Condition) string {
	if c == nil {
		return "the condition"
	}
	return c.Source
}

// fmtSeconds says a duration in seconds the way the view labels its axes.
func fmtSeconds(s float64) string {
	if s >= 1 {
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	}
	return strconv.FormatFloat(s*1e3, 'g', 3, 64) + " ms"
}

// Histogram is a timing probe's two sides on shared bins: bin i holds the values in
// [Edges[i], Edges[i+1]); values at or above the last edge are counted in Over (a long tail
// gets one bin of its own instead of squeezing the rest into one bar). Times in seconds.
type Histogram struct {
	Edges         []float64
	Before, After []int
	Over          [2]int // values >= the last edge, before and after
	N             [2]int // values per side
}

// Width is the width of one bin, in seconds.
func (h Histogram) Width() float64 {
	if len(h.Edges) < 2 {
		return 0
	}
	return h.Edges[1] - h.Edges[0]
}

// Histogram bins both sides of p on shared bins of a round width (1, 2 or 5 times a power
// of ten seconds) that cover every value. The number of bins is Freedman-Diaconis's on the
// pooled values, but no more than maxBins, and, for few values, no more than Sturges's or
// one per five values (a dozen values spread over forty bins shows noise, not a shape).
// When the top 1 % of the values spans more than three quarters of the range, the bins stop
// at the pooled p99 and the rest is counted in Over. Empty when neither side has a value.
func (p TimingProbe) Histogram(maxBins int) Histogram {
	maxBins = max(maxBins, 1)
	h := Histogram{N: [2]int{len(p.Before), len(p.After)}}
	n := len(p.Before) + len(p.After)
	if n == 0 {
		return h
	}
	pooled := pooledQuantile{p.Before, p.After}
	lo, hi := pooled.at(0), pooled.at(n-1)
	top := hi
	if p99 := pooled.quantile(0.99); p99 > lo && hi-lo > 4*(p99-lo) {
		top = p99
	}
	k := float64(maxBins)
	if fd := 2 * (pooled.quantile(0.75) - pooled.quantile(0.25)) / math.Cbrt(float64(n)); fd > 0 {
		k = min(k, math.Ceil((top-lo)/fd))
	}
	k = max(min(k, max(math.Ceil(math.Log2(float64(n)))+1, float64(n)/5)), 1)
	w := (top - lo) / k
	if w <= 0 || math.IsNaN(w) { // one value, or all alike: one bin around it
		w = max(math.Abs(lo)/10, 1e-6)
	}
	w = roundNice(w)
	var start float64
	var nb int
	for {
		start = math.Floor(lo/w) * w
		nb = int(math.Floor((top-start)/w)) + 1
		if nb <= maxBins {
			break
		}
		w = nextNice(w)
	}
	h.Edges = make([]float64, nb+1)
	for i := range h.Edges {
		h.Edges[i] = start + float64(i)*w
	}
	h.Before, h.After = make([]int, nb), make([]int, nb)
	end := h.Edges[nb]
	count := func(xs []float64, bins []int, over *int) {
		for _, x := range xs {
			if x >= end && top < hi {
				*over++
				continue
			}
			i := min(max(int((x-start)/w), 0), nb-1)
			// the edges decide, not the division's rounding
			if i > 0 && x < h.Edges[i] {
				i--
			} else if i < nb-1 && x >= h.Edges[i+1] {
				i++
			}
			bins[i]++
		}
	}
	count(p.Before, h.Before, &h.Over[0])
	count(p.After, h.After, &h.Over[1])
	return h
}

// roundNice rounds w to the nearest 1, 2 or 5 times a power of ten (on a log scale).
func roundNice(w float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(w)))
	best := e
	for _, m := range []float64{2, 5, 10} {
		if math.Abs(math.Log(m*e/w)) < math.Abs(math.Log(best/w)) {
			best = m * e
		}
	}
	return best
}

// nextNice is the next 1, 2 or 5 times a power of ten above the nice width w.
func nextNice(w float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(w)+1e-9))
	for _, m := range []float64{2, 5, 10} {
		if m*e > w*(1+1e-9) {
			return m * e
		}
	}
	return 20 * e
}

// pooledQuantile is the quantiles of two sorted samples pooled, without merging them.
type pooledQuantile struct{ a, b []float64 }

// at is the k-th smallest (0-based) of both: a binary search over how many come from a.
func (p pooledQuantile) at(k int) float64 {
	a, b := p.a, p.b
	if len(a) > len(b) {
		a, b = b, a
	}
	// i from a and k+1-i from b are the k+1 smallest
	lo, hi := max(0, k+1-len(b)), min(k+1, len(a))
	for lo < hi {
		i := int(uint(lo+hi) >> 1)
		if a[i] < b[k-i] { // a[i] is among the k+1 smallest
			lo = i + 1
		} else {
			hi = i
		}
	}
	i, j := lo, k+1-lo // the k+1 smallest are a[:i] and b[:j]
	switch {
	case i == 0:
		return b[j-1]
	case j == 0:
		return a[i-1]
	}
	return max(a[i-1], b[j-1])
}

// quantile is compare.Quantile of the pooled values (the two samples merged), for the bins:
// the same interpolation over a merged order that is never built.
func (p pooledQuantile) quantile(q float64) float64 {
	n := len(p.a) + len(p.b)
	h := q * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return p.at(n - 1)
	}
	x := p.at(i)
	return x + (h-float64(i))*(p.at(i+1)-x)
}
