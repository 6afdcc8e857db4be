package gui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// telegrafDialog imports the telegraf configuration that already polls the engineer's
// controllers: point maps into the workspace's pointmaps folder and, for each input that
// names its controller, a target reading through its map (workspace.ImportTelegraf, as
// `patchgate import telegraf` converts).
type telegrafDialog struct {
	panel   *targetsPanel
	file    *widget.Entry
	targets *widget.Check
	replace *widget.Check
	err     *widget.Label
	dlg     *dialog.CustomDialog
}

func (p *targetsPanel) onImportTelegraf() {
	d := &telegrafDialog{panel: p}
	d.file = widget.NewEntry()
	d.file.SetPlaceHolder("/etc/telegraf/telegraf.conf")
	browse := widget.NewButtonWithIcon("Browse…", theme.FolderOpenIcon(), func() {
		fd := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err == nil && r != nil {
				d.file.SetText(r.URI().Path())
				r.Close()
			}
		}, p.bench.ui.win)
		fd.SetFilter(storage.NewExtensionFileFilter([]string{".conf", ".toml"}))
		fd.Show()
	})
	d.targets = widget.NewCheck("Add a target for each input that names its controller", nil)
	d.targets.SetChecked(true)
	d.replace = widget.NewCheck("Replace point maps of the same name", nil)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	intro := widget.NewLabel("[[inputs.modbus]] (register and request styles) and [[inputs.opcua]] become point maps in " +
		p.bench.ui.ws.PointMapsFolder() + "; nothing is sent to any controller.")
	intro.Wrapping = fyne.TextWrapWord
	imp := widget.NewButtonWithIcon("Import", theme.DownloadIcon(), d.onImport)
	imp.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Close", theme.CancelIcon(), func() { d.dlg.Hide() })
	form := widget.NewForm(widget.NewFormItem("telegraf configuration", container.NewBorder(nil, nil, nil, browse, d.file)))
	content := container.NewVBox(intro, form, d.targets, d.replace, d.err, container.NewHBox(layoutSpacer(), cancel, imp))
	d.dlg = dialog.NewCustomWithoutButtons("Import a telegraf configuration", content, p.bench.ui.win)
	d.dlg.Resize(fyne.NewSize(720, 320))
	p.tele = d
	d.dlg.Show()
}

func (d *telegrafDialog) onImport() {
	p := d.panel
	got, warns, err := p.bench.ui.ws.ImportTelegraf(strings.TrimSpace(d.file.Text), d.replace.Checked, d.targets.Checked)
	if err != nil {
		d.err.SetText(strings.Join(append(warns, err.Error()), "\n"))
		return
	}
	var lines []string
	for _, m := range got {
		line := fmt.Sprintf("%s: %d points from [[%s]] at line %d", m.PointMap, m.Points, m.Plugin, m.Line)
		if m.Target != nil {
			line += "; target " + m.Target.Name + " (" + m.Target.URL + ")"
		}
		lines = append(lines, line)
	}
	for _, w := range warns {
		lines = append(lines, "warning: "+w)
	}
	d.dlg.Hide()
	p.tele = nil
	p.reload()
	p.result.Importance = widget.SuccessImportance
	p.result.SetText("imported " + strings.Join(lines, "\n"))
}
