package compare

import (
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
)

// Frame is the comparison's frame of time for one after run against one before run, for
// whoever draws them together (the desktop's overlay, the report's plots): the after run's
// times mapped onto the before run's as the signal and sequence criteria map them, through
// both runs' origins (the first step after the setup) and the starts of their later steps
// (docs/architecture.md, "Setup and the start state").
type Frame struct {
	// BeforeOrigin and AfterOrigin are when each run's first step after the setup started,
	// ns since its start: what lies before is the setup's, recorded and drawn (shaded) but
	// not compared. 0 for a scenario without setup; a run that never got past its setup has
	// its origin at its end.
	BeforeOrigin, AfterOrigin int64
	al                        alignment
}

// FrameOf returns the frame of after against before for scenario sc.
func FrameOf(sc *scenario.Scenario, before, after *trace.Trace) Frame {
	ix := indexingOf(sc)
	b := frameRun(sideBefore, before, ix)
	a := frameRun(sideAfter, after, ix)
	return Frame{BeforeOrigin: b.origin, AfterOrigin: a.origin, al: align(a, b)}
}

// frameRun is a run with its step starts and origin, without its samples indexed.
func frameRun(side string, tr *trace.Trace, ix indexing) *runData {
	if tr == nil {
		tr = &trace.Trace{}
	}
	r := newRunData(side, 1, tr, ix)
	if n := len(tr.Samples); n > 0 {
		r.last = tr.Samples[n-1].T // the runner appends samples in time order
	}
	r.end = r.last
	for _, e := range tr.Events {
		r.end = max(r.end, e.T)
	}
	r.origin = min(r.origin, r.end)
	return r
}

// ToBefore maps a time of the after run (ns since its start) onto the before run's time:
// from the after run's origin on as the comparison maps it; its setup shifted to end at the
// before run's origin (the setup is not compared, and stretching it by the first step's pace
// would misdraw how long it took). It never decreases; O(log steps).
func (f Frame) ToBefore(t int64) int64 {
	if t < f.AfterOrigin {
		return f.BeforeOrigin + (t - f.AfterOrigin)
	}
	if len(f.al.a) == 0 {
		return t
	}
	return f.al.at(t)
}
