package compare

import (
	"fmt"
	"math"
	"strconv"

	"github.com/patchgate/patchgate/harness/runner"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// A load probe (docs/architecture.md, "Load probes") is judged on two things, both of
// which a controller's communication task shows when a patch leaves it less capacity:
//   - the latency of its reads, as a distribution with judge's rules (the values are the
//     reads' latencies, counted from when each read was due);
//   - its error rate (errors, timeouts and reads never sent, per read): the 95 % interval of
//     the difference after - before (Newcombe's hybrid score interval from each side's
//     Wilson interval) against the errors the probe allows the after side to add. It fails
//     when the interval lies wholly above, passes when wholly at or below, and is
//     undecided in between, with the reads per side that would resolve it.
//
// Either failing fails the criterion; otherwise either undecided leaves it undecided.

const unitLoadReads = "load reads"

// loadValues returns the sorted latencies of probe p's reads over runs, and how many reads
// there were and how many failed.
func loadValues(p scenario.Probe, runs []*runData) (lat []float64, reads, errs int) {
	for _, r := range runs {
		for _, e := range r.tr.Events {
			if e.Kind != trace.EvLoad || e.Tag != p.Name {
				continue
			}
			switch e.Value {
			case runner.LoadStart, runner.LoadEnd:
				continue
			case runner.LoadError:
				reads++
				errs++
				continue
			}
			v, err := strconv.ParseFloat(e.Value, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			reads++
			lat = append(lat, v)
		}
	}
	sortFloats(lat)
	return lat, reads, errs
}

func loadProbe(c *verdict.Criterion, p scenario.Probe, before, after []*runData) {
	xs, bn, be := loadValues(p, before)
	ys, an, ae := loadValues(p, after)
	judge(c, p.Tolerance, xs, ys, unitLoadReads, 0, "")
	c.Expected = fmt.Sprintf("at %g reads/s for %s: read latency %s; errors at most %s more than before", p.Rate, p.For, c.Expected, fmtPct(p.Errors))
	c.Before = fmt.Sprintf("%s; %s", c.Before, errorText(be, bn))
	c.After = fmt.Sprintf("%s; %s", c.After, errorText(ae, an))
	lo, hi := newcombe(ae, an, be, bn)
	for k, v := range map[string]float64{
		"before_reads": float64(bn), "after_reads": float64(an), "before_errors": float64(be), "after_errors": float64(ae),
		"errors_allowed": p.Errors, "errors_diff_low": lo, "errors_diff_high": hi,
	} {
		c.Numbers[k] = v
	}
	latency := c.Status
	var errStatus verdict.Status
	var errReason string
	switch {
	case bn == 0 || an == 0:
		errStatus, errReason = verdict.StatusUndecided, fmt.Sprintf("no load reads: %d before, %d after", bn, an)
	case lo > p.Errors:
		errStatus = verdict.Fail
		errReason = fmt.Sprintf("errors %s vs %s before, more than %s added (95%% CI of the difference %s..%s)", fmtPct(rate(ae, an)), fmtPct(rate(be, bn)), fmtPct(p.Errors), fmtSignedPct(lo), fmtSignedPct(hi))
	case hi <= p.Errors:
		errStatus = verdict.Pass
		errReason = fmt.Sprintf("errors %s vs %s before", fmtPct(rate(ae, an)), fmtPct(rate(be, bn)))
	default:
		errStatus = verdict.StatusUndecided
		errReason = fmt.Sprintf("errors %s vs %s before: the 95%% CI of the difference %s..%s straddles the %s allowed", fmtPct(rate(ae, an)), fmtPct(rate(be, bn)), fmtSignedPct(lo), fmtSignedPct(hi), fmtPct(p.Errors))
		if need := readsToResolve(ae, an, be, bn, p.Errors); need > 0 {
			c.Needed = max(c.Needed, need)
			errReason += fmt.Sprintf("; about %d reads per side would resolve it", need)
		}
	}
	switch {
	case errStatus == verdict.Fail && latency != verdict.Fail:
		c.Status, c.Reason = verdict.Fail, errReason+"; latency: "+c.Reason
	case latency == verdict.Fail || (latency == verdict.StatusUndecided && errStatus != verdict.Fail):
		c.Reason += "; " + errReason
	default: // latency passed; errors pass or undecided
		c.Status = errStatus
		c.Reason += "; " + errReason
	}
	c.Where = whereRuns(after, "")
}

func rate(errs, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(errs) / float64(n)
}

func errorText(errs, n int) string {
	if n == 0 {
		return "no load reads"
	}
	return fmt.Sprintf("%d of %d reads failed (%s)", errs, n, fmtPct(rate(errs, n)))
}

// wilson is the 95 % Wilson score interval of x successes in n trials.
func wilson(x, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	const z = 1.959963984540054
	p, fn := float64(x)/float64(n), float64(n)
	den := 1 + z*z/fn
	mid := (p + z*z/(2*fn)) / den
	half := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / den
	return math.Max(0, mid-half), math.Min(1, mid+half)
}

// newcombe is the 95 % interval of the difference of proportions xa/na - xb/nb (Newcombe's
// hybrid score interval, his method 10).
func newcombe(xa, na, xb, nb int) (lo, hi float64) {
	if na == 0 || nb == 0 {
		return -1, 1
	}
	pa, pb := float64(xa)/float64(na), float64(xb)/float64(nb)
	la, ua := wilson(xa, na)
	lb, ub := wilson(xb, nb)
	d := pa - pb
	return d - math.Hypot(pa-la, ub-pb), d + math.Hypot(ua-pa, pb-lb)
}

// readsToResolve estimates how many reads per side would bring the error interval wholly
// on one side of allowed, at the rates seen (0: more than a million, or never).
func readsToResolve(xa, na, xb, nb int, allowed float64) int {
	pa, pb := rate(xa, na), rate(xb, nb)
	for n := max(na, nb); n <= 1_000_000; n *= 2 {
		lo, hi := newcombe(int(math.Round(pa*float64(n))), n, int(math.Round(pb*float64(n))), n)
		if lo > allowed || hi <= allowed {
			return n
		}
	}
	return 0
}
