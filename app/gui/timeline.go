package gui

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
)

// timelineView is the Compare section's Events view: the before run's and the after run's
// events on one time axis, one lane per side (steps and marks, state changes and checks,
// missing data and faults), the same event on both sides joined by a line, and the largest
// moves named in the title.
type timelineView struct {
	title   *widget.Label
	tools   fyne.CanvasObject
	plot    *timelinePlot
	zoomIn  *widget.Button
	zoomOut *widget.Button
	reset   *widget.Button
}

// notableShift is the smallest move the title and the plot's labels name.
const notableShift = 10 * time.Millisecond

func newTimelineView() *timelineView {
	v := &timelineView{plot: newTimelinePlot()}
	v.title = widget.NewLabel("")
	v.title.Truncation = fyne.TextTruncateEllipsis
	v.zoomIn = widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { v.plot.zoom(0.5) })
	v.zoomOut = widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { v.plot.zoom(2) })
	v.reset = widget.NewButtonWithIcon("", theme.ZoomFitIcon(), v.plot.fit)
	v.tools = container.NewHBox(v.zoomOut, v.zoomIn, v.reset)
	v.set(nil)
	return v
}

// set shows tl (nil: nothing).
func (v *timelineView) set(tl *workspace.Timeline) {
	v.plot.set(tl)
	for _, b := range []*widget.Button{v.zoomIn, v.zoomOut, v.reset} {
		if tl != nil {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if tl == nil {
		v.title.SetText("Events: run a validation to see the before and after runs' events on one time axis.")
		return
	}
	v.title.SetText(timelineSummary(tl))
}

// timelineSummary names the largest moves after the patch ("AlarmHigh=true +300 ms") and
// the events only one side saw.
func timelineSummary(tl *workspace.Timeline) string {
	var b strings.Builder
	top := tl.LargestShifts(3, int64(notableShift))
	if len(top) == 0 {
		b.WriteString("Events: no event moved by 10 ms or more after the patch")
	} else {
		b.WriteString("After the patch: ")
		for i, s := range top {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", s.Label, fmtShift(s.Delta()))
		}
	}
	for _, l := range tl.Lanes() {
		if un := l.Unmatched(); len(un) > 0 {
			fmt.Fprintf(&b, "; only %s: %s", l.Side, un[0].Label)
			if len(un) > 1 {
				fmt.Fprintf(&b, " and %d more", len(un)-1)
			}
		}
	}
	return b.String()
}

// fmtShift says a move: "+300 ms", "−1.20 s".
func fmtShift(d int64) string {
	sign := "+"
	if d < 0 {
		sign = "−"
	}
	a := math.Abs(float64(d))
	if a >= 1e9 {
		return fmt.Sprintf("%s%.2f s", sign, a/1e9)
	}
	return fmt.Sprintf("%s%.0f ms", sign, a/1e6)
}

// timelinePlot draws a Timeline with canvas primitives, decimated to at most one glyph per
// event class and pixel column. The scroll wheel zooms around the pointer and dragging pans.
type timelinePlot struct {
	widget.BaseWidget
	timeRange
	tl  *workspace.Timeline
	top []workspace.Shift // the moves worth a label, best first
}

// timelinePadL is the lane labels' width, px.
const timelinePadL = 70

func newTimelinePlot() *timelinePlot {
	p := &timelinePlot{}
	p.ExtendBaseWidget(p)
	return p
}

func (p *timelinePlot) set(tl *workspace.Timeline) {
	p.tl, p.top = tl, nil
	if tl != nil {
		p.top = tl.LargestShifts(20, int64(notableShift))
	}
	p.fit()
}

func (p *timelinePlot) fit() {
	p.end = 1
	if p.tl != nil {
		p.end = p.tl.End + 1
	}
	p.timeRange.fit()
	p.Refresh()
}

// zoom scales the range shown by f around its middle.
func (p *timelinePlot) zoom(f float64) {
	if p.tl == nil {
		return
	}
	p.zoomAt(f, (p.from+p.to)/2)
	p.Refresh()
}

func (p *timelinePlot) Scrolled(ev *fyne.ScrollEvent) {
	if p.tl == nil {
		return
	}
	p.scrolled(ev, timelinePadL, p.Size().Width-timelinePadL)
	p.Refresh()
}

func (p *timelinePlot) Dragged(ev *fyne.DragEvent) {
	if p.tl == nil {
		return
	}
	p.dragged(ev.Dragged.DX, p.Size().Width-timelinePadL)
	p.Refresh()
}

func (p *timelinePlot) DragEnd() {}

func (p *timelinePlot) MinSize() fyne.Size { return fyne.NewSize(240, 120) }

func (p *timelinePlot) CreateRenderer() fyne.WidgetRenderer {
	return &plotRenderer{w: p, build: func(size fyne.Size) []fyne.CanvasObject {
		return buildTimeline(p.tl, p.top, p.from, p.to, size)
	}}
}

// classColor is the theme colour of an event class.
func classColor(c workspace.EventClass) color.Color {
	n := theme.ColorNameForeground
	switch c {
	case workspace.ClassStep:
		n = theme.ColorNameSeparator
	case workspace.ClassMark:
		n = theme.ColorNamePrimary
	case workspace.ClassWrite:
		n = theme.ColorNamePlaceHolder
	case workspace.ClassCheckPass:
		n = theme.ColorNameSuccess
	case workspace.ClassCheckFail, workspace.ClassMissed, workspace.ClassGap:
		n = theme.ColorNameError
	case workspace.ClassCheckUndecided, workspace.ClassFault:
		n = theme.ColorNameWarning
	case workspace.ClassProbe:
		n = theme.ColorNameHyperlink
	}
	return theme.Color(n)
}

// timelineLegend is what the plot's legend row names, in order.
var timelineLegend = []workspace.EventClass{workspace.ClassMark, workspace.ClassState, workspace.ClassCheckPass,
	workspace.ClassCheckFail, workspace.ClassProbe, workspace.ClassGap, workspace.ClassFault}

// noDataColor is the shade of a stretch without data, in the Trace and the Events views.
func noDataColor() color.Color { return withAlpha(theme.Color(theme.ColorNameForeground), 0x30) }

// buildTimeline builds the canvas objects of tl over [from, to) at size: per lane a row of
// steps and marks and a row of events (at most one glyph per class and pixel column), the
// runs of columns without data shaded across the lane, and a line between the two sides'
// ticks of each matched mark, state change, check and probe, the largest moves named in the
// gap between the lanes.
func buildTimeline(tl *workspace.Timeline, top []workspace.Shift, from, to int64, size fyne.Size) []fyne.CanvasObject {
	fg := theme.Color(theme.ColorNameForeground)
	muted := theme.Color(theme.ColorNamePlaceHolder)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.Resize(size)
	objs := []fyne.CanvasObject{bg}
	if tl == nil || to <= from {
		return objs
	}
	capH := captionText("0", fg, false).MinSize().Height
	const padL, padR = timelinePadL, 6
	legendH, axisH, laneGap := capH+2, capH+4, capH+4
	w := int(size.Width) - padL - padR
	rowH := (size.Height - legendH - axisH - laneGap) / (2 * workspace.NumRows)
	if w < 10 || rowH < 4 {
		return objs
	}
	x0 := float32(padL)
	px := func(t int64) float32 { return x0 + float32(float64(t-from)/float64(to-from)*float64(w)) }
	colX := func(c int) float32 { return x0 + float32(c) + 0.5 }
	laneH := workspace.NumRows * rowH
	laneTop := [2]float32{legendH, legendH + laneH + laneGap}
	rowTop := func(lane, row int) float32 { return laneTop[lane] + float32(row)*rowH }

	// legend
	lx := float32(padL)
	swatch := func(c color.Color, wide bool, label string) {
		sw := canvas.NewRectangle(c)
		sw.Move(fyne.NewPos(lx, 1+capH/2-4))
		sw.Resize(fyne.NewSize(map[bool]float32{false: 3, true: 10}[wide], 8))
		t := captionText(label, muted, false)
		t.Move(fyne.NewPos(lx+sw.Size().Width+3, 0))
		objs = append(objs, sw, t)
		lx += sw.Size().Width + 3 + t.MinSize().Width + 12
	}
	for _, c := range timelineLegend {
		swatch(classColor(c), false, c.String())
	}
	swatch(noDataColor(), true, "no data")

	// time grid
	axisY := laneTop[1] + laneH
	step := niceStep(float64(to-from)/1e9, max(2, w/90))
	for v := math.Ceil(float64(from)/1e9/step) * step; v*1e9 <= float64(to); v += step {
		x := px(int64(math.Round(v * 1e9)))
		tick := canvas.NewLine(theme.Color(theme.ColorNameSeparator))
		tick.Position1, tick.Position2 = fyne.NewPos(x, legendH), fyne.NewPos(x, axisY+3)
		d := max(0, int(math.Ceil(-math.Log10(step)-1e-9)))
		t := captionText(fmt.Sprintf("%.*f s", d, v), muted, false)
		t.Move(fyne.NewPos(min(x-t.MinSize().Width/2, x0+float32(w)-t.MinSize().Width), axisY+2))
		objs = append(objs, tick, t)
	}

	for li, l := range tl.Lanes() {
		top := laneTop[li]
		name := captionText(l.Side, [2]color.Color{theme.Color(theme.ColorNamePrimary), theme.Color(theme.ColorNameWarning)}[li], true)
		name.Move(fyne.NewPos(4, top+laneH/2-capH))
		run := captionText(l.Run, muted, false)
		run.Move(fyne.NewPos(4, top+laneH/2))
		objs = append(objs, name, run)

		// steps: every other one shaded, numbered where there is room
		for i, s := range l.Steps {
			if s.To <= from || s.From >= to {
				continue
			}
			a, b := px(max(s.From, from)), px(min(s.To, to))
			if i%2 == 1 && b-a >= 1 {
				r := canvas.NewRectangle(theme.Color(theme.ColorNameHover))
				r.Move(fyne.NewPos(a, rowTop(li, workspace.RowSteps)))
				r.Resize(fyne.NewSize(b-a, rowH))
				objs = append(objs, r)
			}
			t := captionText(fmt.Sprint(s.Index), muted, false)
			if tw := t.MinSize().Width; b-a >= tw+4 && rowH >= capH {
				t.Move(fyne.NewPos(b-tw-2, rowTop(li, workspace.RowSteps)+(rowH-capH)/2))
				objs = append(objs, t)
			}
		}
		// no data, across the lane: runs of columns, and after the run's end
		for _, c := range workspace.Columns(l.NoData, from, to, w) {
			r := canvas.NewRectangle(noDataColor())
			r.Move(fyne.NewPos(colX(c[0])-0.5, top))
			r.Resize(fyne.NewSize(float32(c[1]-c[0]), laneH))
			objs = append(objs, r)
			t := captionText("no data", fg, false)
			if tw := t.MinSize().Width; float32(c[1]-c[0]) >= tw+4 {
				t.Move(fyne.NewPos(colX(c[0])+1.5, rowTop(li, workspace.RowSteps)+(rowH-capH)/2))
				objs = append(objs, t)
			}
		}
		if l.End+1 < to {
			a := px(max(l.End+1, from))
			r := canvas.NewRectangle(noDataColor())
			r.Move(fyne.NewPos(a, top))
			r.Resize(fyne.NewSize(x0+float32(w)-a, laneH))
			objs = append(objs, r)
			t := captionText("run ended", fg, false)
			if tw := t.MinSize().Width; x0+float32(w)-a >= tw+4 {
				t.Move(fyne.NewPos(a+2, top+(laneH-capH)/2))
				objs = append(objs, t)
			}
		}
		frame := canvas.NewRectangle(color.Transparent)
		frame.StrokeColor, frame.StrokeWidth = theme.Color(theme.ColorNameSeparator), 1
		frame.Move(fyne.NewPos(x0, top))
		frame.Resize(fyne.NewSize(float32(w), laneH))
		sep := canvas.NewLine(theme.Color(theme.ColorNameSeparator))
		sep.Position1, sep.Position2 = fyne.NewPos(x0, rowTop(li, 1)), fyne.NewPos(x0+float32(w), rowTop(li, 1))
		objs = append(objs, frame, sep)

		// glyphs
		for _, g := range l.Glyphs(from, to, w) {
			if g.Class == workspace.ClassStep {
				continue // the step shading shows them
			}
			row := g.Class.Row()
			h := rowH * 0.6
			if g.N > 1 || g.Class == workspace.ClassMark || g.Class >= workspace.ClassMissed {
				h = rowH - 2
			}
			x := colX(g.Col)
			ln := canvas.NewLine(classColor(g.Class))
			ln.StrokeWidth = 2
			if g.Class == workspace.ClassWrite {
				ln.StrokeWidth = 1
			}
			mid := rowTop(li, row) + rowH/2
			ln.Position1, ln.Position2 = fyne.NewPos(x, mid-h/2), fyne.NewPos(x, mid+h/2)
			objs = append(objs, ln)
			if g.Class == workspace.ClassMark && rowH >= capH-2 {
				t := captionText(strings.TrimPrefix(l.Events[g.First].Label, "mark "), fg, false)
				t.Move(fyne.NewPos(x+3, rowTop(li, row)+(rowH-capH)/2))
				objs = append(objs, t)
			}
		}
	}
	return append(objs, timelineShifts(tl, top, from, to, w, px, rowTop(0, workspace.RowEvents)+rowH/2,
		rowTop(1, workspace.RowEvents)+rowH/2, laneTop[0]+laneH+2)...)
}

// maxConnectors is how many before-after lines a view draws at most (the largest moves).
const maxConnectors = 200

// timelineShifts draws a line from the before tick (at y1) to the after tick (at y2) of the
// matched marks, state changes, checks and probes in view (when there are more than
// maxConnectors, the ones that matter most: ShiftsIn). The first three of top in view are
// named at y3, beside their after tick or else their before tick.
func timelineShifts(tl *workspace.Timeline, top []workspace.Shift, from, to int64, w int, px func(int64) float32, y1, y2, y3 float32) []fyne.CanvasObject {
	abs := func(d int64) int64 { return max(d, -d) }
	in := tl.ShiftsIn(from, to, w, maxConnectors)
	span := float64(to - from)
	// a move narrower than two pixels is not worth a warning colour
	pxNs := span / float64(w)
	var objs []fyne.CanvasObject
	for _, s := range in {
		notable := abs(s.Delta()) >= int64(notableShift) && float64(abs(s.Delta())) >= 2*pxNs
		c := withAlpha(theme.Color(theme.ColorNameForeground), 0x50)
		if notable {
			c = theme.Color(theme.ColorNameWarning)
		}
		l := canvas.NewLine(c)
		l.StrokeWidth = 1
		if notable {
			l.StrokeWidth = 1.5
		}
		l.Position1, l.Position2 = fyne.NewPos(px(s.Before), y1), fyne.NewPos(px(s.After), y2)
		objs = append(objs, l)
	}
	var used [][2]float32
	free := func(x, tw float32) bool {
		return x >= px(from) && x+tw <= px(to) &&
			!slices.ContainsFunc(used, func(u [2]float32) bool { return x < u[1]+6 && x+tw+6 > u[0] })
	}
	for _, s := range top {
		if len(used) == 3 {
			break
		}
		if s.After < from || s.After >= to || float64(abs(s.Delta())) < 2*pxNs {
			continue
		}
		t := captionText(s.Label+" "+fmtShift(s.Delta()), theme.Color(theme.ColorNameWarning), true)
		tw := t.MinSize().Width
		x := px(s.After) + 4
		if !free(x, tw) {
			if x = px(s.Before) - tw - 4; !free(x, tw) {
				continue
			}
		}
		used = append(used, [2]float32{x, x + tw})
		t.Move(fyne.NewPos(x, y3))
		objs = append(objs, t)
	}
	return objs
}
