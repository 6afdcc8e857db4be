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
	"github.com/patchgate/patchgate/harness/plotdata"
	"github.com/patchgate/patchgate/harness/verdict"
)

// timingView is the Compare section's Timing view: one histogram per timing probe (and the
// harness's sampling lateness), before and after on shared bins, with each side's median and
// the criterion's tolerance band around the before median, so that "the after median is
// outside the band" is visible at once.
type timingView struct {
	title   *widget.Label
	tools   fyne.CanvasObject
	body    fyne.CanvasObject
	percent *widget.RadioGroup
	empty   *widget.Label
	grid    *fyne.Container
	plots   []*histPlot
	high    string // the probe framed
}

const (
	showCount   = "count"
	showPercent = "% of side"
)

func newTimingView() *timingView {
	v := &timingView{}
	v.title = widget.NewLabel("")
	v.title.Truncation = fyne.TextTruncateEllipsis
	v.percent = widget.NewRadioGroup([]string{showCount, showPercent}, v.onScaleChanged)
	v.percent.Horizontal = true
	v.percent.Required = true
	v.percent.SetSelected(showCount)
	legend := container.NewHBox(newSwatch("before", func() color.Color { return theme.Color(theme.ColorNamePrimary) }),
		newSwatch("after", func() color.Color { return theme.Color(theme.ColorNameWarning) }),
		newSwatch("tolerance", func() color.Color { return withAlpha(theme.Color(theme.ColorNameSuccess), 0x50) }))
	v.tools = container.NewHBox(legend, v.percent)
	v.empty = widget.NewLabel("Run a validation to see its timing distributions here.")
	v.empty.Alignment = fyne.TextAlignCenter
	v.grid = container.NewGridWithRows(1)
	v.body = container.NewStack(v.empty, v.grid)
	v.set(nil, nil)
	return v
}

// set shows one histogram per probe; crit gives each probe's criterion status.
func (v *timingView) set(probes []workspace.TimingProbe, crit []verdict.Criterion) {
	byID := map[string]verdict.Criterion{}
	for _, c := range crit {
		byID[c.ID] = c
	}
	v.plots = nil
	var objs []fyne.CanvasObject
	for _, p := range probes {
		hp := newHistPlot(p, byID[p.Criterion()], v.percent.Selected == showPercent)
		hp.highlighted = v.high != "" && p.Name == v.high && p.Criterion() != ""
		v.plots = append(v.plots, hp)
		objs = append(objs, hp)
	}
	cols := max(1, min(len(objs), 4))
	v.grid.Layout = container.NewGridWithColumns(cols).Layout
	v.grid.Objects = objs
	v.grid.Refresh()
	if len(probes) == 0 {
		v.empty.Show()
		v.grid.Hide()
		v.title.SetText("Timing: the scan period, response and round-trip distributions, before and after.")
		return
	}
	v.empty.Hide()
	v.grid.Show()
	names := make([]string, 0, len(probes))
	for _, p := range probes {
		if p.Criterion() != "" {
			names = append(names, p.Name)
		}
	}
	v.title.SetText(fmt.Sprintf("Timing of %s, before and after", strings.Join(names, ", ")))
}

// highlight frames the histogram of probe name ("" for none).
func (v *timingView) highlight(name string) {
	v.high = name
	for _, p := range v.plots {
		on := name != "" && p.p.Name == name && p.p.Criterion() != ""
		if p.highlighted != on {
			p.highlighted = on
			p.Refresh()
		}
	}
}

func (v *timingView) onScaleChanged(s string) {
	for _, p := range v.plots {
		p.percent = s == showPercent
		p.Refresh()
	}
}

// histPlot is one probe's histogram, drawn with canvas primitives: O(bins) objects, whatever
// the number of values.
type histPlot struct {
	widget.BaseWidget
	p           workspace.TimingProbe
	crit        verdict.Criterion
	percent     bool
	highlighted bool

	bins int // the histogram below was binned for this many bins at most
	h    workspace.Histogram
}

func newHistPlot(p workspace.TimingProbe, c verdict.Criterion, percent bool) *histPlot {
	hp := &histPlot{p: p, crit: c, percent: percent}
	hp.ExtendBaseWidget(hp)
	return hp
}

func (p *histPlot) MinSize() fyne.Size { return fyne.NewSize(220, 120) }

