package workspace

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The Compare view's timing histograms: for each timing probe of the scenario, the values
// its criterion compares, before and after, recomputed from the traces exactly as
// harness/compare computes them (that package keeps them to itself; TestTimingMatchesCriteria
// pins the two together), and binned on bins shared by both sides.

// KindLateness is the harness's own sampling lateness, shown beside the probes: it is what
// makes a timing criterion inconclusive when it is larger than the tolerance.
const KindLateness scenario.ProbeKind = "lateness"

// segmentFactor is harness/compare's: a scan-period segment is long enough that its
// resolution is a third of the tolerance.
const segmentFactor = 3

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
func Median(sorted []float64) float64 { return Quantile(sorted, 0.5) }

// Quantile is the linearly interpolated quantile of sorted data (type 7, as harness/compare
// and R use; gonum's LinInterp puts the median of {1, 2} at 1). NaN for no data.
func Quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := p * float64(n-1)
	i := int(math.Floor(h))
	if i >= n-1 {
		return sorted[n-1]
	}
	return sorted[i] + (h-float64(i))*(sorted[i+1]-sorted[i])
}

// Timing gives the timing measurements of res: one per probe of its scenario, in the
// scenario's order, then the harness's sampling lateness.
func (res *Result) Timing() []TimingProbe {
	if res == nil {
		return nil
	}
	var probes []scenario.Probe
	if res.Scenario != nil && res.Scenario.Scenario != nil {
		probes = res.Scenario.Probes
	}
	crit := map[string]verdict.Criterion{}
	for _, c := range res.Record.Criteria {
		crit[c.ID] = c
	}
	simulated := res.Record.TimeMode == "simulated"
	out := make([]TimingProbe, 0, len(probes)+1)
	for _, p := range probes {
		out = append(out, probeValues(p, res.Before, res.After, crit["timing:"+p.Name], res.Record.Calibration, simulated))
	}
	lat := TimingProbe{Name: "sampling lateness", Kind: KindLateness, Unit: "slots",
		Before: lateness(res.Before), After: lateness(res.After),
		Note: "the harness's own noise: how late each sampling slot's read was issued"}
	if simulated {
		lat.Note += "; on simulated time it is 0"
	}
	out = append(out, lat)
	var all [][]float64
	for _, tp := range out {
		all = append(all, tp.Before, tp.After)
	}
	sortAll(all...)
	for i, p := range probes {
		if tp := &out[i]; len(tp.Before) > 0 {
			tp.Tolerance = max(p.Tolerance.Absolute, p.Tolerance.Relative*math.Abs(Median(tp.Before)))
		}
	}
	return out
}

