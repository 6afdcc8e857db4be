package report

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/patchgate/patchgate/harness/compare"
	"github.com/patchgate/patchgate/harness/plotdata"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// Plots are drawn from decimated data: each series is reduced to the minimum and maximum of
// each pixel column, so the size of a plot depends on its width, not on the trace length,
// and no spike is lost.

// column is one pixel column of a decimated series (harness/plotdata).
type column = plotdata.Column

// series is one tag of one run, decimated.
type series struct {
	cols  []column
	empty bool
}

func tagIndex(tr *trace.Trace, tag string) int {
	if tr == nil {
		return -1
	}
	for i, t := range tr.Run.Tags {
		if t == tag {
			return i
		}
	}
	return -1
}

// lastT is the time of the last reading of tag in tr (0 without one).
func lastT(tr *trace.Trace, tag string) int64 {
	idx := tagIndex(tr, tag)
	if idx < 0 {
		return 0
	}
	for i := len(tr.Samples) - 1; i >= 0; i-- {
		if int(tr.Samples[i].Tag) == idx {
			return tr.Samples[i].T
		}
	}
	return 0
}

// firstT is the time of the first reading of tag in tr (0 without one).
func firstT(tr *trace.Trace, tag string) int64 {
	idx := tagIndex(tr, tag)
	if idx < 0 {
		return 0
	}
	for _, s := range tr.Samples {
		if int(s.Tag) == idx {
			return s.T
		}
	}
	return 0
}

// decimate reduces the numeric readings of tag in tr to cols columns over [t0, t1] of the
// plot's time axis (plotdata.Decimate); at maps a reading's time onto it (nil: as it is). at
// must not decrease.
func decimate(tr *trace.Trace, tag string, t0, t1 int64, cols int, at func(int64) int64) series {
	ts := plotdata.TagSeries(tr, tag)
	if at != nil {
		for i, t := range ts.T {
			ts.T[i] = at(t)
		}
	}
	s := series{cols: plotdata.Decimate(ts, t0, t1, cols), empty: true}
	if s.cols == nil {
		s.cols = make([]column, cols)
	}
	for _, c := range s.cols {
		if c.N > 0 {
			s.empty = false
			break
		}
	}
	return s
}

// overlay is a signal criterion's plot: the tag before and after in the comparison's frame
// of time, the tolerance band around the before trace, the setup, and a failure's worst
// point.
//
// The time axis is the before run's clock. The after run (and every other before run the
// band is made of) is laid on it as the comparison aligns the runs (compare.Frame,
// docs/architecture.md "Setup and the start state"): from the first step after the setup
// on, piecewise through both runs' origins and later step starts; its setup, recorded but
// not compared, shifted to end where the before run's setup ends. So [t0, setup) is the
// setup of both runs; an after run whose setup took longer starts before 0 (t0 < 0).
type overlay struct {
	tag           string
	t0, t1        int64 // the axis, ns on the before run's clock
	setup         int64 // the before run's origin: the band starts there
	before, after series
	band          bool
	hi, lo        []float64 // band per column; NaN where there is none
	ymin, ymax    float64
	look          [2]int64   // where the criterion points, on the axis; look[1] <= look[0]: nowhere
	worst         *worstMark // a failed signal's worst point, or nil
	bandNote      string
}

// worstMark is a failed signal criterion's worst after sample, as its numbers give it.
type worstMark struct {
	t      int64   // on the before run's clock (worst_t_before_s)
	v      float64 // the after value (worst_value)
	lo, hi float64 // the before envelope there (worst_lo, worst_hi)
	tol    float64 // allowed is [lo-tol, hi+tol] (worst_tolerance)
}

// worstOf is the worst point of failed signal criterion c, nil for any other.
func worstOf(c verdict.Criterion) *worstMark {
	n := c.Numbers
	tb, ok := n["worst_t_before_s"]
	if c.Kind != verdict.KindSignal || c.Status != verdict.Fail || !ok {
		return nil
	}
	return &worstMark{t: int64(math.Round(tb * 1e9)), v: n["worst_value"], lo: n["worst_lo"], hi: n["worst_hi"], tol: n["worst_tolerance"]}
}

