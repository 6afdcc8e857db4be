package gui

import (
	"fmt"
	"image/color"
	"math"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/verdict"
)

// compareView is the Compare section under the Validate tab's criteria table: the before
// and after traces of the selected criterion's tag, the tolerance band around the before
// trace, and the criterion's place in the trace highlighted. + and − zoom on that place.
type compareView struct {
	content fyne.CanvasObject
	title   *widget.Label
	plot    *overlayPlot
	zoomIn  *widget.Button
	zoomOut *widget.Button
	reset   *widget.Button
}

func newCompare() *compareView {
	c := &compareView{plot: newOverlayPlot()}
	c.title = widget.NewLabel("Compare: select a criterion with a tag to see its before and after traces.")
	c.title.Truncation = fyne.TextTruncateEllipsis
	c.zoomIn = widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { c.plot.zoom(0.5) })
	c.zoomOut = widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { c.plot.zoom(2) })
	c.reset = widget.NewButtonWithIcon("", theme.ZoomFitIcon(), c.plot.fit)
	legend := container.NewHBox(c.legendItem("before"), c.legendItem("after"), c.legendItem("tolerance"), c.legendItem("where"))
	bar := container.NewBorder(nil, nil, nil, container.NewHBox(legend, c.zoomOut, c.zoomIn, c.reset), c.title)
	c.content = container.NewBorder(bar, nil, nil, nil, c.plot)
	c.show(verdict.Criterion{}, workspace.Overlay{}, false)
	return c
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
	}
	return withAlpha(pc.where, 0x60)
}

