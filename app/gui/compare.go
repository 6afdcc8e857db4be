package gui

import (
	"fmt"
	"image/color"
	"math"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/trace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// compareView is the Compare section under the Validate tab's criteria table, in three
// views chosen with a segmented control:
//   - Trace: the before and after traces of the selected criterion's tag in the comparison's
//     frame (the after run on the before run's clock, the setup shaded), the tolerance band
//     around the before trace, where the run had no data, the criterion's place highlighted
//     and a failed signal's worst point marked; + and − zoom on that place, the scroll wheel
//     zooms around the pointer and dragging pans;
//   - Timing: a histogram per timing probe, before and after on shared bins (timing.go);
//   - Events: the before and after runs' events on one time axis (timeline.go).
//
// The criteria table calls show; the Validate tab calls setResult with each result.
type compareView struct {
	content fyne.CanvasObject
	modes   [numModes]*widget.Button
	mode    int
	views   [numModes][3]fyne.CanvasObject // per mode: title, tools, body

	// Trace
	title   *widget.Label
	plot    *overlayPlot
	zoomIn  *widget.Button
	zoomOut *widget.Button
	reset   *widget.Button

	timing *timingView
	events *timelineView

	res      *workspace.Result
	timingOf *workspace.Result // the result the Timing view holds (computed when first shown)
	crit     verdict.Criterion
	runs     [2]*trace.Trace // the runs the timeline shows
	plotted  bool            // the plot shows crit's overlay
}

// The Compare section's views.
const (
	modeTrace = iota
	modeTiming
	modeEvents
	numModes
)

var modeNames = [numModes]string{"Trace", "Timing", "Events"}

func newCompare() *compareView {
	c := &compareView{plot: newOverlayPlot(), timing: newTimingView(), events: newTimelineView()}
	c.title = widget.NewLabel("Compare: select a criterion with a tag to see its before and after traces.")
	c.title.Truncation = fyne.TextTruncateEllipsis
	c.zoomIn = widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { c.plot.zoom(0.5) })
	c.zoomOut = widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { c.plot.zoom(2) })
	c.reset = widget.NewButtonWithIcon("", theme.ZoomFitIcon(), c.plot.fit)
	legend := container.NewHBox(c.legendItem("before"), c.legendItem("after"), c.legendItem("tolerance"),
		c.legendItem("where"), c.legendItem("no data"))
	c.views[modeTrace] = [3]fyne.CanvasObject{c.title, container.NewHBox(legend, c.zoomOut, c.zoomIn, c.reset), c.plot}
	c.views[modeTiming] = [3]fyne.CanvasObject{c.timing.title, c.timing.tools, c.timing.body}
	c.views[modeEvents] = [3]fyne.CanvasObject{c.events.title, c.events.tools, c.events.plot}
	var titles, tools, bodies []fyne.CanvasObject
	for i := range numModes {
		c.modes[i] = widget.NewButton(modeNames[i], func() { c.setMode(i) })
		titles, tools, bodies = append(titles, c.views[i][0]), append(tools, c.views[i][1]), append(bodies, c.views[i][2])
	}
	seg := container.NewHBox(c.modes[modeTrace], c.modes[modeTiming], c.modes[modeEvents])
	bar := container.NewBorder(nil, nil, seg, container.NewStack(tools...), container.NewStack(titles...))
	c.content = container.NewBorder(bar, nil, nil, nil, container.NewStack(bodies...))
	c.setMode(modeTrace)
	c.show(verdict.Criterion{}, workspace.Overlay{}, false)
	return c
}

// setMode shows view m.
func (c *compareView) setMode(m int) {
	c.mode = m
	if m == modeTiming {
		c.ensureTiming()
	}
	for i := range numModes {
		imp := widget.LowImportance
		if i == m {
			imp = widget.HighImportance
		}
		if c.modes[i].Importance != imp {
			c.modes[i].Importance = imp
			c.modes[i].Refresh()
		}
		for _, o := range c.views[i] {
			if i == m {
				o.Show()
			} else {
				o.Hide()
			}
		}
	}
}

// setResult shows the timing histograms and the event timeline of res; nil clears them.
// The criteria table's selection (show) may come before or after it. The timing values of
// a long run take a while (about 0.15 s for two runs of a million slots), so they are
// computed when the Timing view is first shown.
func (c *compareView) setResult(res *workspace.Result) {
	c.res = res
	c.runs = [2]*trace.Trace{}
	c.timingOf = nil
	c.timing.set(nil, nil)
	if res == nil {
		c.events.set(nil)
		return
	}
	if c.mode == modeTiming {
		c.ensureTiming()
	}
	c.follow(c.crit)
}

