package gui

import (
	"math"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/scenario"
	"github.com/patchgate/patchgate/harness/verdict"
)

func TestCompareOverlayAfterValidation(t *testing.T) {
	h := newHarness(t)
	v := h.ui.Validate
	v.scenario.SetSelected(DefaultScenario)
	h.runValidation("sim://tank?firmware=baseline&time=simulated", "sim://tank?firmware=alarm-shift&time=simulated", 2*time.Minute)
	row := -1
	for i, c := range v.crit {
		if c.Kind == verdict.KindSignal {
			row = i
			break
		}
	}
	if row < 0 {
		t.Fatalf("no signal criterion in %v", v.crit)
	}
	v.onCriterionSelected(tableCell(row))
	p := v.compare.plot
	if p.o == nil || len(p.o.Before.T) == 0 || len(p.o.After.T) == 0 {
		t.Fatalf("no overlay for %s: %+v", v.crit[row].ID, p.o)
	}
	objs := test.WidgetRenderer(p).Objects()
	var lines, rects int
	for _, o := range objs {
		switch o.(type) {
		case *canvas.Line:
			lines++
		case *canvas.Rectangle:
			rects++
		}
	}
	if lines < 10 || rects < 2 {
		t.Errorf("overlay drew %d lines and %d rectangles", lines, rects)
	}
	if want := workspace.CriterionTag(v.crit[row]); p.o.Tag != want {
		t.Errorf("overlay of tag %q, want %q", p.o.Tag, want)
	}
	end := p.to
	test.Tap(v.compare.zoomIn)
	if p.to-p.from >= end {
		t.Errorf("zoom in: range %d..%d not narrower than %d", p.from, p.to, end)
	}
	test.Tap(v.compare.reset)
	if p.from != 0 || p.to != end {
		t.Errorf("fit: range %d..%d, want 0..%d", p.from, p.to, end)
	}

	// the mouse: the wheel zooms around the pointer, which keeps its time; dragging pans
	c := h.win.Canvas()
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(p)
	mid := pos.Add(fyne.NewPos(p.Size().Width/2, p.Size().Height/2))
	test.Scroll(c, mid, 0, 3*25) // three notches away from the user, found by hit-testing
	if span := p.to - p.from; span > end*6/10 || span < end*4/10 {
		t.Errorf("three notches: range %d..%d, want about half of %d", p.from, p.to, end)
	}
	w := p.Size().Width - overlayPadL
	at := fyne.NewPos(overlayPadL+w*0.7, p.Size().Height/2)
	under := p.at(at.X, overlayPadL, w)
	p.Scrolled(&fyne.ScrollEvent{PointEvent: fyne.PointEvent{Position: at}, Scrolled: fyne.Delta{DY: 25}})
	if got := p.at(at.X, overlayPadL, w); abs64(got-under) > end/500 {
		t.Errorf("the time under the pointer moved from %d to %d", under, got)
	}
	from, span := p.from, p.to-p.from
	test.Drag(c, mid, -w/10, 0) // drag left: later times come into view
	if p.from <= from || p.to-p.from != span {
		t.Errorf("drag left: range %d..%d, was %d..%d", p.from, p.to, from, from+span)
	}
	test.Scroll(c, mid, 0, -40*25) // far out: clamps to the whole trace
	if p.from != 0 || p.to != end {
		t.Errorf("zoomed out: range %d..%d, want 0..%d", p.from, p.to, end)
	}
}

func abs64(x int64) int64 { return max(x, -x) }

// syntheticOverlay is 2 x n samples of a noisy sine with a tolerance.
func syntheticOverlay(n int) *workspace.Overlay {
	o := &workspace.Overlay{Tag: "Level", Tolerance: scenario.Tolerance{Absolute: 0.5},
		Where: &verdict.Where{Side: "after", Tag: "Level", FromNs: int64(n) * 400, ToNs: int64(n) * 450}}
	for _, s := range []*workspace.Series{&o.Before, &o.After} {
		s.T = make([]int64, n)
		s.V = make([]float64, n)
	}
	for i := range n {
		ts := int64(i) * 1000
		o.Before.T[i], o.After.T[i] = ts, ts
		x := float64(i) / float64(n) * 20
		o.Before.V[i] = 50 + 10*math.Sin(x)
		o.After.V[i] = 50 + 10*math.Sin(x+0.05) + float64(i%7)*0.1
	}
	o.End = int64(n) * 1000
	return o
}

func BenchmarkOverlay2x1M(b *testing.B) {
	test.NewTempApp(b)
	o := syntheticOverlay(1_000_000)
	size := fyne.NewSize(1000+48, 300)
	b.ReportAllocs()
	for b.Loop() {
		objs := buildOverlay(o, [2][]workspace.Span{}, 0, o.End, size)
		if len(objs) < 2000 {
			b.Fatalf("%d objects", len(objs))
		}
	}
}

// TestOverlay2x1MWithin100ms guards the figure the benchmark reports, with room for -race.
// The 100 ms budget for an overlay of 2 x 1M points is measured by BenchmarkOverlay2x1M
// (docs/benchmarks.md), not asserted here: a timed test on a shared 2-core machine is flaky
// by design.

func tableCell(row int) widget.TableCellID { return widget.TableCellID{Row: row} }
