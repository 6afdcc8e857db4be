package gui

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/driver"
)

// targetsPanel is the Bench tab's list of targets: the embedded stations' (read-only) and
// the engineer's own from the workspace's targets.yaml, with Add, Edit, Remove, Discover,
// Test and Connect. Discover, Test and Connect open a target read-only: they never write.
type targetsPanel struct {
	bench    *benchView
	content  fyne.CanvasObject
	targets  []workspace.Target
	selected int // index in targets, -1 for none
	list     *widget.List
	status   *widget.Label // a targets.yaml that does not load
	result   *widget.Label // the last test's result, or its error

	add, edit, remove, test, connect, refresh, discover, telegraf *widget.Button

	// the refusal of an untrusted OPC UA server by the last Test or Connect, which the Trust
	// button answers: it trusts the certificate and tries again
	untrusted *workspace.UntrustedServer
	retry     func()
	trustBox  *fyne.Container
	trust     *widget.Button
	bottom    *fyne.Container // the result and the Trust button: laid out again when the button shows

	testing     bool                  // a test runs
	discovering bool                  // a discovery runs
	dlg         *targetDialog         // the Add or Edit dialog while shown
	disc        *discoverDialog       // the discovered point map while shown
	tele        *telegrafDialog       // the telegraf import while shown
	confirm     *dialog.ConfirmDialog // the Remove confirmation while shown
}

// connection is a connected target: a goroutine reads it every PollEvery into rows.
type connection struct {
	target workspace.Target
	rows   []workspace.Reading
	err    string // the last read's error
	cancel context.CancelFunc
}

func newTargetsPanel(b *benchView) *targetsPanel {
	p := &targetsPanel{bench: b, selected: -1}
	p.list = widget.NewList(func() int { return len(p.targets) },
		func() fyne.CanvasObject {
			text := widget.NewRichText(&widget.TextSegment{Text: "tank before (simulated time)", Style: widget.RichTextStyleStrong})
			text.Truncation = fyne.TextTruncateEllipsis
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ComputerIcon()), widget.NewLabel("connected"), text)
		},
		p.updateItem)
	p.list.OnSelected = p.onSelected
	p.list.OnUnselected = func(widget.ListItemID) { p.selected = -1; p.updateButtons() }
	p.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), p.onAdd)
	p.edit = widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), p.onEdit)
	p.remove = widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), p.onRemove)
	p.test = widget.NewButtonWithIcon("Test", theme.SearchIcon(), p.onTest)
	p.test.Importance = widget.HighImportance
	p.connect = widget.NewButtonWithIcon("Connect", theme.LoginIcon(), p.onConnect)
	p.discover = widget.NewButtonWithIcon("Discover", theme.SearchReplaceIcon(), p.onDiscover) // read-only
	p.refresh = widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), p.reload)                // after a hand edit of the file
	p.telegraf = widget.NewButtonWithIcon("Import telegraf", theme.DownloadIcon(), p.onImportTelegraf)
	p.status = widget.NewLabel("")
	p.status.Wrapping = fyne.TextWrapWord
	p.status.Importance = widget.DangerImportance
	p.status.Hide()
	p.result = widget.NewLabel("Select a target and Test it: identity, ping and every point read once, read-only.")
	p.result.Wrapping = fyne.TextWrapWord
	head := container.NewVBox(
		container.NewBorder(nil, nil, widget.NewLabelWithStyle("Targets", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), p.refresh),
		container.NewHBox(p.add, p.edit, p.remove, p.telegraf, layoutSpacer(), p.discover, p.test, p.connect),
		p.status)
	p.trust = widget.NewButtonWithIcon("Trust this certificate and connect", theme.ConfirmIcon(), p.onTrust)
	p.trust.Importance = widget.WarningImportance
	p.trustBox = container.NewHBox(p.trust)
	p.trustBox.Hide()
	p.bottom = container.NewBorder(nil, p.trustBox, nil, nil, container.NewVScroll(p.result))
	split := container.NewVSplit(p.list, p.bottom)
	split.Offset = 0.6
	p.content = container.NewBorder(head, nil, nil, nil, split)
	p.reload()
	return p
}