// ensureTiming fills the Timing view from the result, once per result.
func (c *compareView) ensureTiming() {
	if c.res != nil && c.timingOf != c.res {
		c.timingOf = c.res
		c.timing.set(c.res.Timing(), c.res.Record.Criteria)
	}
}

// follow points the timing and events views at criterion crit.
func (c *compareView) follow(crit verdict.Criterion) {
	name := ""
	if crit.Kind == verdict.KindTiming {
		name = strings.TrimPrefix(crit.ID, "timing:")
	}
	c.timing.highlight(name)
	if c.res == nil {
		return
	}
	b, a := c.res.Runs(crit)
	if c.runs != [2]*trace.Trace{b, a} {
		c.runs = [2]*trace.Trace{b, a}
		tl := workspace.NewTimeline(b, a)
		c.events.set(&tl)
	}
}

// legendItem is a swatch that the plot repaints in the current theme's colours.
func (c *compareView) legendItem(text string) fyne.CanvasObject {
	sw := canvas.NewRectangle(color.Transparent)
	sw.SetMinSize(fyne.NewSize(12, 12))
	c.plot.swatches = append(c.plot.swatches, swatch{text, sw})
	return container.NewHBox(container.NewCenter(sw), widget.NewLabel(text))
}

type swatch struct {
	name string
	r    *canvas.Rectangle
}

func (pc plotColors) of(name string) color.Color {
	switch name {
	case "before":
		return pc.before
	case "after":
		return pc.after
	case "tolerance":
		return withAlpha(pc.band, 0x50)
	case "no data":
		return withAlpha(pc.nodata, 0x30)
	case "setup":
		return withAlpha(pc.nodata, 0x14)
	}
	return withAlpha(pc.where, 0x60)
}

// show plots o for criterion crit (ok false: nothing to plot). A timing criterion switches
// to the Timing view with its probe highlighted; a criterion with a trace switches from the
// Timing view back to the Trace view.
func (c *compareView) show(crit verdict.Criterion, o workspace.Overlay, ok bool) {
	c.crit, c.plotted = crit, ok
	for _, b := range []*widget.Button{c.zoomIn, c.zoomOut, c.reset} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	switch {
	case crit.Kind == verdict.KindTiming:
		c.setMode(modeTiming)
	case ok && c.mode == modeTiming:
		c.setMode(modeTrace)
	}
	if !ok {
		if crit.ID != "" {
			c.title.SetText("Compare: " + crit.ID + " names no tag to plot.")
		} else {
			c.title.SetText("Compare: select a criterion with a tag to see its before and after traces.")
		}
		c.plot.set(nil)
		c.follow(crit)
		return
	}
	txt := fmt.Sprintf("Compare %s: %s before (%d samples) and after (%d samples)", crit.ID, o.Tag, len(o.Before.T), len(o.After.T))
	if o.Tolerance.Absolute > 0 || o.Tolerance.Relative > 0 {
		txt += ", tolerance " + crit.Tolerance
	}
	if w := o.Where; w != nil && o.Look.To > o.Look.From {
		txt += fmt.Sprintf("; look at %.2f–%.2f s", float64(o.Look.From)/1e9, float64(o.Look.To)/1e9)
		if o.Look != (workspace.Span{From: w.FromNs, To: w.ToNs}) {
			txt += fmt.Sprintf(" (%s run %.2f–%.2f s)", w.Side, float64(w.FromNs)/1e9, float64(w.ToNs)/1e9)
		} else {
			txt += " (" + w.Side + ")"
		}
	}
	if o.Setup > o.Start {
		txt += "; time on the before run's clock"
	}
	c.title.SetText(txt)
	c.plot.set(&o)
	c.follow(crit)
}

// timeRange is the window [from, to) of a time axis (ns) that a plot shows, within
// [start, end) (start is 0 but for an overlay whose after run's setup took longer). The
// mouse zooms and pans it.
type timeRange struct {
	from, to, start, end int64
}

// minSpan is the narrowest window a zoom goes to, ns.
const minSpan = 1000

func (r *timeRange) fit() { r.from, r.to = r.start, max(r.end, r.start+1) }

