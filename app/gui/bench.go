package gui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/simulators/firmware"
)

// PollEvery is how often the Bench tab reads the embedded controllers and the connected
// targets.
const PollEvery = 500 * time.Millisecond

// benchView is the Bench tab: the embedded stations (start and stop, firmware, faults),
// the engineer's targets (add, edit, remove, test, connect; bench_targets.go) and a live
// table of point values: one column per station, then one per connected target.
type benchView struct {
	ui      *UI
	content fyne.CanvasObject
	cards   []*stationCard
	targets *targetsPanel
	table   *widget.Table
	live    *widget.Label // errors of the connected targets' reads

	stationRows [][]workspace.Reading // per station, the latest values
	conns       []*connection         // connected targets, in the order connected
	// what the table shows, rebuilt from the above by rebuild
	rows  [][]workspace.Reading // per column after Tag: stations, then connected targets
	heads []string              // their headers
	tags  []string              // row tags: the stations' tags, then any others in order
}

type stationCard struct {
	info     *widget.Label
	firmware *widget.Select
	run      *widget.Button  // Stop, or Start when stopped
	faults   []*widget.Check // one per workspace.FaultKinds
	fault    *widget.Check   // faults[0], the demo fault (+20 ms latency)
	busy     bool            // a stop, start or restart is under way
}