// reload reads the targets again (the embedded ones change with the stations), keeping the
// selection by name.
func (p *targetsPanel) reload() {
	name := ""
	if t, ok := p.current(); ok {
		name = t.Name
	}
	ts, err := p.bench.ui.ws.Targets()
	p.targets = ts
	if err != nil {
		p.status.SetText(err.Error())
		p.status.Show()
	} else {
		p.status.SetText("")
		p.status.Hide()
	}
	p.selected = -1
	p.list.UnselectAll()
	p.list.Refresh()
	if i := slices.IndexFunc(ts, func(t workspace.Target) bool { return t.Name == name }); name != "" && i >= 0 {
		p.list.Select(i)
	}
	p.updateButtons()
}

func (p *targetsPanel) updateItem(i widget.ListItemID, o fyne.CanvasObject) {
	if i >= len(p.targets) {
		return
	}
	t := p.targets[i]
	row := o.(*fyne.Container)
	url := "  " + t.URL
	if t.PointMap != "" {
		url = "  [" + t.PointMap + "]" + url
	}
	text := row.Objects[0].(*widget.RichText)
	text.Segments = []widget.RichTextSegment{
		&widget.TextSegment{Text: t.Name, Style: widget.RichTextStyleStrong},
		&widget.TextSegment{Text: url, Style: widget.RichTextStyleInline},
	}
	text.Refresh()
	icon := row.Objects[1].(*widget.Icon)
	if t.Embedded {
		icon.SetResource(theme.ComputerIcon())
	} else {
		icon.SetResource(theme.StorageIcon())
	}
	state := row.Objects[2].(*widget.Label)
	switch {
	case p.bench.connection(t.Name) != nil:
		state.SetText("connected")
	case t.Embedded:
		state.SetText("embedded")
	default:
		state.SetText("")
	}
}

func (p *targetsPanel) current() (workspace.Target, bool) {
	if p.selected < 0 || p.selected >= len(p.targets) {
		return workspace.Target{}, false
	}
	return p.targets[p.selected], true
}

func (p *targetsPanel) onSelected(i widget.ListItemID) {
	p.selected = i
	p.updateButtons()
}