func (p *histPlot) CreateRenderer() fyne.WidgetRenderer {
	return &plotRenderer{w: p, build: func(size fyne.Size) []fyne.CanvasObject { return buildHistogram(p, size) }}
}

// histogram bins the values for at most maxBins bins, once per width.
func (p *histPlot) histogram(maxBins int) workspace.Histogram {
	if p.bins != maxBins {
		p.bins, p.h = maxBins, p.p.Histogram(maxBins)
	}
	return p.h
}

// statusColor is the theme colour of a criterion status.
func statusColor(s verdict.Status) color.Color {
	switch s {
	case verdict.Pass:
		return theme.Color(theme.ColorNameSuccess)
	case verdict.Fail:
		return theme.Color(theme.ColorNameError)
	case "":
		return theme.Color(theme.ColorNamePlaceHolder)
	}
	return theme.Color(theme.ColorNameWarning)
}

// captionText is a caption-sized canvas text.
func captionText(s string, c color.Color, bold bool) *canvas.Text {
	t := canvas.NewText(s, c)
	t.TextSize = theme.CaptionTextSize()
	t.TextStyle.Bold = bold
	return t
}

// fmtMs says seconds in ms with as many digits as step (ms) needs.
func fmtMs(sec, stepMs float64) string {
	d := 0
	if stepMs > 0 && stepMs < 1 {
		d = int(math.Ceil(-math.Log10(stepMs) - 1e-9))
	}
	return fmt.Sprintf("%.*f", min(d, 6), sec*1e3)
}

// fmtMsAuto says seconds in ms with three significant digits or so.
func fmtMsAuto(sec float64) string {
	ms := sec * 1e3
	switch a := math.Abs(ms); {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", ms)
	case a >= 10:
		return fmt.Sprintf("%.1f", ms)
	case a >= 0.01:
		return fmt.Sprintf("%.2f", ms)
	}
	return fmt.Sprintf("%.2g", ms)
}

// niceStep is a 1, 2 or 5 x 10^k step that divides span into about n parts (plotdata.Step,
// the reports' tick step).
func niceStep(span float64, n int) float64 { return plotdata.Step(span, n) }

