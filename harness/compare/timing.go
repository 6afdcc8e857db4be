package compare

import (
	"fmt"
	"math"
	"strconv"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Timing probes are compared as distributions (docs/architecture.md#timing-as-distributions),
// in the manner of benchmath: per side n, min, p50, p90, p99 and max; the Hodges-Lehmann
// shift (after - before) with its 95 % confidence interval from the Mann-Whitney U
// distribution; the U test's two-sided p-value and its effect size (rank-biserial
// correlation); and the Kolmogorov-Smirnov distance D. All values in seconds.
//
// Decision, with tol = max(absolute, relative * before median):
//   - inconclusive when a side has fewer than minTimingN values (Needed says how many);
//   - inconclusive when the harness cannot resolve tol (per kind below);
//   - fail when the confidence interval of the shift lies wholly beyond +tol or wholly
//     below -tol (slower and faster both change the plant's timing);
//   - pass when the interval lies wholly within [-tol, +tol], even when the U test finds a
//     significant difference (the reason then says so, with the numbers);
//   - otherwise (the interval straddles a tolerance boundary) inconclusive, with an
//     estimate of the values per side that would resolve it.
//
// The values per kind:
//   - scan_period: from consecutive good samples of the cycle counter (time stamped at the
//     middle of their read, between issue and answer), leaving out intervals across a
//     counter reset (the counter went down) or a gap (slots not consecutive). One interval of
//     a 20 ms sample holds two 10 ms scans, so its Δt/Δcount is quantised far coarser than a
//     2 % tolerance; the intervals are therefore pooled into segments of at least
//     W = 3 * (period + round trip p99) / (tol / period) of continuous counter samples,
//     within which the ±1 count quantisation and the time-stamp noise (about a round trip)
//     are at most a third of the tolerance. Each segment gives one period, Σ Δt / Σ Δcount.
//     Harness noise larger than the tolerance shows as segments too long for the runs: fewer
//     than minTimingN of them is inconclusive, naming how long the runs must be. At 10 ms,
//     2 % and simulated time W = 1.5 s, six segments in a 10 s run: a +5 % regression gives
//     a shift of 0.5 ± 0.14 ms against a 0.2 ms tolerance, always detected, and an unchanged
//     period at most ±0.14 ms, always within it.
//   - response: one value per run, from the probe's events; a run that reached the probe's
//     mark, completed, and never saw the condition is "no response", which fails when the
//     before runs all responded. The harness sees a response only at a sample, so when
//     sample period + sampling jitter (p99 - p50 lateness) exceeds tol, inconclusive.
//   - round_trip: one value per answered sampling slot: T - intended time - lateness. Runs
//     sampled by subscription issue no reads and give none.
const minTimingN = 5

// What one value of each probe kind is.
const (
	unitSegments = "segments" // scan_period
	unitRuns     = "runs"     // response
	unitReads    = "reads"    // round_trip
)

// segmentFactor: a scan-period segment is long enough that its resolution is a third of the
// tolerance.
const segmentFactor = 3

func timingCriteria(sc *scenario.Scenario, before, after []*runData, cal verdict.Calibration) []verdict.Criterion {
	out := make([]verdict.Criterion, 0, len(sc.Probes))
	for _, p := range sc.Probes {
		c := verdict.Criterion{
			ID: "timing:" + p.Name, Kind: verdict.KindTiming, Severity: sev(p.Severity),
		}
		switch p.Kind {
		case scenario.ProbeScanPeriod:
			scanPeriod(&c, p, before, after, cal)
		case scenario.ProbeResponse:
			response(&c, p, before, after, cal)
		case scenario.ProbeRoundTrip:
			roundTrips(&c, p, before, after)
		default:
			c.Status, c.Reason = verdict.StatusUndecided, "unknown probe kind "+string(p.Kind)
		}
		out = append(out, c)
	}
	return out
}

// tolerance of a probe against the before median.
func probeTol(t scenario.Tolerance, median float64) float64 {
	return math.Max(t.Absolute, t.Relative*math.Abs(median))
}

// tolDisplay says a tolerance the way the scenario wrote it.
type tolDisplay struct {
	relative bool
	base     float64 // before median, for percentages
}

func (d tolDisplay) diff(v float64) string {
	if d.relative && d.base != 0 {
		return fmtSignedPct(v / d.base)
	}
	return fmtSigned(v)
}

func (d tolDisplay) mag(v float64) string {
	if d.relative && d.base != 0 {
		return fmtPct(v / d.base)
	}
	return fmtSec(v)
}

func toleranceText(t scenario.Tolerance) string {
	switch {
	case t.Absolute > 0 && t.Relative > 0:
		return fmt.Sprintf("±max(%s, %s)", fmtSec(t.Absolute), fmtPct(t.Relative))
	case t.Relative > 0:
		return "±" + fmtPct(t.Relative)
	}
	return "±" + fmtSec(t.Absolute)
}

func sideText(s summary, unit string) string {
	if s.n == 0 {
		return "no " + unit
	}
	return fmt.Sprintf("n=%d %s, median %s (min %s, p90 %s, p99 %s, max %s)", s.n, unit, fmtSec(s.p50), fmtSec(s.min), fmtSec(s.p90), fmtSec(s.p99), fmtSec(s.max))
}

// judge fills the statistics and the decision of a timing criterion from the sorted values
// of each side. resolution, when positive, is the smallest difference the harness can see.
func judge(c *verdict.Criterion, t scenario.Tolerance, xs, ys []float64, unit string, resolution float64, why string) {
	bs, as := summarize(xs), summarize(ys)
	c.Tolerance = toleranceText(t)
	c.Before, c.After = sideText(bs, unit), sideText(as, unit)
	c.Numbers = map[string]float64{"before_n": float64(bs.n), "after_n": float64(as.n)}
	put := func(prefix string, s summary) {
		if s.n == 0 {
			return
		}
		c.Numbers[prefix+"_min"], c.Numbers[prefix+"_p50"], c.Numbers[prefix+"_p90"] = s.min, s.p50, s.p90
		c.Numbers[prefix+"_p99"], c.Numbers[prefix+"_max"] = s.p99, s.max
	}
	put("before", bs)
	put("after", as)
	if bs.n == 0 || as.n == 0 || bs.n < minTimingN || as.n < minTimingN {
		c.Status = verdict.StatusUndecided
		c.Needed = minTimingN
		c.Expected = fmt.Sprintf("median within %s of before", c.Tolerance)
		c.Reason = fmt.Sprintf("too few %s for a distribution: %d before, %d after; needs at least %d per side", unit, bs.n, as.n, minTimingN)
		if why != "" {
			c.Reason += " (" + why + ")"
		}
		return
	}
	tol := probeTol(t, bs.p50)
	disp := tolDisplay{relative: t.Relative*math.Abs(bs.p50) >= t.Absolute, base: bs.p50}
	c.Expected = fmt.Sprintf("median within ±%s of before (%s)", fmtSec(tol), c.Tolerance)
	mw := mannWhitney(xs, ys)
	md := as.p50 - bs.p50
	for k, v := range map[string]float64{
		"tolerance": tol, "median_diff": md, "shift": mw.shift, "ci_low": mw.lo, "ci_high": mw.hi,
		"mw_u": mw.u, "mw_p": mw.p, "effect_r": mw.r, "ks_d": mw.ks,
	} {
		c.Numbers[k] = v
	}
	head := fmt.Sprintf("median %s vs %s, %s", fmtSec(as.p50), fmtSec(bs.p50), disp.diff(md))
	// the reason stays one short line; every statistic is in Numbers
	ci := fmt.Sprintf("95%% CI of the shift %s..%s, Mann-Whitney p%s", disp.diff(mw.lo), disp.diff(mw.hi), fmtP(mw.p))
	if resolution > 0 {
		c.Numbers["resolution"] = resolution
	}
	switch {
	case resolution > tol:
		c.Status = verdict.StatusUndecided
		c.Reason = fmt.Sprintf("the harness cannot resolve the ±%s tolerance: %s; %s", fmtSec(tol), why, head)
	case mw.lo > tol || mw.hi < -tol:
		c.Status = verdict.Fail
		c.Reason = fmt.Sprintf("%s > %s tolerance (%s)", head, disp.mag(tol), ci)
	case mw.lo >= -tol && mw.hi <= tol:
		c.Status = verdict.Pass
		c.Reason = fmt.Sprintf("%s within %s tolerance (%s)", head, disp.mag(tol), ci)
		if mw.p < 1-confidence {
			c.Reason += "; a significant difference, inside the tolerance"
		}
	default:
		c.Status = verdict.StatusUndecided
		margin := tol - math.Abs(mw.shift)
		half := (mw.hi - mw.lo) / 2
		n := max(bs.n, as.n)
		c.Reason = fmt.Sprintf("%s: the 95%% CI of the shift %s..%s straddles the %s tolerance", head, disp.diff(mw.lo), disp.diff(mw.hi), disp.mag(tol))
		if margin > 0 && half > 0 {
			need := float64(n) * (half / margin) * (half / margin)
			if need < 1e6 {
				c.Needed = int(math.Ceil(need))
				c.Reason += fmt.Sprintf("; about %d %s per side would resolve it", c.Needed, unit)
			}
		}
	}
}

func fmtP(p float64) string {
	switch {
	case math.IsNaN(p):
		return "n/a"
	case p < 0.001:
		return "<0.001"
	}
	return "=" + strconv.FormatFloat(p, 'f', 3, 64)
}

// counter intervals

type interval struct{ dt, dc float64 } // seconds, counts

// counterPieces returns a run's runs of consecutive counter intervals, broken at resets
// and gaps.
func counterPieces(r *runData, tag string) [][]interval {
	ti, ok := r.tagIx[tag]
	if !ok {
		return nil
	}
	period := int64(r.tr.Run.Period)
	var pieces [][]interval
	// one backing array for the run's pieces: at most one interval per sample of the counter
	buf := make([]interval, 0, len(r.tr.Samples)/max(1, len(r.tr.Run.Tags)))
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
	for i := range r.tr.Samples {
		s := &r.tr.Samples[i]
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
			issued := s.Slot*period + s.Late
			t = (float64(issued) + float64(s.T)) / 2
		}
		t /= 1e9
		if havePrev {
			switch {
			case s.Slot != pSlot+1 || s.Value < pC || t <= pT:
				flush() // a gap, a missed slot, a counter reset
			default:
				buf = append(buf, interval{t - pT, s.Value - pC})
			}
		}
		havePrev, pSlot, pT, pC = true, s.Slot, t, s.Value
	}
	flush()
	return pieces
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

// scanSegments returns the sorted scan-period values of each side, the segment length w
// and the pooled before period, all in seconds; ok is false when the before runs have no
// advancing good samples of the counter (no values then).
func scanSegments(p scenario.Probe, before, after []*runData, cal verdict.Calibration) (xs, ys []float64, w, pooled float64, ok bool) {
	bp := make([][]interval, 0)
	ap := make([][]interval, 0)
	for _, r := range before {
		bp = append(bp, counterPieces(r, p.Counter)...)
	}
	for _, r := range after {
		ap = append(ap, counterPieces(r, p.Counter)...)
	}
	var sdt, sdc float64
	for _, piece := range bp {
		for _, iv := range piece {
			sdt += iv.dt
			sdc += iv.dc
		}
	}
	if sdc == 0 {
		return nil, nil, 0, 0, false
	}
	pooled = sdt / sdc
	tol := probeTol(p.Tolerance, pooled)
	rt := cal.RoundTripP99Us / 1e6
	w = segmentFactor * (pooled + rt) / (tol / pooled)
	for _, r := range append(append([]*runData{}, before...), after...) {
		w = math.Max(w, r.tr.Run.Period.Seconds())
	}
	xs, ys = segments(bp, w), segments(ap, w)
	sortFloats(xs)
	sortFloats(ys)
	return xs, ys, w, pooled, true
}

func scanPeriod(c *verdict.Criterion, p scenario.Probe, before, after []*runData, cal verdict.Calibration) {
	xs, ys, w, pooled, ok := scanSegments(p, before, after, cal)
	c.Tolerance = toleranceText(p.Tolerance)
	c.Expected = fmt.Sprintf("scan period (from %s) within %s of before", p.Counter, c.Tolerance)
	if !ok {
		c.Status, c.Needed = verdict.StatusUndecided, minTimingN
		c.Reason = fmt.Sprintf("no advancing good samples of the counter %s before the patch", p.Counter)
		c.Before, c.After = "no scan period", "-"
		return
	}
	why := fmt.Sprintf("segments of %s of continuous good counter samples; runs need at least %s each side", fmtSec(w), fmtSec(w*minTimingN))
	judge(c, p.Tolerance, xs, ys, unitSegments, 0, why)
	if c.Status == verdict.StatusUndecided && c.Needed > minTimingN {
		c.Reason += fmt.Sprintf(" (runs of about %s of counter samples)", fmtSec(float64(c.Needed)*w))
	}
	c.Numbers["segment_s"] = w
	c.Numbers["before_pooled"] = pooled
	c.Where = whereRuns(after, p.Counter)
}

func whereRuns(runs []*runData, tag string) *verdict.Where {
	if len(runs) == 0 {
		return nil
	}
	return runs[0].where(tag, 0, runs[0].end)
}

// responseValues returns the probe's values of the runs, and the runs that reached the
// probe's mark, completed, and never saw the condition.
func responseValues(p scenario.Probe, runs []*runData) ([]float64, []*runData) {
	var vals []float64
	var none []*runData
	for _, r := range runs {
		marked, got := false, false
		for _, e := range r.tr.Events {
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
		if marked && !got && r.tr.Run.Status == trace.Completed {
			none = append(none, r)
		}
	}
	sortFloats(vals)
	return vals, none
}

func response(c *verdict.Criterion, p scenario.Probe, before, after []*runData, cal verdict.Calibration) {
	xs, bNone := responseValues(p, before)
	ys, aNone := responseValues(p, after)
	var period float64
	for _, r := range append(append([]*runData{}, before...), after...) {
		period = math.Max(period, r.tr.Run.Period.Seconds())
	}
	res := period + cal.JitterUs/1e6
	why := fmt.Sprintf("a response is seen only at a sample: sample period %s + sampling jitter %s", fmtSec(period), fmtSec(cal.JitterUs/1e6))
	judge(c, p.Tolerance, xs, ys, unitRuns, res, why)
	c.Expected = fmt.Sprintf("response from mark %q until %s within %s of before", p.From, condSource(p.Until), c.Tolerance)
	if len(aNone) > 0 && len(bNone) == 0 && len(xs) > 0 {
		c.Status, c.Needed = verdict.Fail, 0
		c.Reason = fmt.Sprintf("no response in %s: %s never held after mark %q (before: median %s)", aNone[0].label, condSource(p.Until), p.From, fmtSec(quantile(xs, 0.5)))
		c.Where = aNone[0].where("", 0, aNone[0].end)
	} else if len(aNone)+len(bNone) > 0 {
		c.Reason += fmt.Sprintf("; no response in %d before and %d after runs", len(bNone), len(aNone))
	}
	c.Numbers["before_no_response"] = float64(len(bNone))
	c.Numbers["after_no_response"] = float64(len(aNone))
	if c.Where == nil {
		c.Where = whereRuns(after, "")
	}
}

func condSource(c *scenario.Condition) string {
	if c == nil {
		return "the condition"
	}
	return c.Source
}

// roundTripValues returns the sorted round trips of the runs' answered sampling slots, in
// seconds, and how many runs were sampled by subscription (they issue no reads).
func roundTripValues(runs []*runData) ([]float64, int) {
	slots := 0 // at most one value per slot
	for _, r := range runs {
		if r.tr.Run.Meta["sampling"] != "subscription" {
			slots += len(r.tr.Samples) / max(1, len(r.tr.Run.Tags))
		}
	}
	out := make([]float64, 0, slots)
	subscribed := 0
	for _, r := range runs {
		if r.tr.Run.Meta["sampling"] == "subscription" {
			subscribed++
			continue
		}
		forEachSlot(r.tr, func(s trace.Sample, answered bool) {
			if answered {
				out = append(out, float64(roundTrip(r.tr, s))/1e9)
			}
		})
	}
	sortFloats(out)
	return out, subscribed
}

func roundTrips(c *verdict.Criterion, p scenario.Probe, before, after []*runData) {
	xs, bs := roundTripValues(before)
	ys, as := roundTripValues(after)
	why := ""
	if bs+as > 0 {
		why = "runs sampled by subscription issue no reads"
	}
	judge(c, p.Tolerance, xs, ys, unitReads, 0, why)
	c.Expected = "read round trip: " + c.Expected
	c.Where = whereRuns(after, "")
}