// show plots o for criterion c (ok false: nothing to plot).
func (c *compareView) show(crit verdict.Criterion, o workspace.Overlay, ok bool) {
	for _, b := range []*widget.Button{c.zoomIn, c.zoomOut, c.reset} {
		if ok {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	if !ok {
		if crit.ID != "" {
			c.title.SetText("Compare: " + crit.ID + " names no tag to plot.")
		}
		c.plot.set(nil)
		return
	}
	txt := fmt.Sprintf("Compare %s: %s before (%d samples) and after (%d samples)", crit.ID, o.Tag, len(o.Before.T), len(o.After.T))
	if o.Tolerance.Absolute > 0 || o.Tolerance.Relative > 0 {
		txt += ", tolerance " + crit.Tolerance
	}
	if w := o.Where; w != nil && w.ToNs > w.FromNs {
		txt += fmt.Sprintf("; look at %.2f–%.2f s (%s)", float64(w.FromNs)/1e9, float64(w.ToNs)/1e9, w.Side)
	}
	c.title.SetText(txt)
	c.plot.set(&o)
}

// overlayPlot draws an Overlay with canvas primitives, decimated to one min/max column per
// pixel so that millions of samples draw as fast as a screen width of them.
type overlayPlot struct {
	widget.BaseWidget
	o        *workspace.Overlay
	from, to int64 // the time range shown, ns
	swatches []swatch
}

func newOverlayPlot() *overlayPlot {
	p := &overlayPlot{}
	p.ExtendBaseWidget(p)
	return p
}

func (p *overlayPlot) set(o *workspace.Overlay) {
	p.o = o
	p.fit()
}

// fit shows the whole trace.
func (p *overlayPlot) fit() {
	p.from, p.to = 0, 1
	if p.o != nil {
		p.to = max(p.o.End, 1)
	}
	p.Refresh()
}

// zoom scales the range shown by f around the criterion's place (or the middle).
func (p *overlayPlot) zoom(f float64) {
	if p.o == nil {
		return
	}
	mid := (p.from + p.to) / 2
	if w := p.o.Where; w != nil && w.ToNs > w.FromNs && w.ToNs > p.from && w.FromNs < p.to {
		mid = (w.FromNs + w.ToNs) / 2
	}
	half := int64(float64(p.to-p.from) * f / 2)
	half = min(max(half, 1000), p.o.End)
	p.from, p.to = max(0, mid-half), min(p.o.End, mid+half)
	if p.to <= p.from {
		p.from, p.to = 0, max(p.o.End, 1)
	}
	p.Refresh()
}

func (p *overlayPlot) MinSize() fyne.Size { return fyne.NewSize(200, 160) }

func (p *overlayPlot) CreateRenderer() fyne.WidgetRenderer {
	return &overlayRenderer{p: p}
}

type overlayRenderer struct {
	p       *overlayPlot
	size    fyne.Size
	objects []fyne.CanvasObject
}

func (r *overlayRenderer) Layout(s fyne.Size) {
	r.size = s
	r.rebuild()
}

func (r *overlayRenderer) MinSize() fyne.Size           { return r.p.MinSize() }
func (r *overlayRenderer) Refresh()                     { r.rebuild(); canvas.Refresh(r.p) }
func (r *overlayRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *overlayRenderer) Destroy()                     {}

func (r *overlayRenderer) rebuild() {
	pc := currentPlotColors()
	for _, s := range r.p.swatches {
		if c := pc.of(s.name); s.r.FillColor != c {
			s.r.FillColor = c
			s.r.Refresh()
		}
	}
	if r.p.o == nil {
		bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
		bg.Resize(r.size)
		r.objects = []fyne.CanvasObject{bg}
		return
	}
	r.objects = buildOverlay(r.p.o, r.p.from, r.p.to, r.size)
}

// plotColors are the theme colours of the plot, read once per build.
type plotColors struct {
	bg, grid, band, where, before, after, text color.Color
}

func currentPlotColors() plotColors {
	return plotColors{
		bg: theme.Color(theme.ColorNameInputBackground), grid: theme.Color(theme.ColorNameSeparator),
		band: theme.Color(theme.ColorNamePrimary), where: theme.Color(theme.ColorNameError),
		before: theme.Color(theme.ColorNamePrimary), after: theme.Color(theme.ColorNameWarning),
		text: theme.Color(theme.ColorNameForeground),
	}
}

// buildOverlay builds the canvas objects of o over [from, to) at size: per pixel column a
// tolerance rectangle around the before min/max and a vertical line for each trace's
// min/max (at most 3 objects per pixel column, whatever the number of samples).
func buildOverlay(o *workspace.Overlay, from, to int64, size fyne.Size) []fyne.CanvasObject {
	pc := currentPlotColors()
	const padL, padB, padT = 48, 18, 4
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
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range bc {
		if c := bc[i]; c.N > 0 {
			lo, hi = min(lo, c.Min-o.Band(c.Min)), max(hi, c.Max+o.Band(c.Max))
		}
		if c := ac[i]; c.N > 0 {
			lo, hi = min(lo, c.Min), max(hi, c.Max)
		}
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
	objs = make([]fyne.CanvasObject, 0, 8+3*w)
	objs = append(objs, bg)
	// the criterion's place
	if wh := o.Where; wh != nil && wh.ToNs > wh.FromNs && wh.ToNs > from && wh.FromNs < to {
		px := func(t int64) float32 {
			return x0 + float32(float64(min(max(t, from), to)-from)/float64(to-from)*float64(w))
		}
		a, b := px(wh.FromNs), px(wh.ToNs)
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
		t := canvas.NewText(fmtAxis(v), pc.text)
		t.TextSize = theme.CaptionTextSize()
		t.Move(fyne.NewPos(2, y(v)-t.MinSize().Height/2))
		objs = append(objs, g, t)
	}
	for _, tt := range []struct {
		at    float32
		ns    int64
		align fyne.TextAlign
	}{{x0, from, fyne.TextAlignLeading}, {size.Width, to, fyne.TextAlignTrailing}} {
		t := canvas.NewText(fmt.Sprintf("%.2f s", float64(tt.ns)/1e9), pc.text)
		t.TextSize = theme.CaptionTextSize()
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
		for i := range bc {
			if bc[i].N > 0 {
				last = i
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
	for _, s := range []struct {
		cols []workspace.Column
		col  color.Color
	}{{bc, pc.before}, {ac, pc.after}} {
		prev := -1
		for i, c := range s.cols {
			if c.N == 0 {
				continue
			}
			x := x0 + float32(i) + 0.5
			vmin, vmax := c.Min, c.Max
			if prev >= 0 && prev == i-1 { // reach the previous column, so that a slope stays a line
				p := s.cols[prev]
				vmin, vmax = min(vmin, p.Max), max(vmax, p.Min)
			} else if prev >= 0 { // sparse samples: join them
				p := s.cols[prev]
				j := canvas.NewLine(s.col)
				j.StrokeWidth = 1.5
				j.Position1 = fyne.NewPos(x0+float32(prev)+0.5, y((p.Min+p.Max)/2))
				j.Position2 = fyne.NewPos(x, y((c.Min+c.Max)/2))
				objs = append(objs, j)
			}
			top, bot := y(vmax), y(vmin)
			l := canvas.NewLine(s.col)
			l.StrokeWidth = 1.5
			l.Position1, l.Position2 = fyne.NewPos(x, top), fyne.NewPos(x, max(bot, top+1))
			objs = append(objs, l)
			prev = i
		}
	}
	return objs
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), a}
}

func fmtAxis(v float64) string {
	if math.Abs(v) >= 1000 || math.Abs(v) < 0.01 && v != 0 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2f", v)
}