// onClockOf maps the times of run r onto run b's clock as compare.Frame.ToBefore does for
// scenario sc (r's setup shifted to end at b's origin).
// Without a scenario, or for b itself, times stay as they are (nil). The map never
// decreases; each call is O(log steps). Also returns b's origin.
func onClockOf(sc *scenario.Scenario, b, r *trace.Trace) (func(int64) int64, int64) {
	if sc == nil || b == nil || r == nil {
		return nil, 0
	}
	f := compare.FrameOf(sc, b, r)
	if r == b {
		return nil, f.BeforeOrigin
	}
	return f.ToBefore, f.BeforeOrigin
}

func mapT(at func(int64) int64, t int64) int64 {
	if at == nil {
		return t
	}
	return at(t)
}

// newOverlay decimates tag of run b and run a to cols columns on b's clock (scenario sc's
// frame; without sc, by time since each run's start), and builds the band from every before
// run from the end of the setup on (the comparison's rule: an envelope over all before runs,
// each value widened by tol(x) = max(absolute, relative·|x|), then by the allowed shift).
// The band is a picture of the rule on the plot's columns, not its exact computation; the
// worst point (worst, may be nil) is the criterion's own.
func newOverlay(sc *scenario.Scenario, tag string, b, a *trace.Trace, allBefore []*trace.Trace, tol *scenario.Tolerance,
	where *verdict.Where, worst *worstMark, cols int) overlay {
	o := overlay{tag: tag, worst: worst}
	atA, setup := onClockOf(sc, b, a)
	o.setup = setup
	if w := where; w != nil && w.ToNs > w.FromNs {
		// a place that spans the whole run (a criterion that passed) shows nothing
		own, at := b, func(t int64) int64 { return t }
		if w.Side == "after" {
			own, at = a, func(t int64) int64 { return mapT(atA, t) }
		}
		if w.FromNs > firstT(own, tag) || w.ToNs < lastT(own, tag) {
			o.look = [2]int64{at(w.FromNs), at(w.ToNs)}
		}
	}
	o.t0 = min(0, mapT(atA, firstT(a, tag)))
	o.t1 = max(lastT(b, tag), mapT(atA, lastT(a, tag)), 1)
	if o.look[1] > o.look[0] {
		o.t0, o.t1 = min(o.t0, o.look[0]), max(o.t1, o.look[1])
	}
	o.before = decimate(b, tag, o.t0, o.t1, cols, nil)
	o.after = decimate(a, tag, o.t0, o.t1, cols, atA)
	if o.worst != nil && (o.worst.t < o.t0 || o.worst.t > o.t1) {
		o.worst = nil
	}
	o.hi, o.lo = make([]float64, cols), make([]float64, cols)
	for i := range o.hi {
		o.hi[i], o.lo[i] = math.NaN(), math.NaN()
	}
	colNs := float64(o.t1-o.t0) / float64(cols)
	first := min(max(int(math.Ceil(float64(o.setup-o.t0)/colNs)), 0), cols) // the first column after the setup
	var env []series
	for _, tr := range allBefore {
		at, _ := onClockOf(sc, b, tr)
		if s := decimate(tr, tag, o.t0, o.t1, cols, at); !s.empty {
			for i := range first {
				s.cols[i] = column{} // the setup is not compared
			}
			env = append(env, s)
		}
	}
	switch {
	case tol == nil:
		o.bandNote = "no tolerance for " + tag + " in the scenario"
	case len(env) == 0:
		o.bandNote = "no before readings"
	default:
		o.band = true
		o.bandNote = toleranceText(*tol)
		k := int(math.Ceil(float64(tol.Shift) / colNs))
		width := func(v float64) float64 { return max(tol.Absolute, tol.Relative*math.Abs(v)) }
		for i := first; i < cols; i++ {
			for _, s := range env {
				for j := max(i-k, 0); j <= min(i+k, cols-1); j++ {
					c := s.cols[j]
					if c.N == 0 {
						continue
					}
					if h := c.Max + width(c.Max); math.IsNaN(o.hi[i]) || h > o.hi[i] {
						o.hi[i] = h
					}
					if l := c.Min - width(c.Min); math.IsNaN(o.lo[i]) || l < o.lo[i] {
						o.lo[i] = l
					}
				}
			}
		}
	}
	o.ymin, o.ymax = math.Inf(1), math.Inf(-1)
	widen := func(v float64) {
		if !math.IsNaN(v) {
			o.ymin, o.ymax = min(o.ymin, v), max(o.ymax, v)
		}
	}
	for i := range cols {
		for _, c := range []column{o.before.cols[i], o.after.cols[i]} {
			if c.N > 0 {
				widen(c.Min)
				widen(c.Max)
			}
		}
		widen(o.hi[i])
		widen(o.lo[i])
	}
	if w := o.worst; w != nil {
		widen(w.v)
		widen(w.lo - w.tol)
		widen(w.hi + w.tol)
	}
	o.ymin, o.ymax = padRange(o.ymin, o.ymax)
	return o
}

