package gui

import (
	"context"
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/discover"
)

// onDiscover finds the points of the selected target, read-only (harness/discover through
// the workspace, as `patchgate discover` does), and shows the map in a dialog that saves it
// into the workspace's pointmaps folder.
func (p *targetsPanel) onDiscover() {
	t, ok := p.current()
	if !ok || p.discovering || !workspace.CanDiscover(t) {
		return
	}
	p.discovering = true
	p.updateButtons()
	p.result.Importance = widget.MediumImportance
	p.result.SetText("discovering " + t.Name + " (" + t.URL + "), read-only…")
	u := p.bench.ui
	u.goWork(func(ctx context.Context) {
		last := -1
		res, err := u.ws.Discover(ctx, t, func(done, total int) {
			if pct := done * 100 / max(total, 1); pct != last {
				last = pct
				text := fmt.Sprintf("discovering %s (%s), read-only: %d of %d addresses probed", t.Name, t.URL, done, total)
				u.do(func() {
					if p.discovering {
						p.result.SetText(text)
					}
				})
			}
		})
		u.do(func() {
			p.discovering = false
			p.updateButtons()
			if err != nil {
				p.result.Importance = widget.DangerImportance
				p.result.SetText("discover failed: " + err.Error())
				return
			}
			p.result.Importance = widget.SuccessImportance
			p.result.SetText(fmt.Sprintf("discovered %d points on %s (%s), read-only: review the map and save it", len(res.Map.Points), t.Name, t.URL))
			p.openDiscovered(t, res)
		})
	})
}

// discoverDialog shows a discovered point map, editable, and saves it as
// pointmaps/NAME.yaml in the workspace folder; "Save and use" also makes the target use it.
type discoverDialog struct {
	panel   *targetsPanel
	target  workspace.Target
	text    *widget.Entry
	name    *widget.Entry
	replace *widget.Check
	err     *widget.Label
	save    *widget.Button
	use     *widget.Button
	dlg     *dialog.CustomDialog
}

func (p *targetsPanel) openDiscovered(t workspace.Target, res *discover.Result) {
	d := &discoverDialog{panel: p, target: t}
	d.text = widget.NewMultiLineEntry()
	d.text.TextStyle = fyne.TextStyle{Monospace: true}
	d.text.Wrapping = fyne.TextWrapOff
	d.text.SetText(string(res.YAML))
	d.name = widget.NewEntry()
	d.name.SetText(workspace.DiscoveredName(t))
	d.replace = widget.NewCheck("Replace a point map of that name", nil)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	how := "browsed over OPC UA"
	if res.Protocol == "modbus" {
		how = fmt.Sprintf("probed over Modbus with %d read requests; every register is a uint16 to confirm", res.Requests)
	}
	summary := widget.NewLabel(fmt.Sprintf("%d points found on %s (%s; nothing was written). Edit the map here or later, then save it into %s.",
		len(res.Map.Points), t.URL, how, filepath.Join(p.bench.ui.ws.Dir, workspace.PointMapsDir)))
	summary.Wrapping = fyne.TextWrapWord
	d.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() { d.onSave(false) })
	d.use = widget.NewButtonWithIcon("Save and use", theme.ConfirmIcon(), func() { d.onSave(true) })
	d.use.Importance = widget.HighImportance
	if t.Embedded {
		d.use.Disable() // an embedded station keeps its shipped map
	}
	cancel := widget.NewButtonWithIcon("Close", theme.CancelIcon(), d.close)
	form := widget.NewForm(widget.NewFormItem("Save as", container.NewBorder(nil, nil, nil, widget.NewLabel(".yaml"), d.name)))
	bottom := container.NewVBox(form, d.replace, d.err, container.NewHBox(layoutSpacer(), cancel, d.save, d.use))
	content := container.NewBorder(summary, bottom, nil, nil, d.text)
	d.dlg = dialog.NewCustomWithoutButtons("Discovered point map: "+t.Name, content, p.bench.ui.win)
	d.dlg.Resize(fyne.NewSize(860, 640))
	p.disc = d
	d.dlg.Show()
}

func (d *discoverDialog) onSave(use bool) {
	p := d.panel
	ws := p.bench.ui.ws
	rel, err := ws.SavePointMap(d.name.Text, []byte(d.text.Text), d.replace.Checked)
	if err != nil {
		d.err.SetText(err.Error())
		return
	}
	text := "saved " + filepath.Join(ws.Dir, filepath.FromSlash(rel))
	if use {
		if _, err := ws.UsePointMap(d.target.Name, rel); err != nil {
			d.err.SetText("saved " + rel + ", but the target could not use it: " + err.Error())
			return
		}
		p.bench.disconnect(d.target.Name) // it reads other points now
		text += "; " + d.target.Name + " uses it now (point map " + rel + ")"
	}
	d.close()
	p.reload()
	p.selectName(d.target.Name)
	p.result.Importance = widget.SuccessImportance
	p.result.SetText(text)
}

func (d *discoverDialog) close() {
	d.dlg.Hide()
	if d.panel.disc == d {
		d.panel.disc = nil
	}
}
