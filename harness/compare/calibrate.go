package compare

import (
	"slices"

	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Calibrate measures the harness's own timing noise over the runs: the lateness of each
// sampling slot against its intended time (p50, p99, and the jitter p99 - p50) and the round
// trip of each slot's read (T - intended time - lateness; slots whose read failed and runs
// sampled by subscription, which issue no read, are left out). Times in microseconds.
// Runs on simulated time have none: every figure is zero.
func Calibrate(runs []*trace.Trace) verdict.Calibration {
	var late, rt []float64
	for _, tr := range runs {
		if tr == nil {
			continue
		}
		subscribed := tr.Run.Meta["sampling"] == "subscription"
		forEachSlot(tr, func(s trace.Sample, answered bool) {
			late = append(late, float64(s.Late)/1e3)
			if answered && !subscribed {
				rt = append(rt, float64(roundTrip(tr, s))/1e3)
			}
		})
	}
	var c verdict.Calibration
	if len(late) > 0 {
		slices.Sort(late)
		c.LatenessP50Us = quantile(late, 0.5)
		c.LatenessP99Us = quantile(late, 0.99)
		c.JitterUs = c.LatenessP99Us - c.LatenessP50Us
	}
	if len(rt) > 0 {
		slices.Sort(rt)
		c.RoundTripP50Us = quantile(rt, 0.5)
		c.RoundTripP99Us = quantile(rt, 0.99)
	}
	return c
}

// roundTrip of the read that took sample s, in ns.
func roundTrip(tr *trace.Trace, s trace.Sample) int64 {
	return s.T - s.Slot*int64(tr.Run.Period) - s.Late
}

// forEachSlot calls f once per sampling slot with the slot's first sample that has an
// answer (else its first sample); answered reports whether any sample of the slot is not
// Missing. The runner writes the samples of a slot together.
func forEachSlot(tr *trace.Trace, f func(s trace.Sample, answered bool)) {
	ss := tr.Samples
	for i := 0; i < len(ss); {
		j := i
		pick := i
		answered := false
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