// probeValues gives the values of probe p, not yet sorted, and no tolerance.
func probeValues(p scenario.Probe, before, after []*trace.Trace, c verdict.Criterion, cal verdict.Calibration, simulated bool) TimingProbe {
	tp := TimingProbe{Name: p.Name, Kind: p.Kind}
	switch p.Kind {
	case scenario.ProbeScanPeriod:
		tp.Unit = "segments"
		bp, ap := counterPieces(before, p.Counter), counterPieces(after, p.Counter)
		w := c.Numbers["segment_s"]
		if w <= 0 {
			w = segmentLength(bp, p.Tolerance, cal, append(slices.Clone(before), after...))
		}
		if w > 0 {
			tp.Before, tp.After = segments(bp, w), segments(ap, w)
		}
		tp.Note = fmt.Sprintf("scan period of %s, one value per %s of continuous good counter samples", p.Counter, fmtSeconds(w))
	case scenario.ProbeResponse:
		tp.Unit = "runs"
		tp.Before, tp.NoValue[0] = responses(p, before)
		tp.After, tp.NoValue[1] = responses(p, after)
		tp.Note = fmt.Sprintf("one value per run: from mark %q until %s", p.From, condText(p.Until))
	case scenario.ProbeRoundTrip:
		tp.Unit = "reads"
		tp.Before, tp.After = roundTrips(before), roundTrips(after)
		tp.Note = "one value per answered sampling slot; runs sampled by subscription issue no reads"
		if simulated {
			tp.Note += "; on simulated time it is 0"
		}
	default:
		tp.Note = "unknown probe kind " + string(p.Kind)
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

// forEachSlot calls f once per sampling slot with the slot's first answered sample (else its
// first sample); answered reports whether any sample of the slot is not Missing. The runner
// writes the samples of a slot together.
func forEachSlot(tr *trace.Trace, f func(s trace.Sample, answered bool)) {
	ss := tr.Samples
	for i := 0; i < len(ss); {
		j, pick, answered := i, i, false
		for j < len(ss) && ss[j].Slot == ss[i].Slot {
			if !answered && ss[j].Quality != driver.Missing {
				answered, pick = true, j
			}
			j++
		}
		f(ss[pick], answered)
		i = j
	}
}

// roundTrips: T - intended time - lateness of each answered slot's read.
func roundTrips(runs []*trace.Trace) []float64 {
	out := make([]float64, 0, slotsOf(runs))
	for _, tr := range runs {
		if tr == nil || tr.Run.Meta["sampling"] == "subscription" {
			continue
		}
		period := int64(tr.Run.Period)
		forEachSlot(tr, func(s trace.Sample, answered bool) {
			if answered {
				out = append(out, float64(s.T-s.Slot*period-s.Late)/1e9)
			}
		})
	}
	return out
}

// lateness of every sampling slot.
func lateness(runs []*trace.Trace) []float64 {
	out := make([]float64, 0, slotsOf(runs))
	for _, tr := range runs {
		if tr == nil {
			continue
		}
		forEachSlot(tr, func(s trace.Sample, _ bool) { out = append(out, float64(s.Late)/1e9) })
	}
	return out
}

// slotsOf estimates the sampling slots of runs, for a slice's capacity.
func slotsOf(runs []*trace.Trace) int {
	n := 0
	for _, tr := range runs {
		if tr != nil {
			n += len(tr.Samples) / max(1, len(tr.Run.Tags))
		}
	}
	return n
}

// responses: the probe events' values, and the runs that reached the probe's mark,
// completed, and never saw the condition.
func responses(p scenario.Probe, runs []*trace.Trace) (vals []float64, none int) {
	for _, tr := range runs {
		if tr == nil {
			continue
		}
		marked, got := false, false
		for _, e := range tr.Events {
			switch {
			case e.Kind == trace.EvMark && e.Msg == p.From:
				marked = true
			case e.Kind == "probe" && e.Tag == p.Name:
				if v, err := strconv.ParseFloat(e.Value, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					vals = append(vals, v)
					got = true
				}
			}
		}
		if marked && !got && tr.Run.Status == trace.Completed {
			none++
		}
	}
	return vals, none
}

type interval struct{ dt, dc float64 } // seconds, counts

// counterPieces returns the runs' runs of consecutive counter intervals, broken at counter
// resets, gaps and missed slots. A sample is time stamped at the middle of its read.
func counterPieces(runs []*trace.Trace, tag string) [][]interval {
	var pieces [][]interval
	for _, tr := range runs {
		if tr == nil {
			continue
		}
		ti := slices.Index(tr.Run.Tags, tag)
		if ti < 0 {
			continue
		}
		period := int64(tr.Run.Period)
		// one backing array for the run's pieces (one interval per sample of the counter)
		buf := make([]interval, 0, len(tr.Samples)/max(1, len(tr.Run.Tags)))
		start := 0
		havePrev := false
		var pSlot int64
		var pT, pC float64
		flush := func() {
			if len(buf) > start {
				pieces = append(pieces, buf[start:len(buf):len(buf)])
			}
			start = len(buf)
		}
		for i := range tr.Samples {
			s := &tr.Samples[i]
			if int(s.Tag) != ti {
				continue
			}
			if s.Quality != driver.Good || math.IsNaN(s.Value) {
				havePrev = false
				flush()
				continue
			}
			t := float64(s.T)
			if period > 0 {
				t = (float64(s.Slot*period+s.Late) + float64(s.T)) / 2
			}
			t /= 1e9
			if havePrev {
				if s.Slot != pSlot+1 || s.Value < pC || t <= pT {
					flush()
				} else {
					buf = append(buf, interval{t - pT, s.Value - pC})
				}
			}
			havePrev, pSlot, pT, pC = true, s.Slot, t, s.Value
		}
		flush()
	}
	return pieces
}

// segmentLength is harness/compare's segment length when the criterion does not carry it:
// 3 x (pooled before period + round trip p99) / (tolerance / pooled period), at least a
// sampling period.
func segmentLength(before [][]interval, tol scenario.Tolerance, cal verdict.Calibration, runs []*trace.Trace) float64 {
	var sdt, sdc float64
	for _, p := range before {
		for _, iv := range p {
			sdt += iv.dt
			sdc += iv.dc
		}
	}
	if sdc == 0 {
		return 0
	}
	pooled := sdt / sdc
	t := max(tol.Absolute, tol.Relative*math.Abs(pooled))
	if t <= 0 {
		return 0
	}
	w := segmentFactor * (pooled + cal.RoundTripP99Us/1e6) / (t / pooled)
	for _, r := range runs {
		if r != nil {
			w = max(w, r.Run.Period.Seconds())
		}
	}
	return w
}

// segments pools each piece into floor(D/w) segments of equal duration and returns each
// segment's period.
func segments(pieces [][]interval, w float64) []float64 {
	var out []float64
	for _, p := range pieces {
		var d float64
		for _, iv := range p {
			d += iv.dt
		}
		k := int(math.Floor(d / w))
		if k < 1 {
			continue
		}
		var sdt, sdc, acc float64
		g := 1
		for i, iv := range p {
			sdt += iv.dt
			sdc += iv.dc
			acc += iv.dt
			if acc >= float64(g)*d/float64(k) || i == len(p)-1 {
				out = append(out, sdt/math.Max(sdc, 1))
				sdt, sdc = 0, 0
				g++
				if g > k {
					break
				}
			}
		}
	}
	return out
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

// quantile is Quantile of the pooled values.
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

// sortAll sorts each of xs, several at a time.
func sortAll(xs ...[]float64) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for _, x := range xs {
		wg.Go(func() {
			sem <- struct{}{}
			sortFloats(x)
			<-sem
		})
	}
	wg.Wait()
}

// sortFloats sorts xs (no NaN) in increasing order. Long slices (the round trips and
// lateness of every slot of a long run) are radix sorted on their IEEE 754 bits, 16 bits a
// pass: O(n), several times faster than slices.Sort on a million values.
func sortFloats(xs []float64) {
	const radixFrom = 1 << 12
	if len(xs) < radixFrom {
		slices.Sort(xs)
		return
	}
	// order-preserving keys: flip every bit of a negative value, the sign bit of the others
	keys, tmp := make([]uint64, len(xs)), make([]uint64, len(xs))
	for i, x := range xs {
		b := math.Float64bits(x)
		if b>>63 == 1 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	count := make([]int, 1<<16)
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count)
		for _, k := range keys {
			count[k>>shift&0xffff]++
		}
		if count[keys[0]>>shift&0xffff] == len(keys) {
			continue // every key has this digit
		}
		sum := 0
		for d, c := range count {
			count[d], sum = sum, sum+c
		}
		for _, k := range keys {
			d := k >> shift & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		if k>>63 == 1 {
			k &^= 1 << 63
		} else {
			k = ^k
		}
		xs[i] = math.Float64frombits(k)
	}
}