// toleranceText says a tolerance as the comparison applies it.
func toleranceText(t scenario.Tolerance) string {
	s := "±" + num(t.Absolute)
	if t.Relative > 0 {
		s = "±max(" + num(t.Absolute) + ", " + num(t.Relative*100) + " % of before)"
	}
	if t.Shift > 0 {
		s += ", shift " + t.Shift.String()
	}
	return s
}

// padRange widens [lo, hi] by 5 % (and an empty or flat range to something drawable).
func padRange(lo, hi float64) (float64, float64) {
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 1
	}
	if hi-lo < 1e-12*max(1, math.Abs(lo)) {
		return lo - 1, hi + 1
	}
	p := (hi - lo) * 0.05
	return lo - p, hi + p
}

// ticks returns about n round values covering [lo, hi].
func ticks(lo, hi float64, n int) []float64 { return plotdata.Ticks(lo, hi, n) }

// short formats a value for a label beside a mark: four significant digits.
func short(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// num formats a number for a label: short, no exponent for everyday magnitudes.
func num(v float64) string {
	if v == 0 {
		return "0"
	}
	if a := math.Abs(v); a >= 1e6 || a < 1e-3 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strings.TrimRight(strconv.FormatFloat(v, 'f', 6, 64), "0")
	return strings.TrimSuffix(s, ".")
}

// frame maps data to a plot's drawing area, in the plot's units.
type frame struct {
	w, h                  float64 // whole picture
	left, right, top, bot float64 // margins
	x0, x1, y0, y1        float64 // data ranges
}

func (f frame) pw() float64 { return f.w - f.left - f.right }
func (f frame) ph() float64 { return f.h - f.top - f.bot }
func (f frame) x(v float64) float64 {
	return f.left + (v-f.x0)/(f.x1-f.x0)*f.pw()
}
func (f frame) y(v float64) float64 {
	return f.top + (1-(v-f.y0)/(f.y1-f.y0))*f.ph()
}

func c1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// axes draws the frame, the grid and the tick labels; xfmt labels the x ticks.
func axes(c canvas, f frame, xlabel string, xfmt func(float64) string, ylabel string) {
	c.rect(f.left, f.top, f.pw(), f.ph(), "plotbg", "")
	for _, v := range ticks(f.y0, f.y1, 5) {
		y := f.y(v)
		c.line(f.left, y, f.left+f.pw(), y, "grid")
		c.text(f.left-4, y+4, num(v), "yt", "end", false)
	}
	for _, v := range ticks(f.x0, f.x1, 8) {
		x := f.x(v)
		c.line(x, f.top, x, f.top+f.ph(), "grid")
		c.text(x, f.top+f.ph()+14, xfmt(v), "xt", "middle", false)
	}
	c.text(f.left+f.pw()/2, f.h-4, xlabel, "xl", "middle", false)
	if ylabel != "" {
		c.text(12, f.top+f.ph()/2, ylabel, "yl", "middle", true)
	}
}

func esc(s string) string { return html.EscapeString(s) }

// linePath is the path of a decimated series.
func linePath(s series, f frame) *pathD {
	p := &pathD{}
	n := len(s.cols)
	pen := false
	for i, c := range s.cols {
		if c.N == 0 {
			continue
		}
		if c.Break {
			pen = false
		}
		x := f.x(f.x0 + (float64(i)+0.5)/float64(n)*(f.x1-f.x0))
		vs := []float64{c.Min, c.Max}
		if !c.MinFirst {
			vs[0], vs[1] = c.Max, c.Min
		}
		if c.Min == c.Max {
			vs = vs[:1]
		}
		for _, v := range vs {
			if pen {
				p.to(x, f.y(v))
			} else {
				p.move(x, f.y(v))
				pen = true
			}
		}
	}
	return p
}

// bandPath is the path of the tolerance band: one closed shape per stretch of columns that
// have a band.
func bandPath(o overlay, f frame) *pathD {
	p := &pathD{}
	n := len(o.hi)
	xAt := func(i int) float64 { return f.x(f.x0 + float64(i)/float64(n)*(f.x1-f.x0)) }
	for i := 0; i < n; {
		if math.IsNaN(o.hi[i]) {
			i++
			continue
		}
		j := i
		for j < n && !math.IsNaN(o.hi[j]) {
			j++
		}
		// upper edge left to right, lower edge back, as steps over each column
		p.move(xAt(i), f.y(o.hi[i]))
		for k := i; k < j; k++ {
			p.to(xAt(k), f.y(o.hi[k]))
			p.to(xAt(k+1), f.y(o.hi[k]))
		}
		for k := j - 1; k >= i; k-- {
			p.to(xAt(k+1), f.y(o.lo[k]))
			p.to(xAt(k), f.y(o.lo[k]))
		}
		p.close()
		i = j
	}
	return p
}

const (
	plotW    = 900.0
	plotH    = 300.0
	plotLeft = 64.0
)

// overlaySVG is a signal criterion's plot for report.html.
func overlaySVG(o overlay) string {
	var c svgCanvas
	drawOverlay(&c, o)
	return c.String()
}

// drawOverlay draws a signal criterion's plot.
func drawOverlay(c canvas, o overlay) {
	f := frame{w: plotW, h: plotH, left: plotLeft, right: 16, top: 26, bot: 36,
		x0: float64(o.t0) / 1e9, x1: float64(o.t1) / 1e9, y0: o.ymin, y1: o.ymax}
	c.begin(f.w, f.h, o.tag+" before and after")
	axes(c, f, "time on the before run's clock (s)", num, o.tag)
	if o.setup > o.t0 {
		x1 := min(f.x(float64(o.setup)/1e9), f.left+f.pw())
		c.rect(f.left, f.top, x1-f.left, f.ph(), "setup", "setup: recorded, not compared")
		if x1-f.left > 40 {
			c.text(f.left+4, f.top+f.ph()/2, "setup", "sl", "start", false)
		}
	}
	if l := o.look; l[1] > l[0] {
		x0 := max(f.x(float64(l[0])/1e9), f.left)
		x1 := min(f.x(float64(l[1])/1e9), f.left+f.pw())
		if x1 > x0 {
			c.rect(x0, f.top, max(x1-x0, 1), f.ph(), "where", "where to look")
		}
	}
	if o.band {
		c.path(bandPath(o, f), "band", "tolerance band: "+o.bandNote)
	}
	c.path(linePath(o.before, f), "before", "")
	c.path(linePath(o.after, f), "after", "")
	if w := o.worst; w != nil {
		x, y := f.x(float64(w.t)/1e9), f.y(w.v)
		top, bot := f.y(w.hi+w.tol), f.y(w.lo-w.tol)
		c.group("worst", fmt.Sprintf("worst: %s = %s at %s s; allowed there %s..%s (before envelope %s..%s, tolerance %s)",
			o.tag, num(w.v), num(float64(w.t)/1e9), num(w.lo-w.tol), num(w.hi+w.tol), num(w.lo), num(w.hi), num(w.tol)))
		allowed := &pathD{}
		allowed.move(x, top)
		allowed.to(x, bot)
		allowed.move(x-5, top)
		allowed.to(x+5, top)
		allowed.move(x-5, bot)
		allowed.to(x+5, bot)
		c.path(allowed, "allowed", "")
		c.line(x, f.y(w.hi), x, f.y(w.lo), "envelope")
		c.circle(x, y, 4.5, "value")
		ty, anchor := y-8, "start"
		if w.v < w.lo {
			ty = y + 16
		}
		tx := x + 7
		if tx > f.left+f.pw()-90 {
			tx, anchor = x-7, "end"
		}
		c.text(tx, ty, "worst "+short(w.v), "wl", anchor, false)
		c.endGroup()
	}
	items := []legendItem{{"before", "before"}, {"after", "after"}}
	if o.band {
		items = append(items, legendItem{"bandkey", "tolerance: " + o.bandNote})
	} else {
		items = append(items, legendItem{"none", "no band: " + o.bandNote})
	}
	if o.setup > o.t0 {
		items = append(items, legendItem{"setup", "setup (not compared)"})
	}
	if o.worst != nil {
		items = append(items, legendItem{"worstkey", "worst point, allowed there"})
	}
	legend(c, f, items)
	c.end()
}

type legendItem struct{ class, text string }

func legend(c canvas, f frame, items []legendItem) {
	x := f.left
	for _, it := range items {
		c.rect(x, 8, 14, 8, it.class, "")
		c.text(x+18, 16, it.text, "lg", "start", false)
		x += 30 + 6.5*float64(len([]rune(it.text)))
	}
}

// finite returns the finite values of xs and how many were not.
func finite(xs []float64) ([]float64, int) {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	return out, len(xs) - len(out)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// timeUnit picks the unit for durations around v seconds.
func timeUnit(v float64) (string, float64) {
	switch a := math.Abs(v); {
	case a == 0 || a >= 1:
		return "s", 1
	case a >= 1e-3:
		return "ms", 1e3
	default:
		return "µs", 1e6
	}
}

// histogramSVG is a timing criterion's plot for report.html ("" without values).
func histogramSVG(id string, tm Timing, unit string) string {
	var c svgCanvas
	if !drawHistogram(&c, id, tm, unit) {
		return ""
	}
	return c.String()
}

// drawHistogram draws the before and after distributions of a timing criterion on shared
// bins; unit names what one value is ("segments", "runs", "reads"; may be empty). It draws
// nothing and returns false when there are no values.
func drawHistogram(c canvas, id string, tm Timing, unit string) bool {
	before, nb := finite(tm.Before)
	after, na := finite(tm.After)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64(nil), before...), after...) {
		lo, hi = min(lo, v), max(hi, v)
	}
	if math.IsInf(lo, 0) {
		return false
	}
	if hi-lo < 1e-12*max(1, math.Abs(lo)) {
		lo, hi = lo-max(math.Abs(lo)*0.01, 1e-6), hi+max(math.Abs(hi)*0.01, 1e-6)
	}
	const bins = 30
	width := (hi - lo) / bins
	count := func(xs []float64) []int {
		c := make([]int, bins)
		for _, v := range xs {
			c[min(int((v-lo)/width), bins-1)]++
		}
		return c
	}
	cb, ca := count(before), count(after)
	top := 1
	for i := range bins {
		top = max(top, cb[i], ca[i])
	}
	tu, scale := timeUnit(median(append(before, after...)))
	f := frame{w: plotW, h: 240, left: plotLeft, right: 16, top: 26, bot: 36,
		x0: lo * scale, x1: hi * scale, y0: 0, y1: float64(top) * 1.1}
	c.begin(f.w, f.h, id+" distribution")
	axes(c, f, id+" ("+tu+")", num, "count")
	for _, side := range []struct {
		class string
		c     []int
	}{{"beforebar", cb}, {"afterbar", ca}} {
		for i, n := range side.c {
			if n == 0 {
				continue
			}
			x0, x1 := f.x((lo+float64(i)*width)*scale), f.x((lo+float64(i+1)*width)*scale)
			c.rect(x0, f.y(float64(n)), max(x1-x0-1, 0.5), f.y(0)-f.y(float64(n)), side.class, "")
		}
	}
	for _, m := range []struct {
		class string
		v     float64
	}{{"before", median(before)}, {"after", median(after)}} {
		if !math.IsNaN(m.v) {
			x := f.x(m.v * scale)
			c.line(x, f.top, x, f.top+f.ph(), m.class+" median")
		}
	}
	sideText := func(name string, xs []float64, bad int) string {
		s := fmt.Sprintf("%s: n=%d", name, len(xs))
		if unit != "" {
			s += " " + unit
		}
		if len(xs) > 0 {
			s += ", median " + num(median(xs)*scale) + " " + tu
		}
		if bad > 0 {
			s += fmt.Sprintf(", %d not seen", bad)
		}
		return s
	}
	legend(c, f, []legendItem{{"beforebar", sideText("before", before, nb)}, {"afterbar", sideText("after", after, na)}})
	c.end()
	return true
}