// zoomAt scales the window by f (below 1: in) around time at, which stays where it is on
// the screen.
func (r *timeRange) zoomAt(f float64, at int64) {
	span := r.to - r.from
	if span <= 0 || r.end <= r.start {
		return
	}
	ns := min(max(int64(float64(span)*f), minSpan), r.end-r.start)
	at = min(max(at, r.from), r.to)
	from := at - int64(float64(at-r.from)*float64(ns)/float64(span))
	r.from, r.to = from, from+ns
	r.clamp()
}

// pan moves the window by dt ns (positive: later), keeping its width.
func (r *timeRange) pan(dt int64) {
	r.from += dt
	r.to += dt
	r.clamp()
}

func (r *timeRange) clamp() {
	if r.from < r.start {
		r.from, r.to = r.start, r.to+(r.start-r.from)
	}
	if e := max(r.end, r.start+1); r.to > e {
		r.from, r.to = max(r.start, r.from-(r.to-e)), e
	}
}

// at is the time under pixel x of a plot area that starts at x0 and is w wide.
func (r *timeRange) at(x, x0, w float32) int64 {
	if w <= 0 {
		return r.from
	}
	return r.from + int64(float64(x-x0)/float64(w)*float64(r.to-r.from))
}

// scrolled zooms around the pointer on a wheel event (a sideways scroll pans), for a plot
// area that starts at x0 and is w wide.
func (r *timeRange) scrolled(ev *fyne.ScrollEvent, x0, w float32) {
	if d := ev.Scrolled; math.Abs(float64(d.DX)) > math.Abs(float64(d.DY)) {
		r.dragged(d.DX, w)
	} else {
		r.zoomAt(wheelFactor(d.DY), r.at(ev.Position.X, x0, w))
	}
}

// dragged pans by dx pixels of a plot area w wide: what is under the pointer follows it.
func (r *timeRange) dragged(dx, w float32) {
	if w > 0 {
		r.pan(-int64(float64(dx) / float64(w) * float64(r.to-r.from)))
	}
}

// wheelFactor is the zoom of one scroll event: about 0.8 per wheel notch (25 units on most
// desktops, 10 on macOS); up or away zooms in.
func wheelFactor(dy float32) float64 { return math.Pow(0.8, float64(dy)/25) }

// overlayPlot draws an Overlay with canvas primitives, decimated to one min/max column per
// pixel so that millions of samples draw as fast as a screen width of them. The scroll
// wheel zooms around the pointer and dragging pans.
type overlayPlot struct {
	widget.BaseWidget
	timeRange
	o        *workspace.Overlay
	nodata   [2][]workspace.Span // before, after: where the run had no good value of the tag (o.NoData)
	swatches []swatch
}

// overlayPadL is the plot's left margin (the value labels), px.
const overlayPadL = 48

func newOverlayPlot() *overlayPlot {
	p := &overlayPlot{}
	p.ExtendBaseWidget(p)
	return p
}

func (p *overlayPlot) set(o *workspace.Overlay) {
	p.o = o
	p.nodata = [2][]workspace.Span{}
	if o != nil {
		p.nodata = o.NoData
	}
	p.fit()
}

// fit shows the whole trace.
func (p *overlayPlot) fit() {
	p.start, p.end = 0, 1
	if p.o != nil {
		p.start = min(p.o.Start, 0)
		p.end = max(p.o.End, p.start+1)
	}
	p.timeRange.fit()
	p.Refresh()
}

// zoom scales the range shown by f around the criterion's place (or the middle).
func (p *overlayPlot) zoom(f float64) {
	if p.o == nil {
		return
	}
	mid := (p.from + p.to) / 2
	if l := p.o.Look; l.To > l.From && l.To > p.from && l.From < p.to {
		mid = (l.From + l.To) / 2
	}
	half := int64(float64(p.to-p.from) * f / 2)
	half = min(max(half, minSpan), p.end-p.start)
	p.from, p.to = max(p.start, mid-half), min(p.end, mid+half)
	if p.to <= p.from {
		p.timeRange.fit()
	}
	p.Refresh()
}

// Scrolled zooms around the pointer (a sideways scroll pans).
func (p *overlayPlot) Scrolled(ev *fyne.ScrollEvent) {
	if p.o == nil {
		return
	}
	p.scrolled(ev, overlayPadL, p.Size().Width-overlayPadL)
	p.Refresh()
}

// Dragged pans.
func (p *overlayPlot) Dragged(ev *fyne.DragEvent) {
	if p.o == nil {
		return
	}
	p.dragged(ev.Dragged.DX, p.Size().Width-overlayPadL)
	p.Refresh()
}

