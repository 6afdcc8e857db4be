package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"
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
//   - scan_period: decided by the bounds of each side's period, not by the rules above
//     (scanPeriod, periodBound): one run per side decides it when its counter bounds the
//     period finely enough. Its values for the distribution (histograms, Mann-Whitney, KS, as
//     information) are segments of continuous good counter samples of at least
//     W = 3 * (period + round trip p99) / (tol / period), each giving Σ Δt / Σ Δcount.
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
		case scenario.ProbeLoad:
			loadProbe(&c, p, before, after)
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

// counterRead is one good reading of the cycle counter: when (the middle of its read, in
// seconds), the count, and how far the moment the controller latched it may lie from that
// time stamp (half the read's round trip; a sampling period for a subscription, whose value
// may be as old as that).
type counterRead struct{ t, c, e float64 }

// counterPieces returns a run's pieces of consecutive good counter readings after its origin,
// broken at resets, holes and missed slots (a piece holds at least two readings).
func counterPieces(r *runData, tag string) [][]counterRead {
	ti, ok := r.tagIx[tag]
	if !ok {
		return nil
	}
	period := int64(r.tr.Run.Period)
	subscribed := r.tr.Run.Meta["sampling"] == "subscription"
	var pieces [][]counterRead
	// one backing array for the run's pieces: at most one reading per sample of the counter
	buf := make([]counterRead, 0, len(r.tr.Samples)/max(1, len(r.tr.Run.Tags)))
	start := 0
	var pSlot int64
	flush := func() {
		if len(buf)-start >= 2 {
			pieces = append(pieces, buf[start:len(buf):len(buf)])
			start = len(buf)
		}
		buf = buf[:start]
	}
	for i := range r.tr.Samples {
		s := &r.tr.Samples[i]
		if int(s.Tag) != ti || s.T < r.origin {
			continue
		}
		if s.Quality != driver.Good || math.IsNaN(s.Value) {
			flush()
			continue
		}
		t, e := float64(s.T), 0.0
		if period > 0 {
			issued := s.Slot*period + s.Late
			t = (float64(issued) + float64(s.T)) / 2
			e = math.Max(0, float64(s.T-issued)/2)
			if subscribed {
				e = float64(period)
			}
		}
		rd := counterRead{t / 1e9, s.Value, e / 1e9}
		if n := len(buf); n > start {
			if p := buf[n-1]; s.Slot != pSlot+1 || rd.c < p.c || rd.t <= p.t {
				flush() // a hole, a missed slot, a counter reset
			}
		}
		buf = append(buf, rd)
		pSlot = s.Slot
	}
	flush()
	return pieces
}

// intervals are the consecutive intervals of the pieces' readings.
func intervals(pieces [][]counterRead) [][]interval {
	out := make([][]interval, len(pieces))
	for k, p := range pieces {
		ivs := make([]interval, len(p)-1)
		for i := 1; i < len(p); i++ {
			ivs[i-1] = interval{p[i].t - p[i-1].t, p[i].c - p[i-1].c}
		}
		out[k] = ivs
	}
	return out
}

// periodBound is the scan period of one side from its counter readings, with the interval
// that bounds it (docs/architecture.md, "Scan period from one run"). Over a piece of
// consecutive readings, the controller ran between Δc-1 and Δc+1 scans in a time that is
// Δt give or take the two end readings' time-stamp uncertainty (half a read's round trip).
// Pooled over the pieces used, the period lies in
//
//	[(ΣΔt - ΣE) / (ΣΔc + k), (ΣΔt + ΣE) / (ΣΔc - k)]
//
// for k pieces, whatever the scan-to-scan jitter: the bound holds for the mean period the
// controller actually ran over the run. Each piece's ends are the readings of smallest
// round trip among its first and last twentieth, and pieces too short to narrow the interval
// are left out (each costs a count of ±1).
type periodBound struct {
	est, lo, hi float64 // seconds; hi is +Inf when the counts cannot bound it
	scans       float64 // ΣΔc
	span        float64 // ΣΔt, seconds of counter readings
	pieces      int
}