// timelineSVG is a run's event timeline for report.html.
func timelineSVG(tr *trace.Trace, t1 int64) string {
	var c svgCanvas
	drawTimeline(&c, tr, t1)
	return c.String()
}

// timelineLanes are the lanes of the event timeline, top to bottom.
var timelineLanes = []string{"steps", "marks", "checks", "transitions", "gaps, missed", "faults"}

// drawTimeline draws the events of one run in lanes: steps, marks, checks, transitions,
// gaps and missed slots, faults. At most one glyph per lane and plot column is drawn; its
// tooltip counts the others.
func drawTimeline(c canvas, tr *trace.Trace, t1 int64) {
	lanes := timelineLanes
	laneOf := func(k trace.EventKind) int {
		switch k {
		case trace.EvStepStart, trace.EvStepEnd:
			return 0
		case trace.EvMark:
			return 1
		case trace.EvCheck:
			return 2
		case trace.EvTransition:
			return 3
		case trace.EvGapStart, trace.EvGapEnd, trace.EvMissed:
			return 4
		case trace.EvFault, trace.EvAbort:
			return 5
		}
		return -1
	}
	const laneH = 20.0
	f := frame{w: plotW, h: 36 + laneH*float64(len(lanes)), left: 96, right: 16, top: 8, bot: 28,
		x0: 0, x1: float64(max(t1, 1)) / 1e9, y0: 0, y1: float64(len(lanes))}
	c.begin(f.w, f.h, fmt.Sprintf("event timeline of run %d", tr.Run.ID))
	c.rect(f.left, f.top, f.pw(), f.ph(), "plotbg", "")
	laneY := func(l int) float64 { return f.top + laneH*float64(l) + laneH/2 }
	for l, name := range lanes {
		c.text(f.left-6, laneY(l)+4, name, "yt", "end", false)
	}
	for _, v := range ticks(f.x0, f.x1, 8) {
		x := f.x(v)
		c.line(x, f.top, x, f.top+f.ph(), "grid")
		c.text(x, f.top+f.ph()+14, num(v), "xt", "middle", false)
	}
	c.text(f.left+f.pw()/2, f.h-2, "time since run start (s)", "xl", "middle", false)

	// gaps as spans
	var gapFrom int64 = -1
	span := func(from, to int64) {
		x0, x1 := f.x(float64(from)/1e9), f.x(float64(to)/1e9)
		c.rect(x0, laneY(4)-6, max(x1-x0, 1), 12, "gap", fmt.Sprintf("connection lost %s–%s s", seconds(from), seconds(to)))
	}
	type glyph struct {
		x     float64
		class string
		title string
		label string
		more  int
	}
	cols := int(f.pw())
	glyphs := make([]map[int]*glyph, len(lanes))
	for i := range glyphs {
		glyphs[i] = map[int]*glyph{}
	}
	for _, e := range tr.Events {
		switch e.Kind {
		case trace.EvGapStart:
			gapFrom = e.T
		case trace.EvGapEnd:
			if gapFrom >= 0 {
				span(gapFrom, e.T)
				gapFrom = -1
			}
		}
		l := laneOf(e.Kind)
		if l < 0 {
			continue
		}
		x := f.x(float64(e.T) / 1e9)
		col := min(max(int(x-f.left), 0), cols)
		if g := glyphs[l][col]; g != nil {
			g.more++
			continue
		}
		class := string(e.Kind)
		if e.Kind == trace.EvCheck {
			class = "check-" + e.Value
		}
		g := &glyph{x: x, class: class, title: eventText(e)}
		if e.Kind == trace.EvMark {
			g.label = e.Msg
		}
		glyphs[l][col] = g
	}
	if gapFrom >= 0 {
		span(gapFrom, max(t1, gapFrom))
	}
	for l := range lanes {
		keys := make([]int, 0, len(glyphs[l]))
		for k := range glyphs[l] {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		for _, k := range keys {
			g := glyphs[l][k]
			title := g.title
			if g.more > 0 {
				title += fmt.Sprintf(" (+%d more here)", g.more)
			}
			y := laneY(l)
			c.rect(g.x-1, y-6, 2, 12, "ev "+g.class, title)
			if g.label != "" && g.more == 0 {
				c.text(g.x+3, y+4, g.label, "mk", "start", false)
			}
		}
	}
	c.end()
}

// eventText describes an event in one line.
func eventText(e trace.Event) string {
	var parts []string
	parts = append(parts, seconds(e.T)+" s", string(e.Kind))
	if e.Step != 0 {
		parts = append(parts, fmt.Sprintf("step %d", e.Step))
	}
	if e.Tag != "" {
		parts = append(parts, e.Tag)
	}
	if e.Value != "" {
		parts = append(parts, "= "+e.Value)
	}
	if e.Msg != "" {
		parts = append(parts, e.Msg)
	}
	return strings.Join(parts, " ")
}
