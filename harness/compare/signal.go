package compare

import (
	"fmt"
	"math"
	"slices"

	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/verdict"
)

// maxUncovered is the fraction of after samples that may fall outside the time the before
// runs cover before a signal that otherwise passes is inconclusive.
const maxUncovered = 0.10

// signalCriteria gives one criterion per tag with a tolerance, in tag order.
//
// Rule: every after run is aligned on every before run by their step starts (piecewise
// linear, so a slower after run is compared at the same point of the scenario). For each
// good after sample at aligned time t, the good before samples within [t-shift, t+shift],
// together with the before samples just outside it on either side (the before signal is
// only known at its samples: with shift 0 this is the band between the two before samples
// around t), give an envelope [min, max] over all before runs. The after value must lie in
// [min - tol(min), max + tol(max)], tol(x) = max(absolute, relative*|x|). Fail when any
// sample lies outside; the reason gives the worst (largest excess over the tolerance), its
// time and the fraction of samples outside. Inconclusive when nothing could be compared, or
// when more than 10 % of the after samples fall outside the time the before runs cover.
// Bools (0/1) and integers are compared the same way. Missing samples are skipped (the data
// criterion judges them).
func signalCriteria(sc *scenario.Scenario, before, after []*runData) []verdict.Criterion {
	tags := make([]string, 0, len(sc.Tolerances))
	for t := range sc.Tolerances {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	// alignments are shared by every tag
	al := make([][]alignment, len(after))
	for i, a := range after {
		al[i] = make([]alignment, len(before))
		for j, b := range before {
			al[i][j] = align(a, b)
		}
	}
	out := make([]verdict.Criterion, 0, len(tags))
	for _, tag := range tags {
		out = append(out, signalCriterion(sc, tag, sc.Tolerances[tag], before, after, al))
	}
	return out
}

func tolText(tol scenario.Tolerance) string {
	s := fmt.Sprintf("±%s", fmtVal(tol.Absolute))
	if tol.Relative > 0 {
		s = fmt.Sprintf("±max(%s, %s of before)", fmtVal(tol.Absolute), fmtPct(tol.Relative))
	}
	if tol.Shift > 0 {
		s += ", shift " + tol.Shift.String()
	}
	return s
}

func signalCriterion(sc *scenario.Scenario, tag string, tol scenario.Tolerance, before, after []*runData, al [][]alignment) verdict.Criterion {
	c := verdict.Criterion{
		ID: "signal:" + tag, Kind: verdict.KindSignal, Severity: sev(tol.Severity),
		Expected:  fmt.Sprintf("%s after within the before envelope %s", tag, tolText(tol)),
		Tolerance: tolText(tol),
	}
	if pointType(sc, tag) == point.TypeString {
		c.Status, c.Reason = verdict.StatusUndecided, "a text tag is not compared as a signal"
		return c
	}
	var bs []series
	var bPeriods []int64
	for _, b := range before {
		if s, ok := b.tagSeries(tag); ok && len(s.t) > 0 {
			bs = append(bs, s)
		}
		bPeriods = append(bPeriods, int64(b.tr.Run.Period))
	}
	c.Before = rangeText(before, tag)
	c.After = rangeText(after, tag)
	if len(bs) == 0 || len(after) == 0 {
		c.Status, c.Reason = verdict.StatusUndecided, "no good samples of "+tag+" before the patch"
		if len(after) == 0 {
			c.Reason = "no after runs"
		}
		return c
	}
	slack := int64(tol.Shift)
	for _, p := range bPeriods {
		slack = max(slack, p)
	}
	var total signalResult
	var worstRun *runData
	for i, a := range after {
		as, ok := a.tagSeries(tag)
		if !ok || len(as.t) == 0 {
			continue
		}
		var maps []alignment
		var bss []series
		for j, b := range before {
			if s, ok := b.tagSeries(tag); ok && len(s.t) > 0 {
				maps = append(maps, al[i][j])
				bss = append(bss, s)
			}
		}
		res := compareSignal(as, bss, maps, tol.Absolute, tol.Relative, int64(tol.Shift), slack)
		if res.worstExcess > total.worstExcess || (worstRun == nil && res.outside > 0) {
			worstRun = a
		}
		total.merge(res)
	}
	n := total.compared + total.uncovered
	c.Numbers = map[string]float64{
		"compared": float64(total.compared), "outside": float64(total.outside), "uncovered": float64(total.uncovered),
		"max_distance": total.maxDist,
	}
	if total.compared > 0 {
		c.Numbers["fraction_outside"] = float64(total.outside) / float64(total.compared)
	}
	switch {
	case total.outside > 0:
		c.Status = verdict.Fail
		dir := "above"
		edge := total.worstHi
		if total.worstV < total.worstLo {
			dir, edge = "below", total.worstLo
		}
		c.Reason = fmt.Sprintf("%s = %s at %s (%s), %s %s the before envelope [%s, %s], tolerance %s; %s of %d samples outside",
			tag, fmtVal(total.worstV), fmtAt(total.worstT), worstRun.label, fmtVal(math.Abs(total.worstV-edge)), dir,
			fmtVal(total.worstLo), fmtVal(total.worstHi), fmtVal(total.worstTol),
			fmtPct(float64(total.outside)/float64(total.compared)), total.compared)
		c.Numbers["worst_value"], c.Numbers["worst_t_s"] = total.worstV, float64(total.worstT)/1e9
		c.Numbers["worst_excess"] = total.worstExcess
		w := worstRun.where(tag, total.worstT-int64(tol.Shift)-int64(worstRun.tr.Run.Period), total.worstT+int64(tol.Shift)+int64(worstRun.tr.Run.Period))
		c.Where = w
	case total.compared == 0 && total.uncovered == 0:
		c.Status, c.Reason = verdict.StatusUndecided, "no good samples of "+tag+" after the patch"
	case total.compared == 0:
		c.Status, c.Reason = verdict.StatusUndecided, "no good after sample of "+tag+" falls within the time the before runs cover"
	case float64(total.uncovered) > maxUncovered*float64(n):
		c.Status = verdict.StatusUndecided
		c.Reason = fmt.Sprintf("%s of the after samples fall outside the time the before runs cover; within tolerance where compared", fmtPct(float64(total.uncovered)/float64(n)))
	default:
		c.Status = verdict.Pass
		c.Reason = fmt.Sprintf("all %d samples within the envelope and tolerance; largest distance from the before envelope %s", total.compared, fmtVal(total.maxDist))
	}
	return c
}

// rangeText is "min..max" of a tag over a side's good samples.
func rangeText(runs []*runData, tag string) string {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, r := range runs {
		s, _ := r.tagSeries(tag)
		for _, v := range s.v {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		n += len(s.v)
	}
	if n == 0 {
		return "no good samples"
	}
	return fmt.Sprintf("%s..%s (%d samples)", fmtVal(lo), fmtVal(hi), n)
}

// alignment maps the times of an after run onto a before run, piecewise linearly through the
// starts of the steps both recorded; after the last common step, one to one.
type alignment struct {
	a, b  []int64   // anchor times, both strictly increasing; a[0] = b[0] = 0
	slope []float64 // slope[k] between anchors k and k+1
}

func align(a, b *runData) alignment {
	idx := make([]int, 0, len(a.steps))
	for s := range a.steps {
		if _, ok := b.steps[s]; ok {
			idx = append(idx, s)
		}
	}
	slices.Sort(idx)
	al := alignment{a: []int64{0}, b: []int64{0}}
	for _, s := range idx {
		ta, tb := a.steps[s], b.steps[s]
		if ta > al.a[len(al.a)-1] && tb > al.b[len(al.b)-1] {
			al.a = append(al.a, ta)
			al.b = append(al.b, tb)
		}
	}
	al.slope = make([]float64, len(al.a))
	for k := 0; k+1 < len(al.a); k++ {
		al.slope[k] = float64(al.b[k+1]-al.b[k]) / float64(al.a[k+1]-al.a[k])
	}
	al.slope[len(al.a)-1] = 1
	return al
}

// at maps one time (any order; O(log anchors)).
func (al alignment) at(t int64) int64 {
	k, found := slices.BinarySearch(al.a, t)
	if !found {
		k--
	}
	k = max(k, 0)
	return al.b[k] + int64(math.Round(float64(t-al.a[k])*al.slope[k]))
}

// mapAll maps non-decreasing times into out.
func (al alignment) mapAll(t []int64, out []int64) {
	k := 0
	for i, x := range t {
		for k+1 < len(al.a) && al.a[k+1] <= x {
			k++
		}
		out[i] = al.b[k] + int64(math.Round(float64(x-al.a[k])*al.slope[k]))
	}
}

// signalResult is what comparing after samples with before envelopes found.
type signalResult struct {
	compared, outside, uncovered int
	maxDist                      float64 // largest distance of an after value from its envelope
	worstExcess                  float64 // largest distance beyond the tolerance
	worstV, worstLo, worstHi     float64
	worstTol                     float64
	worstT                       int64
}

func (s *signalResult) merge(o signalResult) {
	s.compared += o.compared
	s.outside += o.outside
	s.uncovered += o.uncovered
	s.maxDist = math.Max(s.maxDist, o.maxDist)
	if o.outside > 0 && (s.outside == o.outside || o.worstExcess > s.worstExcess) {
		s.worstExcess, s.worstV, s.worstLo, s.worstHi, s.worstTol, s.worstT = o.worstExcess, o.worstV, o.worstLo, o.worstHi, o.worstTol, o.worstT
	}
}

// compareSignal compares one after series with the envelope of the before series, each
// mapped by its alignment. slack: how far beyond a before run's first and last sample an
// after sample may fall and still be compared (a sample period, or the shift).
func compareSignal(as series, bs []series, maps []alignment, abs, rel float64, shift, slack int64) signalResult {
	n := len(as.t)
	lo := make([]float64, n)
	hi := make([]float64, n)
	for i := range lo {
		lo[i], hi[i] = math.Inf(1), math.Inf(-1)
	}
	u := make([]int64, n)
	var w window
	for k, b := range bs {
		maps[k].mapAll(as.t, u)
		w.envelope(u, b, shift, slack, lo, hi)
	}
	var r signalResult
	for i, v := range as.v {
		mn, mx := lo[i], hi[i]
		if mn > mx {
			r.uncovered++
			continue
		}
		r.compared++
		var d, tol float64
		switch {
		case v < mn:
			d, tol = mn-v, math.Max(abs, rel*math.Abs(mn))
		case v > mx:
			d, tol = v-mx, math.Max(abs, rel*math.Abs(mx))
		default:
			continue
		}
		r.maxDist = math.Max(r.maxDist, d)
		if d > tol {
			r.outside++
			if ex := d - tol; r.outside == 1 || ex > r.worstExcess {
				r.worstExcess, r.worstV, r.worstLo, r.worstHi, r.worstTol, r.worstT = ex, v, mn, mx, tol, as.t[i]
			}
		}
	}
	return r
}

// window holds the monotonic deques of a sliding minimum and maximum (reused buffers).
type window struct {
	minq, maxq []int32
}

// envelope widens lo[i], hi[i] with the min and max of the before series b over the window
// of after sample i: the samples within [u[i]-shift, u[i]+shift] and the one just outside
// on each side. Both window ends only move forward as u grows, so each before sample enters
// and leaves each deque once: O(len(u) + len(b)).
func (w *window) envelope(u []int64, b series, shift, slack int64, lo, hi []float64) {
	nb := len(b.t)
	if nb == 0 {
		return
	}
	if cap(w.minq) < nb {
		w.minq, w.maxq = make([]int32, nb), make([]int32, nb)
	}
	minq, maxq := w.minq[:nb], w.maxq[:nb]
	var mh, mt, xh, xt int // heads and tails
	first, last := b.t[0]-slack, b.t[nb-1]+slack
	left, right, pushed := 0, 0, 0 // window [left, right]; pushed: next index to enter
	bt, bv := b.t, b.v
	for i, t := range u {
		if t < first || t > last {
			continue
		}
		L, R := t-shift, t+shift
		for left+1 < nb && bt[left+1] <= L {
			left++
		}
		if right < left {
			right = left
		}
		for right < nb-1 && bt[right] < R {
			right++
		}
		for pushed <= right {
			v := bv[pushed]
			for mt > mh && bv[minq[mt-1]] >= v {
				mt--
			}
			minq[mt] = int32(pushed)
			mt++
			for xt > xh && bv[maxq[xt-1]] <= v {
				xt--
			}
			maxq[xt] = int32(pushed)
			xt++
			pushed++
		}
		for int(minq[mh]) < left {
			mh++
		}
		for int(maxq[xh]) < left {
			xh++
		}
		if m := bv[minq[mh]]; m < lo[i] {
			lo[i] = m
		}
		if m := bv[maxq[xh]]; m > hi[i] {
			hi[i] = m
		}
	}
}
