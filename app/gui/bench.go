package gui

import (
	"context"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/simulators/firmware"
)

// PollEvery is how often the Bench tab reads the embedded controllers.
const PollEvery = 500 * time.Millisecond

// benchView is the Bench tab: the embedded stations, their identity and URLs, a live table
// of their point values, firmware and fault controls.
type benchView struct {
	ui      *UI
	content fyne.CanvasObject
	cards   []*stationCard
	table   *widget.Table
	rows    [][]workspace.Reading // per station, the latest values
}

type stationCard struct {
	info     *widget.Label
	firmware *widget.Select
	fault    *widget.Check
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
		c.fault = widget.NewCheck("Fault: +20 ms latency", func(on bool) { v.onFaultChanged(i, on) })
		v.cards = append(v.cards, c)
		v.rows = append(v.rows, u.ws.Read(i))
		form := widget.NewForm(widget.NewFormItem("Firmware", c.firmware), widget.NewFormItem("", c.fault))
		cols = append(cols, widget.NewCard("Tank "+st.Role, "embedded simulated controller", container.NewVBox(c.info, form)))
		v.showStation(i, st)
	}
	v.table = widget.NewTableWithHeaders(v.tableSize, func() fyne.CanvasObject {
		return widget.NewLabel("Interlock 000.00 %")
	}, v.updateCell)
	v.table.CreateHeader = func() fyne.CanvasObject { return widget.NewLabel("header") }
	v.table.UpdateHeader = v.updateHeader
	v.table.ShowHeaderColumn = false
	v.table.SetColumnWidth(0, 140)
	v.table.SetColumnWidth(1, 170)
	v.table.SetColumnWidth(2, 170)
	top := container.NewGridWithColumns(len(cols), cols...)
	v.content = container.NewBorder(top, nil, nil, nil, v.table)
	return v
}

func (v *benchView) showStation(i int, st *workspace.Station) {
	p := st.Firmware()
	id := st.Controller.Identity()
	v.cards[i].info.SetText(fmt.Sprintf("%s %s, firmware %s (%s, %s)\n%s\n%s\nserial %s",
		id.Vendor, id.Product, p.Version, p.Name, p.Kind, st.ModbusURL(), st.OPCUAURL(), id.Serial))
}

func (v *benchView) tableSize() (int, int) {
	n := 0
	for _, r := range v.rows {
		n = max(n, len(r))
	}
	return n, 1 + len(v.rows)
}

func (v *benchView) updateCell(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	l.SetText("")
	if id.Col == 0 {
		if id.Row < len(v.rows[0]) {
			l.SetText(v.rows[0][id.Row].Tag)
		}
		return
	}
	r := v.rows[id.Col-1]
	if id.Row < len(r) {
		l.SetText(r[id.Row].Value + " " + r[id.Row].Unit)
	}
}

func (v *benchView) updateHeader(id widget.TableCellID, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	l.TextStyle.Bold = true
	switch {
	case id.Col == 0:
		l.SetText("Tag")
	case id.Col > 0:
		st := v.ui.ws.Stations()[id.Col-1]
		l.SetText(st.Role + " (" + st.Firmware().Version + ")")
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
			for i := range v.ui.ws.Stations() {
				rows = append(rows, v.ui.ws.Read(i))
			}
			v.ui.do(func() { v.onReadings(rows) })
		}
	})
}

func (v *benchView) onReadings(rows [][]workspace.Reading) {
	v.rows = rows
	v.table.Refresh()
}

func (v *benchView) onFirmwareChanged(i int, fw string) {
	if st := v.ui.ws.Stations()[i]; st.Firmware().Name == fw {
		return
	}
	v.cards[i].info.SetText("restarting on " + fw + "…")
	v.ui.goWork(func(ctx context.Context) {
		st, err := v.ui.ws.Restart(ctx, i, fw)
		v.ui.do(func() {
			if err != nil {
				v.cards[i].info.SetText("restart failed: " + err.Error())
				return
			}
			v.showStation(i, st)
			v.table.Refresh()
			v.ui.Validate.onStationsChanged()
		})
	})
}

func (v *benchView) onFaultChanged(i int, on bool) { v.ui.ws.SetFault(i, on) }
