package gui

import (
	"context"
	"fmt"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/register"
)

// auditRows is how many audit rows the Register tab shows.
const auditRows = 50

// auditView is the Register tab's audit section: the last rows of the hash-chained audit
// trail and a Verify chain button.
type auditView struct {
	reg     *registerView
	content fyne.CanvasObject
	rows    []register.AuditRow
	list    *widget.List
	verify  *widget.Button
	result  *widget.Label
	broken  int64 // the row Verify found broken, 0 when none
}

func newAuditView(reg *registerView) *auditView {
	a := &auditView{reg: reg}
	a.list = widget.NewList(func() int { return len(a.rows) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("#12  2026-03-20 12:00  someone  state_changed  P-2026-001")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			r := a.rows[i]
			l := o.(*widget.Label)
			l.SetText(fmt.Sprintf("#%d  %s  %s  %s  %s  %s…", r.Seq, r.Time.Local().Format("2006-01-02 15:04"), r.Actor, r.Action, r.Subject, r.Hash[:min(10, len(r.Hash))]))
			imp := widget.MediumImportance
			if r.Seq == a.broken {
				imp = widget.DangerImportance
			}
			if l.Importance != imp {
				l.Importance = imp
				l.Refresh()
			}
		})
	a.verify = widget.NewButtonWithIcon("Verify chain", theme.ConfirmIcon(), a.onVerify)
	a.result = widget.NewLabel("")
	a.result.Truncation = fyne.TextTruncateEllipsis
	head := container.NewBorder(nil, nil,
		widget.NewLabelWithStyle(fmt.Sprintf("Audit trail (last %d)", auditRows), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		a.verify, a.result)
	a.content = container.NewBorder(head, nil, nil, nil, a.list)
	return a
}

// show shows the audit rows the register view read.
func (a *auditView) show(rows []register.AuditRow, err error) {
	if err != nil {
		a.result.Importance = widget.DangerImportance
		a.result.SetText(err.Error())
		return
	}
	a.rows = rows
	a.list.Refresh()
	if len(rows) > 0 {
		a.list.ScrollToBottom()
	}
}

// onVerify recomputes the whole chain (a read of every row: off the Fyne goroutine).
func (a *auditView) onVerify() {
	a.verify.Disable()
	a.result.Importance = widget.MediumImportance
	a.result.SetText("verifying the audit chain…")
	a.reg.work(func(ctx context.Context) func() {
		c := a.reg.ui.ws.VerifyAudit(ctx)
		return func() {
			a.verify.Enable()
			a.broken = c.Broken
			a.result.Importance = widget.SuccessImportance
			if !c.OK {
				a.result.Importance = widget.DangerImportance
				if i := slices.IndexFunc(a.rows, func(r register.AuditRow) bool { return r.Seq == c.Broken }); i >= 0 {
					a.list.ScrollTo(i)
				}
			}
			a.result.SetText(c.Text)
			a.list.Refresh()
		}
	})
}

// patchDialog is the Add patch dialog.
type patchDialog struct {
	reg                                      *registerView
	supplier, product, from, to, cves, ident *widget.Entry
	typ                                      *widget.Select
	err                                      *widget.Label
	add                                      *widget.Button
	dlg                                      *dialog.CustomDialog
}

func newPatchDialog(reg *registerView) *patchDialog {
	d := &patchDialog{reg: reg}
	entry := func(ph string) *widget.Entry {
		e := widget.NewEntry()
		e.SetPlaceHolder(ph)
		return e
	}
	d.supplier, d.product = entry("e.g. Siemens"), entry("e.g. S7-1500 CPU 1516-3 PN/DP")
	d.from, d.to = entry("affected version(s)"), entry("version the patch brings")
	d.cves = entry("CVE-2026-1234, CVE-2026-5678")
	d.ident = entry("YYYY-MM-DD (today when empty)")
	d.ident.SetText(reg.ui.ws.Now().Local().Format("2006-01-02"))
	var types []string
	for _, t := range register.PatchTypes() {
		types = append(types, string(t))
	}
	d.typ = widget.NewSelect(types, nil)
	d.typ.SetSelected(string(register.Security))
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	d.add = widget.NewButtonWithIcon("Add", theme.ContentAddIcon(), d.onAdd)
	d.add.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.close)
	form := widget.NewForm(
		widget.NewFormItem("Supplier", d.supplier), widget.NewFormItem("Product", d.product),
		widget.NewFormItem("From version", d.from), widget.NewFormItem("To version", d.to),
		widget.NewFormItem("Type", d.typ), widget.NewFormItem("CVEs", d.cves),
		widget.NewFormItem("Identified", d.ident),
	)
	content := container.NewVBox(form, d.err, container.NewHBox(layoutSpacer(), cancel, d.add))
	d.dlg = dialog.NewCustomWithoutButtons("Add patch", content, reg.ui.win)
	d.dlg.Resize(fyne.NewSize(560, 0))
	return d
}

