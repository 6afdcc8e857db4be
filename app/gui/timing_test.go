package gui

import (
	"image/color"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// rects are the rectangles among objs filled with c.
func rects(objs []fyne.CanvasObject, c color.Color) []*canvas.Rectangle {
	var out []*canvas.Rectangle
	for _, o := range objs {
		if r, ok := o.(*canvas.Rectangle); ok && sameColor(r.FillColor, c) {
			out = append(out, r)
		}
	}
	return out
}

func sameColor(a, b color.Color) bool {
	if a == nil || b == nil {
		return a == b
	}
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}

func texts(objs []fyne.CanvasObject) []string {
	var out []string
	for _, o := range objs {
		if t, ok := o.(*canvas.Text); ok {
			out = append(out, t.Text)
		}
	}
	return out
}

func critRow(t *testing.T, v *validateView, id string) int {
	t.Helper()
	i := slices.IndexFunc(v.crit, func(c verdict.Criterion) bool { return c.ID == id })
	if i < 0 {
		t.Fatalf("no criterion %s", id)
	}
	return i
}

// TestCompareTimingAndEvents: after a validation, the Timing view holds one histogram per
// probe drawn in the two side colours; selecting a timing criterion switches to it and
// frames its probe, selecting a signal switches back to the trace; the Events view names the
// alarm's move after the patch and draws it as a line between the two lanes.
func TestCompareTimingAndEvents(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	c := v.compare
	c.setResult(v.result) // the Validate tab calls it when a validation ends

	v.criteria.Select(widget.TableCellID{Row: critRow(t, v, "timing:scan_period")})
	if c.mode != modeTiming || !c.timing.body.Visible() || c.plot.Visible() {
		t.Errorf("a timing criterion: mode %d, timing visible %v, trace visible %v", c.mode, c.timing.body.Visible(), c.plot.Visible())
	}
	var names []string
	for _, p := range c.timing.plots {
		names = append(names, p.p.Name)
	}
	if want := []string{"scan_period", "alarm_response", "round_trip", "sampling lateness"}; !slices.Equal(names, want) {
		t.Fatalf("histograms %v, want %v", names, want)
	}
	for _, p := range c.timing.plots {
		if p.highlighted != (p.p.Name == "scan_period") {
			t.Errorf("%s highlighted %v", p.p.Name, p.highlighted)
		}
	}
	scan := c.timing.plots[0]
	objs := test.WidgetRenderer(scan).Objects()
	hist := scan.h
	for s, col := range []fyne.ThemeColorName{theme.ColorNamePrimary, theme.ColorNameWarning} {
		bins := [2][]int{hist.Before, hist.After}[s]
		want := 0
		for _, n := range bins {
			if n > 0 {
				want++
			}
		}
		if hist.Over[s] > 0 {
			want++
		}
		if got := len(rects(objs, theme.Color(col))); got != want || want == 0 {
			t.Errorf("side %d: %d bars, %d non-empty bins", s, got, want)
		}
	}
	if !slices.ContainsFunc(texts(objs), func(s string) bool { return s == "ms" }) {
		t.Errorf("no ms axis label in %q", texts(objs))
	}
	// percent of each side: the tallest bars reach the same height as in count mode only if
	// the sides have the same count; the labels say %
	c.timing.percent.SetSelected(showPercent)
	objs = test.WidgetRenderer(scan).Objects()
	if !scan.percent || !slices.ContainsFunc(texts(objs), func(s string) bool { return strings.HasSuffix(s, " %") }) {
		t.Errorf("percent: %v, labels %q", scan.percent, texts(objs))
	}
	c.timing.percent.SetSelected(showCount)

	v.criteria.Select(widget.TableCellID{Row: critRow(t, v, "signal:Level")})
	if c.mode != modeTrace || c.plot.o == nil || c.plot.o.Tag != "Level" {
		t.Errorf("a signal criterion: mode %d, overlay %v", c.mode, c.plot.o)
	}
	if slices.ContainsFunc(c.timing.plots, func(p *histPlot) bool { return p.highlighted }) {
		t.Error("a histogram stays framed after a signal criterion")
	}

	// Events
	test.Tap(c.modes[modeEvents])
	if c.mode != modeEvents || !c.events.plot.Visible() {
		t.Fatalf("Events: mode %d", c.mode)
	}
	tl := c.events.plot.tl
	if tl == nil {
		t.Fatal("no timeline")
	}
	i := slices.IndexFunc(tl.Shifts, func(s workspace.Shift) bool { return s.Key == "state:AlarmHigh=true" })
	if i < 0 {
		t.Fatalf("no AlarmHigh shift in %+v", tl.Shifts)
	}
	alarm := tl.Shifts[i]
	if alarm.Delta() <= 0 || !strings.Contains(c.events.title.Text, "AlarmHigh=true "+fmtShift(alarm.Delta())) {
		t.Errorf("title %q does not name the alarm's move %v", c.events.title.Text, time.Duration(alarm.Delta()))
	}
	p := c.events.plot
	objs = test.WidgetRenderer(p).Objects()
	w := p.Size().Width - timelinePadL - 6
	px := func(ns int64) float32 {
		return timelinePadL + float32(float64(ns-p.from)/float64(p.to-p.from)*float64(int(w)))
	}
	warn := theme.Color(theme.ColorNameWarning)
	found := false
	for _, o := range objs {
		if l, ok := o.(*canvas.Line); ok && sameColor(l.StrokeColor, warn) &&
			math.Abs(float64(l.Position1.X-px(alarm.Before))) < 1 && math.Abs(float64(l.Position2.X-px(alarm.After))) < 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning-coloured line from the before alarm (x %.1f) to the after alarm (x %.1f)", px(alarm.Before), px(alarm.After))
	}
	if n := len(objs); n > 4000 {
		t.Errorf("%d objects for a 14 s timeline", n)
	}
	end := p.to
	test.Scroll(h.win.Canvas(), fyne.CurrentApp().Driver().AbsolutePositionForObject(p).Add(fyne.NewPos(p.Size().Width/2, p.Size().Height/2)), 0, 25)
	if p.to-p.from >= end {
		t.Errorf("the wheel did not zoom the timeline: %d..%d", p.from, p.to)
	}
	test.Tap(c.events.reset)

	c.setResult(nil)
	if len(c.timing.plots) != 0 || !c.timing.empty.Visible() || c.events.plot.tl != nil || !c.events.reset.Disabled() {
		t.Errorf("setResult(nil) left %d histograms, timeline %v", len(c.timing.plots), c.events.plot.tl != nil)
	}
}

// TestOverlayShowsGaps: the shipped comm-timeout scenario restarts the controller; where the
// run had no Level the overlay draws a no-data band, and no trace line crosses it (without the
// gaps the sparse-sample join would draw a straight line across).
func TestOverlayShowsGaps(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected("tank-comm-timeout.yaml")
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=benign&time=simulated", 2*time.Minute)
	c := v.compare
	c.setResult(v.result)
	crit := verdict.Criterion{ID: "signal:Level"}
	o, ok := v.result.Overlay(crit)
	if !ok {
		t.Fatal("no Level overlay")
	}
	c.show(crit, o, ok)
	p := c.plot
	if len(p.nodata[0]) == 0 || len(p.nodata[1]) == 0 {
		t.Fatalf("no-data spans %v", p.nodata)
	}
	crossing := func(objs []fyne.CanvasObject, bands []*canvas.Rectangle) int {
		n := 0
		for _, o := range objs {
			l, ok := o.(*canvas.Line)
			pc := currentPlotColors()
			if !ok || l.Position1.X == l.Position2.X || !sameColor(l.StrokeColor, pc.before) && !sameColor(l.StrokeColor, pc.after) {
				continue // not a trace line
			}
			for _, b := range bands {
				if min(l.Position1.X, l.Position2.X) < b.Position().X+1 && max(l.Position1.X, l.Position2.X) > b.Position().X+b.Size().Width-1 {
					n++
				}
			}
		}
		return n
	}
	objs := test.WidgetRenderer(p).Objects()
	bands := rects(objs, currentPlotColors().of("no data"))
	if len(bands) < 2 {
		t.Fatalf("%d no-data bands", len(bands))
	}
	if n := crossing(objs, bands); n != 0 {
		t.Errorf("%d trace lines cross a no-data band", n)
	}
	if !slices.Contains(texts(objs), "no data before") {
		t.Errorf("no label on the band: %q", texts(objs))
	}
	// the same plot without the gaps bridges them: the check above can fail
	bare := buildOverlay(p.o, [2][]workspace.Span{}, p.from, p.to, p.Size())
	if n := crossing(bare, bands); n == 0 {
		t.Error("without the no-data spans no line crosses the gap either: the test proves nothing")
	}
}

// TestHistogramSaysWhatIsMissing: a side without values is named, and never drawn as an
// empty bar; a run without a response is counted.
func TestHistogramSaysWhatIsMissing(t *testing.T) {
	test.NewTempApp(t)
	cases := map[string]struct {
		p    workspace.TimingProbe
		says []string
		bars [2]int
	}{
		"after has none": {workspace.TimingProbe{Name: "alarm_response", Unit: "runs", Before: []float64{10, 10.05, 10.1, 10.1, 10.2}, NoValue: [2]int{0, 2}},
			[]string{"no values after", "2 after run(s) without a value"}, [2]int{-1, 0}},
		"neither side": {workspace.TimingProbe{Name: "round_trip", Unit: "reads"}, []string{"no values before; no values after"}, [2]int{0, 0}},
		"both sides":   {workspace.TimingProbe{Name: "round_trip", Unit: "reads", Before: []float64{0.001, 0.0012}, After: []float64{0.002}}, nil, [2]int{-1, -1}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			hp := newHistPlot(tc.p, verdict.Criterion{ID: "timing:" + tc.p.Name, Status: verdict.StatusUndecided}, false)
			w := test.NewTempWindow(t, hp)
			w.Resize(fyne.NewSize(360, 200))
			objs := test.WidgetRenderer(hp).Objects()
			all := strings.Join(texts(objs), "\n")
			for _, s := range tc.says {
				if !strings.Contains(all, s) {
					t.Errorf("does not say %q: %q", s, all)
				}
			}
			for s, col := range []fyne.ThemeColorName{theme.ColorNamePrimary, theme.ColorNameWarning} {
				got := len(rects(objs, theme.Color(col)))
				if want := tc.bars[s]; want >= 0 && got != want || want < 0 && got == 0 {
					t.Errorf("side %d: %d bars, want %d (-1: some)", s, got, want)
				}
			}
		})
	}
}