func newBench(u *UI) *benchView {
	v := &benchView{ui: u}
	var profiles []string
	for _, p := range firmware.ForModel("tank") {
		profiles = append(profiles, p.Name)
	}
	var cols []fyne.CanvasObject
	for i, st := range u.ws.Stations() {
		c := &stationCard{info: widget.NewLabel("")}
		c.firmware = widget.NewSelect(profiles, nil)
		c.firmware.SetSelected(st.Firmware().Name)
		c.firmware.OnChanged = func(fw string) { v.onFirmwareChanged(i, fw) }
		c.run = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), func() { v.onRunTapped(i) })
		var checks []fyne.CanvasObject
		on := workspace.KindsOn(st.Faults())
		for k, fk := range workspace.FaultKinds {
			ch := widget.NewCheck(fk.Name, nil)
			ch.SetChecked(on[k])
			ch.OnChanged = func(bool) { v.onFaultChanged(i) }
			c.faults = append(c.faults, ch)
			checks = append(checks, ch)
		}
		c.fault = c.faults[0]
		v.cards = append(v.cards, c)
		v.stationRows = append(v.stationRows, u.ws.Read(i))
		form := widget.NewForm(
			widget.NewFormItem("Firmware", container.NewBorder(nil, nil, nil, c.run, c.firmware)),
			widget.NewFormItem("Faults", container.NewGridWithColumns(3, checks...)))
		cols = append(cols, widget.NewCard("Tank "+st.Role+" (embedded simulator)", "", container.NewVBox(c.info, form)))
		v.showStation(i, st)
	}
	v.table = widget.NewTableWithHeaders(v.tableSize, func() fyne.CanvasObject {
		l := widget.NewLabel("Interlock 000.00 %")
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}, v.updateCell)
	v.table.CreateHeader = func() fyne.CanvasObject {
		l := widget.NewLabel("header")
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	v.table.UpdateHeader = v.updateHeader
	v.table.ShowHeaderColumn = false
	v.live = widget.NewLabel("")
	v.live.Wrapping = fyne.TextWrapWord
	v.live.Importance = widget.DangerImportance
	v.live.Hide()
	v.rebuild()
	v.targets = newTargetsPanel(v)
	top := container.NewGridWithColumns(len(cols), cols...)
	values := container.NewBorder(widget.NewLabelWithStyle("Live values (read-only)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.live, nil, nil, v.table)
	split := container.NewHSplit(v.targets.content, values)
	split.Offset = 0.45
	v.content = container.NewBorder(top, nil, nil, nil, split)
	return v
}

func (v *benchView) showStation(i int, st *workspace.Station) {
	p := st.Firmware()
	id := st.Controller.Identity()
	state := ""
	if !st.Running() {
		state = "STOPPED: "
	}
	v.cards[i].info.SetText(fmt.Sprintf("%sfirmware %s (%s, %s)\n%s %s, serial %s\n%s   %s",
		state, p.Version, p.Name, p.Kind, id.Vendor, id.Product, id.Serial, st.ModbusURL(), st.OPCUAURL()))
	c := v.cards[i]
	if st.Running() {
		c.run.SetText("Stop")
		c.run.SetIcon(theme.MediaStopIcon())
	} else {
		c.run.SetText("Start")
		c.run.SetIcon(theme.MediaPlayIcon())
	}
}

// rebuild makes the table's columns and rows from the stations' and the connections'
// latest values.
func (v *benchView) rebuild() {
	sts := v.ui.ws.Stations()
	v.rows, v.heads, v.tags = nil, nil, nil
	seen := map[string]bool{}
	addTags := func(rs []workspace.Reading) {
		for _, r := range rs {
			if !seen[r.Tag] {
				seen[r.Tag] = true
				v.tags = append(v.tags, r.Tag)
			}
		}
	}
	for i, rs := range v.stationRows {
		head := "station"
		if i < len(sts) {
			st := sts[i]
			head = st.Role + " (" + st.Firmware().Version + ")"
			if !st.Running() {
				head = st.Role + " (stopped)"
			}
		}
		v.rows = append(v.rows, rs)
		v.heads = append(v.heads, head)
		addTags(rs)
	}
	for _, c := range v.conns {
		v.rows = append(v.rows, c.rows)
		v.heads = append(v.heads, c.target.Name)
		addTags(c.rows)
	}
	var errs []string
	for _, c := range v.conns {
		if c.err != "" {
			errs = append(errs, c.target.Name+": "+c.err)
		}
	}
	v.live.SetText(strings.Join(errs, "\n"))
	if len(errs) == 0 {
		v.live.Hide()
	} else {
		v.live.Show()
	}
	v.table.SetColumnWidth(0, 140)
	for c := range v.rows {
		v.table.SetColumnWidth(c+1, 170)
	}
	v.table.Refresh()
}

func (v *benchView) tableSize() (int, int) { return len(v.tags), 1 + len(v.rows) }

func (v *benchView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	l.SetText("")
	if id.Row >= len(v.tags) {
		return
	}
	tag := v.tags[id.Row]
	if id.Col == 0 {
		l.SetText(tag)
		return
	}
	if id.Col-1 >= len(v.rows) {
		return
	}
	rs := v.rows[id.Col-1]
	i := id.Row
	if i >= len(rs) || rs[i].Tag != tag {
		i = slices.IndexFunc(rs, func(r workspace.Reading) bool { return r.Tag == tag })
	}
	if i >= 0 {
		l.SetText(strings.TrimSpace(rs[i].Value + " " + rs[i].Unit))
	}
}

func (v *benchView) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	l.TextStyle.Bold = true
	switch {
	case id.Col == 0:
		l.SetText("Tag")
	case id.Col > 0 && id.Col-1 < len(v.heads):
		l.SetText(v.heads[id.Col-1])
	default:
		l.SetText("")
	}
}

// start polls the embedded controllers every PollEvery until the UI closes.
func (v *benchView) start() {
	v.ui.goWork(func(ctx context.Context) {
		t := time.NewTicker(PollEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			var rows [][]workspace.Reading
			for i, st := range v.ui.ws.Stations() {
				if !st.Running() {
					rows = append(rows, stoppedRows(st))
					continue
				}
				rows = append(rows, v.ui.ws.Read(i))
			}
			v.ui.do(func() { v.onReadings(rows) })
		}
	})
}

// stoppedRows is a stopped station's column: its tags, no values.
func stoppedRows(st *workspace.Station) []workspace.Reading {
	var out []workspace.Reading
	for _, t := range st.Controller.Tags() {
		out = append(out, workspace.Reading{Tag: t.Name, Value: "—"})
	}
	return out
}

func (v *benchView) onReadings(rows [][]workspace.Reading) {
	v.stationRows = rows
	v.rebuild()
}

func (v *benchView) onFirmwareChanged(i int, fw string) {
	if st := v.ui.ws.Stations()[i]; st.Firmware().Name == fw {
		return
	}
	v.cards[i].info.SetText("restarting on " + fw + "…")
	v.restart(i, func(ctx context.Context) (*workspace.Station, error) { return v.ui.ws.Restart(ctx, i, fw) }, "restart")
}

// onRunTapped stops a running station, or starts a stopped one.
func (v *benchView) onRunTapped(i int) {
	st := v.ui.ws.Stations()[i]
	if !st.Running() {
		v.cards[i].info.SetText("starting on " + st.Firmware().Name + "…")
		v.restart(i, func(ctx context.Context) (*workspace.Station, error) { return v.ui.ws.Start(ctx, i) }, "start")
		return
	}
	v.cards[i].info.SetText("stopping…")
	v.restart(i, func(context.Context) (*workspace.Station, error) {
		err := v.ui.ws.Stop(i)
		return v.ui.ws.Stations()[i], err
	}, "stop")
}

// restart runs a stop, start or restart of station i off the Fyne goroutine and shows the
// station as it is afterwards.
func (v *benchView) restart(i int, f func(context.Context) (*workspace.Station, error), what string) {
	c := v.cards[i]
	if c.busy {
		return
	}
	c.busy = true
	c.run.Disable()
	c.firmware.Disable()
	v.ui.goWork(func(ctx context.Context) {
		st, err := f(ctx)
		v.ui.do(func() {
			c.busy = false
			c.run.Enable()
			c.firmware.Enable()
			if st == nil {
				st = v.ui.ws.Stations()[i]
			}
			v.showStation(i, st)
			if c.firmware.Selected != st.Firmware().Name {
				c.firmware.SetSelected(st.Firmware().Name) // a failed restart: what it runs
			}
			if err != nil {
				c.info.SetText(what + " failed: " + err.Error())
			}
			if !st.Running() {
				v.stationRows[i] = stoppedRows(st)
			}
			v.rebuild()
			v.targets.reload()
			if what != "stop" { // the firmware or the ports may have changed
				v.ui.Validate.onStationsChanged()
			}
		})
	})
}

func (v *benchView) onFaultChanged(i int) {
	on := make([]bool, len(v.cards[i].faults))
	for k, ch := range v.cards[i].faults {
		on[k] = ch.Checked
	}
	v.ui.ws.SetFaults(i, workspace.Combine(on))
}
