package workspace

import (
	"math"
	"strings"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/plotdata"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Series is one tag of one run: good samples in time order, and where they must not be
// joined (harness/plotdata, which the evidence reports draw from too).
type Series = plotdata.Series

// TagSeries extracts tag from tr (good, finite numeric samples only).
func TagSeries(tr *trace.Trace, tag string) Series { return plotdata.TagSeries(tr, tag) }

// Column is one pixel column of a decimated series: the smallest and largest value of the
// samples that fall in it; N is 0 for a column no sample falls in.
type Column = plotdata.Column

// Decimate reduces the samples of s in [from, to] to width columns keeping each one's
// minimum and maximum (plotdata.Decimate: the reports' decimation).
func Decimate(s Series, from, to int64, width int) []Column {
	return plotdata.Decimate(s, from, to, width)
}

// Overlay is what the Compare view plots for one criterion: the before and after traces
// of its tag in the comparison's frame of time, the tolerance around the before trace and
// where to look.
//
// The plot's time axis is the before run's clock. The after run is drawn where the
// comparison compares it (compare.Frame, docs/architecture.md "Setup and the start
// state"): from the first step after the setup on, mapped piecewise through both runs'
// origins and later step starts; its setup, which is recorded but not compared, shifted to
// end where the before run's setup ends. So [Start, Setup) is the setup of both runs, and a
// setup that took longer after the patch starts before 0 (Start < 0).
type Overlay struct {
	Tag string
	// Before is the before run's series; After the after run's, its times on the before
	// run's clock (AfterTime).
	Before, After Series
	Tolerance     scenario.Tolerance // zero when the tag has none
	// Where is the criterion's place as it gives it, on its own run's clock; Look is the
	// same on the plot's axis, zero when the criterion points nowhere or at the whole run.
	Where *verdict.Where
	Look  Span
	// Start and End bound the plot's axis (ns on the before run's clock): every sample of
	// both runs and Look lie in [Start, End). Start is 0 unless the after run's setup was
	// longer.
	Start, End int64
	// Setup is where the setup ends on the plot's axis (the before run's origin): samples
	// before it are not compared, so the tolerance band starts there. 0 without a setup.
	Setup int64
	// NoData is where each run (before, after) had no good value of the tag, on the plot's
	// axis: the plant is unknown there, so the plot joins nothing across it.
	NoData [2][]Span
	// Worst is a failed signal criterion's worst after sample and the before envelope there;
	// nil otherwise.
	Worst *Worst

	frame compare.Frame
}

// Worst is the after sample of a failed signal criterion that lies farthest outside the
// before envelope, as the criterion reports it (its worst_* numbers).
type Worst struct {
	T      int64   // on the plot's axis: the before run's clock (worst_t_before_s)
	V      float64 // the after value (worst_value)
	Lo, Hi float64 // the before envelope there (worst_lo, worst_hi)
	Tol    float64 // the tolerance around it (worst_tolerance): allowed is [Lo-Tol, Hi+Tol]
}

// AfterTime maps a time of the after run (ns since its start) onto the plot's axis, the
// before run's clock, as compare.Frame.ToBefore does. Monotonic, O(log steps).
func (o *Overlay) AfterTime(t int64) int64 { return o.frame.ToBefore(t) }

// Band is the half-width of the tolerance band at value v.
func (o *Overlay) Band(v float64) float64 {
	return max(o.Tolerance.Absolute, o.Tolerance.Relative*math.Abs(v))
}

// CriterionTag is the tag a criterion is about: its Where.Tag, or the tag of a signal
// criterion ("signal:Level"); "" when it names none.
func CriterionTag(c verdict.Criterion) string {
	if c.Where != nil && c.Where.Tag != "" {
		return c.Where.Tag
	}
	if t, ok := strings.CutPrefix(c.ID, "signal:"); ok {
		return t
	}
	return ""
}

// Overlay gives the overlay of criterion c of res: the first before and after runs (or
// the run the criterion points at), the after run in the before run's frame. ok is false
// when c names no tag.
func (res *Result) Overlay(c verdict.Criterion) (o Overlay, ok bool) {
	tag := CriterionTag(c)
	if tag == "" || len(res.Before) == 0 || len(res.After) == 0 {
		return o, false
	}
	b, a := res.Runs(c)
	var sc *scenario.Scenario
	if res.Scenario != nil && res.Scenario.Scenario != nil {
		sc = res.Scenario.Scenario
		o.Tolerance = sc.Tolerances[tag]
	}
	if sc != nil && b != nil && a != nil {
		o.frame = compare.FrameOf(sc, b, a)
	}
	o.Tag, o.Where, o.Setup = tag, c.Where, o.frame.BeforeOrigin
	o.Before, o.After = TagSeries(b, tag), TagSeries(a, tag)
	if w := c.Where; w != nil && w.ToNs > w.FromNs {
		// a place that spans the whole run (a criterion that passed) shows nothing
		own := o.Before // on its own clock: the after run's is not mapped yet
		if w.Side == "after" {
			own = o.After
		}
		if n := len(own.T); n == 0 || w.FromNs > own.T[0] || w.ToNs < own.T[n-1] {
			o.Look = Span{w.FromNs, w.ToNs}
			if w.Side == "after" {
				o.Look = Span{o.AfterTime(w.FromNs), o.AfterTime(w.ToNs)}
			}
		}
	}
	for i, t := range o.After.T {
		o.After.T[i] = o.AfterTime(t)
	}
	o.NoData[0] = NoData(b, tag)
	o.NoData[1] = NoData(a, tag)
	for i, s := range o.NoData[1] {
		o.NoData[1][i] = Span{o.AfterTime(s.From), o.AfterTime(s.To)}
	}
	for _, s := range []Series{o.Before, o.After} {
		if n := len(s.T); n > 0 {
			o.Start = min(o.Start, s.T[0])
			o.End = max(o.End, s.T[n-1]+1)
		}
	}
	if o.Look.To > o.Look.From { // the place to look is on the axis, whole
		o.Start, o.End = min(o.Start, o.Look.From), max(o.End, o.Look.To)
	}
	o.Worst = worstOf(c, b == res.Before[0])
	return o, len(o.Before.T)+len(o.After.T) > 0
}

// worstOf is the worst point of failed signal criterion c; its time is on the first before
// run's clock, so only a plot of that run (first) can show it.
func worstOf(c verdict.Criterion, first bool) *Worst {
	n := c.Numbers
	tb, ok := n["worst_t_before_s"]
	if c.Kind != verdict.KindSignal || c.Status != verdict.Fail || !ok || !first {
		return nil
	}
	return &Worst{T: int64(math.Round(tb * 1e9)), V: n["worst_value"], Lo: n["worst_lo"], Hi: n["worst_hi"], Tol: n["worst_tolerance"]}
}