func (d *patchDialog) onAdd() {
	f := workspace.PatchForm{
		Supplier: d.supplier.Text, Product: d.product.Text, From: d.from.Text, To: d.to.Text,
		Type: d.typ.Selected, CVEs: d.cves.Text, Identified: d.ident.Text,
	}
	d.add.Disable()
	d.reg.work(func(ctx context.Context) func() {
		p, err := d.reg.ui.ws.AddPatch(ctx, f)
		return func() {
			d.add.Enable()
			if err != nil {
				d.err.SetText(err.Error())
				return
			}
			d.close()
			d.reg.status.SetText(fmt.Sprintf("added %s (%s %s), state %s", p.ID, p.Supplier, p.Product, p.State))
			d.reg.reloadSelecting(p.ID)
		}
	})
}

func (d *patchDialog) close() {
	d.dlg.Hide()
	d.reg.patchDlg = nil
}

// stateDialog is the Change state dialog: only the states the patch may go to are offered;
// deferred asks for the mitigation plan and its review date, scheduled for the window.
type stateDialog struct {
	reg                          *registerView
	patch                        register.Patch
	state                        *widget.Select
	plan, review, start, end, by *widget.Entry
	note                         *widget.Entry
	items                        map[register.State][]*widget.FormItem
	form                         *widget.Form
	fields                       *fyne.Container // holds form, built anew for each state
	err                          *widget.Label
	apply                        *widget.Button
	dlg                          *dialog.CustomDialog
}

func newStateDialog(reg *registerView, p register.Patch) *stateDialog {
	d := &stateDialog{reg: reg, patch: p}
	var opts []string
	for _, s := range workspace.NextStates(p) {
		opts = append(opts, string(s))
	}
	d.plan = widget.NewMultiLineEntry()
	d.plan.SetPlaceHolder("compensating measures until the patch is applied")
	d.plan.SetMinRowsVisible(2)
	d.review = widget.NewEntry()
	d.review.SetPlaceHolder("YYYY-MM-DD")
	d.start, d.end = widget.NewEntry(), widget.NewEntry()
	d.start.SetPlaceHolder("YYYY-MM-DD HH:MM")
	d.end.SetPlaceHolder("YYYY-MM-DD HH:MM")
	d.by = widget.NewEntry()
	d.by.SetPlaceHolder("patch id")
	d.note = widget.NewEntry()
	d.items = map[register.State][]*widget.FormItem{
		register.StateDeferred:   {widget.NewFormItem("Mitigation plan", d.plan), widget.NewFormItem("Review date", d.review)},
		register.StateScheduled:  {widget.NewFormItem("Window start", d.start), widget.NewFormItem("Window end", d.end)},
		register.StateSuperseded: {widget.NewFormItem("Superseded by", d.by)},
	}
	d.fields = container.NewStack()
	d.state = widget.NewSelect(opts, d.onStateChanged)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	d.apply = widget.NewButtonWithIcon("Change", theme.ConfirmIcon(), d.onApply)
	d.apply.Importance = widget.HighImportance
	d.apply.Disable()
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.close)
	d.onStateChanged("")
	content := container.NewVBox(d.fields, d.err, container.NewHBox(layoutSpacer(), cancel, d.apply))
	d.dlg = dialog.NewCustomWithoutButtons("Change state of "+p.ID, content, reg.ui.win)
	d.dlg.Resize(fyne.NewSize(560, 0))
	return d
}

// onStateChanged shows the fields the chosen state needs.
func (d *stateDialog) onStateChanged(s string) {
	items := []*widget.FormItem{
		widget.NewFormItem("Patch", widget.NewLabel(fmt.Sprintf("%s, now %s", d.patch.ID, d.patch.State))),
		widget.NewFormItem("New state", d.state),
	}
	items = append(items, d.items[register.State(s)]...)
	items = append(items, widget.NewFormItem("Note", d.note))
	d.form = widget.NewForm(items...)
	d.fields.Objects = []fyne.CanvasObject{d.form}
	d.fields.Refresh()
	if s != "" {
		d.apply.Enable()
	}
	d.err.SetText("")
	if d.dlg != nil {
		d.dlg.Resize(fyne.NewSize(560, 0)) // lays the dialog out again for the new fields
	}
}

func (d *stateDialog) onApply() {
	id, f := d.patch.ID, workspace.StateForm{
		To: register.State(d.state.Selected), Plan: d.plan.Text, Review: d.review.Text,
		WindowStart: d.start.Text, WindowEnd: d.end.Text, Superseded: d.by.Text, Note: d.note.Text,
	}
	d.apply.Disable()
	d.reg.work(func(ctx context.Context) func() {
		p, err := d.reg.ui.ws.SetState(ctx, id, f)
		return func() {
			d.apply.Enable()
			if err != nil {
				d.err.SetText(err.Error())
				return
			}
			d.close()
			d.reg.status.SetText(fmt.Sprintf("%s is now %s", p.ID, p.State))
			d.reg.reloadSelecting(p.ID)
		}
	})
}

func (d *stateDialog) close() {
	d.dlg.Hide()
	d.reg.stateDlg = nil
}

// stateChoices is what the Change state dialog offers (for tests).
func (d *stateDialog) stateChoices() []string { return slices.Clone(d.state.Options) }