// syntheticRuns are a before and an after run of n sampling slots at 1 ms of a counter, a
// level and an alarm that toggles every 5 slots (n/5 state changes a side), the level
// missing every 1000 slots.
func syntheticRuns(n int) *workspace.Result {
	sc := &scenario.Scenario{Probes: []scenario.Probe{
		{Name: "scan_period", Kind: scenario.ProbeScanPeriod, Counter: "ScanCount", Tolerance: scenario.Tolerance{Relative: 0.02}},
		{Name: "round_trip", Kind: scenario.ProbeRoundTrip, Tolerance: scenario.Tolerance{Absolute: 0.005}},
	}}
	res := &workspace.Result{Scenario: &workspace.Loaded{Scenario: sc}}
	for side, scan := range []float64{10, 10.5} {
		tr := &trace.Trace{Run: trace.Run{ID: int64(side + 1), Period: time.Millisecond, Tags: []string{"ScanCount", "Level", "AlarmHigh"}, Status: trace.Completed}}
		tr.Samples = make([]trace.Sample, 0, 3*n)
		alarm := 0.0
		for slot := range int64(n) {
			late := (slot * 7919) % 20_000
			ts := slot*int64(time.Millisecond) + late + 50_000 + (slot*104729)%10_000 + int64(side)*300_000
			if slot%5 == 0 {
				alarm = 1 - alarm
				tr.Events = append(tr.Events, trace.Event{T: ts, Kind: trace.EvTransition, Tag: "AlarmHigh", Value: []string{"false", "true"}[int(alarm)]})
			}
			for tag, v := range []float64{math.Floor(float64(ts) / (scan * 1e6)), 50 + 10*math.Sin(float64(slot)/1e4), alarm} {
				s := trace.Sample{Slot: slot, Tag: uint16(tag), T: ts, Late: late, Quality: driver.Good, Value: v}
				if tag == 1 && slot%1000 == 999 {
					s.Quality, s.Value = driver.Missing, math.NaN()
				}
				tr.Samples = append(tr.Samples, s)
			}
		}
		if side == 0 {
			res.Before = append(res.Before, tr)
		} else {
			res.After = append(res.After, tr)
		}
	}
	return res
}