func (p *overlayPlot) DragEnd() {}

func (p *overlayPlot) MinSize() fyne.Size { return fyne.NewSize(200, 120) }

func (p *overlayPlot) CreateRenderer() fyne.WidgetRenderer {
	return &plotRenderer{w: p, build: p.build}
}

// plotRenderer renders the plots (overlay, histogram, timeline): build makes their canvas
// objects from scratch for each size and each refresh, decimated to the pixels there are.
type plotRenderer struct {
	w       fyne.Widget
	build   func(size fyne.Size) []fyne.CanvasObject
	size    fyne.Size
	objects []fyne.CanvasObject
}

func (r *plotRenderer) Layout(s fyne.Size) {
	r.size = s
	r.objects = r.build(s)
}

func (r *plotRenderer) MinSize() fyne.Size { return r.w.MinSize() }
func (r *plotRenderer) Refresh() {
	r.objects = r.build(r.size)
	canvas.Refresh(r.w)
}
func (r *plotRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *plotRenderer) Destroy()                     {}

// build repaints the legend swatches in the theme's colours and draws the overlay at size.
func (p *overlayPlot) build(size fyne.Size) []fyne.CanvasObject {
	pc := currentPlotColors()
	for _, s := range p.swatches {
		if c := pc.of(s.name); s.r.FillColor != c {
			s.r.FillColor = c
			s.r.Refresh()
		}
	}
	if p.o == nil {
		bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
		bg.Resize(size)
		return []fyne.CanvasObject{bg}
	}
	return buildOverlay(p.o, p.nodata, p.from, p.to, size)
}

// plotColors are the theme colours of the plot, read once per build.
type plotColors struct {
	bg, grid, band, where, before, after, text, nodata color.Color
}

func currentPlotColors() plotColors {
	return plotColors{
		bg: theme.Color(theme.ColorNameInputBackground), grid: theme.Color(theme.ColorNameSeparator),
		band: theme.Color(theme.ColorNamePrimary), where: theme.Color(theme.ColorNameError),
		before: theme.Color(theme.ColorNamePrimary), after: theme.Color(theme.ColorNameWarning),
		text: theme.Color(theme.ColorNameForeground), nodata: theme.Color(theme.ColorNameForeground),
	}
}