// buildHistogram builds the canvas objects of p's histogram at size.
func buildHistogram(p *histPlot, size fyne.Size) []fyne.CanvasObject {
	fg := theme.Color(theme.ColorNameForeground)
	muted := theme.Color(theme.ColorNamePlaceHolder)
	cols := [2]color.Color{theme.Color(theme.ColorNamePrimary), theme.Color(theme.ColorNameWarning)}
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.Resize(size)
	if p.highlighted {
		bg.StrokeColor, bg.StrokeWidth = theme.Color(theme.ColorNamePrimary), 2
	}
	objs := []fyne.CanvasObject{bg}
	pp := p.p

	// the title line: name, unit, status; the second line: medians and counts
	title := captionText(pp.Name, fg, true)
	title.Move(fyne.NewPos(6, 2))
	status := "no criterion: harness noise"
	if p.crit.ID != "" {
		status = strings.ToUpper(string(p.crit.Status))
	}
	st := captionText(status, statusColor(p.crit.Status), true)
	st.Move(fyne.NewPos(size.Width-st.MinSize().Width-6, 2))
	lineH := title.MinSize().Height
	objs = append(objs, title, st)
	med := [2]float64{workspace.Median(pp.Before), workspace.Median(pp.After)}
	sub := fmt.Sprintf("n %d / %d %s", len(pp.Before), len(pp.After), pp.Unit)
	if !math.IsNaN(med[0]) && !math.IsNaN(med[1]) {
		sub = fmt.Sprintf("p50 %s → %s ms", fmtMsAuto(med[0]), fmtMsAuto(med[1])) + ", " + sub
	}
	if pp.Tolerance > 0 {
		sub += fmt.Sprintf(", tol ±%s ms", fmtMsAuto(pp.Tolerance))
	}
	sl := captionText(sub, muted, false)
	sl.Move(fyne.NewPos(6, 2+lineH))
	objs = append(objs, sl)

	const padL, padR = 38, 10
	padT := 2*lineH + 8
	padB := 2*lineH + 2
	pw, ph := size.Width-padL-padR, size.Height-padT-padB
	if pw < 20 || ph < 10 {
		return objs
	}
	// what is missing is said, never drawn as an empty bar
	var missing []string
	for i, xs := range [][]float64{pp.Before, pp.After} {
		side := [2]string{"before", "after"}[i]
		if len(xs) == 0 {
			missing = append(missing, "no values "+side)
		}
		if n := pp.NoValue[i]; n > 0 {
			missing = append(missing, fmt.Sprintf("%d %s run(s) without a value", n, side))
		}
	}
	if len(pp.Before)+len(pp.After) == 0 {
		t := captionText(strings.Join(missing, "; "), theme.Color(theme.ColorNameWarning), true)
		t.Move(fyne.NewPos(padL, padT+ph/2-lineH/2))
		return append(objs, t)
	}

	// x range: the values and the tolerance band; the bins get the values' share of the width
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xs := range [][]float64{pp.Before, pp.After} {
		if len(xs) > 0 {
			lo, hi = min(lo, xs[0]), max(hi, xs[len(xs)-1])
		}
	}
	xlo, xhi := lo, hi
	if pp.Tolerance > 0 && !math.IsNaN(med[0]) {
		xlo, xhi = min(xlo, med[0]-pp.Tolerance), max(xhi, med[0]+pp.Tolerance)
	}
	share := 1.0
	if xhi > xlo {
		share = max((hi-lo)/(xhi-xlo), 0.05)
	}
	h := p.histogram(max(1, int(float64(pw)*share/6)))
	nb := len(h.Before)
	if nb == 0 {
		return objs
	}
	w := h.Width()
	xlo, xhi = min(xlo, h.Edges[0]), max(xhi, h.Edges[nb])
	if nb == 1 { // all values alike: one narrow bar, not a plot-wide block that looks like a spread
		xlo, xhi = min(xlo, h.Edges[0]-4*w), max(xhi, h.Edges[1]+4*w)
	}
	tail := h.Over[0]+h.Over[1] > 0
	if tail {
		xhi = h.Edges[nb] + w // the tail bin, one bin wide, after a gap
	}
	x := func(v float64) float32 { return padL + float32((v-xlo)/(xhi-xlo))*pw }
	val := func(side, count int) float64 {
		if p.percent && h.N[side] > 0 {
			return 100 * float64(count) / float64(h.N[side])
		}
		return float64(count)
	}
	ymax := 0.0
	for i := range nb {
		ymax = max(ymax, val(0, h.Before[i]), val(1, h.After[i]))
	}
	for s := range 2 {
		ymax = max(ymax, val(s, h.Over[s]))
	}
	ystep := niceStep(ymax, 2)
	if !p.percent {
		ystep = max(ystep, 1) // counts are whole
	}
	ymax = max(math.Ceil(ymax/ystep)*ystep, 1)
	y := func(v float64) float32 { return padT + ph - float32(v/ymax)*ph }

	// tolerance band around the before median
	if pp.Tolerance > 0 && !math.IsNaN(med[0]) {
		a, b := x(med[0]-pp.Tolerance), x(med[0]+pp.Tolerance)
		band := canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNameSuccess), 0x28))
		band.Move(fyne.NewPos(a, padT))
		band.Resize(fyne.NewSize(max(b-a, 1), ph))
		objs = append(objs, band)
	}
	// grid and y labels
	for v := 0.0; v <= ymax+ystep*1e-9; v += ystep {
		g := canvas.NewLine(theme.Color(theme.ColorNameSeparator))
		g.Position1, g.Position2 = fyne.NewPos(padL, y(v)), fyne.NewPos(padL+pw, y(v))
		lbl := strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".0")
		if v+ystep > ymax+ystep*1e-9 && p.percent {
			lbl += " %"
		}
		t := captionText(lbl, muted, false)
		t.Move(fyne.NewPos(padL-t.MinSize().Width-3, y(v)-t.MinSize().Height/2))
		objs = append(objs, g, t)
	}
	// bars: before on the left half of each bin, after on the right
	bar := func(x0, x1 float32, v float64, c color.Color) {
		if v <= 0 {
			return
		}
		r := canvas.NewRectangle(c)
		top := y(v)
		r.Move(fyne.NewPos(x0, top))
		r.Resize(fyne.NewSize(max(x1-x0, 1), max(padT+ph-top, 1)))
		objs = append(objs, r)
	}
	pair := func(x0, x1 float32, b, a float64) {
		if x1-x0 < 7 { // a bin narrower than the bars: they stay visible around its middle
			c := (x0 + x1) / 2
			x0, x1 = c-3.5, c+3.5
		}
		gap := min(float32(1), (x1-x0)*0.1)
		mid := (x0 + x1) / 2
		bar(x0+gap, mid, b, cols[0])
		bar(mid, x1-gap, a, cols[1])
	}
	for i := range nb {
		pair(x(h.Edges[i]), x(h.Edges[i+1]), val(0, h.Before[i]), val(1, h.After[i]))
	}
	if tail {
		a, b := x(h.Edges[nb])+4, x(h.Edges[nb]+w)
		pair(a, b, val(0, h.Over[0]), val(1, h.Over[1]))
		t := captionText("≥", muted, false)
		t.Move(fyne.NewPos(a, padT+ph+1))
		objs = append(objs, t)
	}
	// medians
	for s := range 2 {
		if math.IsNaN(med[s]) {
			continue
		}
		l := canvas.NewLine(cols[s])
		l.StrokeWidth = 2
		l.Position1, l.Position2 = fyne.NewPos(x(med[s]), padT-3), fyne.NewPos(x(med[s]), padT+ph)
		objs = append(objs, l)
	}
	// x axis in ms
	axis := canvas.NewLine(theme.Color(theme.ColorNameSeparator))
	axis.Position1, axis.Position2 = fyne.NewPos(padL, padT+ph), fyne.NewPos(padL+pw, padT+ph)
	objs = append(objs, axis)
	step := niceStep(xhi-xlo, max(2, int(pw/70)))
	lastEnd := float32(-1)
	for v := math.Ceil(xlo/step) * step; v <= xhi+step*1e-9; v += step {
		if math.Abs(v) < step*1e-6 {
			v = 0 // not -0.000
		}
		t := captionText(fmtMs(v, step*1e3), muted, false)
		tw := t.MinSize().Width
		tx := min(max(x(v)-tw/2, padL), padL+pw-tw)
		if tx < lastEnd+4 {
			continue
		}
		tick := canvas.NewLine(theme.Color(theme.ColorNameSeparator))
		tick.Position1, tick.Position2 = fyne.NewPos(x(v), padT+ph), fyne.NewPos(x(v), padT+ph+3)
		t.Move(fyne.NewPos(tx, padT+ph+2))
		objs = append(objs, tick, t)
		lastEnd = tx + tw
	}
	unit := "ms"
	if len(missing) > 0 {
		unit = "ms · " + strings.Join(missing, "; ")
	}
	ut := captionText(unit, muted, false)
	if len(missing) > 0 {
		ut.Color = theme.Color(theme.ColorNameWarning)
	}
	ut.Move(fyne.NewPos(padL+pw-ut.MinSize().Width, padT+ph+2+lineH))
	return append(objs, ut)
}

// swatchWidget is a legend entry whose colour is read from the theme at each refresh.
type swatchWidget struct {
	widget.BaseWidget
	label string
	color func() color.Color
}

func newSwatch(label string, c func() color.Color) *swatchWidget {
	s := &swatchWidget{label: label, color: c}
	s.ExtendBaseWidget(s)
	return s
}

func (s *swatchWidget) CreateRenderer() fyne.WidgetRenderer {
	sw := canvas.NewRectangle(s.color())
	sw.SetMinSize(fyne.NewSize(12, 12))
	l := widget.NewLabel(s.label)
	r := &swatchRenderer{s: s, sw: sw, box: container.NewHBox(container.NewCenter(sw), l)}
	return r
}

type swatchRenderer struct {
	s   *swatchWidget
	sw  *canvas.Rectangle
	box *fyne.Container
}

func (r *swatchRenderer) Layout(size fyne.Size)        { r.box.Resize(size) }
func (r *swatchRenderer) MinSize() fyne.Size           { return r.box.MinSize() }
func (r *swatchRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.box} }
func (r *swatchRenderer) Destroy()                     {}
func (r *swatchRenderer) Refresh() {
	r.sw.FillColor = r.s.color()
	r.sw.Refresh()
	r.box.Refresh()
}
