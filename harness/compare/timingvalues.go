package compare

import (
	"errors"

	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// The values behind the timing criteria, for whoever shows them (the desktop app's
// histograms): computed by the very functions the criteria use.

// TimingSides is what the criterion of one timing probe judges: the values of the before runs
// and of the after runs, and the facts it derives them with.
type TimingSides struct {
	// Before and After are the values, in seconds, sorted, without NaN: their count, minimum,
	// quantiles (Quantile) and maximum are the criterion's before_n, before_min, before_p50,
	// ..., after_max numbers.
	Before, After []float64
	// Unit is what one value is, as the criterion counts them: "segments" (scan_period),
	// "runs" (response), "reads" (round_trip) or "load reads" (load).
	Unit string
	// Segment is a scan_period probe's segment length in seconds (the criterion's segment_s):
	// each value is the period over this much of continuous good counter samples. 0 for the
	// other kinds, and when the before runs have no advancing good counter samples.
	Segment float64
	// NoResponse counts, before and after, the runs of a response probe that reached its
	// mark, completed and never saw its condition (before_no_response, after_no_response).
	NoResponse [2]int
	// Tolerance is the half-width the criterion allows around the before median,
	// max(absolute, relative x |before median|), in seconds (its tolerance number, which it
	// reports only once both sides have enough values); 0 when Before is empty.
	Tolerance float64
}

// TimingValues returns the values of timing probe p of scenario sc over the before and after
// runs exactly as Compare's criterion "timing:"+p.Name judges them (from the first step after
// sc's setup). cal is Calibrate of the before and
// after runs together, as Compare uses it (a verdict.Record's Calibration); only scan_period
// depends on it. Nil traces are ignored. The error is an unknown probe kind.
func TimingValues(sc *scenario.Scenario, p scenario.Probe, before, after []*trace.Trace, cal verdict.Calibration) (TimingSides, error) {
	ix := indexingOf(sc)
	b, a := timingRuns(sideBefore, before, ix), timingRuns(sideAfter, after, ix)
	var ts TimingSides
	switch p.Kind {
	case scenario.ProbeScanPeriod:
		ts.Unit = unitSegments
		ts.Before, ts.After, ts.Segment, _, _ = scanSegments(p, b, a, cal)
	case scenario.ProbeResponse:
		ts.Unit = unitRuns
		var bNone, aNone []*runData
		ts.Before, bNone, _ = responseValues(p, b)
		ts.After, aNone, _ = responseValues(p, a)
		ts.NoResponse = [2]int{len(bNone), len(aNone)}
	case scenario.ProbeRoundTrip:
		ts.Unit = unitReads
		ts.Before, _ = roundTripValues(b)
		ts.After, _ = roundTripValues(a)
	case scenario.ProbeLoad:
		ts.Unit = unitLoadReads
		ts.Before, _, _ = loadValues(p, b)
		ts.After, _, _ = loadValues(p, a)
	default:
		return TimingSides{}, errors.New("unknown probe kind " + string(p.Kind))
	}
	switch {
	case p.Kind == scenario.ProbeScanPeriod && len(ts.Before) > 0:
		// the criterion's tolerance is of the bounded period (scanPeriod)
		ts.Tolerance = probeTol(p.Tolerance, boundPeriod(sidePieces(p, b)).est)
	case len(ts.Before) > 0:
		ts.Tolerance = probeTol(p.Tolerance, quantile(ts.Before, 0.5))
	}
	return ts, nil
}

// timingRuns are the runs of one side as the timing criteria need them: labelled, with their
// tag index, origin and holes, as indexRuns numbers them, but without indexing their samples.
func timingRuns(side string, trs []*trace.Trace, ix indexing) []*runData {
	var out []*runData
	for _, tr := range trs {
		if tr == nil {
			continue
		}
		r := newRunData(side, len(out)+1, tr, ix)
		for i := range tr.Samples {
			r.last = max(r.last, tr.Samples[i].T)
		}
		r.end = r.last
		for _, e := range tr.Events {
			r.end = max(r.end, e.T)
		}
		r.origin = min(r.origin, r.end)
		r.holes = findHoles(r, ix.asked)
		out = append(out, r)
	}
	return out
}

// SamplingLateness returns the lateness of every sampling slot of the runs (how late its read
// was issued after the slot's intended time), in seconds, sorted: the harness's own timing
// noise, whose p50 and p99 Calibrate reports. Nil traces are ignored; on simulated time
// every value is 0.
func SamplingLateness(runs []*trace.Trace) []float64 {
	slots := 0
	for _, tr := range runs {
		if tr != nil {
			slots += len(tr.Samples) / max(1, len(tr.Run.Tags))
		}
	}
	out := make([]float64, 0, slots)
	for _, tr := range runs {
		if tr != nil {
			forEachSlot(tr, func(s trace.Sample, _ bool) { out = append(out, float64(s.Late)/1e9) })
		}
	}
	sortFloats(out)
	return out
}

// Quantile is the quantile p (0 to 1) of sorted data as the timing criteria report it
// (p50 is the median): linearly interpolated, Hyndman and Fan type 7, the default of R and
// NumPy. NaN for no data.
func Quantile(sorted []float64, p float64) float64 { return quantile(sorted, p) }
