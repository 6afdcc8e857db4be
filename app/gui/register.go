package gui

import (
	"fmt"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/patchgate/patchgate/app/gui/workspace"
	"github.com/patchgate/patchgate/harness/ledger"
)

// registerView is the Register tab: the patches with their state and 35-day clock, the
// validations of the selected patch with their sign-offs, and the sign-off dialog.
type registerView struct {
	ui      *UI
	content fyne.CanvasObject

	patches  []ledger.Patch
	vals     []validationRow
	patchSel int // -1: none
	valSel   int

	patchList *widget.List
	detail    *widget.Label
	valList   *widget.List
	signOff   *widget.Button
	status    *widget.Label

	addPatch    *widget.Button
	changeState *widget.Button
	audit       *auditView

	dialog   *signOffDialog // the open sign-off dialog, nil when closed
	patchDlg *patchDialog   // the open Add patch dialog
	stateDlg *stateDialog   // the open Change state dialog
}

type validationRow struct {
	ledger.Validation
	signOffs []ledger.SignOff
}

func (r validationRow) String() string {
	s := fmt.Sprintf("%s  %s  computed %s  (%s)", r.ID, r.Scenario, r.Verdict, r.Created.Local().Format("2006-01-02 15:04"))
	for _, so := range r.signOffs {
		s += fmt.Sprintf("\n    %s by %s (%s)", strings.ToUpper(string(so.Decision)), so.Name, so.Role)
		if so.Rationale != "" {
			s += ": " + so.Rationale
		}
	}
	return s
}

func newRegister(u *UI) *registerView {
	v := &registerView{ui: u, patchSel: -1, valSel: -1}
	v.patchList = widget.NewList(func() int { return len(v.patches) },
		func() fyne.CanvasObject {
			return widget.NewLabel("P-2026-001  assessed_applicable  OVERDUE 10 d  Simulated Controls")
		},
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(v.patchLine(v.patches[i])) })
	v.patchList.OnSelected = v.onPatchSelected
	v.detail = widget.NewLabel("")
	v.detail.Wrapping = fyne.TextWrapWord
	v.valList = widget.NewList(func() int { return len(v.vals) },
		func() fyne.CanvasObject { return widget.NewLabel("V\n") },
		func(i widget.ListItemID, o fyne.CanvasObject) {
			o.(*widget.Label).SetText(v.vals[i].String())
			v.valList.SetItemHeight(i, o.MinSize().Height)
		})
	v.valList.OnSelected = v.onValidationSelected
	v.signOff = widget.NewButtonWithIcon("Sign off…", theme.DocumentCreateIcon(), v.onSignOff)
	v.signOff.Disable()
	v.status = widget.NewLabel("")
	v.status.Wrapping = fyne.TextWrapWord
	right := container.NewBorder(
		container.NewVBox(v.detail, widget.NewSeparator(),
			container.NewBorder(nil, nil, widget.NewLabelWithStyle("Validations", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), v.signOff)),
		v.status, nil, nil, v.valList)
	v.addPatch = widget.NewButtonWithIcon("Add patch…", theme.ContentAddIcon(), v.onAddPatch)
	v.changeState = widget.NewButtonWithIcon("Change state…", theme.MediaSkipNextIcon(), v.onChangeState)
	v.changeState.Disable()
	v.audit = newAuditView(v)
	patches := container.NewBorder(container.NewHBox(v.addPatch, v.changeState), nil, nil, nil, v.patchList)
	left := container.NewVSplit(patches, v.audit.content)
	left.Offset = 0.55
	split := container.NewHSplit(left, right)
	split.Offset = 0.45
	v.content = split
	v.reload()
	return v
}

func (v *registerView) patchLine(p ledger.Patch) string {
	return fmt.Sprintf("%s  %s  %s  %s", p.ID, p.State, p.Clock(v.ui.ws.Now()), p.Product)
}

// reload reads the register again, keeping the selection.
func (v *registerView) reload() {
	ps, err := v.ui.ws.DB.Patches(v.ui.ctx)
	if err != nil {
		v.status.SetText(err.Error())
		return
	}
	v.patches = ps
	v.patchList.Refresh()
	v.audit.reload(v.ui.ctx)
	if v.patchSel < 0 && len(ps) > 0 {
		v.patchList.Select(0) // calls onPatchSelected
		return
	}
	if v.patchSel >= 0 && v.patchSel < len(ps) {
		v.onPatchSelected(v.patchSel)
	}
	v.ui.Validate.reloadPatches()
}

// reloadSelecting reads the register again and selects patch id.
func (v *registerView) reloadSelecting(id string) {
	v.reload()
	if i := slices.IndexFunc(v.patches, func(p ledger.Patch) bool { return p.ID == id }); i >= 0 {
		v.patchList.Select(i)
	}
}

func (v *registerView) onAddPatch() {
	v.patchDlg = newPatchDialog(v)
	v.patchDlg.dlg.Show()
}

func (v *registerView) onChangeState() {
	if v.patchSel < 0 || v.patchSel >= len(v.patches) {
		return
	}
	v.stateDlg = newStateDialog(v, v.patches[v.patchSel])
	v.stateDlg.dlg.Show()
}

