package gui

import (
	"fmt"
	"image/color"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/point"
	"github.com/patchgate/patchgate/harness/runner"
)

// livePlot is what the Validate tab shows under the criteria table while a validation
// runs: the chosen tag as it is sampled, the before run and the after run on one time axis,
// drawn by the Compare section's overlay plot (decimated, so a long soak stays cheap). Each
// side shows its current repetition.
type livePlot struct {
	content fyne.CanvasObject
	tag     *widget.Select
	title   *widget.Label
	plot    *overlayPlot

	series map[string]*[2]workspace.Series // per tag: before, after
	run    [2]int                          // the run (Progress.Run) each side's series are of

	steps    []string // the scenario's steps, as the runner describes them
	stepList *widget.List
	cur      int // the step running now, 1-based; 0 before the first
}

func newLivePlot() *livePlot {
	l := &livePlot{plot: newOverlayPlot(), series: map[string]*[2]workspace.Series{}}
	l.tag = widget.NewSelect(nil, func(string) { l.redraw() })
	l.title = widget.NewLabel("Live: the sampled values appear here as the runs go.")
	l.title.Truncation = fyne.TextTruncateEllipsis
	legend := container.NewHBox(l.legendItem("before"), l.legendItem("after"))
	bar := container.NewBorder(nil, nil, container.NewHBox(widget.NewLabel("Live"), l.tag), legend, l.title)
	l.stepList = widget.NewList(func() int { return len(l.steps) },
		func() fyne.CanvasObject {
			t := widget.NewLabel("12. wait_until AlarmHigh == true within 30s")
			t.Truncation = fyne.TextTruncateEllipsis
			return t
		}, l.updateStep)
	split := container.NewHSplit(l.stepList, l.plot)
	split.Offset = 0.3
	l.content = container.NewBorder(bar, nil, nil, nil, split)
	return l
}

// updateStep shows step i: done ones ticked, the running one highlighted.
func (l *livePlot) updateStep(i widget.ListItemID, o fyne.CanvasObject) {
	t := o.(*widget.Label)
	mark := "   "
	t.Importance = widget.MediumImportance
	t.TextStyle.Bold = false
	switch {
	case i+1 < l.cur:
		mark = "✓ "
		t.Importance = widget.LowImportance
	case i+1 == l.cur:
		mark = "▶ "
		t.Importance = widget.HighImportance
		t.TextStyle.Bold = true
	}
	t.SetText(fmt.Sprintf("%s%d. %s", mark, i+1, l.steps[i]))
}

func (l *livePlot) legendItem(text string) fyne.CanvasObject {
	sw := canvas.NewRectangle(color.Transparent)
	sw.SetMinSize(fyne.NewSize(12, 12))
	l.plot.swatches = append(l.plot.swatches, swatch{text, sw})
	return container.NewHBox(container.NewCenter(sw), widget.NewLabel(text))
}

// reset clears the plot for a new validation of sc: its numeric points are the choices, the
// choice is kept when sc has it, else the first analogue point.
func (l *livePlot) reset(sc *workspace.Loaded) {
	clear(l.series)
	l.run = [2]int{}
	l.steps = l.steps[:0]
	// setup and steps, numbered as the runner's progress and the restart dialog number them
	for _, st := range sc.Setup {
		l.steps = append(l.steps, "setup: "+runner.Describe(st))
	}
	for _, st := range sc.Steps {
		l.steps = append(l.steps, runner.Describe(st))
	}
	l.cur = 0
	l.stepList.Refresh()
	var tags []string
	first := ""
	for _, p := range sc.Points.Points {
		if p.Type == point.TypeString {
			continue
		}
		tags = append(tags, p.Tag)
		if first == "" && (p.Type == point.TypeFloat32 || p.Type == point.TypeFloat64) {
			first = p.Tag
		}
	}
	l.tag.SetOptions(tags)
	if !slices.Contains(tags, l.tag.Selected) {
		if first == "" && len(tags) > 0 {
			first = tags[0]
		}
		l.tag.SetSelected(first) // redraws
	} else {
		l.redraw()
	}
}

// add appends what a progress report carries and redraws.
func (l *livePlot) add(p workspace.Progress) {
	side := 0
	if p.Side == "after" {
		side = 1
	}
	if p.Run != l.run[side] { // a new repetition of this side
		l.run[side] = p.Run
		for _, s := range l.series {
			s[side] = workspace.Series{}
		}
	}
	for tag, in := range p.Live {
		s := l.series[tag]
		if s == nil {
			s = &[2]workspace.Series{}
			l.series[tag] = s
		}
		s[side].T = append(s[side].T, in.T...)
		s[side].V = append(s[side].V, in.V...)
	}
	if p.Step != l.cur {
		l.cur = p.Step
		l.stepList.Refresh()
		if p.Step > 0 {
			l.stepList.ScrollTo(p.Step - 1)
		}
	}
	if len(p.Live) > 0 {
		l.redraw()
	}
}

func (l *livePlot) redraw() {
	s := l.series[l.tag.Selected]
	if s == nil {
		l.plot.set(nil)
		return
	}
	o := workspace.Overlay{Tag: l.tag.Selected, Before: s[0], After: s[1]}
	for _, x := range s {
		if n := len(x.T); n > 0 {
			o.End = max(o.End, x.T[n-1])
		}
	}
	l.title.SetText(fmt.Sprintf("%s: %d samples before, %d after (run %d and %d)", o.Tag, len(s[0].T), len(s[1].T), l.run[0], l.run[1]))
	l.plot.set(&o)
}