func boundPeriod(pieces [][]counterRead) periodBound {
	type part struct{ dt, dc, e float64 }
	var parts []part
	for _, p := range pieces {
		k := max(1, len(p)/20)
		a, b := 0, len(p)-1
		for i := 1; i < k && i < len(p); i++ {
			if p[i].e < p[a].e {
				a = i
			}
			if j := len(p) - 1 - i; j > a && p[j].e < p[b].e {
				b = j
			}
		}
		if b <= a || p[b].c <= p[a].c {
			continue
		}
		parts = append(parts, part{p[b].t - p[a].t, p[b].c - p[a].c, p[a].e + p[b].e})
	}
	slices.SortFunc(parts, func(x, y part) int { return cmp.Compare(y.dc, x.dc) })
	pb := periodBound{hi: math.Inf(1)}
	var T, C, E float64
	width := math.Inf(1)
	for i, p := range parts {
		t, c, e := T+p.dt, C+p.dc, E+p.e
		k := float64(i + 1)
		if c <= k {
			continue
		}
		lo, hi := (t-e)/(c+k), (t+e)/(c-k)
		w := (hi - lo) / (t / c)
		if w >= width {
			break // longer pieces first: a shorter one no longer narrows it
		}
		T, C, E, width = t, c, e, w
		pb = periodBound{est: T / C, lo: lo, hi: hi, scans: C, span: T, pieces: i + 1}
	}
	return pb
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
// advancing good samples of the counter (no values then). The segments are what the
// histograms show and what Mann-Whitney compares, as information beside the bound.
func scanSegments(p scenario.Probe, before, after []*runData, cal verdict.Calibration) (xs, ys []float64, w, pooled float64, ok bool) {
	return segmentsOf(p, sidePieces(p, before), sidePieces(p, after), before, after, cal)
}

// sidePieces are the counter pieces of one side's runs.
func sidePieces(p scenario.Probe, runs []*runData) [][]counterRead {
	var pieces [][]counterRead
	for _, r := range runs {
		pieces = append(pieces, counterPieces(r, p.Counter)...)
	}
	return pieces
}

// segmentsOf is scanSegments from the sides' pieces.
func segmentsOf(p scenario.Probe, bpc, apc [][]counterRead, before, after []*runData, cal verdict.Calibration) (xs, ys []float64, w, pooled float64, ok bool) {
	bp, ap := intervals(bpc), intervals(apc)
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

func boundText(b periodBound) string {
	if b.scans == 0 {
		return "no advancing good counter samples"
	}
	return fmt.Sprintf("%s (%s..%s) over %.0f scans in %s, %s", fmtSec(b.est), fmtSec(b.lo), fmtSec(b.hi), b.scans, fmtSec(b.span), plural(b.pieces, "piece", "pieces"))
}

// scanPeriod decides from the bounds of the two sides' periods (periodBound): with
// tol = max(absolute, relative * before period), the change lies in
// [after.lo - before.hi, after.hi - before.lo]; fail when that lies wholly beyond +tol or
// below -tol, pass when it lies wholly within ±tol, otherwise inconclusive, saying how much
// longer the runs would have to be (the interval narrows as 1/duration). The segments'
// distribution is compared with Mann-Whitney and KS beside it, as information, when each
// side has at least minTimingN of them.
func scanPeriod(c *verdict.Criterion, p scenario.Probe, before, after []*runData, cal verdict.Calibration) {
	c.Tolerance = toleranceText(p.Tolerance)
	c.Expected = fmt.Sprintf("scan period (from %s) within %s of before", p.Counter, c.Tolerance)
	c.Where = whereRuns(after, p.Counter)
	bpc, apc := sidePieces(p, before), sidePieces(p, after)
	bb, ab := boundPeriod(bpc), boundPeriod(apc)
	c.Numbers = map[string]float64{"before_scans": bb.scans, "after_scans": ab.scans}
	xs, ys, w, pooled, ok := segmentsOf(p, bpc, apc, before, after, cal)
	c.Before, c.After = boundText(bb), boundText(ab)
	if len(xs) > 0 {
		c.Before += "; " + sideText(summarize(xs), unitSegments)
	}
	if len(ys) > 0 {
		c.After += "; " + sideText(summarize(ys), unitSegments)
	}
	if ok {
		c.Numbers["segment_s"], c.Numbers["before_pooled"] = w, pooled
	}
	c.Numbers["before_n"], c.Numbers["after_n"] = float64(len(xs)), float64(len(ys))
	for _, side := range []struct {
		prefix string
		s      summary
	}{{"before", summarize(xs)}, {"after", summarize(ys)}} {
		if side.s.n > 0 {
			c.Numbers[side.prefix+"_min"], c.Numbers[side.prefix+"_p50"], c.Numbers[side.prefix+"_p90"] = side.s.min, side.s.p50, side.s.p90
			c.Numbers[side.prefix+"_p99"], c.Numbers[side.prefix+"_max"] = side.s.p99, side.s.max
		}
	}
	switch {
	case bb.scans == 0:
		c.Status, c.Needed = verdict.StatusUndecided, 2
		c.Reason = fmt.Sprintf("no advancing good samples of the counter %s before the patch", p.Counter)
		return
	case ab.scans == 0:
		c.Status, c.Needed = verdict.StatusUndecided, 2
		c.Reason = fmt.Sprintf("no advancing good samples of the counter %s after the patch", p.Counter)
		return
	}
	tol := probeTol(p.Tolerance, bb.est)
	disp := tolDisplay{relative: p.Tolerance.Relative*bb.est >= p.Tolerance.Absolute, base: bb.est}
	d := ab.est - bb.est
	lo, hi := ab.lo-bb.hi, ab.hi-bb.lo
	for k, v := range map[string]float64{
		"before_period": bb.est, "before_lo": bb.lo, "before_hi": bb.hi,
		"after_period": ab.est, "after_lo": ab.lo, "after_hi": ab.hi,
		"tolerance": tol, "median_diff": d, "shift": d, "ci_low": lo, "ci_high": hi,
	} {
		if !math.IsInf(v, 0) {
			c.Numbers[k] = v
		}
	}
	c.Expected = fmt.Sprintf("scan period (from %s) within ±%s of before (%s)", p.Counter, fmtSec(tol), c.Tolerance)
	head := fmt.Sprintf("period %s vs %s, %s", fmtSec(ab.est), fmtSec(bb.est), disp.diff(d))
	bounds := fmt.Sprintf("bounds of the change %s..%s from ±1 count and the reads' time stamps", disp.diff(lo), disp.diff(hi))
	if len(xs) >= minTimingN && len(ys) >= minTimingN {
		mw := mannWhitney(xs, ys)
		c.Numbers["mw_u"], c.Numbers["mw_p"], c.Numbers["effect_r"], c.Numbers["ks_d"] = mw.u, mw.p, mw.r, mw.ks
		bounds += fmt.Sprintf("; %d vs %d segments of %s, Mann-Whitney p%s", len(xs), len(ys), fmtSec(w), fmtP(mw.p))
	} else if ok {
		bounds += fmt.Sprintf("; %d vs %d segments of %s, too few for Mann-Whitney (%d per side)", len(xs), len(ys), fmtSec(w), minTimingN)
	}
	switch {
	case lo > tol || hi < -tol:
		c.Status = verdict.Fail
		c.Reason = fmt.Sprintf("%s > %s tolerance (%s)", head, disp.mag(tol), bounds)
	case lo >= -tol && hi <= tol:
		c.Status = verdict.Pass
		c.Reason = fmt.Sprintf("%s within %s tolerance (%s)", head, disp.mag(tol), bounds)
	default:
		c.Status = verdict.StatusUndecided
		c.Reason = fmt.Sprintf("%s: the %s straddle the %s tolerance", head, bounds, disp.mag(tol))
		half := (hi - lo) / 2
		if margin := tol - math.Abs(d); margin > 0 && !math.IsInf(half, 0) {
			f := half / margin // the interval narrows as 1/duration
			need := f * math.Max(bb.span, ab.span)
			c.Reason += fmt.Sprintf("; runs of about %s of counter samples per side would decide it", fmtSec(need))
			c.Needed = int(math.Ceil(f * float64(max(len(before), len(after)))))
		}
	}
}

func whereRuns(runs []*runData, tag string) *verdict.Where {
	if len(runs) == 0 {
		return nil
	}
	return runs[0].where(tag, 0, runs[0].end)
}

// responseValues returns the probe's values of the runs, the runs that reached the probe's
// mark, completed, and never saw the condition, and the values left out because their clock
// ran across a hole in the condition's data (holes.go), as text.
func responseValues(p scenario.Probe, runs []*runData) ([]float64, []*runData, []string) {
	var vals []float64
	var none []*runData
	var spanned []string
	var tags []string
	if p.Until != nil {
		tags = p.Until.Tags
	}
	for _, r := range runs {
		marked, got := false, false
		var markT int64
		for _, e := range r.tr.Events {
			switch {
			case e.Kind == trace.EvMark && e.Msg == p.From:
				marked, markT = true, e.T
			case e.Kind == "probe" && e.Tag == p.Name:
				if v, err := strconv.ParseFloat(e.Value, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
					got = true
					if hs := r.holesIn(tags, markT, e.T, 0); len(hs) > 0 && r.holes != nil {
						spanned = append(spanned, fmt.Sprintf("%s (%s)", hs[0], r.label))
						continue
					}
					vals = append(vals, v)
				}
			}
		}
		if marked && !got && r.tr.Run.Status == trace.Completed {
			none = append(none, r)
		}
	}
	sortFloats(vals)
	return vals, none, spanned
}

func response(c *verdict.Criterion, p scenario.Probe, before, after []*runData, cal verdict.Calibration) {
	xs, bNone, bSpanned := responseValues(p, before)
	ys, aNone, aSpanned := responseValues(p, after)
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
	if sp := append(bSpanned, aSpanned...); len(sp) > 0 {
		c.Numbers["spanned_gap"] = float64(len(sp))
		c.Reason += fmt.Sprintf("; %s left out, their clock ran across a gap in the data: %s", plural(len(sp), "value", "values"), listMax(sp, 2))
		if c.Status == verdict.StatusUndecided {
			c.Numbers[gapVoided] = 1
		}
	}
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
			if answered && s.T >= r.origin {
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