func (v *registerView) onPatchSelected(i widget.ListItemID) {
	v.patchSel = i
	p := v.patches[i]
	if len(workspace.NextStates(p)) > 0 {
		v.changeState.Enable()
	} else {
		v.changeState.Disable()
	}
	c := p.Clock(v.ui.ws.Now())
	clock := "35-day evaluation clock: does not apply (" + string(p.Type) + ")"
	if c.Applies {
		clock = fmt.Sprintf("35-day evaluation clock: %s (identified %s, due %s)", c, p.Identified.Format("2006-01-02"), c.Due.Format("2006-01-02"))
	}
	v.detail.SetText(fmt.Sprintf("%s  %s %s: %s → %s\n%s, %s, CVEs %s\nstate %s since %s\n%s",
		p.ID, p.Supplier, p.Product, p.FromVersion, p.ToVersion, p.Type, p.Qualification, strings.Join(p.CVEs, ", "),
		p.State, p.StateChanged.Local().Format("2006-01-02"), clock))
	vals, err := v.ui.ws.DB.Validations(v.ui.ctx, p.ID)
	if err != nil {
		v.status.SetText(err.Error())
	}
	v.vals = v.vals[:0]
	for _, val := range vals {
		sos, _ := v.ui.ws.DB.SignOffs(v.ui.ctx, val.ID)
		v.vals = append(v.vals, validationRow{val, sos})
	}
	v.valList.UnselectAll()
	v.valSel = -1
	v.signOff.Disable()
	if len(v.vals) > 0 {
		v.valList.Select(len(v.vals) - 1)
	}
	v.valList.Refresh()
}

func (v *registerView) onValidationSelected(i widget.ListItemID) {
	v.valSel = i
	v.signOff.Enable()
}

// Computed is the computed verdict of the selected validation ("" when none).
func (v *registerView) Computed() string {
	if v.valSel < 0 || v.valSel >= len(v.vals) {
		return ""
	}
	return string(v.vals[v.valSel].Verdict)
}

func (v *registerView) onSignOff() {
	if v.valSel < 0 {
		return
	}
	d := newSignOffDialog(v, v.vals[v.valSel].Validation)
	v.dialog = d
	d.dlg.Show()
}

// signOffDialog asks who signs, in which role, what they decide and why.
type signOffDialog struct {
	reg       *registerView
	val       ledger.Validation
	name      *widget.Entry
	role      *widget.Select
	decision  *widget.Select
	rationale *widget.Entry
	err       *widget.Label
	sign      *widget.Button
	dlg       *dialog.CustomDialog
}

func newSignOffDialog(reg *registerView, val ledger.Validation) *signOffDialog {
	d := &signOffDialog{reg: reg, val: val}
	d.name = widget.NewEntry()
	d.name.SetText(reg.ui.ws.Actor())
	var roles, decisions []string
	for _, r := range ledger.Roles() {
		roles = append(roles, string(r))
	}
	for _, dc := range ledger.Decisions() {
		decisions = append(decisions, string(dc))
	}
	d.role = widget.NewSelect(roles, nil)
	d.role.SetSelected(string(ledger.Tester))
	d.decision = widget.NewSelect(decisions, nil)
	d.decision.SetSelected(string(ledger.Approve))
	d.rationale = widget.NewMultiLineEntry()
	d.rationale.SetPlaceHolder("why (required to reject or to accept a risk)")
	d.rationale.SetMinRowsVisible(3)
	d.err = widget.NewLabel("")
	d.err.Importance = widget.DangerImportance
	d.err.Wrapping = fyne.TextWrapWord
	d.sign = widget.NewButtonWithIcon("Sign", theme.ConfirmIcon(), d.onSign)
	d.sign.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), d.onCancel)
	form := widget.NewForm(
		widget.NewFormItem("Validation", widget.NewLabel(fmt.Sprintf("%s: computed verdict %s", val.ID, val.Verdict))),
		widget.NewFormItem("Name", d.name),
		widget.NewFormItem("Role", d.role),
		widget.NewFormItem("Decision", d.decision),
		widget.NewFormItem("Rationale", d.rationale),
	)
	content := container.NewVBox(form, d.err, container.NewHBox(layoutSpacer(), cancel, d.sign))
	d.dlg = dialog.NewCustomWithoutButtons("Sign off "+val.ID, content, reg.ui.win)
	d.dlg.Resize(fyne.NewSize(520, 0))
	return d
}

func (d *signOffDialog) onSign() {
	dec := ledger.Decision(d.decision.Selected)
	if dec != ledger.Approve && strings.TrimSpace(d.rationale.Text) == "" {
		d.err.SetText(fmt.Sprintf("%s needs a rationale: say why.", dec))
		return
	}
	_, err := d.reg.ui.ws.DB.SignOff(d.reg.ui.ctx, ledger.SignOff{
		ValidationID: d.val.ID, Name: d.name.Text, Role: ledger.Role(d.role.Selected),
		Decision: dec, Rationale: d.rationale.Text, Time: d.reg.ui.ws.Now(),
	})
	if err != nil {
		d.err.SetText(err.Error())
		return
	}
	d.dlg.Hide()
	d.reg.dialog = nil
	d.reg.status.SetText(fmt.Sprintf("%s signed %s as %s: %s; the computed verdict stays %s", d.name.Text, d.val.ID, d.role.Selected, dec, d.val.Verdict))
	d.reg.reload()
}

func (d *signOffDialog) onCancel() {
	d.dlg.Hide()
	d.reg.dialog = nil
}