// buildOverlay builds the canvas objects of o over [from, to) at size: per pixel column a
// tolerance rectangle around the before min/max and a vertical line for each trace's
// min/max (at most 3 objects per pixel column, whatever the number of samples), and a band
// over each stretch where a side had no data (nodata: before, after), which its trace does
// not bridge. The setup, which is not compared, is shaded and has no tolerance band; a
// failed signal's worst point is marked with the before envelope and tolerance there.
func buildOverlay(o *workspace.Overlay, nodata [2][]workspace.Span, from, to int64, size fyne.Size) []fyne.CanvasObject {
	pc := currentPlotColors()
	const padL, padB, padT = overlayPadL, 18, 4
	w := int(size.Width) - padL
	h := size.Height - padB - padT
	bg := canvas.NewRectangle(pc.bg)
	bg.Resize(size)
	objs := []fyne.CanvasObject{bg}
	if w < 2 || h < 2 || to <= from {
		return objs
	}
	bc := workspace.Decimate(o.Before, from, to, w)
	ac := workspace.Decimate(o.After, from, to, w)
	// col is the pixel column of time t, clamped to [0, w]
	col := func(t int64) int {
		return int(math.Ceil(float64(min(max(t, from), to)-from) / float64(to-from) * float64(w)))
	}
	setup := col(o.Setup) // columns before it are the setup's: not compared, no band
	wst := o.Worst
	if wst != nil && (wst.T < from || wst.T >= to) {
		wst = nil
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range bc {
		if c := bc[i]; c.N > 0 {
			lo, hi = min(lo, c.Min), max(hi, c.Max)
			if i >= setup {
				lo, hi = min(lo, c.Min-o.Band(c.Min)), max(hi, c.Max+o.Band(c.Max))
			}
		}
		if c := ac[i]; c.N > 0 {
			lo, hi = min(lo, c.Min), max(hi, c.Max)
		}
	}
	if wst != nil {
		lo, hi = min(lo, wst.V, wst.Lo-wst.Tol), max(hi, wst.V, wst.Hi+wst.Tol)
	}
	if math.IsInf(lo, 0) {
		return objs
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-1, hi+1
	}
	m := (hi - lo) * 0.05
	lo, hi = lo-m, hi+m
	y := func(v float64) float32 { return padT + float32((hi-v)/(hi-lo))*h }
	x0 := float32(padL)
	px := func(t int64) float32 {
		return x0 + float32(float64(min(max(t, from), to)-from)/float64(to-from)*float64(w))
	}
	caption := func(s string) *canvas.Text {
		t := canvas.NewText(s, pc.text)
		t.TextSize = theme.CaptionTextSize()
		return t
	}
	objs = make([]fyne.CanvasObject, 0, 12+3*w)
	objs = append(objs, bg)
	// the setup (both runs': the after run's is shifted to end where the before run's does)
	if setup > 0 {
		r := canvas.NewRectangle(pc.of("setup"))
		r.Move(fyne.NewPos(x0, padT))
		r.Resize(fyne.NewSize(float32(setup), h))
		objs = append(objs, r)
		if t := caption("setup"); t.MinSize().Width+4 <= float32(setup) {
			t.Move(fyne.NewPos(x0+2, padT+h/2-t.MinSize().Height/2))
			objs = append(objs, t)
		}
	}
	// where a side had no data: a band, labelled when there is room, that the trace and the
	// tolerance band do not bridge
	var covered [2][]int // covered[side][k]: columns < k with no data
	for side, spans := range nodata {
		cum := make([]int, w+1)
		for _, run := range workspace.Columns(spans, from, to, w) {
			r := canvas.NewRectangle(pc.of("no data"))
			r.Move(fyne.NewPos(x0+float32(run[0]), padT))
			r.Resize(fyne.NewSize(float32(run[1]-run[0]), h))
			objs = append(objs, r)
			t := caption("no data " + [2]string{"before", "after"}[side])
			if ts := t.MinSize(); ts.Width+4 <= float32(run[1]-run[0]) {
				t.Move(fyne.NewPos(x0+float32(run[0])+2, [2]float32{padT + 1, padT + h - ts.Height - 1}[side]))
				objs = append(objs, t)
			}
			for k := run[0]; k < run[1]; k++ {
				cum[k+1] = 1
			}
		}
		for k := range w {
			cum[k+1] += cum[k]
		}
		covered[side] = cum
	}
	// gapBetween: a no-data column in (a, b] on side
	gapBetween := func(side, a, b int) bool { return covered[side][b+1]-covered[side][a+1] > 0 }
	// the criterion's place
	if l := o.Look; l.To > l.From && l.To > from && l.From < to {
		a, b := px(l.From), px(l.To)
		hl := canvas.NewRectangle(withAlpha(pc.where, 0x30))
		hl.StrokeColor, hl.StrokeWidth = pc.where, 1
		hl.Move(fyne.NewPos(a, padT))
		hl.Resize(fyne.NewSize(max(b-a, 2), h))
		objs = append(objs, hl)
	}
	// axes and labels
	for _, v := range []float64{hi - m, lo + m} {
		g := canvas.NewLine(pc.grid)
		g.Position1, g.Position2 = fyne.NewPos(x0, y(v)), fyne.NewPos(size.Width, y(v))
		t := caption(fmtAxis(v))
		t.Move(fyne.NewPos(2, y(v)-t.MinSize().Height/2))
		objs = append(objs, g, t)
	}
	for _, tt := range []struct {
		at    float32
		ns    int64
		align fyne.TextAlign
	}{{x0, from, fyne.TextAlignLeading}, {size.Width, to, fyne.TextAlignTrailing}} {
		t := caption(fmt.Sprintf("%.2f s", float64(tt.ns)/1e9))
		ts := t.MinSize()
		x := tt.at
		if tt.align == fyne.TextAlignTrailing {
			x -= ts.Width
		}
		t.Move(fyne.NewPos(x, size.Height-ts.Height))
		objs = append(objs, t)
	}
	band := pc.of("tolerance")
	if o.Tolerance.Absolute > 0 || o.Tolerance.Relative > 0 {
		last := -1 // sparse samples: the band holds the last column's until the next
		for i := max(setup, 0); i < len(bc); i++ {
			if bc[i].N > 0 {
				last = i
			} else if gapBetween(0, i-1, i) {
				last = -1
			}
			if last < 0 {
				continue
			}
			c := bc[last]
			top, bot := y(c.Max+o.Band(c.Max)), y(c.Min-o.Band(c.Min))
			r := canvas.NewRectangle(band)
			r.Move(fyne.NewPos(x0+float32(i), top))
			r.Resize(fyne.NewSize(1, max(bot-top, 1)))
			objs = append(objs, r)
		}
	}
	// the before trace wider, so that it shows on either side of an after trace that lies on it
	for side, s := range []struct {
		cols  []workspace.Column
		col   color.Color
		width float32
	}{{bc, pc.before, 3}, {ac, pc.after, 1.5}} {
		prev := -1
		for i, c := range s.cols {
			if c.N == 0 {
				continue
			}
			x := x0 + float32(i) + 0.5
			vmin, vmax := c.Min, c.Max
			switch {
			case prev < 0 || gapBetween(side, prev, i):
				// no data in between: the plant is unknown there, so nothing joins the two
			case prev == i-1: // reach the previous column, so that a slope stays a line
				p := s.cols[prev]
				vmin, vmax = min(vmin, p.Max), max(vmax, p.Min)
			default: // sparse samples: join them
				p := s.cols[prev]
				j := canvas.NewLine(s.col)
				j.StrokeWidth = s.width
				j.Position1 = fyne.NewPos(x0+float32(prev)+0.5, y((p.Min+p.Max)/2))
				j.Position2 = fyne.NewPos(x, y((c.Min+c.Max)/2))
				objs = append(objs, j)
			}
			top, bot := y(vmax), y(vmin)
			if side == 0 { // as wide up and down as sideways
				top, bot = top-1, bot+1
			}
			l := canvas.NewLine(s.col)
			l.StrokeWidth = s.width
			l.Position1, l.Position2 = fyne.NewPos(x, top), fyne.NewPos(x, max(bot, top+1))
			objs = append(objs, l)
			prev = i
		}
	}
	if wst != nil {
		objs = append(objs, worstMarker(wst, px(wst.T), size.Width, y, pc, caption)...)
	}
	return objs
}

// worstMarker marks a failed signal's worst point at x: what was allowed there (the before
// envelope widened by the tolerance) as a bar with end ticks, the envelope itself as a
// thicker bar inside it, and the after value as a ring, labelled with its value (on the
// left of it near the plot's right edge, right).
func worstMarker(wst *workspace.Worst, x, right float32, y func(float64) float32, pc plotColors, caption func(string) *canvas.Text) []fyne.CanvasObject {
	const tick, ring = 5, 5
	line := func(x1, y1, x2, y2 float32, width float32) *canvas.Line {
		l := canvas.NewLine(pc.where)
		l.StrokeWidth = width
		l.Position1, l.Position2 = fyne.NewPos(x1, y1), fyne.NewPos(x2, y2)
		return l
	}
	top, bot := y(wst.Hi+wst.Tol), y(wst.Lo-wst.Tol)
	objs := []fyne.CanvasObject{
		line(x, top, x, bot, 1.5),
		line(x-tick, top, x+tick, top, 1.5),
		line(x-tick, bot, x+tick, bot, 1.5),
		line(x, y(wst.Hi), x, max(y(wst.Lo), y(wst.Hi)+1), 4),
	}
	c := canvas.NewCircle(color.Transparent)
	c.StrokeColor, c.StrokeWidth = pc.where, 2
	vy := y(wst.V)
	c.Move(fyne.NewPos(x-ring, vy-ring))
	c.Resize(fyne.NewSize(2*ring, 2*ring))
	// the label off the curve, on the side away from the envelope, on the plot's background
	t := caption("worst " + fmtAxis(wst.V))
	t.Color = pc.where
	ts := t.MinSize()
	tx, ty := x+ring+2, vy-ring-ts.Height
	if tx+ts.Width > right {
		tx = x - ring - 2 - ts.Width
	}
	if wst.V < wst.Lo {
		ty = vy + ring
	}
	bg := canvas.NewRectangle(withAlpha(pc.bg, 0xd0))
	bg.Move(fyne.NewPos(tx-1, ty))
	bg.Resize(fyne.NewSize(ts.Width+2, ts.Height))
	t.Move(fyne.NewPos(tx, ty))
	return append(objs, c, bg, t)
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

func fmtAxis(v float64) string {
	if a := math.Abs(v); a >= 1000 && a < 1e6 {
		return fmt.Sprintf("%.0f", v)
	}
	if math.Abs(v) >= 1000 || math.Abs(v) < 0.01 && v != 0 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2f", v)
}