func (p *targetsPanel) updateButtons() {
	t, ok := p.current()
	enable := func(b *widget.Button, on bool) {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	enable(p.edit, ok && !t.Embedded)
	enable(p.remove, ok && !t.Embedded)
	enable(p.test, ok && !p.testing)
	enable(p.connect, ok)
	enable(p.discover, ok && !p.discovering && workspace.CanDiscover(t))
	if ok && p.bench.connection(t.Name) != nil {
		p.connect.SetText("Disconnect")
		p.connect.SetIcon(theme.LogoutIcon())
	} else {
		p.connect.SetText("Connect")
		p.connect.SetIcon(theme.LoginIcon())
	}
}

// selectName selects the target named name, if listed.
func (p *targetsPanel) selectName(name string) bool {
	i := slices.IndexFunc(p.targets, func(t workspace.Target) bool { return t.Name == name })
	if i < 0 {
		return false
	}
	p.list.Select(i)
	return true
}

func (p *targetsPanel) onTest() {
	t, ok := p.current()
	if !ok || p.testing {
		return
	}
	p.testing = true
	p.updateButtons()
	p.result.Importance = widget.MediumImportance
	p.result.SetText("testing " + t.Name + " (" + t.URL + "), read-only…")
	u := p.bench.ui
	u.goWork(func(ctx context.Context) {
		r, err := u.ws.Test(ctx, t)
		u.do(func() {
			p.testing = false
			p.updateButtons()
			p.showResult(r, err)
		})
	})
}

func (p *targetsPanel) showResult(r *workspace.TestResult, err error) {
	defer func() {
		if t, ok := p.current(); ok {
			p.offerTrust(t, err, func() { p.selectName(t.Name); p.onTest() })
		}
	}()
	text := ""
	if r != nil {
		text = r.Summary()
	} else if err != nil {
		text = "FAILED: " + err.Error()
	}
	p.result.Importance = widget.SuccessImportance
	if err != nil {
		p.result.Importance = widget.DangerImportance
	}
	p.result.SetText(text)
}

// offerTrust shows the Trust button when err is the refusal of an untrusted OPC UA server by
// target t, and says what the certificate is in the result; it hides the button otherwise.
// retry runs after the certificate is trusted.
func (p *targetsPanel) offerTrust(t workspace.Target, err error, retry func()) {
	ue := workspace.Untrusted(err)
	p.untrusted, p.retry = ue, retry
	if ue == nil {
		if p.trustBox.Visible() {
			p.trustBox.Hide()
			p.bottom.Refresh()
		}
		return
	}
	p.result.Importance = widget.WarningImportance
	p.result.SetText(t.Name + ": the server's certificate is not trusted.\n\n" +
		"subject  " + ue.Subject + "\nSHA-1    " + ue.SHA1 + "\nSHA-256  " + ue.SHA256 + "\n\n" +
		"Check the thumbprint with the device's owner before trusting it. Trust moves the certificate into " +
		filepath.Dir(ue.Trust) + " (as 'patchgate trust add' does) and connects again.")
	p.trustBox.Show()
	p.bottom.Refresh()
}

// onTrust trusts the refused certificate and tries again.
func (p *targetsPanel) onTrust() {
	ue, retry := p.untrusted, p.retry
	if ue == nil {
		return
	}
	c, err := workspace.TrustServer(ue)
	if err != nil {
		p.result.Importance = widget.DangerImportance
		p.result.SetText("trust failed: " + err.Error())
		return
	}
	p.untrusted, p.retry = nil, nil
	p.trustBox.Hide()
	p.bottom.Refresh()
	p.result.Importance = widget.MediumImportance
	p.result.SetText("trusted " + c.Subject + " (SHA-256 " + c.SHA256 + "); connecting again…")
	if retry != nil {
		retry()
	}
}

func (p *targetsPanel) onConnect() {
	t, ok := p.current()
	if !ok {
		return
	}
	if p.bench.connection(t.Name) != nil {
		p.bench.disconnect(t.Name)
	} else {
		p.bench.connect(t)
	}
	p.list.Refresh()
	p.updateButtons()
}

func (p *targetsPanel) onAdd() { p.openDialog(workspace.Target{}, "") }

func (p *targetsPanel) onEdit() {
	if t, ok := p.current(); ok && !t.Embedded {
		p.openDialog(t, t.Name)
	}
}

func (p *targetsPanel) onRemove() {
	t, ok := p.current()
	if !ok || t.Embedded {
		return
	}
	u := p.bench.ui
	p.confirm = dialog.NewConfirm("Remove target", "Remove "+t.Name+" ("+t.URL+") from "+workspace.TargetsFile+"?", func(yes bool) {
		p.confirm = nil
		if !yes {
			return
		}
		p.bench.disconnect(t.Name)
		if err := u.ws.RemoveTarget(t.Name); err != nil {
			p.result.Importance = widget.DangerImportance
			p.result.SetText("remove failed: " + err.Error())
		}
		p.reload()
	}, u.win)
	p.confirm.Show()
}

// targetDialog is the Add target and Edit target dialog.
type targetDialog struct {
	panel     *targetsPanel
	editing   string // the name of the target edited; "" adds
	name, url *widget.Entry
	pointMap  *widget.SelectEntry
	err       *widget.Label
	save      *widget.Button
	dlg       *dialog.CustomDialog
}

func (p *targetsPanel) openDialog(t workspace.Target, editing string) {
	d := &targetDialog{panel: p, editing: editing}
	d.name = widget.NewEntry()
	d.name.SetPlaceHolder("e.g. Bench PLC 1")
	d.name.SetText(t.Name)
	d.url = widget.NewEntry()
	d.url.SetPlaceHolder("modbus://192.168.0.10:502?unit=1  or  opc.tcp://192.168.0.10:4840")
	d.url.SetText(t.URL)
	d.pointMap = widget.NewSelectEntry(workspace.ShippedPointMaps())
	d.pointMap.SetPlaceHolder("tank, conveyor, heater or maps/plc.yaml")
	d.pointMap.SetText(t.PointMap)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	title, label := "Add target", "Add"
	if editing != "" {
		title, label = "Edit target", "Save"
	}
	d.save = widget.NewButtonWithIcon(label, theme.DocumentSaveIcon(), d.onSave)
	d.save.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.close)
	form := widget.NewForm(widget.NewFormItem("Name", d.name), widget.NewFormItem("URL", d.url),
		widget.NewFormItem("Point map", d.pointMap))
	hint := widget.NewLabel("Saved in " + workspace.TargetsFile + " of the workspace folder. Test and Connect only read.")
	hint.Wrapping = fyne.TextWrapWord
	content := container.NewVBox(form, hint, d.err, container.NewHBox(layoutSpacer(), cancel, d.save))
	d.dlg = dialog.NewCustomWithoutButtons(title, content, p.bench.ui.win)
	d.dlg.Resize(fyne.NewSize(640, 0))
	p.dlg = d
	d.dlg.Show()
}