// BenchmarkHistogramPlot2x1M: for two runs of 1M slots (3M samples each), "all" takes every
// probe's values and builds the canvas objects of its histogram, 320 px wide (once per
// result); "objects" bins the 2 x 1M round trips and builds its objects (once per width).
func BenchmarkHistogramPlot2x1M(b *testing.B) {
	test.NewTempApp(b)
	res := syntheticRuns(1_000_000)
	size := fyne.NewSize(320, 180)
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range res.Timing() {
				objs := buildHistogram(newHistPlot(p, verdict.Criterion{}, false), size)
				if len(objs) < 10 {
					b.Fatalf("%s: %d objects", p.Name, len(objs))
				}
			}
		}
	})
	rt := res.Timing()[1]
	b.Run("objects", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if objs := buildHistogram(newHistPlot(rt, verdict.Criterion{}, false), size); len(objs) < 20 {
				b.Fatalf("%d objects", len(objs))
			}
		}
	})
}

// BenchmarkTimelinePlot2x1M: for two runs of 1M slots (200,000 state changes and 1,000
// stretches without data a side), "all" builds the timeline and its canvas objects 1000 px
// wide (once per result); "objects" builds the objects only (each zoom or pan).
func BenchmarkTimelinePlot2x1M(b *testing.B) {
	test.NewTempApp(b)
	res := syntheticRuns(1_000_000)
	size := fyne.NewSize(1000+timelinePadL+6, 200)
	check := func(b *testing.B, objs []fyne.CanvasObject) {
		if len(objs) < 1000 || len(objs) > 20_000 {
			b.Fatalf("%d objects", len(objs))
		}
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tl := res.Timeline(verdict.Criterion{})
			check(b, buildTimeline(&tl, tl.LargestShifts(20, int64(notableShift)), 0, tl.End+1, size))
		}
	})
	tl := res.Timeline(verdict.Criterion{})
	top := tl.LargestShifts(20, int64(notableShift))
	b.Run("objects", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(b, buildTimeline(&tl, top, 0, tl.End+1, size))
		}
	})
}
