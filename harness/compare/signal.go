package compare

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"

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
	var buf scratch
	for _, tag := range tags {
		out = append(out, signalCriterion(sc, &buf, tag, sc.Tolerances[tag], before, after, al))
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

func signalCriterion(sc *scenario.Scenario, buf *scratch, tag string, tol scenario.Tolerance, before, after []*runData, al [][]alignment) verdict.Criterion {
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
	worstIdx := -1
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
		res := compareSignal(buf, as, bss, maps, tol.Absolute, tol.Relative, int64(tol.Shift), slack)
		if res.worstExcess > total.worstExcess || (worstRun == nil && res.outside > 0) {
			worstRun, worstIdx = a, i
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
		// the envelope there, and where that is on the first before run's clock (Frame)
		c.Numbers["worst_lo"], c.Numbers["worst_hi"], c.Numbers["worst_tolerance"] = total.worstLo, total.worstHi, total.worstTol
		c.Numbers["worst_t_before_s"] = float64(al[worstIdx][0].at(total.worstT)) / 1e9
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
	if c.Where == nil {
		c.Where = after[0].where(tag, 0, after[0].last)
	}
	voidSignal(&c, tag, tol, before, after, al, worstIdx, total.worstT)
	return c
}

// voidSignal leaves a signal undecided when a hole in the data longer than the tag's allowed
// shift could change its judgement (holes.go): in an after run an excursion could hide in
// it, so a pass is not known; in a before run the envelope is not known there, so a failure
// whose worst point maps into it is not known. A failure elsewhere stands.
func voidSignal(c *verdict.Criterion, tag string, tol scenario.Tolerance, before, after []*runData, al [][]alignment, worstIdx int, worstT int64) {
	shift := int64(tol.Shift)
	switch c.Status {
	case verdict.Pass:
		for _, a := range after {
			for _, h := range a.holesIn([]string{tag}, a.origin, a.end, 0) {
				if h.span(int64(a.tr.Run.Period)) > shift {
					void(c, fmt.Sprintf("a gap of %s (%s) is longer than the allowed shift of %s: an excursion could hide in it", h, a.label, tol.Shift))
					return
				}
			}
		}
	case verdict.Fail:
		if worstIdx < 0 {
			return
		}
		for j, b := range before {
			tb := al[worstIdx][j].at(worstT)
			slack := shift + int64(b.tr.Run.Period)
			for _, h := range b.holesIn([]string{tag}, tb, tb, slack) {
				if h.span(int64(b.tr.Run.Period)) > shift {
					void(c, fmt.Sprintf("the worst point maps into a gap of %s (%s) longer than the allowed shift of %s: the before envelope there is not known", h, b.label, tol.Shift))
					return
				}
			}
		}
	}
}

// rangeText is "min..max" of a tag over a side's good samples.
func rangeText(runs []*runData, tag string) string {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, r := range runs {
		if s, _ := r.tagSeries(tag); len(s.v) > 0 {
			lo, hi = min(lo, s.min), max(hi, s.max)
			n += len(s.v)
		}
	}
	if n == 0 {
		return "no good samples"
	}
	return fmt.Sprintf("%s..%s (%d samples)", fmtVal(lo), fmtVal(hi), n)
}

// alignment maps the times of an after run onto a before run, piecewise linearly through the
// runs' origins (the first step after the setup: however long each setup took, behaviour is
// compared from there) and the starts of the later steps both recorded; after the last
// common step, one to one.
type alignment struct {
	a, b  []int64   // anchor times, both strictly increasing; a[0], b[0]: the runs' origins
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
	al := alignment{a: []int64{a.origin}, b: []int64{b.origin}}
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
	return al.piece(max(k, 0), t)
}

// piece maps t by the piece that starts at anchor k (as envelope does).
func (al alignment) piece(k int, t int64) int64 {
	if sl := al.slope[k]; sl != 1 {
		return al.b[k] + int64(float64(t-al.a[k])*sl)
	}
	return al.b[k] + (t - al.a[k])
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
	s.maxDist = max(s.maxDist, o.maxDist)
	if o.outside > 0 && (s.outside == o.outside || o.worstExcess > s.worstExcess) {
		s.worstExcess, s.worstV, s.worstLo, s.worstHi, s.worstTol, s.worstT = o.worstExcess, o.worstV, o.worstLo, o.worstHi, o.worstTol, o.worstT
	}
}

// Long signals are compared in parallel parts (one per CPU, up to maxParts): the after
// series is cut into consecutive pieces, each slides its own window, and the results are
// merged in order, which gives exactly the result of one pass.
const (
	parallelMin = 1 << 16 // after samples below which one pass is faster
	maxParts    = 8
)

// scratch holds the buffers of signal comparison, one set per part, reused across tags and
// runs.
type scratch struct {
	parts []*part
}

// part is the buffers of one part.
type part struct {
	lo, hi  [block]float64 // the envelope of a block of after samples
	sliders []slider       // one per before run
}

// block is how many after samples are enveloped before they are judged: the envelope stays
// in the cache.
const block = 1024

func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// compareSignal compares one after series with the envelope of the before series, each
// mapped by its alignment. slack: how far beyond a before run's first and last sample an
// after sample may fall and still be compared (a sample period, or the shift).
func compareSignal(sc *scratch, as series, bs []series, maps []alignment, abs, rel float64, shift, slack int64) signalResult {
	n := len(as.t)
	parts := 1
	if n >= parallelMin {
		parts = max(1, min(runtime.GOMAXPROCS(0), maxParts))
	}
	for len(sc.parts) < parts {
		sc.parts = append(sc.parts, &part{})
	}
	if parts == 1 {
		return sc.parts[0].compare(as, bs, maps, abs, rel, shift, slack)
	}
	res := make([]signalResult, parts)
	var wg sync.WaitGroup
	for p := range parts {
		from, to := p*n/parts, (p+1)*n/parts
		piece := series{t: as.t[from:to], v: as.v[from:to]}
		wg.Go(func() { res[p] = sc.parts[p].compare(piece, bs, maps, abs, rel, shift, slack) })
	}
	wg.Wait()
	var r signalResult
	for _, x := range res {
		r.merge(x)
	}
	return r
}

// compare is compareSignal in one pass, a block of after samples at a time: each before
// run's slider widens the block's envelope, then the block is judged.
func (w *part) compare(as series, bs []series, maps []alignment, abs, rel float64, shift, slack int64) signalResult {
	var r signalResult
	if len(as.t) == 0 {
		return r
	}
	w.sliders = grow(w.sliders, len(bs))
	for k := range bs {
		w.sliders[k].start(bs[k], maps[k], as.t[0], shift, slack)
	}
	for from := 0; from < len(as.t); from += block {
		to := min(from+block, len(as.t))
		xs, vs := as.t[from:to], as.v[from:to]
		lo, hi := w.lo[:len(xs)], w.hi[:len(xs)]
		for k := range w.sliders {
			w.sliders[k].fill(xs, lo, hi, k == 0)
		}
		for i, v := range vs {
			if mn, mx := lo[i], hi[i]; v < mn || v > mx {
				if mn > mx {
					r.uncovered++
				} else {
					r.judge(v, mn, mx, xs[i], abs, rel)
				}
			}
		}
	}
	r.compared = len(as.t) - r.uncovered
	return r
}

// judge counts an after value outside its (non-empty) envelope [mn, mx]. Values inside are
// tested inline by the callers: the common case costs no call.
func (r *signalResult) judge(v, mn, mx float64, t int64, abs, rel float64) {
	var d, tol float64
	if v < mn {
		d, tol = mn-v, max(abs, rel*math.Abs(mn))
	} else {
		d, tol = v-mx, max(abs, rel*math.Abs(mx))
	}
	r.maxDist = max(r.maxDist, d)
	if d > tol {
		r.outside++
		if ex := d - tol; r.outside == 1 || ex > r.worstExcess {
			r.worstExcess, r.worstV, r.worstLo, r.worstHi, r.worstTol, r.worstT = ex, v, mn, mx, tol, t
		}
	}
}

// slider slides a window over one before run: for each after sample, at time x mapped by
// the alignment onto the before run's clock (t), the before samples within
// [t-shift, t+shift] and the one just outside on each side. An after sample more than
// slack outside the before run has no envelope (lo > hi).
//
// Both window ends only move forward, so the window is a queue of two stacks: the front part
// [left, mid) keeps the minimum and maximum of each suffix (built in one backward pass
// whenever the front runs empty), the back part [mid, right] a running minimum and maximum.
// Every sample is pushed, rebuilt and popped once: O(after + before).
type slider struct {
	bt         []int64
	bv         []float64
	al         alignment
	shift      int64
	begin, end int64 // the before run's time, with slack
	// the window
	left, right, mid, next, base int
	backMin, backMax             float64
	smin, smax                   []float64 // of the front part, from base: as long as a window
	// the alignment's piece in use: x in [pa, nextA) maps to pb + (x-pa)*sl
	k             int
	pa, pb, nextA int64
	sl            float64
}

// start places the window where the after sample at x0 (the first of a part) needs it.
func (s *slider) start(b series, al alignment, x0 int64, shift, slack int64) {
	s.bt, s.bv, s.al, s.shift = b.t, b.v, al, shift
	nb := len(b.t)
	s.begin, s.end = 1, 0 // empty: nothing is covered
	if nb > 0 {
		s.begin, s.end = b.t[0]-slack, b.t[nb-1]+slack
	}
	s.k = max(0, sort.Search(len(al.a), func(j int) bool { return al.a[j] > x0 })-1)
	s.piece()
	t0 := al.piece(s.k, x0)
	s.left = max(0, sort.Search(nb, func(j int) bool { return b.t[j] > t0-shift })-1)
	s.right, s.mid, s.next, s.base = s.left, s.left, s.left, s.left
	s.backMin, s.backMax = math.Inf(1), math.Inf(-1)
}

func (s *slider) piece() {
	s.pa, s.pb, s.sl = s.al.a[s.k], s.al.b[s.k], s.al.slope[s.k]
	s.nextA = math.MaxInt64
	if s.k+1 < len(s.al.a) {
		s.nextA = s.al.a[s.k+1]
	}
}

// fill sets (first) or widens lo[i], hi[i] with the window of after sample xs[i]. The state
// lives in locals for the loop: this is the hot loop of a long signal.
func (s *slider) fill(xs []int64, lo, hi []float64, first bool) {
	bt, bv, nb := s.bt, s.bv, len(s.bt)
	begin, end, shift := s.begin, s.end, s.shift
	left, right, mid, next, base := s.left, s.right, s.mid, s.next, s.base
	backMin, backMax := s.backMin, s.backMax
	smin, smax := s.smin, s.smax
	pa, pb, sl, nextA := s.pa, s.pb, s.sl, s.nextA
	for i, x := range xs {
		if x >= nextA {
			for s.k+1 < len(s.al.a) && s.al.a[s.k+1] <= x {
				s.k++
			}
			s.piece()
			pa, pb, sl, nextA = s.pa, s.pb, s.sl, s.nextA
		}
		t := pb + (x - pa)
		if sl != 1 {
			t = pb + int64(float64(x-pa)*sl) // to the ns below: exact enough
		}
		if t < begin || t > end {
			if first {
				lo[i], hi[i] = math.Inf(1), math.Inf(-1)
			}
			continue
		}
		L, R := t-shift, t+shift
		for left+1 < nb && bt[left+1] <= L {
			left++
		}
		right = max(right, left)
		for right < nb-1 && bt[right] < R {
			right++
		}
		// Running extremes change seldom (about ln n times in n samples): the branches below
		// predict well and, unlike min and max, do not lengthen the dependency chain.
		for ; next <= right; next++ {
			if v := bv[next]; v < backMin {
				backMin = v
			}
			if v := bv[next]; v > backMax {
				backMax = v
			}
		}
		if left >= mid {
			// the front ran empty: everything pushed from left on becomes the front
			mid, base = next, left
			smin, smax = grow(smin, mid-base), grow(smax, mid-base)
			fmin, fmax := math.Inf(1), math.Inf(-1)
			for j := mid - 1; j >= left; j-- {
				v := bv[j]
				if v < fmin {
					fmin = v
				}
				if v > fmax {
					fmax = v
				}
				smin[j-base], smax[j-base] = fmin, fmax
			}
			backMin, backMax = math.Inf(1), math.Inf(-1)
		}
		mn, mx := min(smin[left-base], backMin), max(smax[left-base], backMax)
		if first {
			lo[i], hi[i] = mn, mx
		} else {
			lo[i], hi[i] = min(lo[i], mn), max(hi[i], mx)
		}
	}
	s.left, s.right, s.mid, s.next, s.base = left, right, mid, next, base
	s.backMin, s.backMax = backMin, backMax
	s.smin, s.smax = smin, smax
}