func (d *targetDialog) onSave() {
	p := d.panel
	ws := p.bench.ui.ws
	t := workspace.Target{Name: d.name.Text, URL: d.url.Text, PointMap: d.pointMap.Text}
	var err error
	if d.editing == "" {
		t, err = ws.AddTarget(t)
	} else {
		t, err = ws.EditTarget(d.editing, t)
	}
	if err != nil {
		d.err.SetText(err.Error())
		return
	}
	if d.editing != "" {
		p.bench.disconnect(d.editing) // it may point elsewhere now
	}
	d.close()
	p.reload()
	p.selectName(t.Name)
}

func (d *targetDialog) close() {
	d.dlg.Hide()
	if d.panel.dlg == d {
		d.panel.dlg = nil
	}
}

// connection returns the connection to the target named name, or nil.
func (v *benchView) connection(name string) *connection {
	for _, c := range v.conns {
		if c.target.Name == name {
			return c
		}
	}
	return nil
}

// connect opens t read-only in a goroutine of its own that reads every point every
// PollEvery into a column of the live table, until disconnect or the UI closes.
func (v *benchView) connect(t workspace.Target) {
	ctx, cancel := context.WithCancel(v.ui.ctx)
	c := &connection{target: t, err: "connecting to " + t.URL + "…", cancel: cancel}
	v.conns = append(v.conns, c)
	v.rebuild()
	v.ui.goWork(func(context.Context) {
		defer cancel()
		s, err := v.ui.ws.Connect(ctx, t)
		if err != nil {
			v.ui.do(func() { v.onConnectFailed(c, err) })
			return
		}
		defer s.Close()
		id, idErr := s.Identity(ctx)
		v.ui.do(func() { v.onConnected(c, workspace.FormatIdentity(id), idErr) })
		tick := time.NewTicker(PollEvery)
		defer tick.Stop()
		for {
			rows, err := s.Read(ctx)
			if ctx.Err() != nil {
				return
			}
			v.ui.do(func() { v.onTargetReadings(c, rows, err) })
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

func (v *benchView) onConnectFailed(c *connection, err error) {
	if v.connection(c.target.Name) != c {
		return // disconnected meanwhile
	}
	v.disconnect(c.target.Name)
	p := v.targets
	p.result.Importance = widget.DangerImportance
	p.result.SetText("connect failed: " + err.Error())
	t := c.target
	p.offerTrust(t, err, func() {
		if v.connection(t.Name) == nil {
			v.connect(t)
		}
		p.list.Refresh()
		p.updateButtons()
	})
}

func (v *benchView) onConnected(c *connection, identity string, idErr error) {
	if v.connection(c.target.Name) != c {
		return
	}
	c.err = ""
	p := v.targets
	p.offerTrust(c.target, nil, nil)
	p.result.Importance = widget.SuccessImportance
	text := "connected (read-only): " + c.target.Name + " (" + c.target.URL + ")\nidentity: " + identity
	if idErr != nil && !errors.Is(idErr, driver.ErrUnsupported) {
		text += "\nidentity warning: " + idErr.Error()
	}
	p.result.SetText(text)
	v.rebuild()
}

func (v *benchView) onTargetReadings(c *connection, rows []workspace.Reading, err error) {
	if v.connection(c.target.Name) != c {
		return
	}
	c.rows, c.err = rows, ""
	if err != nil {
		c.err = err.Error()
	}
	v.rebuild()
}

// disconnect stops reading the target named name and drops its column.
func (v *benchView) disconnect(name string) {
	i := slices.IndexFunc(v.conns, func(c *connection) bool { return c.target.Name == name })
	if i < 0 {
		return
	}
	v.conns[i].cancel()
	v.conns = slices.Delete(v.conns, i, i+1)
	v.rebuild()
	if v.targets != nil {
		v.targets.list.Refresh()
		v.targets.updateButtons()
	}
}
