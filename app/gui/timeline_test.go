package gui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/driver"
	"github.com/patchgate/patchgate/harness/trace"
)

// handRun is a run of one tag sampled every 100 ms for n slots, the slots in bad missing.
func handRun(id int64, n int, bad []int, events ...trace.Event) *trace.Trace {
	tr := &trace.Trace{Run: trace.Run{ID: id, Period: 100 * time.Millisecond, Tags: []string{"Level"}, Status: trace.Completed}, Events: events}
	for i := range n {
		s := trace.Sample{Slot: int64(i), T: int64(i)*int64(100*time.Millisecond) + int64(time.Millisecond), Quality: driver.Good, Value: float64(i)}
		if slices.Contains(bad, i) {
			s.Quality = driver.Missing
		}
		tr.Samples = append(tr.Samples, s)
	}
	return tr
}

// TestTimelineDrawsMissingData: the after run loses 2 s of data and ends 3 s early; its lane
// is shaded there, labelled "no data" and "run ended", the before lane is not; a mark on
// both sides is labelled in both lanes.
func TestTimelineDrawsMissingData(t *testing.T) {
	test.NewTempApp(t)
	mark := trace.Event{T: int64(500 * time.Millisecond), Kind: trace.EvMark, Msg: "fill"}
	before := handRun(1, 100, nil, mark)
	bad := []int{}
	for i := 30; i < 50; i++ {
		bad = append(bad, i)
	}
	after := handRun(2, 70, bad, mark)
	tl := workspace.NewTimeline(before, after)
	p := newTimelinePlot()
	w := test.NewTempWindow(t, p)
	w.Resize(fyne.NewSize(800, 220))
	p.set(&tl)
	objs := test.WidgetRenderer(p).Objects()

	size := p.Size()
	capH := captionText("0", theme.Color(theme.ColorNameForeground), false).MinSize().Height
	legendH, gap := capH+2, capH+4
	laneH := (size.Height - legendH - (capH + 4) - gap) / 2
	laneOf := func(y float32) int {
		if y < legendH+laneH+gap/2 {
			return 0
		}
		return 1
	}
	var inLanes [2]int
	for _, r := range rects(objs, noDataColor()) {
		if r.Position().Y >= legendH { // not the legend's swatch
			inLanes[laneOf(r.Position().Y)]++
		}
	}
	if inLanes != [2]int{0, 2} {
		t.Errorf("no-data bands per lane %v, want two in the after lane (the gap, and after its end)", inLanes)
	}
	var ended []string
	var marks [2]int
	for _, o := range objs {
		if tx, ok := o.(*canvas.Text); ok && tx.Position().Y >= legendH {
			switch tx.Text {
			case "run ended", "no data":
				ended = append(ended, [2]string{"before", "after"}[laneOf(tx.Position().Y)]+" "+tx.Text)
			case "fill":
				marks[laneOf(tx.Position().Y)]++
			}
		}
	}
	slices.Sort(ended)
	if want := []string{"after no data", "after run ended"}; !slices.Equal(ended, want) {
		t.Errorf("labels %v, want %v", ended, want)
	}
	if marks != [2]int{1, 1} {
		t.Errorf("mark labels per lane %v", marks)
	}
	if s := timelineSummary(&tl); !strings.Contains(s, "no event moved") {
		t.Errorf("summary %q", s)
	}
}
